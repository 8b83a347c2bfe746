"""Batch assembly for several cameras: the newest frame of each, none twice, in turn, never held
back past --batch-wait by a slow camera; a file's frames all classified; a server away waited out.

The cameras here are scripted sources whose frames the test hands over one by one, and the
classifier a recorder that says which frames it was given: what is checked is which frames go
into which batch, not the model.
"""
from __future__ import annotations

import queue
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from live_classify.batching import Batcher
from live_classify.engine.backend import BackendUnavailable
from live_classify.frames import Flow, Frame
from live_classify.pipeline import Pipeline, Wake
from live_classify.sources import SourceSpec


class Scripted:
    """A source whose frames the test sends: each a tiny image carrying (camera, index) in its pixels."""

    def __init__(self, camera: int, live: bool = True, frames: int = 0) -> None:
        self.spec = SourceSpec(f"cam{camera}", "camera" if live else "file", f"cam{camera}")
        self.claimed_fps = None
        self.lost_because = "ended"
        self.camera = camera
        self._frames: queue.Queue = queue.Queue()
        for index in range(frames):
            self.send(index)
        if not live:
            self._frames.put(None)

    def send(self, index: int) -> None:
        self._frames.put(np.full((2, 2, 3), (self.camera, index % 256, index // 256), np.uint8))

    def end(self) -> None:
        self._frames.put(None)

    def describe(self) -> str:
        return self.spec.name

    def read(self) -> np.ndarray | None:
        return self._frames.get()

    def reopen(self) -> bool:
        return False

    def release(self) -> None:
        pass


class Recorder:
    """Stands in for the classifier: records each batch as (camera, index) pairs."""

    def __init__(self, unavailable_for: int = 0, delay_s: float = 0.0) -> None:
        self.batches: list[list[tuple[int, int]]] = []
        self.unavailable_for = unavailable_for
        self.delay_s = delay_s  # each run takes this long: an engine that cannot keep up
        self.lock = threading.Lock()

    def classify_batch(self, images: list[np.ndarray], pad_to: int | None = None) -> list[str]:
        if self.unavailable_for > 0:
            self.unavailable_for -= 1
            raise BackendUnavailable("connection refused")
        time.sleep(self.delay_s)
        with self.lock:
            self.batches.append([(int(i[0, 0, 0]), int(i[0, 0, 1]) + 256 * int(i[0, 0, 2])) for i in images])
        return [f"result {k}" for k in range(len(images))]

    def classified(self) -> list[tuple[int, int]]:
        with self.lock:
            return [item for batch in self.batches for item in batch]


def cameras(sources: list[Scripted], recorder: Recorder, wake: Wake) -> list[Pipeline]:
    return [Pipeline(s, recorder, flow=Flow.of(s.spec.live, False), name=s.spec.name, wake=wake, log=lambda _: None)
            for s in sources]


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def close(sources: list[Scripted], pipelines: list[Pipeline]) -> None:
    """End every source first: a pipeline's capture thread waiting on a frame would hold join() for its timeout."""
    for s in sources:
        s.end()
    for p in pipelines:
        p.join(2)


@pytest.fixture
def wake() -> Wake:
    return Wake()


def test_each_batch_takes_the_newest_frame_of_each_camera_and_counts_the_replaced(wake: Wake) -> None:
    sources = [Scripted(0), Scripted(1), Scripted(2)]
    recorder = Recorder()
    pipelines = [p.start() for p in cameras(sources, recorder, wake)]
    batcher = Batcher(recorder, pipelines, wake, max_batch=3)
    for index in range(4):
        sources[0].send(index)
    sources[1].send(0)
    wait_until(lambda: pipelines[0].stats.captured == 4 and pipelines[1].stats.captured == 1)
    batch = batcher.take()
    assert sorted((p.name, f.index) for p, f in batch) == [("cam0", 3), ("cam1", 0)]
    assert pipelines[0].stats.replaced == 3 and pipelines[1].stats.replaced == 0
    assert all(f.camera == p.name for p, f in batch)
    close(sources, pipelines)


def test_a_slow_camera_does_not_hold_a_batch_past_the_wait_but_a_prompt_one_joins_it(wake: Wake) -> None:
    sources = [Scripted(0), Scripted(1), Scripted(2)]
    recorder = Recorder()
    pipelines = [p.start() for p in cameras(sources, recorder, wake)]
    batcher = Batcher(recorder, pipelines, wake, max_batch=3, wait_s=0.3)
    sources[0].send(0)
    threading.Timer(0.05, sources[1].send, (0,)).start()  # in time; camera 2 sends nothing
    t0 = time.monotonic()
    batch = batcher.take()
    waited = time.monotonic() - t0
    assert sorted(p.name for p, _ in batch) == ["cam0", "cam1"]
    assert 0.25 <= waited < 2.0  # it waited for the others (the prompt one joined), then went without the slow one
    sources[0].send(1)
    wait_until(lambda: pipelines[0].stats.captured == 2)
    alone = Batcher(recorder, pipelines, wake, max_batch=3, wait_s=0.0).take()
    assert [(p.name, f.index) for p, f in alone] == [("cam0", 1)]  # no wait asked: at once, alone
    close(sources, pipelines)


def test_no_frame_is_classified_twice_and_every_camera_gets_its_turn(wake: Wake) -> None:
    sources = [Scripted(c) for c in range(3)]
    recorder = Recorder(delay_s=0.025)  # one frame per 25 ms while each camera sends one per 10 ms
    pipelines = [p.start() for p in cameras(sources, recorder, wake)]
    batcher = Batcher(recorder, pipelines, wake, max_batch=1).start()  # one at a time: turns must rotate
    for index in range(30):
        for s in sources:
            s.send(index)
        time.sleep(0.01)
    wait_until(lambda: sum(p.stats.classified + p.stats.dropped for p in pipelines) == 90)
    classified = recorder.classified()
    assert len(classified) == len(set(classified))
    per_camera = [sum(1 for c, _ in classified if c == cam) for cam in range(3)]
    assert min(per_camera) >= max(per_camera) - 1  # served in turn: within one of each other
    firsts = [c for c, _ in classified[:6]]
    assert sorted(firsts[:3]) == [0, 1, 2] and sorted(firsts[3:6]) == [0, 1, 2]
    for s in sources:
        s.end()
    batcher.join(2)
    for p in pipelines:
        p.join(1)


def test_every_frame_of_several_files_is_classified_in_order(wake: Wake) -> None:
    sources = [Scripted(0, live=False, frames=40), Scripted(1, live=False, frames=25)]
    recorder = Recorder()
    pipelines = [p.start() for p in cameras(sources, recorder, wake)]
    batcher = Batcher(recorder, pipelines, wake, max_batch=2).start()
    shown: dict[str, list[int]] = {p.name: [] for p in pipelines}
    while not all(p.ended for p in pipelines):  # as the main loop does: each camera in turn
        for p in pipelines:
            if (item := p.poll(0.01)) is not None:
                shown[p.name].append(item.frame.index)
    assert shown == {"cam0": list(range(40)), "cam1": list(range(25))}
    classified = recorder.classified()
    assert [i for c, i in classified if c == 0] == list(range(40))
    assert [i for c, i in classified if c == 1] == list(range(25))
    assert max(len(b) for b in recorder.batches) == 2  # the two files really shared batches
    batcher.join(2)


def test_live_frames_are_dropped_while_the_server_is_away_and_classifying_resumes(wake: Wake) -> None:
    sources = [Scripted(0), Scripted(1)]
    recorder = Recorder(unavailable_for=2)
    pipelines = [p.start() for p in cameras(sources, recorder, wake)]
    batcher = Batcher(recorder, pipelines, wake, max_batch=2).start()
    for s in sources:
        s.send(0)
    wait_until(lambda: pipelines[0].backend_down == "connection refused")
    wait_until(lambda: all(p.stats.unserved >= 1 for p in pipelines), timeout=10)
    for index in range(1, 4):
        for s in sources:
            s.send(index)
        time.sleep(0.6)
    wait_until(lambda: all(p.stats.classified >= 1 for p in pipelines), timeout=10)
    assert all(p.backend_down is None for p in pipelines)
    assert all(p.stats.dropped >= p.stats.unserved >= 1 for p in pipelines)
    for s in sources:
        s.end()
    batcher.join(2)
    for p in pipelines:
        p.join(1)


def test_a_file_waits_for_the_server_instead_of_skipping_frames(wake: Wake) -> None:
    sources = [Scripted(0, live=False, frames=5)]
    recorder = Recorder(unavailable_for=2)
    pipelines = [p.start() for p in cameras(sources, recorder, wake)]
    batcher = Batcher(recorder, pipelines, wake, max_batch=1).start()
    assert [s.frame.index for s in pipelines[0].frames()] == list(range(5))
    assert pipelines[0].stats.unserved == 0
    batcher.join(2)


def test_an_ended_camera_does_not_hold_a_batch_for_the_wait(wake: Wake) -> None:
    """Once a camera has ended, a batch with a frame of every open camera goes at once, not after --batch-wait."""
    sources = [Scripted(0), Scripted(1, live=False)]  # cam1 ends at once (a file without frames)
    recorder = Recorder()
    pipelines = [p.start() for p in cameras(sources, recorder, wake)]
    batcher = Batcher(recorder, pipelines, wake, max_batch=2, wait_s=3.0)
    sources[0].send(0)
    wait_until(lambda: pipelines[0].stats.captured == 1)
    t0 = time.monotonic()
    batch = batcher.take()
    assert [(p.name, f.index) for p, f in batch] == [("cam0", 0)]
    assert pipelines[1].inference_done
    assert time.monotonic() - t0 < 1.0  # ~1 ms here; the wait would be 3 s
    close(sources, pipelines)


def test_a_camera_never_takes_two_places_in_one_batch(wake: Wake) -> None:
    """cam0 sends a second frame while the batch waits for cam1: the batch is cam0's first and cam1's,
    and cam0's second goes in the next one."""
    sources = [Scripted(0), Scripted(1)]
    recorder = Recorder()
    pipelines = [p.start() for p in cameras(sources, recorder, wake)]
    first_taken = threading.Event()

    class Watched(Batcher):
        def _collect(self, batch: list) -> None:
            super()._collect(batch)
            if batch:
                first_taken.set()

    batcher = Watched(recorder, pipelines, wake, max_batch=2, wait_s=5.0)

    def meanwhile() -> None:
        assert first_taken.wait(5)
        sources[0].send(1)
        wait_until(lambda: pipelines[0].stats.captured == 2)
        sources[1].send(0)

    sources[0].send(0)
    wait_until(lambda: pipelines[0].stats.captured == 1)
    sender = threading.Thread(target=meanwhile)
    sender.start()
    batch = batcher.take()
    sender.join(5)
    assert [(p.name, f.index) for p, f in batch] == [("cam0", 0), ("cam1", 0)]
    assert [(p.name, f.index) for p, f in batcher.take()] == [("cam0", 1)]
    close(sources, pipelines)


# -- take() and _classify() on a fake clock: exact batches and exact waits, no threads -------------

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
    """What the batcher sees of a pipeline: frames waiting (their indexes), and what it is given."""

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

    def deliver(self, prediction) -> None:
        self.delivered.append((prediction.frame.index, prediction.result, prediction.t_done))

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("live_classify.batching.time.monotonic", clock.monotonic)
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
    clock.arrivals = [(0.15, batcher.pipelines[1], 0)]  # woken by a frame: it waits no longer than asked
    assert taken(batcher.take()) == [("b", 0)] and clock.waits == [0.1, 0.1, 0.3]
    batcher.stop()
    batcher.pipelines[0].pending.append(5)
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
    assert file.stats.unserved == 1 and batcher._waits_for_server([]) is False


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
