"""What is drawn on each shown frame: the top-k with confidence bars, rates, latency, provider.

The text scales with the frame, so it keeps its share of the picture from 320x240 to 4K, but
never shrinks below what reads (``MIN_FONT``); the panel never covers more than ``MAX_COVER`` of
the frame's height: on a small frame the lower-ranked classes are left out first, and the rates
wrap onto as many short lines as the width needs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from live_classify.engine.postprocess import UNKNOWN, is_unknown
from live_classify.pipeline.frames import Prediction

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE = (255, 255, 255)
GREY = (190, 190, 190)
BAR = (80, 200, 80)
WARN = (60, 170, 255)
MIN_FONT = 0.42  # capitals about 9 px high: the smallest text that still reads
MAX_FONT_SCALE = 2.5
MAX_COVER = 0.45  # of the frame's height
# Relative sizes: the top class, the other classes, the rates, the notices.
LABEL, CLASS, STATS, NOTICE = 0.75, 0.55, 0.45, 0.6

STILL = "still: label kept, not re-checked"  # --gate motion, on a frame that was not classified
Font = Callable[[float], float]  # a relative size -> the font scale for this frame


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
    lost_for_s: float | None = None  # no frame for this long (a stall, a reconnect): no live rates to show
    lost_because: str | None = None  # reconnecting: why the source was lost
    collected: str | None = None  # frames saved per class, when collecting
    min_confidence: float | None = None  # below it the answer is "unknown"
    backend_down: str | None = None  # the inference server is away: why
    still: bool = False  # --gate motion: nothing moved, the label is the last one, not re-checked on this frame
    health: str | None = None  # the camera's problem (frozen, dark, blurred, moved, offline), if it is in one


@dataclass(frozen=True)
class Row:
    text: str
    color: tuple[int, int, int]
    font: float  # OpenCV font scale
    bar: float | None = None  # a confidence bar behind the text, 0..1


@dataclass(frozen=True)
class Panel:
    """The rows to draw and the box they need, in pixels."""

    rows: list[Row]
    heights: list[int]
    width: int
    pad: int
    thickness: int

    @property
    def height(self) -> int:
        return sum(self.heights) + self.pad


def text_scale(width: int, height: int) -> float:
    """1.0 on an 800x600 frame, in proportion elsewhere (the tighter of the two sides)."""
    return min(MAX_FONT_SCALE, width / 800, height / 600)


def layout(width: int, height: int, prediction: Prediction | None, status: Status, rates: bool = True) -> Panel:
    """The rows for a frame of this size: as many classes as fit in ``MAX_COVER`` of its height
    (``rates``: the rates' lines under them; an event's thumbnail has none)."""
    scale = text_scale(width, height)
    thickness = 1 if scale < 1.2 else 2
    pad = max(4, int(8 * scale))
    room = width - 2 * pad

    def font(relative: float) -> float:
        return max(MIN_FONT, relative * scale)

    def fitted(rows: list[Row]) -> list[Row]:  # a row wider than the frame ends in "..."
        return [Row(fit(r.text, r.font, thickness, room), r.color, r.font, r.bar) for r in rows]

    def heights(rows: list[Row]) -> list[int]:
        return [_text_size(r.text, r.font, thickness)[1] + pad for r in rows]

    top = fitted(_class_rows(prediction, status, font))
    # The rates wrap at the classes' width (or half the frame's, or 400 px): a panel, not a banner.
    classes_width = max(_text_size(r.text, r.font, thickness)[0] for r in top)
    stats_room = min(room, max(classes_width, width // 2, 400))
    stats = _wrap(_stats(prediction, status), font(STATS), thickness, stats_room) if rates else []
    rest = fitted([Row(line, GREY, font(STATS)) for line in stats] + _notices(status, font))
    while len(top) > 1 and sum(heights([*top, *rest])) + pad > MAX_COVER * height:
        top.pop()  # the lowest-ranked class goes first
    rows = [*top, *rest]
    text_width = max(_text_size(r.text, r.font, thickness)[0] for r in rows)
    return Panel(rows, heights(rows), min(width, text_width + 2 * pad), pad, thickness)


def draw(image: np.ndarray, prediction: Prediction | None, status: Status, rates: bool = True) -> np.ndarray:
    """Draw onto ``image`` in place (pass a copy if the frame is shared) and return it."""
    panel = layout(image.shape[1], image.shape[0], prediction, status, rates)
    pad = panel.pad
    _shade(image, 0, 0, panel.width, panel.height)
    y = 0
    for row, row_height in zip(panel.rows, panel.heights, strict=True):
        y += row_height
        if row.bar is not None:
            right = pad // 2 + int((panel.width - pad) * row.bar)
            cv2.rectangle(image, (pad // 2, y - row_height + pad // 2), (right, y + pad // 2), BAR, -1)
        cv2.putText(image, row.text, (pad, y), FONT, row.font, row.color, panel.thickness, cv2.LINE_AA)
    return image


def notice(image: np.ndarray, text: str) -> np.ndarray:
    """A short message at the bottom of the frame ("saved ..."), in place, sized like the overlay."""
    height, width = image.shape[:2]
    scale = text_scale(width, height)
    size, thickness, pad = max(0.5, NOTICE * scale), 1 if scale < 1.2 else 2, max(4, int(8 * scale))
    text = fit(text, size, thickness, width - 2 * pad)
    (w, h), _ = cv2.getTextSize(text, FONT, size, thickness)
    left, top = max(0, (width - w) // 2 - pad), max(0, height - h - 3 * pad)
    _shade(image, left, top, w + 2 * pad, h + 2 * pad)
    cv2.putText(image, text, (left + pad, top + pad + h), FONT, size, WARN, thickness, cv2.LINE_AA)
    return image


def _class_rows(prediction: Prediction | None, status: Status, font: Font) -> list[Row]:
    """The top-k, most likely first, with bars; "unknown" above them when the top score is too low."""
    if prediction is None:
        return [Row("waiting for the first prediction...", GREY, font(NOTICE))]
    top = prediction.result.top
    rows = []
    unknown = is_unknown(top, status.min_confidence)
    if unknown:
        rows.append(Row(f"{UNKNOWN} (top score below {status.min_confidence:.0%})", WARN, font(LABEL)))
    for rank, (label, score) in enumerate(zip(top.labels, top.scores, strict=True)):
        size = LABEL if rank == 0 and not unknown else CLASS
        rows.append(Row(f"{score:5.1%}  {label}", WHITE, font(size), score))
    return rows


def _stats(prediction: Prediction | None, status: Status) -> list[str]:
    """Short items for the rates lines. With no new frame, no rate or age is shown as if it were live."""
    if status.lost_for_s is not None:
        return [f"no new frame for {status.lost_for_s:.0f} s", f"dropped {status.dropped}", status.provider]
    items = [f"capture {status.capture_fps:4.1f} fps", f"inference {status.inference_fps:4.1f} fps",
             f"display {status.display_fps:4.1f} fps",
             f"latency {prediction.latency_ms:.0f} ms" if prediction else "latency -"]
    if status.age_ms is not None:
        items.append(f"age {status.age_ms:.0f} ms")
    return [*items, f"dropped {status.dropped}", status.provider]


def _notices(status: Status, font: Font) -> list[Row]:
    rows = []
    if status.still:
        rows.append(Row(STILL, GREY, font(NOTICE)))
    if status.health:
        rows.append(Row(f"camera problem: {status.health}", WARN, font(NOTICE)))
    if status.backend_down:
        rows.append(Row("inference server unreachable", WARN, font(NOTICE)))
    if status.reconnecting:
        rows.append(Row("source lost: reconnecting...", WARN, font(NOTICE)))
        if status.lost_because:
            rows.append(Row(status.lost_because, WARN, font(STATS)))
    if status.paused:
        rows.append(Row("paused (space to resume)", WARN, font(NOTICE)))
    if status.collected:
        rows.append(Row(f"saved: {status.collected}", WARN, font(0.5)))
    return rows


def _wrap(items: list[str], size: float, thickness: int, room: int) -> list[str]:
    """Join items with " | " into as few lines as fit in ``room`` pixels."""
    lines: list[str] = []
    for item in items:
        joined = f"{lines[-1]} | {item}" if lines else item
        if lines and _text_size(joined, size, thickness)[0] <= room:
            lines[-1] = joined
        else:
            lines.append(item)
    return lines


def fit(text: str, size: float, thickness: int, room: int) -> str:
    """``text``, cut short with "..." if it is wider than ``room`` pixels."""
    if _text_size(text, size, thickness)[0] <= room:
        return text
    while len(text) > 1 and _text_size(text + "...", size, thickness)[0] > room:
        text = text[:-1]
    return text.rstrip() + "..."


def _text_size(text: str, size: float, thickness: int) -> tuple[int, int]:
    (width, height), _ = cv2.getTextSize(text, FONT, size, thickness)
    return width, height


def _shade(image: np.ndarray, left: int, top: int, width: int, height: int) -> None:
    """Darken the box behind the text so it reads on any scene."""
    region = image[top : min(top + height, image.shape[0]), left : min(left + width, image.shape[1])]
    region //= 3
