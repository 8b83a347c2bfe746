"""What is drawn on each shown frame: the top-k with confidence bars, rates, latency, provider."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from live_classify.pipeline import Prediction

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE = (255, 255, 255)
GREY = (190, 190, 190)
BAR = (80, 200, 80)
WARN = (60, 170, 255)


@dataclass(frozen=True)
class Status:
    """The numbers beside the labels, each named so nobody mistakes one rate for another."""

    capture_fps: float
    inference_fps: float
    display_fps: float
    dropped: int
    provider: str
    age_ms: float | None = None  # how old the drawn prediction is, relative to the shown frame
    paused: bool = False
    reconnecting: bool = False
    collected: str | None = None  # frames saved per class, when collecting


def draw(image: np.ndarray, prediction: Prediction | None, status: Status) -> np.ndarray:
    """Draw onto ``image`` in place (pass a copy if the frame is shared) and return it."""
    scale = max(0.6, min(2.0, image.shape[1] / 800))
    rows: list[tuple[str, tuple[int, int, int], float | None, float]] = []  # text, colour, bar, size
    if prediction is None:
        rows.append(("waiting for the first prediction...", GREY, None, 0.6))
    else:
        top = prediction.result.top
        for rank, (label, score) in enumerate(zip(top.labels, top.scores)):
            rows.append((f"{score:5.1%}  {label}", WHITE, score, 0.75 if rank == 0 else 0.55))
    rows.append((f"capture {status.capture_fps:4.1f} fps | inference {status.inference_fps:4.1f} fps | "
                 f"display {status.display_fps:4.1f} fps", GREY, None, 0.45))
    latency = f"latency {prediction.latency_ms:.0f} ms" if prediction else "latency -"
    age = f" | age {status.age_ms:.0f} ms" if status.age_ms is not None else ""
    rows.append((f"{latency}{age} | dropped {status.dropped} | {status.provider}", GREY, None, 0.45))
    if status.reconnecting:
        rows.append(("source lost: reconnecting...", WARN, None, 0.6))
    if status.paused:
        rows.append(("paused (space to resume)", WARN, None, 0.6))
    if status.collected:
        rows.append((f"saved: {status.collected}", WARN, None, 0.5))

    thickness = 1 if scale < 1.2 else 2
    sizes = [cv2.getTextSize(text, FONT, size * scale, thickness)[0] for text, _, _, size in rows]
    pad = int(8 * scale)
    width = max(w for w, _ in sizes) + 2 * pad
    heights = [h + pad for _, h in sizes]
    _shade(image, width, sum(heights) + pad)
    y = 0
    for (text, color, score, size), row_height in zip(rows, heights):
        y += row_height
        if score is not None:
            cv2.rectangle(image, (pad // 2, y - row_height + pad // 2), (pad // 2 + int((width - pad) * score), y + pad // 2),
                          BAR, -1)
        cv2.putText(image, text, (pad, y), FONT, size * scale, color, thickness, cv2.LINE_AA)
    return image


def _shade(image: np.ndarray, width: int, height: int) -> None:
    """Darken the panel behind the text so it reads on any scene."""
    region = image[: min(height, image.shape[0]), : min(width, image.shape[1])]
    region //= 3
