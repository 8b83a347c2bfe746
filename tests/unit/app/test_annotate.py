"""The overlay's one stale redraw: a live camera's last frame drawn anew once no frame came for a
second (or while it reconnects), never while frames flow, never for a file."""
from __future__ import annotations

import time
from functools import partial

import numpy as np
from statuses import camera_status

from live_classify.app.annotate import STALE_S, Annotator
from live_classify.pipeline.frames import Flow, Frame, Shown


def annotator(flow: Flow, quiet_s: float, reconnecting: bool = False) -> Annotator:
    status = camera_status(last_capture=time.monotonic() - quiet_s, reconnecting=reconnecting, lost_because="gone")
    drawn = Annotator(lambda: status, flow, "CPU", None, None, None)
    drawn.last = Shown(Frame(0, 0.0, 0.0, np.zeros((120, 160, 3), np.uint8), "cam0"), None, [], exclusive=False)
    return drawn


def test_a_live_camera_quiet_for_longer_than_a_second_is_redrawn_saying_so() -> None:
    canvas = annotator(Flow.LATEST, STALE_S + 0.5).stale()
    assert canvas is not None and canvas.any(), "the last frame, with the notice drawn on it"
    assert annotator(Flow.LATEST, 0.1, reconnecting=True).stale() is not None, "reconnecting: at once"


def test_no_redraw_while_frames_flow_for_a_file_or_before_the_first_frame() -> None:
    assert annotator(Flow.LATEST, 0.1).stale() is None
    assert annotator(Flow.EVERY, STALE_S + 5).stale() is None
    nothing_yet = annotator(Flow.LATEST, STALE_S + 5)
    nothing_yet.last = None
    assert nothing_yet.stale() is None


def test_a_kept_frame_is_drawn_saying_still_and_a_classified_one_is_not(monkeypatch) -> None:  # noqa: ANN001
    from live_classify.sinks.display import overlay

    drawn = annotator(Flow.LATEST, 0.0)
    seen: list[bool] = []
    monkeypatch.setattr(overlay, "draw", lambda image, prediction, look: seen.append(look.still) or image)
    frame = Frame(1, 0.0, 0.0, np.zeros((120, 160, 3), np.uint8), "cam0", still=True)
    drawn.draw(Shown(frame, None, [], exclusive=True, kept=True))
    drawn.draw(Shown(frame, None, [], exclusive=True, kept=False))  # still, but a newer answer is pending
    assert seen == [True, False]


def test_a_camera_in_trouble_is_drawn_saying_its_problem_and_a_well_one_is_not(monkeypatch) -> None:  # noqa: ANN001
    """The window, the grid and a recording's overlay say the camera's problem now ("camera problem:
    dark") from its status (mutation round 6 of issue 35: the status's ``health`` not handed over)."""
    from live_classify.sinks.display import overlay

    said: list[list[str]] = []
    def draw(image: np.ndarray, prediction: object, look: overlay.Status) -> np.ndarray:
        said.append([row.text for row in overlay.layout(640, 360, None, look).rows])
        return image
    monkeypatch.setattr(overlay, "draw", draw)
    frame = Frame(1, 0.0, 0.0, np.zeros((120, 160, 3), np.uint8), "cam0")
    for status in (camera_status(last_capture=time.monotonic(), health=problem) for problem in ("dark", None)):
        Annotator(partial(lambda s: s, status), Flow.LATEST, "CPU", None, None, None).draw(
            Shown(frame, None, [], exclusive=True))
    covered, well = said
    assert "camera problem: dark" in covered
    assert not any(text.startswith("camera problem") for text in well)
