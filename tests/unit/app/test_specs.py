"""A camera's spec (``app/specs.py``): its live fields (threshold, motion gate) change without a
restart, anything else of its capture restarts it."""
from __future__ import annotations

from dataclasses import replace

from live_classify.app.specs import CameraSpec
from live_classify.config import GateConfig, SourceConfig
from live_classify.sources.capture import parse_video_source

DOOR = SourceConfig(parse_video_source("http://127.0.0.1:8554/door"), name="door", min_confidence=0.3)


def test_a_new_motion_gate_or_threshold_keeps_the_capture_and_is_taken_up() -> None:
    gate = GateConfig(refresh_s=5.0, area_pct=1.0)
    for changed in (replace(DOOR, gate=gate), replace(DOOR, min_confidence=0.15), replace(DOOR, gate=gate,
                                                                                         min_confidence=None)):
        before, after = CameraSpec.of(DOOR), CameraSpec.of(changed)
        assert before != after, "a reload must see the change"
        assert before.same_capture(after), f"{changed}: the camera would restart"
        assert (after.gate, after.min_confidence) == (changed.gate, changed.min_confidence)


def test_anything_else_of_the_capture_restarts_it() -> None:
    assert not CameraSpec.of(DOOR).same_capture(CameraSpec.of(replace(DOOR, smooth=0.5)))
    assert not CameraSpec.of(DOOR).same_capture(CameraSpec.of(replace(DOOR, spec=parse_video_source("http://h/yard"))))
