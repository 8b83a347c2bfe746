"""What the main loop hands the sinks, made by hand, and a sink that records what it is handed."""
from __future__ import annotations

import cv2
import numpy as np
from conftest import CHELSEA

from live_classify.engine.classifier import Classification, StageTimes
from live_classify.engine.postprocess import TopK
from live_classify.pipeline.frames import Frame, Prediction, Shown
from live_classify.sinks.base import Update

PHOTO = cv2.resize(cv2.imread(str(CHELSEA)), (320, 240))


def update(index: int, t: float, draw=None, image: np.ndarray | None = None) -> Update:  # noqa: ANN001
    """Frame ``index`` captured at ``t``, classified as a cat, as the main loop would hand it over."""
    frame = Frame(index, t, 1_700_000_000 + t, PHOTO.copy() if image is None else image)
    top = TopK((282,), ("tiger cat",), (0.9,))
    prediction = Prediction(frame, Classification(top, StageTimes(1.0, 2.0, 0.5), np.zeros(1000)), t + 0.01)
    shown = Shown(frame, prediction, [prediction], exclusive=True)
    return Update(shown, t, draw or (lambda: frame.image))


class FakeSink:
    """Records what it is handed; fails on the frame numbered ``fail_at``."""

    def __init__(self, name: str, *, essential: bool = False, fail_at: int | None = None, canvas: bool = True) -> None:
        self.name, self.essential, self.fail_at, self.canvas = name, essential, fail_at, canvas
        self.error: str | None = None
        self.stop_requested = False
        self.seen: list[int] = []
        self.closed = False

    def write(self, update: Update) -> None:
        if update.shown.frame.index == self.fail_at:
            raise OSError("No space left on device")
        if self.canvas:
            update.canvas  # noqa: B018 - asks for the overlay, as a window or a recording does
        self.seen.append(update.shown.frame.index)

    def idle(self, redraw) -> None:  # noqa: ANN001
        pass

    def close(self) -> None:
        self.closed = True

    def summary(self) -> str:
        return f"{self.name}: {len(self.seen)}"
