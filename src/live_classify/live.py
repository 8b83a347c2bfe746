"""The main loop for cameras, streams and video files: pipeline in, window/recording/JSON out.

Every way out — q/Esc, the window closed, end of stream, Ctrl+C, SIGTERM, SIGHUP, a failed
thread — goes through the same ``finally``: the recording is closed (and was playable all along),
the JSON lines are flushed, and a summary is printed.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from live_classify import overlay
from live_classify.engine.classifier import Classifier
from live_classify.collect import Collector, Quota
from live_classify.log import error, info as log, warning
from live_classify.modes import headless_problems
from live_classify.pipeline import Frame, Pipeline, Shown
from live_classify.engine.providers import CPU
from live_classify.sinks import JsonLines, Recorder, check_writable
from live_classify.window import Window, display_problem, prepare_snapshot_dir
from live_classify.sources import CameraSettings, SourceSpec, VideoSource


STALE_S = 1.0  # no new frame for this long: the window says so instead of showing the last rates


def run_video(args: argparse.Namespace, spec: SourceSpec, open_classifier: Callable[..., Classifier]) -> int:
    """Classify a camera, stream or video file until it ends or the user stops; returns the exit code."""
    if args.record:
        Recorder.check(args.record, args.overwrite)  # before anything is opened or written
    if args.jsonl and args.jsonl != "-":
        check_writable(Path(args.jsonl), "JSON lines file")
    collector = _collector(args)
    quota = Quota(collector, args.collect, args.count, args.interval) if collector and args.collect else None
    show_window = _window_wanted(args)
    jsonl_target = args.jsonl
    if not show_window and not args.record and not jsonl_target and not args.collect:
        log("headless with no --record or --jsonl: writing JSON lines to stdout")
        jsonl_target = "-"

    source = VideoSource(spec, CameraSettings(args.width, args.height, args.fps, args.fourcc),
                         args.open_timeout, args.read_timeout, args.rtsp_transport)
    log(f"opened {source.describe()}")
    every_frame = not spec.live and not args.realtime
    cores = os.cpu_count() or 1
    # Every frame of a file: throughput counts, so one single-threaded engine per core, sharing
    # the session, beats one engine whose threads meet at a barrier after every layer while
    # decoding and drawing take turns on the same cores. Live: one engine on all cores, for the
    # shortest latency. onnxruntime's spin-waiting only steals those cores from capture.
    parallel = every_frame and not args.threads and cores > 1
    try:
        classifier = open_classifier(threads=1 if parallel else None, spin=False)
    except BaseException:
        source.release()
        raise
    workers = cores if parallel and classifier.backend.provider == CPU else 1
    pace = None if spec.live or not args.realtime else source.claimed_fps or 30.0
    pipeline = Pipeline(source, classifier, every_frame=every_frame, workers=workers, smoothing=args.smooth,
                        pace_fps=pace, max_reconnects=args.reconnect, log=log)
    # A file's rate is in its header; a live source's is measured (streams claim what they like).
    recorder = Recorder(args.record, None if pipeline.drops_frames else source.claimed_fps, warning) if args.record else None
    jsonl = JsonLines(jsonl_target, spec.name, drop=pipeline.drops_frames,
                      min_confidence=args.min_confidence) if jsonl_target else None
    window = Window(args.snapshot_dir) if show_window else None
    clock = _source_clock(spec, source.claimed_fps)
    with _stop_on_signals(pipeline) as signals:  # a signal while finishing up must not cut the finishing short
        try:
            pipeline.start()
            _main_loop(pipeline, classifier.backend.short_name, window, recorder, jsonl, collector, quota, clock,
                       args.min_confidence)
        finally:
            pipeline.join(timeout=args.read_timeout + 2)
            if jsonl:
                for prediction in pipeline.leftover_predictions():
                    jsonl.write(prediction)
                jsonl.close()
            if recorder:
                recorder.close()
            if window:
                window.close()
            _summary(pipeline, classifier, recorder, jsonl, shown=window is not None)
    failure = pipeline.error or (jsonl.error if jsonl else None)
    if quota:
        log(quota.report())
        if not (quota.done or failure or signals or (window and window.quit)):  # the source ended first
            failure = quota.shortfall(spec.name)
    if failure:
        error(failure)
        return 1
    return 0


def _window_wanted(args: argparse.Namespace) -> bool:
    """A window unless --headless or there is no display; what only a window uses is checked now."""
    show = not args.headless
    if show and (problem := display_problem()):
        log(f"{problem}: running headless")
        show = False
    if show:
        prepare_snapshot_dir(args.snapshot_dir)
    else:
        for unused in headless_problems(getattr(args, "given", frozenset())):
            warning(unused)
    return show


def _collector(args: argparse.Namespace) -> Collector | None:
    """Frames for your own classes: bound to keys 1-9 (--classes), or one label headless (--collect)."""
    if args.collect:
        return Collector(args.collect_dir, [args.collect])
    if args.classes:
        return Collector(args.collect_dir, args.classes)
    return None


def _main_loop(pipeline: Pipeline, provider: str, window: Window | None, recorder: Recorder | None,
               jsonl: JsonLines | None, collector: Collector | None, quota: Quota | None,
               clock: Callable[[Frame], float], min_confidence: float | None) -> None:
    last: Shown | None = None

    def idle() -> None:
        """No frame is coming (stall, reconnect): keep the window alive and say why it is frozen."""
        if window is None:
            return
        quiet = time.monotonic() - pipeline.last_capture
        if last is not None and pipeline.drops_frames and (pipeline.reconnecting or quiet > STALE_S):
            window.show(_annotate(last, pipeline, provider, min_confidence, quiet_s=quiet,
                                  reconnecting=pipeline.reconnecting))
        else:
            window.poll()
        if window.quit:
            pipeline.stop()

    for shown in pipeline.frames(idle):
        if jsonl:
            for prediction in shown.new_predictions:
                jsonl.write(prediction)
            if jsonl.reader_gone:
                log("the reader of the JSON lines went away: stopping")
                return
            if jsonl.error:
                return
        if quota and (saved := quota.offer(shown.frame.image, clock(shown.frame))):  # --collect, every --interval
            log(f"saved {saved}")
            if quota.done:
                return
        if collector and window and window.class_key:  # keys 1-9: this frame, raw, before the overlay
            if window.class_key <= len(collector.classes):
                name = collector.classes[window.class_key - 1]
                log(f"saved {collector.save(shown.frame.image, name)} ({collector.summary()})")
            window.class_key = None
        if window or recorder:
            canvas = _annotate(shown, pipeline, provider, min_confidence, paused=bool(window and window.paused),
                               collected=collector.summary() if collector else None)
            if recorder:
                recorder.write(canvas, shown.frame.t_capture)
            if window:
                if window.show(canvas):
                    pipeline.stats.shown += 1
                if window.quit:
                    return
        last = shown


def _source_clock(spec: SourceSpec, claimed_fps: float | None) -> Callable[[Frame], float]:
    """Seconds on the source's own clock: a file's time from its frame rate, else the capture time."""
    if spec.live:
        return lambda frame: frame.t_capture
    fps = claimed_fps or 25.0
    if not claimed_fps:
        log(f"{spec.name} does not say its frame rate: its time is counted at {fps:g} fps")
    return lambda frame: frame.index / fps


def _annotate(shown: Shown, pipeline: Pipeline, provider: str, min_confidence: float | None, *,
              paused: bool = False, quiet_s: float | None = None, reconnecting: bool = False,
              collected: str | None = None) -> np.ndarray:
    """The frame with the overlay; ``quiet_s``: no new frame for that long (the rates are not live)."""
    stats = pipeline.stats
    age = None
    if shown.prediction is not None:
        age = (shown.frame.t_capture - shown.prediction.frame.t_capture) * 1e3
    status = overlay.Status(
        capture_fps=stats.capture_rate.rate, inference_fps=stats.inference_rate.rate,
        display_fps=stats.display_rate.rate, dropped=stats.dropped, provider=provider,
        age_ms=age, paused=paused, reconnecting=reconnecting, lost_for_s=quiet_s,
        lost_because=pipeline.lost_because if reconnecting else None, collected=collected,
        min_confidence=min_confidence,
    )
    canvas = shown.frame.image if shown.exclusive and quiet_s is None else shown.frame.image.copy()
    return overlay.draw(canvas, shown.prediction, status)


@contextlib.contextmanager
def _stop_on_signals(pipeline: Pipeline) -> Iterator[list[int]]:
    """First Ctrl+C/SIGTERM/SIGHUP: a clean stop. A second one: exit at once — the recording is
    Motion-JPEG, playable as it stands, and every JSON line is already flushed. Yields the list of
    signals received, so the caller can tell a stop the user asked for."""
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    received: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        if len(received) > 1:
            os._exit(128 + signum)
        log(f"{signal.Signals(signum).name}: stopping (again to quit at once)")
        pipeline.stop()

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _summary(pipeline: Pipeline, classifier: Classifier, recorder: Recorder | None, jsonl: JsonLines | None,
             *, shown: bool) -> None:
    """What the run did, on stderr; frames "shown" only where a window showed them."""
    s = pipeline.stats
    elapsed = max(1e-9, time.monotonic() - s.started)
    p50, p95 = s.latency_percentile(50), s.latency_percentile(95)
    latency = f"latency p50 {p50:.0f} ms, p95 {p95:.0f} ms" if p50 is not None else "no latency measured"
    on_screen = f"{s.shown} shown, " if shown else ""
    log(f"{s.captured} frames captured, {s.classified} classified, {s.dropped} dropped, {on_screen}"
        f"{s.reconnects} reconnects in {elapsed:.1f} s")
    log(f"capture {s.captured / elapsed:.1f} fps, inference {s.classified / elapsed:.1f} fps; {latency}; "
        f"{classifier.backend.provider}")
    if recorder:
        stopped = f" (stopped early: {recorder.stopped_because})" if recorder.stopped_because else ""
        log(f"recorded {recorder.frames} frames to {recorder.path} at {recorder.fps or 0:g} fps{stopped}")
    if jsonl and (jsonl.lines or jsonl.skipped):
        skipped = f" ({jsonl.skipped} skipped: the reader was too slow)" if jsonl.skipped else ""
        log(f"wrote {jsonl.lines} JSON lines{skipped}")
