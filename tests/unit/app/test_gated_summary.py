"""The end-of-run summary's ``N gated (still)``: each camera's, and all cameras' together; said for a
camera with a gate, and for one whose gate a reload turned off after it gated frames."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from live_classify.app.run import _gated, _gated_total
from live_classify.config import GateConfig
from live_classify.pipeline.gate import CameraGate


def member(config: GateConfig | None, gated: int) -> Any:
    gate = CameraGate(config)
    gate.gated = gated
    return SimpleNamespace(camera=SimpleNamespace(gate=gate))


def test_each_camera_says_its_gated_frames_when_it_had_a_gate() -> None:
    assert _gated(member(GateConfig(), 0)) == "0 gated (still), "
    assert _gated(member(GateConfig(), 12)) == "12 gated (still), "
    assert _gated(member(None, 5)) == "5 gated (still), ", "a reload turned the gate off: its frames still count"
    assert _gated(member(None, 0)) == ""


def test_all_cameras_say_the_sum_when_any_had_a_gate() -> None:
    def total(*members: Any) -> str:
        return _gated_total(cast(Any, SimpleNamespace(members=list(members))))

    assert total(member(GateConfig(), 7), member(None, 0), member(GateConfig(), 3)) == "10 gated (still), "
    assert total(member(None, 4), member(None, 0)) == "4 gated (still), "
    assert total(member(None, 0), member(None, 0)) == ""
