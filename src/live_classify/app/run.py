"""The run of one camera, stream or video file, or of several with one model: cameras in,
window/recording/JSON/web/MQTT out, through one main loop.

Every way out — q/Esc, the window closed, end of stream, Ctrl+C, SIGTERM, SIGHUP (unless a
``--config`` run rereads its file on it), a failed thread — goes through the same ``finally``:
the recording is closed (and was playable all along), the JSON lines are flushed, and a summary
is printed. A camera lost for good among several ends
alone (one line); the run ends when the last one has, or when the user stops it.
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from live_classify.app import hangup
from live_classify.app.cameras import Cameras, Member
from live_classify.app.outputs import check_outputs, collector_for, window_for, window_wanted
from live_classify.app.reconcile import Assembly
from live_classify.app.reload import Reloader, ReRead
from live_classify.app.specs import jsonl_target, specs
from live_classify.app.validate import validate
from live_classify.app.world import World
from live_classify.config import RunConfig
from live_classify.engine.classifier import Classifier
from live_classify.log import error, info, warning
from live_classify.sinks.base import Sinks, Update
from live_classify.sinks.display.grid import Grid
from live_classify.sinks.display.window import Window
from live_classify.sinks.summary_text import camera_line, plural


def run(config: RunConfig, open_classifier: Callable[..., Classifier], reread: ReRead | None = None) -> int:
    """Classify every source of ``config`` until all end or the user stops; returns the exit code.
    ``reread``: the configuration read anew, on SIGHUP (``--config``)."""
    out = config.outputs
    encoders = check_outputs(out.jsonl, config.sources)  # before anything is opened or written
    collector, quota = collector_for(out.collect)
    show_window = window_wanted(out)
    cameras = Cameras.open(config, open_classifier)
    validate(config, cameras.classifier.spec.labels)
    window = window_for(out, cameras) if show_window else None
    world = World(cameras, window, collector, quota, reloadable=reread is not None, encoders=encoders)
    sinks = Sinks([], warning)
    assembly = Assembly(world, sinks)
    reloader = Reloader(reread, config, assembly, partial(_open_model, open_classifier)) \
        if reread or config.watch_model else None
    if reloader and config.shown:
        world.shows(reloader.shown)
    if not out.jsonl and jsonl_target(out, window is not None) == "-":
        info("headless with no --record or --jsonl: writing JSON lines to stdout")
    assembly.apply(specs(config, window is not None), strict=True)  # the start: from no component to all
    # A signal while finishing up must not cut the finishing short.
    with stop_on_signals(cameras, reloader if reread else None) as signals:
        try:
            cameras.start()
            _main_loop(cameras, sinks, window, reloader)
        finally:
            assembly.end()
            cameras.join(timeout=max(src.read_timeout for src in config.sources) + 2)
            for m in cameras.members:
                sinks.write_late(m.camera.leftover_predictions())
            sinks.close()
            _summary(cameras, sinks, window)
    failure = cameras.scheduler.error or sinks.failure or "; ".join(cameras.failures) or None
    if quota and not (quota.done or failure or signals or (window and window.quit)):  # the sources ended first
        failure = quota.shortfall(config.source.spec.name if len(config.sources) == 1 else "the cameras")
    if failure:
        error(failure)
        return 1
    return 0


def _open_model(open_classifier: Callable[..., Classifier], model: Path) -> Classifier:
    """A reload's new model, loaded as the first was (off the main loop)."""
    return open_classifier(threads=None, spin=False, model=model)


def _main_loop(cameras: Cameras, sinks: Sinks, window: Window | None, reloader: Reloader | None = None) -> None:
    """Each camera's shown frames to the sinks, in turn, until every camera has ended, a sink
    asks to stop, or one fails. While a camera sends nothing, the sinks hear of it (``idle``) with
    the one stale redraw, which says why. A reload is applied here, between two frames."""
    while running := cameras.running:
        if reloader:
            reloader.step()
            running = cameras.running
        cameras.wake.display.clear()  # before looking: a frame that comes after the look sets it again
        quiet = [m for m in running if not _hand_to_sinks(m, cameras, sinks, window)]
        if sinks.stop_requested:
            cameras.stop()
            return
        if len(quiet) == len(running) and cameras.wake.display.wait(0.1):
            continue  # a frame came while all were quiet: show it first
        if quiet:
            sinks.idle(cameras.stale)


def _hand_to_sinks(member: Member, cameras: Cameras, sinks: Sinks, window: Window | None) -> bool:
    """The camera's next frame to the sinks, if one waits; False if none did."""
    camera, annotator = member.camera, member.annotator
    assert annotator is not None
    shown = camera.poll(0)
    if shown is not None:
        sinks.write(Update(shown, member.clock(shown.frame), partial(annotator.draw, shown)))
        annotator.showed(shown)
        return True
    if camera.ended:
        _gone(member, cameras, window)
    return False


def _gone(member: Member, cameras: Cameras, window: Window | None) -> None:
    """A camera's frames have ended: with several, said in one line (the others go on) and its
    tile greyed; the errors of a camera alone are the run's."""
    member.end()
    if len(cameras.members) == 1:
        return
    if isinstance(window, Grid):
        window.end(member.name)  # its last tile stays, greyed
    go_on = "; the others go on" if cameras.running else ""
    if member.camera.error:
        error(f"{member.camera.error}{go_on}")
    elif not (cameras.stopping or cameras.scheduler.error):
        info(f"{member.name}: ended{go_on}")


@contextlib.contextmanager
def stop_on_signals(cameras: Cameras, reloader: Reloader | None = None) -> Iterator[list[int]]:
    """First Ctrl+C/SIGTERM/SIGHUP: a clean stop. A second one: exit at once — the recording is
    Motion-JPEG, playable as it stands, and every JSON line is already flushed. Yields the list of
    signals received, so the caller can tell a stop the user asked for. With a ``reloader`` SIGHUP
    only asks it to reread the configuration (the main loop does, between two frames)."""
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    received: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if reloader is not None and signum == getattr(signal, "SIGHUP", None):
            reloader.requested.set()
            return
        received.append(signum)
        if len(received) > 1:
            os._exit(128 + signum)
        info(f"{signal.Signals(signum).name}: stopping (again to quit at once)")
        cameras.stop()

    previous = {s: signal.signal(s, handler) for s in signals}
    if reloader is not None and hangup.PENDING.is_set():  # a SIGHUP while the run was starting
        reloader.requested.set()
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _summary(cameras: Cameras, sinks: Sinks, window: Window | None) -> None:
    """What the run did, on stderr: with several cameras each one's counts, then the totals;
    frames "shown" only where a window showed them."""
    status = cameras.status()
    elapsed = max(1e-9, time.monotonic() - min(m.camera.stats.started for m in cameras.members))
    on_screen = f"{window.frames_shown} shown, " if window is not None else ""
    provider = cameras.classifier.backend.provider
    if len(cameras.members) == 1:
        s = cameras.members[0].camera.stats
        info(f"{s.captured} frames captured, {s.classified} classified, {_gated(cameras.members[0])}"
             f"{s.dropped} dropped, {on_screen}{plural(s.reconnects, 'reconnect')} in {elapsed:.1f} s")
        info(f"capture {s.captured / elapsed:.1f} fps, inference {s.classified / elapsed:.1f} fps; "
             f"{s.latency_summary()}; {provider}")
    else:
        now = time.monotonic()
        for m in cameras.members:
            info(camera_line(m.name, m.camera.stats, now, _gated(m)))
        info(f"all {len(cameras.members)} cameras: {status.total('captured')} captured, "
             f"{status.total('classified')} classified, "
             f"{_gated_total(cameras)}{status.total('dropped')} dropped, {on_screen}"
             f"{plural(status.total('reconnects'), 'reconnect')} in {elapsed:.1f} s; {cameras.scheduler.summary()}; "
             f"{provider}")
    for line in sinks.summaries():
        info(line)


def _gated(member: Member) -> str:
    """``--gate motion``: the still frames not classified, for the summary ("" without a gate)."""
    gate = member.camera.gate
    return f"{gate.gated} gated (still), " if gate.config or gate.gated else ""


def _gated_total(cameras: Cameras) -> str:
    gates = [m.camera.gate for m in cameras.members]
    return f"{sum(g.gated for g in gates)} gated (still), " if any(g.config or g.gated for g in gates) else ""
