"""Batch assembly for several cameras: the newest frame of each, none twice, in turn, never held
back past --batch-wait by a slow camera; a file's frames all classified; a server away waited out.

The cameras here are scripted sources whose frames the test hands over one by one, and the
classifier a recorder that says which frames it was given: what is checked is which frames go
into which batch, not the model.
"""
from __future__ import annotations

import threading
import time

import pytest
from engines import Recorder, Scripted, wait_until

from live_classify.pipeline.batching import Batcher
from live_classify.pipeline.camera import Camera
from live_classify.pipeline.frames import Flow
from live_classify.pipeline.queues import Wake


def cameras(sources: list[Scripted], wake: Wake) -> list[Camera]:
    return [Camera(s, flow=Flow.of(s.spec.live, False), name=s.spec.name, alone=False, wake=wake, log=lambda _: None)
            for s in sources]




def close(sources: list[Scripted], pipelines: list[Camera]) -> None:
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
    pipelines = [p.start() for p in cameras(sources, wake)]
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
    pipelines = [p.start() for p in cameras(sources, wake)]
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
    pipelines = [p.start() for p in cameras(sources, wake)]
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
    pipelines = [p.start() for p in cameras(sources, wake)]
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
    pipelines = [p.start() for p in cameras(sources, wake)]
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
    pipelines = [p.start() for p in cameras(sources, wake)]
    batcher = Batcher(recorder, pipelines, wake, max_batch=1).start()
    shown = []
    while not pipelines[0].ended:
        if (item := pipelines[0].poll(0.1)) is not None:
            shown.append(item.frame.index)
    assert shown == list(range(5))
    assert pipelines[0].stats.unserved == 0
    batcher.join(2)


def test_an_ended_camera_does_not_hold_a_batch_for_the_wait(wake: Wake) -> None:
    """Once a camera has ended, a batch with a frame of every open camera goes at once, not after --batch-wait."""
    sources = [Scripted(0), Scripted(1, live=False)]  # cam1 ends at once (a file without frames)
    recorder = Recorder()
    pipelines = [p.start() for p in cameras(sources, wake)]
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
    pipelines = [p.start() for p in cameras(sources, wake)]
    first_taken = threading.Event()

    class Watched(Batcher):
        def _collect(self, batch: list, cameras: list) -> None:  # type: ignore[override]
            super()._collect(batch, cameras)
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
