"""``--gate motion``'s flags and keys as the run gets them: each setting reaches the camera's
:class:`GateConfig` in its own unit (seconds, luma levels, % of the picture, source pixels), per
``[[camera]]`` in a file, and each flag's bounds are exactly those the help gives."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from live_classify.cli.argtypes import gate_mask, gate_refresh, gate_threshold, percent
from live_classify.cli.config_file import resolve
from live_classify.cli.flags import build_parser
from live_classify.cli.run_config import gate_config
from live_classify.config import GateConfig


def test_each_flag_reaches_the_camera_s_gate_in_its_own_unit() -> None:
    args = build_parser().parse_args(["--source", "a.mp4", "--gate", "motion", "--gate-refresh", "2m",
                                      "--gate-threshold", "40", "--gate-area", "2.5",
                                      "--gate-mask", "0,0,10,10", "--gate-mask", "5,6,20,30"])
    assert gate_config(args) == GateConfig(refresh_s=120.0, threshold=40, area_pct=2.5,
                                           masks=((0, 0, 10, 10), (5, 6, 20, 30)))
    assert gate_config(build_parser().parse_args(["--source", "a.mp4", "--gate", "motion"])) == GateConfig(
        refresh_s=10.0, threshold=30, area_pct=0.1, masks=())
    assert gate_config(build_parser().parse_args(["--source", "a.mp4", "--gate-threshold", "40"])) is None


def test_each_camera_of_a_file_has_its_own_gate_settings_over_the_top_level(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("box.toml").write_text(
        'gate = "motion"\ngate-refresh = "30s"\n'
        '[[camera]]\nname = "door"\nsource = "a.mp4"\ngate-refresh = 3\ngate-threshold = 40\ngate-area = 2\n'
        'gate-mask = ["0,0,10,10", "20,0,5,5"]\n'
        '[[camera]]\nname = "yard"\nsource = "b.mp4"\n'
        '[[camera]]\nname = "hall"\nsource = "c.mp4"\ngate = "off"\n')
    config = resolve("box.toml", ["--config", "box.toml"], {})
    assert config.warnings == []
    assert [gate_config(camera.args) for camera in config.cameras] == [
        GateConfig(refresh_s=3.0, threshold=40, area_pct=2.0, masks=((0, 0, 10, 10), (20, 0, 5, 5))),
        GateConfig(refresh_s=30.0),
        None]


@pytest.mark.parametrize("parse, text, value", [
    (gate_mask, "0,0,1,1", (0, 0, 1, 1)),
    (gate_mask, " 3, 4 ,5,6", (3, 4, 5, 6)),
    (gate_refresh, "0.5", 0.5),
    (gate_refresh, "5m", 300.0),
    (gate_refresh, "90s", 90.0),
    (gate_threshold, "1", 1),
    (gate_threshold, "255", 255),
    (percent, "0.05", 0.05),
    (percent, "100", 100.0),
])
def test_values_at_the_bounds_are_taken(parse, text: str, value: object) -> None:  # noqa: ANN001
    assert parse(text) == value


@pytest.mark.parametrize("parse, text", [
    (gate_mask, "10,10,0,5"), (gate_mask, "10,10,5,0"), (gate_mask, "-1,0,5,5"), (gate_mask, "0,-1,5,5"),
    (gate_mask, "1,2,3"), (gate_mask, "1,2,3,4,5"), (gate_mask, "1.5,2,3,4"),
    (gate_refresh, "0"), (gate_refresh, "0s"), (gate_refresh, "-1"),
    (gate_threshold, "0"), (gate_threshold, "256"), (gate_threshold, "2.5"),
    (percent, "0"), (percent, "100.1"), (percent, "-1"),
])
def test_values_beyond_the_bounds_are_refused(parse, text: str) -> None:  # noqa: ANN001
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)
