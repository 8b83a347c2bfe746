"""How often a live camera's frames are looked at (the gate and the health checks): at most
``LOOKS_PER_S`` a second, evenly spread; a frame between two looks keeps the newest look's verdict."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from engines import wait_until

from live_classify.config import GateConfig, SourceSpec
from live_classify.pipeline.camera import Camera
from live_classify.pipeline.frames import Flow, Frame
from live_classify.pipeline.gate import CameraGate, frame_luma
from live_classify.pipeline.pace import LOOKS_PER_S, Pace

W, H = 320, 240


def looked(pace: Pace, times: list[float]) -> list[float]:
    return [t for t in times if pace.due(t)]


@pytest.mark.parametrize(("fps", "looks"), [(30, 15), (20, 15), (15, 15), (10, 10), (60, 15)])
def test_a_camera_s_frames_are_looked_at_up_to_the_pace_evenly(fps: int, looks: int) -> None:
    jitter = np.random.default_rng(fps).uniform(-0.002, 0.002, 10 * fps)  # a real camera's frames wobble
    times = [k / fps + float(jitter[k]) for k in range(10 * fps)]  # ten seconds
    seen = looked(Pace(LOOKS_PER_S), times)
    assert len(seen) == pytest.approx(10 * looks, abs=2)
    gaps = np.diff(seen)
    longest = 1 / fps + (1 / LOOKS_PER_S if fps > LOOKS_PER_S else 0.0)  # a pace's period and a frame at most
    assert gaps.max() <= longest + 0.005, "a change waits too long for a look"


def test_a_file_s_frames_are_each_looked_at_and_a_clock_gone_back_is_looked_at_at_once() -> None:
    assert looked(Pace(None), [0.0, 0.001, 0.002, 0.0]) == [0.0, 0.001, 0.002, 0.0]
    pace = Pace(LOOKS_PER_S)
    assert looked(pace, [10.0, 10.02, 0.5, 0.52, 0.6]) == [10.0, 0.5, 0.6], "a looped file starts over"
    pace.restart()
    assert pace.due(0.61), "new settings: the next frame is looked at"


def test_after_a_stall_the_pace_starts_again_from_the_next_frame() -> None:
    """A look far late (the camera stalled, or came back) is a new start: the frames after it are
    looked at at the pace, not all of them until a schedule left in the past catches up."""
    pace = Pace(LOOKS_PER_S)
    looked(pace, [k / 30 for k in range(30)])
    after = [3.0 + k / 30 for k in range(30)]  # the camera's frames again after 2 s without one
    seen = looked(pace, after)
    assert len(seen) == 15, "after a stall every frame was looked at until the old schedule caught up"
    assert seen[:3] == after[0:6:2]


def scene(seed: int) -> np.ndarray:
    coarse = np.random.default_rng(seed).integers(30, 220, (12, 16, 3), dtype=np.uint8)
    return cv2.resize(coarse, (W, H), interpolation=cv2.INTER_CUBIC)


def square(picture: np.ndarray, x: int) -> np.ndarray:
    moved = picture.copy()
    moved[90:150, x:x + 60] = 255
    return moved


class Health:
    """The health checks' look, counted: what the capture thread hands the gate."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def __call__(self, frame: Frame) -> np.ndarray:
        self.seen.append(frame.index)
        return frame_luma(frame)


def marked(gate: CameraGate, health: Health, pictures: list[np.ndarray], fps: float = 30.0) -> list[bool]:
    """Each frame's ``still``, the frames sent at ``fps`` on the camera's clock."""
    return [gate.look(Frame(k, k / fps, 0.0, p, "door"), health).still for k, p in enumerate(pictures)]


def test_between_two_looks_a_still_scene_stays_still_and_motion_is_classified() -> None:
    gate, health = CameraGate(GateConfig(refresh_s=60.0), paced=True), Health()
    still = [scene(1)] * 6
    moving = [square(scene(1), x) for x in (20, 60, 100, 140, 180, 220)]
    assert marked(gate, health, still + moving) == [False, True, True, True, True, True] + [False] * 6
    assert health.seen == [0, 2, 4, 6, 8, 10], "a 30 fps camera: every other frame looked at"
    assert gate.gated == 5


def test_new_settings_look_at_the_next_frame_and_classify_it() -> None:
    gate, health = CameraGate(GateConfig(refresh_s=60.0), paced=True), Health()
    marked(gate, health, [scene(1)])
    gate.set(GateConfig(refresh_s=30.0))
    assert not gate.look(Frame(1, 1 / 30, 0.0, scene(1), "door"), health).still, "a new gate starts afresh"
    assert health.seen == [0, 1]


@pytest.mark.parametrize(("live", "looks"), [(True, [0, 2, 4, 6]), (False, list(range(8)))])
def test_a_live_camera_is_paced_and_a_file_is_not(live: bool, looks: list[int]) -> None:
    class Source:
        spec = SourceSpec("pictures", "camera" if live else "file", "pictures")

    camera = Camera(Source(), flow=Flow.of(live, realtime=False), gate=GateConfig())  # type: ignore[arg-type]
    health = Health()
    for k in range(8):
        camera.gate.look(Frame(k, k / 30, 0.0, scene(1), "door"), health)
    assert health.seen == looks


def test_with_the_gate_off_every_frame_between_two_looks_is_classified() -> None:
    """The pace is the health checks' too: with no gate (or a reload that ends it) a frame it does not
    look at is still classified, never taken for a still one."""
    gate, health = CameraGate(None, paced=True), Health()
    frames = [gate.look(Frame(k, k / 30, 0.0, scene(1), "door"), health) for k in range(6)]
    assert [f.still for f in frames] == [False] * 6, "a camera without a gate had frames left unclassified"
    assert health.seen == [0, 2, 4], "the health checks are paced all the same"
    gate = CameraGate(GateConfig(refresh_s=60.0), paced=True)
    assert [gate.look(Frame(k, k / 30, 0.0, scene(1), "door"), health).still for k in range(4)] == \
        [False, True, True, True]
    gate.set(None)  # a reload turns the gate off
    after = [gate.look(Frame(k, k / 30, 0.0, scene(1), "door"), health).still for k in range(4, 10)]
    assert after == [False] * 6, "the still frames went on after the gate was turned off"
    assert gate.gated == 3


class Frames:
    """A live camera whose frames are all there at once; then it is lost for good."""

    def __init__(self, pictures: list[np.ndarray]) -> None:
        self.spec = SourceSpec("door", "camera", "door")
        self.claimed_fps = None
        self.lost_because = "ended"
        self.pictures = pictures

    def read(self) -> np.ndarray | None:
        return self.pictures.pop(0) if self.pictures else None

    def reopen(self) -> bool:
        return False

    def release(self) -> None:
        pass


def test_a_live_camera_s_capture_thread_looks_at_its_frames_at_the_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The capture thread itself hands each frame to the pace, not straight to the checks (a 30 fps
    camera, on its frames' own clock: every other frame looked at, the ones between kept still)."""
    camera = Camera(Frames([scene(1)] * 8), flow=Flow.LATEST, gate=GateConfig(refresh_s=60.0),  # type: ignore[arg-type]
                    clock=lambda frame: frame.index / 30, max_reconnects=0)
    health = Health()
    monkeypatch.setattr(camera.health, "look", health)
    camera.start()
    wait_until(lambda: not camera.running, 10)
    assert camera.stats.captured == 8
    assert health.seen == [0, 2, 4, 6], "the capture thread looked at every frame of a 30 fps camera"
    assert camera.snapshot().gated == 7
