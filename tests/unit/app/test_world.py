"""The run's shared state (``app/world.py``), its cameras changed by a reload (``app/cameras.py``)
and the model file's watch (``app/watch.py``), on small fakes: what the outputs of a camera a
reload removed still read of it, each camera's own outputs, a camera added or removed between
two batches, a new model file noticed."""
from __future__ import annotations

import os
import threading
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
from statuses import camera_status

from live_classify.app import watch as watch_module
from live_classify.app.cameras import Cameras, Member, source_clock
from live_classify.app.watch import identity, watch
from live_classify.app.world import World
from live_classify.config import HealthConfig
from live_classify.pipeline.frames import Frame
from live_classify.pipeline.health import CameraHealth
from live_classify.sinks.base import OneCamera
from live_classify.sources.capture import parse_video_source


class Camera:
    """A camera's stand-in: its status, and whether it was started or stopped."""

    def __init__(self, name: str, captured: int) -> None:
        self.status = camera_status(name=name, captured=captured)
        self.stats = SimpleNamespace(captured=captured)
        self.running = True
        self.said: list[str] = []

    def snapshot(self) -> Any:
        return self.status

    def start(self) -> None:
        self.said.append("start")

    def stop(self) -> None:
        self.said.append("stop")


class Scheduler:
    def __init__(self) -> None:
        self.served: list[list[Camera]] = []
        self.swapped: list[object] = []

    def set_cameras(self, cameras: list[Camera]) -> None:
        self.served.append(cameras)

    def swap(self, classifier: object, rebind: object) -> None:
        self.swapped.append(classifier)


def member(name: str, captured: int = 0) -> Member:
    config: Any = SimpleNamespace(name=name, smooth=1.0)
    return Member(config, cast(Any, Camera(name, captured)), lambda frame: frame.index / 10.0)


def cameras(*members: Member, scheduler: object | None = None) -> Cameras:
    engine: Any = SimpleNamespace(backend=SimpleNamespace(short_name="CPU"))
    return Cameras(list(members), cast(Any, scheduler or Scheduler()), cast(Any, None), engine)


def frame(camera: str) -> Frame:
    return Frame(30, 5.0, 1_700_000_000.0, np.zeros((2, 2, 3), np.uint8), camera)


def test_a_removed_cameras_outputs_still_read_it_as_it_ended() -> None:
    world = World(cameras(member("door", captured=7), member("yard", captured=3)))
    assert world.status_of("door").captured == 7 and world.captured_of("yard") == 3
    assert world.clock_of("door")(frame("door")) == 3.0, "its own clock"
    world.removed("door")
    assert world.cameras.find("door") is None and [m.name for m in world.cameras.members] == ["yard"]
    assert (world.status_of("door").name, world.status_of("door").captured, world.captured_of("door")) == ("door", 7, 7)
    assert world.clock_of("door")(frame("door")) == 5.0, "gone: the frame's capture time"
    world.cameras.add(member("door", captured=1))  # restarted by a reload: a new capture
    assert world.status_of("door").captured == 1 and world.captured_of("door") == 1


def test_a_cameras_own_output_sees_only_its_frames_when_there_are_or_may_be_several() -> None:
    sink: Any = SimpleNamespace(name="mqtt", essential=False)
    alone = World(cameras(member("door")))
    assert alone.own("door", sink) is sink
    for world in (World(cameras(member("door")), reloadable=True), World(cameras(member("door"), member("yard")))):
        own = world.own("door", sink)
        assert isinstance(own, OneCamera) and (own.camera, own.sink) == ("door", sink)


def test_a_camera_added_or_removed_is_served_from_the_next_batch() -> None:
    door, yard, scheduler = member("door"), member("yard"), Scheduler()
    run = cameras(door, scheduler=scheduler)
    run.add(yard)
    assert scheduler.served[-1] == [door.camera, yard.camera] and run.find("yard") is yard
    assert cast(Camera, yard.camera).said == ["start"]
    yard.annotate(cast(Any, "an annotator"))
    assert run.remove("yard") is yard
    assert scheduler.served[-1] == [door.camera] and run.find("yard") is None and run.members == [door]
    assert cast(Camera, yard.camera).said == ["start", "stop"] and yard.annotator is None, "its last frame let go"


def test_only_a_scheduler_that_can_takes_a_new_model_or_new_cameras() -> None:
    inherited: list[object] = []  # what the new model took over from the old (the taught classes)
    scheduler, model = Scheduler(), SimpleNamespace(succeeds=inherited.append)
    run = cameras(member("door"), scheduler=scheduler)
    old = run.classifier
    assert run.swappable and run.changeable
    run.swap_model(cast(Any, model))
    assert scheduler.swapped == [model] and run.classifier is model and inherited == [old]
    workers = cameras(member("door"), scheduler=SimpleNamespace())
    assert not workers.swappable and not workers.changeable
    fixed_model = cameras(member("door"), scheduler=SimpleNamespace(set_cameras=lambda cameras: None))
    assert fixed_model.changeable and not fixed_model.swappable


def test_a_files_time_is_counted_from_its_frame_rate_and_a_live_cameras_is_its_capture_time() -> None:
    live, file = parse_video_source("http://127.0.0.1:8554/door"), cast(Any, SimpleNamespace(live=False, name="clip"))
    assert source_clock(live, 10.0)(frame("door")) == 5.0
    assert source_clock(file, 10.0)(frame("door")) == 3.0
    assert source_clock(file, None)(frame("door")) == 30 / 25.0, "no rate said: 25 fps"


def test_a_clock_made_before_its_camera_reads_the_camera_a_reload_adds_or_restarts() -> None:
    """A reload changes the events before the cameras (``reconcile.FIRST``): the clock of a camera
    it adds is made while that camera is not there yet, and must read it at each frame once it is
    (a file's time, not the wall clock); a restarted camera's clock is its new capture's."""
    world = World(cameras(member("yard")))
    clock = world.clock_of("door")  # the events' clock, made before the camera
    assert clock(frame("door")) == 5.0, "no camera yet: the frame's capture time"
    world.cameras.add(member("door"))  # frame 30 at 10 fps
    assert clock(frame("door")) == 3.0, "the added camera's own clock"
    world.removed("door")
    world.cameras.add(replace(member("door"), clock=lambda shown: shown.index / 30.0))  # restarted: another rate
    assert clock(frame("door")) == 1.0, "the restarted camera's clock"


def test_a_model_file_replaced_or_rewritten_is_noticed(tmp_path: Any) -> None:
    model, new = tmp_path / "m.onnx", tmp_path / "m.onnx.tmp"
    model.write_bytes(b"first")
    assert identity(tmp_path / "missing.onnx") is None
    changed, stop = threading.Event(), threading.Event()
    thread = watch(model, changed, stop, every_s=0.01)
    try:
        new.write_bytes(b"second")
        os.replace(new, model)  # as live-classify-train --out writes it
        assert changed.wait(10), "a new file renamed over the model not noticed"
        changed.clear()
        before = identity(model)
        os.utime(model, ns=(0, (before[1] if before else 0) + 1_000_000_000))  # written in place: a new time
        assert changed.wait(10), "a model file written in place not noticed"
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_a_model_file_missing_for_a_moment_is_no_change_until_the_new_one_is_there(
        tmp_path: Any, monkeypatch: Any) -> None:
    """Between an unlink and the new file's rename the model is missing: no reload then (it would
    fail to load), one once the new file is there."""
    model = tmp_path / "m.onnx"
    model.write_bytes(b"first")
    missing = threading.Semaphore(0)  # one release per poll of the watch that found no file

    def seen(path: Any) -> tuple[int, int] | None:
        now = identity(path)
        if now is None:
            missing.release()
        return now

    monkeypatch.setattr(watch_module, "identity", seen)
    changed, stop = threading.Event(), threading.Event()
    thread = watch(model, changed, stop, every_s=0.01)
    try:
        model.unlink()
        for _ in range(3):  # three polls of the watch with the file missing
            assert missing.acquire(timeout=10)
        assert not changed.is_set(), "a missing model file taken for a new one"
        model.write_bytes(b"second")
        assert changed.wait(10), "the new model file not noticed"
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_a_model_file_replaced_once_is_one_change_not_one_per_poll(tmp_path: Any, monkeypatch: Any) -> None:
    """The new file, once noticed, is the watch's "before": the polls after it see no change, so the
    model is reloaded once, not every second."""
    model, new = tmp_path / "m.onnx", tmp_path / "m.onnx.tmp"
    model.write_bytes(b"first")
    polls = threading.Semaphore(0)  # one release per poll of the watch

    def seen(path: Any) -> tuple[int, int] | None:
        polls.release()
        return identity(path)

    monkeypatch.setattr(watch_module, "identity", seen)
    changed, stop = threading.Event(), threading.Event()
    thread = watch(model, changed, stop, every_s=0.01)
    try:
        new.write_bytes(b"second")
        os.replace(new, model)
        assert changed.wait(10), "the new model file not noticed"
        changed.clear()
        while polls.acquire(blocking=False):  # the polls before the clear
            pass
        for _ in range(3):  # three polls begun after it: the first two have ended
            assert polls.acquire(timeout=10)
        assert not changed.is_set(), "one new model file taken for a new one at each poll"
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_relearn_is_refused_for_a_camera_without_health_checks() -> None:
    """``POST /api/health/relearn?camera=NAME`` answers 409 for a camera with ``--health off`` (it has
    no normal to learn: False here) and learns anew for one with checks (mutation round 6 of issue 35:
    the check dropped, so the camera without checks was said to be relearning)."""
    door, yard = member("door"), member("yard")
    cast(Camera, door.camera).health = CameraHealth(HealthConfig())
    cast(Camera, yard.camera).health = CameraHealth(None)
    world = World(cameras(door, yard))
    assert world.relearn("yard") is False
    assert world.relearn("door") is True
