"""The moment an event's thumbnail shows: the classified frame with the best score, kept as it was
captured, and its own prediction drawn on it. (The recording's frame of that moment carries the
prediction that was newest when it was shown, on a live camera an older frame's: the cat before
the cup.)"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from live_classify.pipeline.frames import Prediction
from live_classify.sinks.display import overlay

# A thumbnail's overlay: the classes and their scores, no rates (a still has none).
STILL = overlay.Status(capture_fps=0.0, inference_fps=0.0, display_fps=0.0, dropped=0, provider="")


@dataclass(frozen=True)
class Moment:
    """One classified frame: its picture (a copy nothing draws on) and its own prediction."""

    image: np.ndarray
    prediction: Prediction

    @classmethod
    def of(cls, prediction: Prediction) -> Moment:
        """Kept when a frame becomes an event's best: a copy, as the frame may be drawn on later."""
        return cls(prediction.frame.image.copy(), prediction)

    def picture(self) -> np.ndarray:
        """The frame with its own top-k drawn, as the thumbnail shows it."""
        return overlay.draw(self.image.copy(), self.prediction, STILL, rates=False)
