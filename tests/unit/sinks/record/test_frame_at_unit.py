"""A thumbnail's frame: the one shown at a moment of a recording, not the one after it."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from live_classify.sinks.record import frame_at as frame_at_module
from live_classify.sinks.record.frame_at import frame_at, frames_at

FPS = 10
SHADES = [20 * i for i in range(12)]  # frame i (shown from i / FPS s) is this grey all over


@pytest.fixture
def greys(tmp_path: Path) -> Path:
    """An H.264 MP4 of 12 frames at 10 fps, each a flat grey of its own, a keyframe every 5."""
    path = tmp_path / "greys.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "5"}
        for shade in SHADES:
            image = np.full((48, 64, 3), shade, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return path


def shade_at(path: Path, offset_s: float) -> int:
    image = frame_at(path, offset_s)
    assert image is not None
    return round(float(image.mean()) / 20) * 20


@pytest.mark.parametrize(("offset_s", "frame"), [(0.0, 0), (0.3, 3), (0.35, 3), (0.49, 4), (0.5, 5), (0.72, 7),
                                                 (9.0, 11)])
def test_the_frame_at_a_moment_is_the_one_shown_then_and_past_the_end_the_last(greys: Path, offset_s: float,
                                                                                frame: int) -> None:
    assert shade_at(greys, offset_s) == SHADES[frame]


@pytest.mark.parametrize("reseek_s", [2.0, 0.15])
def test_several_moments_of_one_file_each_get_their_own_frame_in_the_order_asked(
        greys: Path, reseek_s: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read in one opening: decoded on between close moments, sought to for far ones (``reseek_s``)."""
    monkeypatch.setattr(frame_at_module, "RESEEK_S", reseek_s)
    images = frames_at(greys, [0.72, 0.0, 9.0, 0.35, 0.5, 0.35])
    assert [round(float(i.mean()) / 20) * 20 for i in images if i is not None] == \
        [SHADES[f] for f in (7, 0, 11, 3, 5, 3)]
