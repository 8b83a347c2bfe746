"""The overlay on a shown frame, and the one stale redraw: a camera's last frame drawn anew,
saying why no new one comes (a stall, a reconnect), for the window, the grid and the web view."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from live_classify.pipeline.frames import Flow, Shown
from live_classify.pipeline.status import CameraStatus
from live_classify.sinks.collect import Collector
from live_classify.sinks.display import overlay
from live_classify.sinks.display.window import Window

STALE_S = 1.0  # no new frame for this long: the picture says so instead of showing the last rates


class Annotator:
    """Draws the overlay on a camera's shown frames: the prediction, the rates, the camera's state."""

    def __init__(self, status: Callable[[], CameraStatus], flow: Flow, provider: str,
                 min_confidence: float | None, window: Window | None, collector: Collector | None) -> None:
        self.status = status
        self.flow = flow
        self.provider = provider
        self.min_confidence = min_confidence
        self.window = window
        self.collector = collector
        self.last: Shown | None = None  # the camera's newest shown frame

    def showed(self, shown: Shown) -> None:
        """The camera's newest shown frame (the stale redraw draws it again)."""
        self.last = shown

    def retune(self, min_confidence: float | None) -> None:
        """A reload's threshold, from the next frame on."""
        self.min_confidence = min_confidence

    def draw(self, shown: Shown, quiet_s: float | None = None) -> np.ndarray:
        """The frame with the overlay; ``quiet_s``: no new frame for that long (the rates are not live)."""
        status = self.status()
        reconnecting = quiet_s is not None and status.reconnecting
        age = None
        if shown.prediction is not None:
            age = (shown.frame.t_capture - shown.prediction.frame.t_capture) * 1e3
        look = overlay.Status(
            capture_fps=status.capture_fps, inference_fps=status.inference_fps,
            display_fps=status.display_fps, dropped=status.dropped, provider=self.provider,
            age_ms=age, paused=bool(self.window and self.window.paused), reconnecting=reconnecting,
            lost_for_s=quiet_s, lost_because=status.lost_because if reconnecting else None,
            collected=self.collector.summary() if self.collector else None, min_confidence=self.min_confidence,
            backend_down=status.backend_down, still=shown.kept, health=status.health,
        )
        canvas = shown.frame.image if shown.exclusive and quiet_s is None else shown.frame.image.copy()
        return overlay.draw(canvas, shown.prediction, look)

    def stale(self) -> np.ndarray | None:
        """The last frame again, saying why no new one comes (live, after ``STALE_S``); else None."""
        if self.last is None or self.flow is not Flow.LATEST:
            return None
        status = self.status()
        quiet = time.monotonic() - status.last_capture
        if status.reconnecting or quiet > STALE_S:
            return self.draw(self.last, quiet_s=quiet)
        return None
