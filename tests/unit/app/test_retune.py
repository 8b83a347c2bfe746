"""A reload's threshold and motion gate taken up by a running camera in place (``Cameras.retune``):
the threshold reaches the overlay the window, the grid and the web view draw, whether or not the
gate changed with it."""
from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest
from statuses import camera_status

from live_classify.app.annotate import Annotator
from live_classify.app.cameras import Cameras, Member
from live_classify.config import GateConfig, HealthConfig
from live_classify.pipeline.frames import Flow, Frame, Shown
from live_classify.pipeline.gate import CameraGate
from live_classify.pipeline.health import CameraHealth
from live_classify.sinks.display import overlay


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


def test_new_health_settings_reach_the_camera_and_are_learned_anew() -> None:
    cameras, _, _ = one_camera(None)
    health = cameras.members[0].camera.health
    cameras.retune("door", None, None, HealthConfig(after_s=3.0))
    assert health.config == HealthConfig(after_s=3.0) and health.learning
    cameras.retune("door", None, None, None)
    assert health.config is None
