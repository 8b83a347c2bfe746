"""A camera's clock (``source_clock``), on which its gate's refresh and its events' holds are
counted: a file's own time in seconds from its frame rate, a live camera's capture time."""
from __future__ import annotations

import numpy as np
import pytest

from live_classify.app import cameras
from live_classify.app.cameras import source_clock
from live_classify.config import SourceSpec
from live_classify.pipeline.frames import Frame

IMAGE = np.zeros((2, 2, 3), np.uint8)


def test_a_file_s_time_is_its_frame_number_over_its_rate_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(cameras, "info", said.append)
    film = SourceSpec("a.mp4", "file", "a.mp4")
    assert source_clock(film, 10.0)(Frame(50, 1234.0, 0.0, IMAGE)) == 5.0
    assert said == []
    assert source_clock(film, None)(Frame(50, 1234.0, 0.0, IMAGE)) == 2.0
    assert said == ["a.mp4 does not say its frame rate: its time is counted at 25 fps"]


def test_a_live_camera_s_time_is_when_its_frame_was_captured() -> None:
    assert source_clock(SourceSpec(0, "camera", "camera 0"), 30.0)(Frame(50, 1234.0, 0.0, IMAGE)) == 1234.0
