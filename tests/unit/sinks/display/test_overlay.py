"""The overlay alone, without threads or a window: what it says, and that it reads at any frame size."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from live_classify.engine.postprocess import TopK
from live_classify.engine.results import Classification, StageTimes
from live_classify.pipeline.frames import Frame, Prediction
from live_classify.sinks.display import overlay

LIVE = overlay.Status(capture_fps=29.7, inference_fps=12.3, display_fps=29.7, dropped=5, provider="CPU", age_ms=41)


def prediction(scores: tuple[float, ...] = (0.62, 0.2, 0.1, 0.05, 0.03)) -> Prediction:
    labels = ("tiger cat", "tabby", "Egyptian cat", "lynx", "window screen")[: len(scores)]
    top = TopK(tuple(range(len(scores))), labels, scores)
    frame = Frame(0, time.monotonic(), time.time(), np.zeros((8, 8, 3), np.uint8))
    return Prediction(frame, Classification(top, StageTimes(1.0, 10.0, 0.1), np.array(scores)), frame.t_capture + 0.02)


def texts(panel: overlay.Panel) -> list[str]:
    return [row.text for row in panel.rows]


def text_heights(panel: overlay.Panel) -> list[int]:
    return [cv2.getTextSize(row.text, overlay.FONT, row.font, panel.thickness)[0][1] for row in panel.rows]


@pytest.mark.parametrize("height", [240, 180])
@pytest.mark.parametrize("min_confidence", [None, 0.9])  # 0.9: one more row, "unknown"
def test_on_a_small_frame_the_text_reads_and_the_panel_leaves_most_of_the_picture(
        height: int, min_confidence: float | None) -> None:
    status = overlay.Status(**{**LIVE.__dict__, "min_confidence": min_confidence})
    panel = overlay.layout(320, height, prediction(), status)
    assert min(text_heights(panel)) >= 8, "every line is at least 8 px high"
    assert panel.height <= 0.5 * height and panel.width <= 320
    assert panel.width * panel.height < 0.5 * 320 * height, "the panel covers less than half the frame"
    assert any(text.endswith("tiger cat") for text in texts(panel)), "the top class is never the one left out"
    assert any("capture 29.7 fps" in text for text in texts(panel)), "the rates are still there"


def test_on_a_1080p_frame_the_text_is_not_tiny() -> None:
    small, large = (overlay.layout(w, h, prediction(), LIVE) for w, h in ((640, 480), (1920, 1080)))
    assert min(text_heights(large)) >= 16
    assert min(text_heights(large)) >= 2 * min(text_heights(small)), "the text grows with the frame"
    assert len(large.rows) >= 7, "a large frame has room for the whole top-5 and the rates"


def test_drawing_stays_inside_the_panel_it_computed() -> None:
    image = np.full((240, 320, 3), 240, np.uint8)
    panel = overlay.layout(320, 240, prediction(), LIVE)
    overlay.draw(image, prediction(), LIVE)
    assert (image[panel.height + 2 :] == 240).all(), "nothing drawn below the panel"
    assert image[: panel.height, : panel.width].mean() < 200, "the panel is shaded"


def test_a_top_score_below_min_confidence_shows_unknown_above_the_classes() -> None:
    unsure = overlay.Status(**{**LIVE.__dict__, "min_confidence": 0.7})
    rows = texts(overlay.layout(640, 480, prediction(), unsure))
    assert rows[0].startswith("unknown") and "70%" in rows[0]
    assert "tiger cat" in rows[1], "the top-k is still shown under it"
    sure = overlay.Status(**{**LIVE.__dict__, "min_confidence": 0.6})
    assert not any("unknown" in text for text in texts(overlay.layout(640, 480, prediction(), sure)))


def test_while_reconnecting_no_rate_or_age_is_shown_as_if_live() -> None:
    lost = overlay.Status(**{**LIVE.__dict__, "reconnecting": True, "lost_for_s": 7.4,
                             "lost_because": "stalled: nothing received for 5.0 s"})
    joined = " ".join(texts(overlay.layout(640, 480, prediction(), lost)))
    assert "fps" not in joined and "age" not in joined
    assert "no new frame for 7 s" in joined and "reconnecting" in joined
    assert "stalled: nothing received for 5.0 s" in joined


def test_a_camera_offline_while_it_reconnects_still_says_its_problem() -> None:
    # The camera problem is said whatever else is: offline comes while the camera reconnects, and the
    # grid and the web's frames must say it then (hiding it behind "reconnecting": mutation round 7 of
    # issue 35). A covered camera whose frames flow says its problem too, and a well one none.
    for status, problem in ((overlay.Status(**{**LIVE.__dict__, "reconnecting": True, "lost_for_s": 40.0,
                                                "health": "offline"}), "offline"),
                            (overlay.Status(**{**LIVE.__dict__, "health": "dark"}), "dark"), (LIVE, None)):
        said = [text for text in texts(overlay.layout(640, 480, prediction(), status)) if "camera problem" in text]
        assert said == ([f"camera problem: {problem}"] if problem else [])


def test_a_stall_before_the_source_counts_as_lost_shows_no_live_rates_either() -> None:
    stalled = overlay.Status(**{**LIVE.__dict__, "lost_for_s": 2.2})
    joined = " ".join(texts(overlay.layout(640, 480, prediction(), stalled)))
    assert "fps" not in joined and "age" not in joined and "no new frame for 2 s" in joined
    assert "reconnecting" not in joined, "not lost yet: only waiting"


@pytest.mark.parametrize("size", [(320, 240), (1920, 1080)])
def test_a_notice_is_drawn_at_the_bottom_and_sized_with_the_frame(size: tuple[int, int]) -> None:
    width, height = size
    image = np.full((height, width, 3), 240, np.uint8)
    overlay.notice(image, "saved live-classify-20261127-101500-123.png")
    changed = np.argwhere((image != 240).any(axis=2))
    assert changed[:, 0].min() > height // 2, "at the bottom, clear of the panel"
    assert changed[:, 1].max() < width
    assert changed[:, 0].max() - changed[:, 0].min() >= height // 20, "big enough to be noticed"


@settings(max_examples=60, deadline=None)
@given(width=st.integers(16, 3840), height=st.integers(16, 2160), label=st.text(min_size=1, max_size=80),
       unknown=st.booleans(), lost=st.booleans())
def test_any_frame_size_and_label_is_drawn_inside_the_frame(width: int, height: int, label: str, unknown: bool,
                                                            lost: bool) -> None:
    top = TopK((0, 1), (label, "tabby"), (0.6, 0.3))
    frame = Frame(0, time.monotonic(), time.time(), np.zeros((8, 8, 3), np.uint8))
    guess = Prediction(frame, Classification(top, StageTimes(1.0, 10.0, 0.1), np.array([0.6, 0.3])), frame.t_capture)
    status = overlay.Status(**{**LIVE.__dict__, "min_confidence": 0.9 if unknown else None,
                               "reconnecting": lost, "lost_for_s": 3.0 if lost else None})
    panel = overlay.layout(width, height, guess, status)
    assert panel.width <= width and panel.rows
    image = np.full((height, width, 3), 200, np.uint8)
    assert overlay.draw(image, guess, status) is image


def test_a_still_frame_says_its_label_is_kept_and_a_classified_one_does_not() -> None:
    still = overlay.layout(640, 480, prediction(), overlay.Status(**{**LIVE.__dict__, "still": True}))
    assert overlay.STILL in texts(still) and any(text.endswith("tiger cat") for text in texts(still))
    assert overlay.STILL not in texts(overlay.layout(640, 480, prediction(), LIVE))
