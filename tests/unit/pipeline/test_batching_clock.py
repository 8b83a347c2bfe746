"""Batch assembly on a fake clock: which frames go into which batch and exactly how long ``take()``
waits, and what ``_classify()`` does with the answers, without threads or real seconds.

The clock is also the wake event the cameras set; the cameras are stand-ins that hand over the
frames the test schedules. (``test_batching.py`` runs the same rules with real cameras and threads.)
"""
from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
from engines import Recorder

from live_classify.engine.backend import BackendUnavailable
from live_classify.pipeline.batching import Batcher
from live_classify.pipeline.frames import Flow, Frame


class Clock:
    """time.monotonic for batching, and the wake event the cameras set: a wait moves the clock to the
    next scheduled arrival (and hands that frame over) or by the whole timeout, and records it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.arrivals: list[tuple[float, FakeCamera, int]] = []

    def monotonic(self) -> float:
        return self.now

    def clear(self) -> None:
        pass

    def set(self) -> None:
        pass

    def wait(self, timeout: float) -> bool:
        self.waits.append(round(timeout, 6))
        assert len(self.waits) < 20, f"take() keeps waiting: {self.waits}"
        if self.arrivals and self.arrivals[0][0] <= self.now + timeout:
            self.now, camera, index = self.arrivals.pop(0)
            camera.pending.append(index)
            return True
        self.now += timeout
        return False


class FakeCamera:
    """What the batcher sees of a camera: frames waiting (their indexes), and what it is given."""

    def __init__(self, name: str, *frames: int, live: bool = True, done: bool = False) -> None:
        self.name = name
        self.pending = list(frames)
        self.inference_done = done
        self.flow = Flow.LATEST if live else Flow.EVERY
        self.stats = SimpleNamespace(unserved=0)
        self.backend_down: str | None = "stale"
        self.delivered: list[tuple[int, str, float]] = []
        self.stopped = False

    def next_for_inference(self) -> Frame | None:
        if not self.pending:
            return None
        return Frame(self.pending.pop(0), 0.0, 0.0, np.zeros((1, 1, 3), np.uint8), self.name)

    def deliver(self, prediction, lane: int = 0) -> None:
        self.delivered.append((prediction.frame.index, prediction.result, prediction.t_done))

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("live_classify.pipeline.batching.time.monotonic", clock.monotonic)
    return clock


def batcher_of(clock: Clock, cameras_: list[FakeCamera], classifier: object = None, **options) -> Batcher:
    return Batcher(classifier or Recorder(), cameras_, SimpleNamespace(inference=clock), **options)  # type: ignore[arg-type]


def taken(batch: list) -> list[tuple[str, int]]:
    return [(p.name, f.index) for p, f in batch]


def test_without_a_wait_a_frame_goes_at_once_and_alone(clock: Clock) -> None:
    cams = [FakeCamera("a", 0), FakeCamera("b")]
    batcher = batcher_of(clock, cams, max_batch=2)  # the default --batch-wait: 0
    assert (batcher.wait_s, batcher.pad_to) == (0.0, None)
    assert taken(batcher.take()) == [("a", 0)] and clock.waits == []


def test_a_batch_waits_exactly_the_wait_for_the_others_then_goes(clock: Clock) -> None:
    cams = [FakeCamera("a", 0), FakeCamera("b"), FakeCamera("c")]
    batcher = batcher_of(clock, cams, max_batch=3, wait_s=0.3)
    clock.arrivals = [(0.1, cams[1], 0)]  # b in time, c never
    assert taken(batcher.take()) == [("a", 0), ("b", 0)]
    assert clock.waits == [0.3, 0.2] and clock.now == pytest.approx(0.3)


def test_a_batch_goes_the_moment_every_open_camera_is_in_it(clock: Clock) -> None:
    cams = [FakeCamera("a", 0), FakeCamera("b"), FakeCamera("c", done=True)]
    batcher = batcher_of(clock, cams, max_batch=3, wait_s=0.3)
    clock.arrivals = [(0.1, cams[1], 0)]
    assert taken(batcher.take()) == [("a", 0), ("b", 0)]
    assert clock.waits == [0.3] and clock.now == 0.1  # c has ended: not waited for


def test_a_second_frame_of_a_camera_in_the_batch_waits_for_the_next_one(clock: Clock) -> None:
    cams = [FakeCamera("a", 0), FakeCamera("b")]
    batcher = batcher_of(clock, cams, max_batch=2, wait_s=1.0)
    clock.arrivals = [(0.2, cams[0], 1), (0.5, cams[1], 0)]
    assert taken(batcher.take()) == [("a", 0), ("b", 0)]
    assert clock.waits == [1.0, 0.8] and clock.now == 0.5
    assert taken(batcher.take()) == [("a", 1)]


def test_with_nothing_waiting_take_returns_empty_after_a_tenth_of_a_second(clock: Clock) -> None:
    batcher = batcher_of(clock, [FakeCamera("a"), FakeCamera("b")], max_batch=2, wait_s=0.3)
    assert batcher.take() == [] and clock.waits == [0.1]
    clock.arrivals = [(0.15, batcher.cameras[1], 0)]  # woken by a frame: it waits no longer than asked
    assert taken(batcher.take()) == [("b", 0)] and clock.waits == [0.1, 0.1, 0.3]
    batcher.stop()
    batcher.cameras[0].pending.append(5)
    assert batcher.take() == []  # stopped: nothing more is taken


def test_when_the_engine_takes_fewer_than_the_cameras_they_take_turns(clock: Clock) -> None:
    cams = [FakeCamera(name, *range(3)) for name in "abc"]
    batcher = batcher_of(clock, cams, max_batch=2, wait_s=5.0)
    assert [taken(batcher.take()) for _ in range(3)] == [
        [("a", 0), ("b", 0)], [("c", 0), ("a", 1)], [("b", 1), ("c", 1)]]
    assert clock.waits == []  # full batches go at once
    assert batcher_of(clock, cams, max_batch=0).max_batch == 1
    assert batcher_of(clock, cams, max_batch=3, pad=True).pad_to == 3


class Scores:
    """A classifier answering each image with its batch's size and pad, or failing as told."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.calls: list[tuple[int, int | None]] = []

    def classify_batch(self, images: list[np.ndarray], pad_to: int | None = None) -> list[str]:
        self.calls.append((len(images), pad_to))
        if self.fail is not None:
            raise self.fail
        return [f"{k} of {len(images)}" for k in range(len(images))]


def test_each_prediction_goes_to_its_camera_and_the_batches_are_counted(clock: Clock) -> None:
    cams = [FakeCamera("a", 0, 1), FakeCamera("b", 0)]
    scores = Scores()
    batcher = batcher_of(clock, cams, scores, max_batch=4, pad=True)
    assert batcher.mean_batch == 0.0
    clock.now = 7.5
    batcher._classify(batcher.take())
    clock.now = 8.0
    batcher._classify(batcher.take())
    assert scores.calls == [(2, 4), (1, 4)]
    assert cams[0].delivered == [(0, "0 of 2", 7.5), (1, "0 of 1", 8.0)] and cams[1].delivered == [(0, "1 of 2", 7.5)]
    assert (batcher.batches, batcher.batched_frames, batcher.mean_batch) == (2, 3, 1.5)
    assert [c.backend_down for c in cams] == [None, None] and batcher.error is None


def test_live_frames_taken_while_the_server_is_away_are_counted_unserved(clock: Clock) -> None:
    cams = [FakeCamera("a", 0), FakeCamera("b", 0)]
    batcher = batcher_of(clock, cams, Scores(BackendUnavailable("refused")), max_batch=2)
    batcher._stop.wait = lambda timeout: False  # Inference's backoff pause: not waited here
    batcher._classify(batcher.take())
    assert [c.stats.unserved for c in cams] == [1, 1] and [c.backend_down for c in cams] == ["refused"] * 2
    cams[0].pending.append(1)
    batcher._classify(batcher.take())
    assert [c.stats.unserved for c in cams] == [2, 1]
    assert (batcher.batches, batcher.batched_frames) == (0, 0) and cams[0].delivered == []


def test_a_file_waits_for_the_server_and_a_stop_ends_the_wait(clock: Clock) -> None:
    scores = Scores(BackendUnavailable("refused"))
    file = FakeCamera("f", 0, live=False)
    batcher = batcher_of(clock, [file, FakeCamera("a", 0)], scores, max_batch=2, pad=True)
    tries = iter(range(3))
    batcher._stop.wait = lambda timeout: next(tries) == 2 and batcher._stop.set() is None  # stop at the third pause
    batcher._classify(batcher.take())
    assert scores.calls == [(2, 2)] * 3  # each retry padded as the first try
    assert file.stats.unserved == 1 and batcher._inference._waits_for_server([]) is False


def test_a_failing_engine_stops_every_camera_with_one_reason(clock: Clock) -> None:
    cams = [FakeCamera("a", 0), FakeCamera("b")]
    batcher = batcher_of(clock, cams, Scores(RuntimeError("CUDA out of memory")), max_batch=2)
    assert batcher._thread.name == "inference" and batcher._thread.daemon is True
    batcher.start().join(5)
    assert batcher.error == "inference failed: CUDA out of memory" and [c.stopped for c in cams] == [True, True]


def test_the_thread_ends_when_stopped_and_join_gives_up_after_its_timeout(clock: Clock) -> None:
    idle = batcher_of(clock, [FakeCamera("a")], max_batch=1)
    clock.wait = lambda timeout: False  # no frame ever: take() comes back empty again and again
    idle.start().join(5)
    assert not idle._thread.is_alive()  # stopped although its camera never ended
    release = threading.Event()
    stuck = batcher_of(clock, [FakeCamera("b", 0)], SimpleNamespace(classify_batch=lambda *_: release.wait(10) and []),
                       max_batch=1)
    stuck.start()
    stuck.join(0.05)  # the engine holds the thread: join returns at its timeout (joined for good, it would
    assert stuck._thread.is_alive()  # return only when the engine gives up, 10 s later, the thread ended)
    release.set()
    stuck.join(5)
    assert not stuck._thread.is_alive()
