"""The fan-out and the background writer, call by call: which sink is closed, warned about or
fails the run, with which words; the late predictions; a sink of one camera of several."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from updates import update

from live_classify.pipeline.frames import Frame, Shown
from live_classify.sinks.base import BackgroundWriter, OneCamera, Sinks, Update


class Sink:
    """Records every call; raises from ``fail_in`` (a method name) when asked."""

    def __init__(self, name: str, essential: bool = False, fail_in: str = "", summary: str | None = None,
                 predictions: bool = False) -> None:
        self.name, self.essential, self.fail_in, self._summary = name, essential, fail_in, summary
        self.error: str | None = None
        self.stop_requested = False
        self.calls: list[str] = []
        if predictions:
            self.write_predictions = lambda p: self._call("write_predictions", len(p))

    def _call(self, what: str, arg: object = None) -> None:
        self.calls.append(what if arg is None else f"{what}:{arg}")
        if self.fail_in == what:
            raise RuntimeError(f"{self.name} broke in {what}")

    def write(self, update: Update) -> None:
        self._call("write", update.shown.frame.index)

    def idle(self, redraw: Callable[[str], object]) -> None:
        self._call("idle", redraw("door"))

    def close(self) -> None:
        self._call("close")

    def summary(self) -> str | None:
        return self._summary


def test_a_failing_sink_is_closed_once_dropped_and_named_and_the_others_get_every_call() -> None:
    warned: list[str] = []
    good, bad = Sink("good", summary="good line"), Sink("bad", fail_in="idle", summary="bad line")
    sinks = Sinks([bad, good], warned.append)
    sinks.write(update(0, 0.0))
    sinks.idle(lambda camera: "frame")
    sinks.write(update(1, 0.1))
    assert bad.calls == ["write:0", "idle:frame", "close"] and bad.error == "bad broke in idle"
    assert good.calls == ["write:0", "idle:frame", "write:1"]
    assert warned == ["bad stopped: bad broke in idle; the rest of the run goes on"]
    assert sinks.active == [good] and sinks.all == [bad, good] and sinks.failure is None
    assert not sinks.stop_requested
    assert sinks.summaries() == ["bad line", "good line"]  # every sink's, the dropped one's too
    sinks.close()
    assert good.calls[-1] == "close" and bad.calls.count("close") == 1


def test_the_first_error_is_kept_and_a_close_that_fails_too_changes_nothing() -> None:
    warned: list[str] = []
    bad = Sink("bad", fail_in="write")
    bad.error = "it said so first"
    sinks = Sinks([bad, Sink("other")], warned.append)
    sinks.write(update(0, 0.0))
    assert warned == ["bad stopped: it said so first; the rest of the run goes on"]
    closing = Sink("closing", fail_in="close")
    sinks = Sinks([closing, Sink("other")], warned.append)
    sinks.close()
    assert closing.error == "closing broke in close" and sinks.failure is None
    assert warned[-1] == "closing stopped: closing broke in close; the rest of the run goes on"
    assert closing.calls == ["close", "close"]  # closed, then dropped (closed again; its error ignored)


@pytest.mark.parametrize("essential, alone", [(True, False), (False, True)])
def test_an_essential_or_the_last_sink_failing_fails_the_run_with_its_error(essential: bool, alone: bool) -> None:
    warned: list[str] = []
    bad = Sink("bad", essential=essential, fail_in="write")
    sinks = Sinks([bad] if alone else [bad, Sink("other")], warned.append)
    sinks.write(update(0, 0.0))
    assert sinks.failure == "bad broke in write" and sinks.stop_requested and warned == []
    second = Sink("second", essential=True, fail_in="idle")
    sinks.active.append(second)
    sinks.idle(lambda camera: None)
    assert sinks.failure == "bad broke in write"  # the first failure is the run's


def test_stop_is_asked_when_any_active_sink_asks() -> None:
    one, two = Sink("one"), Sink("two")
    sinks = Sinks([one, two], lambda _: None)
    assert not sinks.stop_requested
    two.stop_requested = True
    assert sinks.stop_requested


def test_late_predictions_go_only_to_sinks_that_keep_predictions() -> None:
    keeper, frames = Sink("keeper", predictions=True), Sink("frames")
    sinks = Sinks([keeper, frames], lambda _: None)
    sinks.write_late(update(0, 0.0).shown.new_predictions * 3)
    assert keeper.calls == ["write_predictions:3"] and frames.calls == []
    failing = Sink("failing", predictions=True)
    failing.write_predictions = lambda p: (_ for _ in ()).throw(ValueError("late"))
    sinks = Sinks([failing, Sink("other")], lambda _: None)
    sinks.write_late([])
    assert failing.error == "late" and failing not in sinks.active


def camera_update(camera: str, index: int) -> Update:
    base = update(index, index / 10)
    frame = Frame(index, base.shown.frame.t_capture, base.shown.frame.wall_time, base.shown.frame.image, camera)
    return Update(Shown(frame, None, [], True), base.source_time, base.draw)


def test_a_sink_of_one_camera_sees_its_frames_and_idles_on_the_others() -> None:
    inner = Sink("recording", essential=True, summary="12 frames", predictions=True)
    door = OneCamera("door", inner)
    assert (door.name, door.essential, door.camera) == ("door recording", True, "door")
    door.write(camera_update("door", 0))
    door.write(camera_update("yard", 1))
    door.idle(lambda camera: f"{camera}'s frame")
    assert inner.calls == ["write:0", "idle", "idle:door's frame"]  # another camera's frame: no redraw
    predictions = [camera_update(c, i).shown for i, c in enumerate(["door", "yard", "door"])]
    base = update(0, 0.0).shown.new_predictions[0]
    door.write_predictions([type(base)(s.frame, base.result, base.t_done) for s in predictions])
    assert inner.calls[-1] == "write_predictions:2"
    assert door.summary() == "door: 12 frames" and OneCamera("x", Sink("s")).summary() is None
    door.error = "broken"
    assert inner.error == "broken" and door.error == "broken"
    inner.stop_requested = True
    assert door.stop_requested
    door.close()
    assert inner.calls[-1] == "close"
    OneCamera("x", Sink("no predictions")).write_predictions([base])  # nothing to give them to, no error


def test_a_live_writer_counts_what_it_drops_and_a_file_writer_waits_for_room() -> None:
    gate, handled = threading.Event(), []
    live = BackgroundWriter("live", handled.append, drop=True, backlog=2, gate=gate)
    for item in range(5):
        live.submit(item)
    assert live.dropped == 3
    time.sleep(0.2)
    assert handled == [], "taken while the gate was closed"
    gate.set()
    live.finish()
    assert handled == [3, 4]
    owed, got = threading.Event(), []
    filed = BackgroundWriter("file", got.append, drop=False, backlog=1, gate=owed)
    threading.Timer(0.3, owed.set).start()
    for item in range(4):
        filed.submit(item)
    filed.finish()
    assert got == [0, 1, 2, 3] and filed.dropped == 0 and filed.error is None


def test_a_writer_that_fails_keeps_why_and_ignores_the_rest() -> None:
    def handle(item: int) -> None:
        if item == 1:
            raise ValueError
        seen.append(item)

    seen: list[int] = []
    writer = BackgroundWriter("w", handle, drop=False, backlog=10)
    for item in range(3):
        writer.submit(item)
    writer.finish()
    assert seen == [0] and writer.error == "ValueError"
    waiting = writer._queue.qsize()
    writer.submit(5)
    assert writer._queue.qsize() == waiting


def stuck_writer(release: threading.Event, handled: list[int]) -> BackgroundWriter[int]:
    """A writer whose first item is being handled (until ``release``) and whose queue is full."""
    taken = threading.Event()

    def handle(item: int) -> None:
        taken.set()
        release.wait()
        handled.append(item)

    writer = BackgroundWriter("stuck", handle, drop=True, backlog=1)
    writer.submit(1)
    assert taken.wait(20)
    writer.submit(2)
    return writer


def test_finish_gives_stuck_work_no_more_than_its_timeout() -> None:
    release, handled = threading.Event(), []
    writer = stuck_writer(release, handled)
    start = time.monotonic()
    assert returns(lambda: writer.finish(timeout=0.5)), "finish waited for room in the queue forever"
    assert 0.4 <= time.monotonic() - start < 3.0
    release.set()


def test_finish_ends_as_soon_as_stuck_work_comes_free() -> None:
    release, handled = threading.Event(), []
    writer = stuck_writer(release, handled)
    threading.Timer(0.3, release.set).start()
    start = time.monotonic()
    writer.finish(timeout=30)
    assert handled == [1, 2] and time.monotonic() - start < 15, "finish waited out its whole timeout"


def test_finish_of_a_writer_that_died_with_a_full_queue_returns_at_once() -> None:
    def fail(item: int) -> None:
        raise OSError("gone")

    writer = BackgroundWriter("dead", fail, drop=True, backlog=1, gate=threading.Event())
    writer.submit(1)  # waits behind the closed gate: the queue is full
    writer._gate.set()  # type: ignore[union-attr]
    writer._thread.join(20)
    writer._queue.put(3)  # full again, and nobody to take it
    start = time.monotonic()
    writer.finish(timeout=8)
    assert time.monotonic() - start < 4, "finish kept trying to hand over to a thread that had ended"


def returns(call: Callable[[], None], within: float = 20.0) -> bool:
    """Whether ``call`` returns (in a thread of its own, so that a hang fails the test, not the run)."""
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(within)
    return not thread.is_alive()


def test_a_file_writer_waiting_for_room_gives_up_when_its_thread_fails() -> None:
    release = threading.Event()

    def handle(item: int) -> None:
        release.wait()
        raise OSError("disk gone")

    writer = BackgroundWriter("w", handle, drop=False, backlog=1)
    writer.submit(0)  # taken by the thread, which waits
    writer.submit(1)  # fills the queue
    threading.Timer(0.3, release.set).start()
    assert returns(lambda: writer.submit(2)), "the main loop waited for a writer that had died"
    assert writer.error == "disk gone"


def test_a_file_writer_whose_thread_ended_takes_no_more_and_never_waits() -> None:
    writer = BackgroundWriter("w", lambda item: None, drop=False, backlog=1)
    writer.finish()
    assert returns(lambda: [writer.submit(item) for item in range(3)]), "waited for room that never comes"


def test_the_writer_runs_in_a_daemon_thread_named_for_its_output() -> None:
    """Named for thread dumps; a daemon, so that work stuck past ``finish`` never keeps the process alive."""
    writer = BackgroundWriter("jsonl-test", lambda item: None, drop=True, backlog=1)
    try:
        [thread] = [t for t in threading.enumerate() if t.name == "jsonl-test"]
        assert thread.daemon is True
    finally:
        writer.finish()


def test_finish_waits_10_s_at_most_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from live_classify.sinks import base

    writer = BackgroundWriter("w", lambda item: None, drop=True, backlog=1)
    writer.finish()
    joined: list[float] = []
    writer._thread = SimpleNamespace(is_alive=lambda: False, join=joined.append)  # type: ignore[assignment]
    monkeypatch.setattr(base, "time", SimpleNamespace(monotonic=lambda: 500.0))
    writer.finish()
    writer.finish(timeout=2.5)
    assert joined == [10.0, 2.5]


def test_a_reload_never_feeds_again_an_output_a_failure_dropped() -> None:
    """An output that failed stays dropped (closed once, one line) when a reload arranges the
    outputs anew with it still among the components; a new one is fed from then on."""
    warned: list[str] = []
    good, bad, new = Sink("good"), Sink("bad", fail_in="write"), Sink("new")
    sinks = Sinks([bad, good], warned.append)
    sinks.write(update(0, 0.0))
    sinks.arrange([bad, good, new], [])
    sinks.write(update(1, 0.1))
    assert sinks.active == [good, new] and sinks.all == [bad, good, new]
    assert bad.calls == ["write:0", "close"] and new.calls == ["write:1"]
    assert warned == ["bad stopped: bad broke in write; the rest of the run goes on"]
    sinks.close()
