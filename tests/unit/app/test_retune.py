"""A reload's threshold and motion gate taken up by a running camera in place (``Cameras.retune``):
the threshold reaches the overlay the window, the grid and the web view draw, whether or not the
gate changed with it."""
from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, cast

import cv2
import numpy as np
import pytest
from statuses import camera_status

from live_classify.app import cameras as cameras_module
from live_classify.app.annotate import Annotator
from live_classify.app.cameras import Cameras, Member
from live_classify.app.components import CameraPart
from live_classify.app.specs import CameraSpec
from live_classify.config import GateConfig, HealthConfig, SourceConfig
from live_classify.pipeline.frames import Flow, Frame, Shown
from live_classify.pipeline.gate import CameraGate
from live_classify.pipeline.health import CameraHealth
from live_classify.sinks.display import overlay
from live_classify.sources.capture import parse_video_source
from live_classify.sources.picture import Picture


def one_camera(gate: GateConfig | None) -> tuple[Cameras, Annotator, CameraGate]:
    status = camera_status(name="door", last_capture=time.monotonic())
    annotator = Annotator(lambda: status, Flow.LATEST, "CPU", 0.3, None, None)
    camera_gate = CameraGate(gate)
    camera = SimpleNamespace(gate=camera_gate, health=CameraHealth(None))
    member = Member(cast(Any, SimpleNamespace(name="door")), cast(Any, camera), lambda f: f.t_capture, annotator)
    engine = cast(Any, SimpleNamespace(backend=SimpleNamespace(short_name="CPU")))
    return Cameras([member], cast(Any, None), cast(Any, None), engine), annotator, camera_gate


def drawn_threshold(annotator: Annotator, monkeypatch: pytest.MonkeyPatch) -> float | None:
    """The threshold the overlay of the camera's next frame shows."""
    seen: list[float | None] = []
    monkeypatch.setattr(overlay, "draw", lambda image, prediction, look: seen.append(look.min_confidence) or image)
    frame = Frame(1, 0.0, 0.0, np.zeros((120, 160, 3), np.uint8), "door")
    annotator.draw(Shown(frame, None, [], exclusive=True))
    return seen[-1]


def test_a_new_threshold_reaches_the_overlay_when_the_gate_stays_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    cameras, annotator, _ = one_camera(None)
    cameras.retune("door", 0.6, None)  # the gate: off before, off after
    assert drawn_threshold(annotator, monkeypatch) == 0.6
    gate = GateConfig(refresh_s=5.0)
    cameras, annotator, camera_gate = one_camera(gate)
    cameras.retune("door", 0.15, gate)  # the gate: the same settings
    assert drawn_threshold(annotator, monkeypatch) == 0.15


def test_a_new_gate_and_threshold_both_taken_up(monkeypatch: pytest.MonkeyPatch) -> None:
    cameras, annotator, camera_gate = one_camera(None)
    cameras.retune("door", 0.5, GateConfig(refresh_s=2.0))
    assert camera_gate.config == GateConfig(refresh_s=2.0)
    assert drawn_threshold(annotator, monkeypatch) == 0.5


def test_a_camera_part_hands_its_spec_s_threshold_gate_and_pictures_shown_to_its_camera() -> None:
    told: list[tuple[object, ...]] = []
    member = SimpleNamespace(camera=SimpleNamespace(snapshot=None, flow=Flow.LATEST))
    cameras = SimpleNamespace(find=lambda name: member, annotate=lambda name, annotator: None, provider="CPU",
                              retune=lambda *args: told.append(args))
    world = cast(Any, SimpleNamespace(cameras=cameras, window=None, collector=None))
    door = SourceConfig(parse_video_source("http://127.0.0.1:8554/door"), name="door", min_confidence=0.3)
    part = CameraPart(CameraSpec.of(door, every_picture=False), world)
    assert told == [("door", 0.3, None, door.health, False)]  # at the start: still frames left undecoded
    gate = GateConfig(refresh_s=5.0)
    assert part.reconfigure(CameraSpec.of(replace(door, gate=gate, min_confidence=0.5), every_picture=True))
    assert told[-1] == ("door", 0.5, gate, door.health, True)  # a reload that adds a recording: every picture decoded


def test_a_reload_that_ends_the_last_recording_leaves_a_still_frame_undecoded() -> None:
    gate = GateConfig(refresh_s=60.0)
    cameras, _, camera_gate = one_camera(gate)
    still = cv2.imencode(".jpg", np.full((480, 640, 3), 90, np.uint8))[1]  # the gate decodes it at a quarter

    def marked(index: int) -> Frame:
        picture = Picture.of(still)
        assert picture is not None
        return camera_gate.mark(Frame(index, float(index), 0.0, picture, "door"))

    assert not marked(0).still  # the first frame is classified (and decoded)
    assert isinstance(marked(1).pixels, Picture) and marked(2).pixels.decoded_yet  # type: ignore[union-attr]
    cameras.retune("door", 0.3, gate, every_picture=False)
    frame = marked(3)
    assert frame.still and isinstance(frame.pixels, Picture) and not frame.pixels.decoded_yet


def frame(index: int) -> Frame:
    """A still picture of the door's 160x120 camera, ``index`` frames in (at 10 fps)."""
    picture = np.kron(np.arange(12 * 16).reshape(12, 16) % 7 * 30, np.ones((10, 10))).astype(np.uint8)
    return Frame(index, index / 10, index / 10, cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR), "door")


def test_a_reload_that_leaves_the_gate_as_it_was_does_not_start_it_afresh() -> None:
    gate = GateConfig(refresh_s=60.0)
    cameras, _, camera_gate = one_camera(gate)
    assert [camera_gate.mark(frame(k)).still for k in range(3)] == [False, True, True]
    cameras.retune("door", 0.9, GateConfig(refresh_s=60.0))  # only the threshold changed
    assert camera_gate.mark(frame(3)).still, "the gate started afresh: a still frame classified"
    cameras.retune("door", 0.9, GateConfig(refresh_s=30.0))
    assert not camera_gate.mark(frame(4)).still, "a new gate starts afresh"


def test_a_reload_can_turn_the_gate_off() -> None:
    cameras, _, camera_gate = one_camera(GateConfig())
    camera_gate.mark(frame(0))
    cameras.retune("door", None, None)
    assert camera_gate.config is None and [camera_gate.mark(frame(k)).still for k in (1, 2)] == [False, False]


def test_a_reloaded_mask_beyond_the_frame_is_one_warning_and_the_gate_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(cameras_module, "warning", said.append)
    cameras, _, camera_gate = one_camera(GateConfig())
    camera_gate.mark(frame(0))
    cameras.retune("door", None, GateConfig(masks=((150, 0, 20, 10),)))
    assert said == ["door: --gate-mask 150,0,20,10 reaches beyond the 160x120 frame; its motion gate stays as it was"]
    assert camera_gate.config == GateConfig() and camera_gate.mark(frame(1)).still
    cameras.retune("door", None, GateConfig(masks=((0, 0, 160, 120),)))
    assert said[1:] == ["door: --gate-mask: the masks cover the whole 160x120 frame: only the refresh "
                        "(--gate-refresh) will classify"]


def test_new_health_settings_reach_the_camera_and_are_learned_anew() -> None:
    cameras, _, _ = one_camera(None)
    health = cameras.members[0].camera.health
    cameras.retune("door", None, None, HealthConfig(after_s=3.0))
    assert health.config == HealthConfig(after_s=3.0) and health.learning
    cameras.retune("door", None, None, None)
    assert health.config is None


def test_a_reload_that_leaves_the_health_checks_as_they_were_keeps_the_normal_learned() -> None:
    """A reload that changes only the threshold: the camera's health checks keep the normal they
    learned (not learning it again for ``learn_s``, blind to a problem meanwhile), as the gate does."""
    cameras, _, _ = one_camera(None)
    health = cameras.members[0].camera.health
    cameras.retune("door", None, None, HealthConfig(learn_s=0.5))
    rng = np.random.default_rng(0)
    for k in range(12):  # a live picture, changing a little (not frozen), over 1.1 s
        noisy = np.clip(frame(k).pixels.astype(np.int16) + rng.integers(-20, 20, (120, 160, 1)), 0, 255)
        health.look(replace(frame(k), pixels=noisy.astype(np.uint8)))
    assert not health.learning, "the normal was never learned: the test shows nothing"
    cameras.retune("door", 0.9, None, HealthConfig(learn_s=0.5))  # only the threshold changed
    assert not health.learning, "an unchanged health check learns its normal again"


def test_a_camera_a_reload_adds_is_named_in_what_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """One camera of several: a reload's new camera says which it is (its masks named
    ``yard: --gate-mask``, in the reload's warning), as a camera of the start does."""
    said: list[str] = []
    monkeypatch.setattr(cameras_module, "warning", said.append)
    cameras, _, _ = one_camera(None)
    src = SourceConfig(parse_video_source("http://127.0.0.1:9/yard"), name="yard",
                       gate=GateConfig(masks=((0, 0, 160, 120),)))
    source = SimpleNamespace(spec=src.spec, claimed_fps=25.0, width=160, height=120)
    cameras.new_member(src, cast(Any, source))
    assert said == ["yard: --gate-mask: the masks cover the whole 160x120 frame: only the refresh "
                    "(--gate-refresh) will classify"]
