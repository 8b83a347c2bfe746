"""What flows from a source to the outputs: frames, the engine's answers, what the main loop shows,
and the two ways frames can flow (:class:`Flow`). Plain immutable values, shared by the cameras,
the batcher and every sink."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from live_classify.engine.results import Classification
from live_classify.sources.picture import Picture, pixels

Log = Callable[[str], None]  # where the stream's threads say what happens (the package logger's info)


class Flow(Enum):
    """How frames go from capture to inference: the one name for what a source demands."""

    LATEST = "latest"  # a live source: the newest frame wins, the ones inference never saw are dropped
    EVERY = "every"  # a video file: every frame classified and shown, in order, nothing dropped

    @classmethod
    def of(cls, live: bool, realtime: bool) -> Flow:
        """A camera or stream, or a file played at its own rate (``--realtime``), flows like a live one."""
        return cls.LATEST if live or realtime else cls.EVERY


@dataclass(frozen=True)
class Frame:
    """One captured image, stamped the moment ``read()`` returned it."""

    index: int
    t_capture: float  # time.monotonic()
    wall_time: float  # time.time(), for people and logs
    pixels: np.ndarray | Picture  # BGR, or an MJPEG camera's JPEG, decoded when first needed
    camera: str = ""  # the name of the camera (or file, stream) it came from
    still: bool = False  # ``--gate motion`` saw nothing change in it: it is not classified

    @property
    def image(self) -> np.ndarray:
        """The BGR picture (a JPEG is decoded here, once, by whichever thread first asks)."""
        return pixels(self.pixels)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), without decoding."""
        pixels = self.pixels
        return (pixels.width, pixels.height) if isinstance(pixels, Picture) else (pixels.shape[1], pixels.shape[0])

    def decoded(self) -> Frame:
        """This frame, its picture decoded now, on the calling thread (not later, by whichever asks first)."""
        if isinstance(self.pixels, Picture):
            self.pixels.decoded()
        return self

    def grey(self, height: int) -> np.ndarray:
        """The picture with at least ``height`` rows (BGR or grey), as cheaply as it comes: what the gate looks at."""
        pixels = self.pixels
        return pixels.grey(height) if isinstance(pixels, Picture) else pixels


@dataclass(frozen=True)
class Prediction:
    """The engine's answer for one frame."""

    frame: Frame
    result: Classification
    t_done: float  # time.monotonic()

    @property
    def latency_ms(self) -> float:
        """Capture to result: what the user waits for a label."""
        return (self.t_done - self.frame.t_capture) * 1e3


@dataclass(frozen=True)
class Shown:
    """What the main loop gets for each frame: the frame, the prediction to draw, and the new ones."""

    frame: Frame
    prediction: Prediction | None  # the newest (live) or the frame's own (every frame)
    new_predictions: list[Prediction]  # classified since the last shown frame: one JSON line each
    exclusive: bool  # no other thread reads the frame any more: draw on it without a copy
    kept: bool = False  # a still frame (``--gate motion``): ``prediction`` is the camera's last, not re-checked on it
