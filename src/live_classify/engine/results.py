"""The engine's answer for one frame, and the JSON shape photos and video lines share.

Plain values with no engine behind them (no onnxruntime): the stream, every sink and the command
line read these without loading a model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from live_classify.engine.postprocess import UNKNOWN, TopK, is_unknown


@dataclass(frozen=True)
class StageTimes:
    """Milliseconds spent in each stage of the engine for one frame."""

    preprocess_ms: float
    inference_ms: float
    postprocess_ms: float


@dataclass(frozen=True)
class Classification:
    """The result for one frame."""

    top: TopK
    times: StageTimes
    probabilities: np.ndarray  # all classes, this frame's own (smoothing over frames comes later)
    taught: tuple[str, float] | None = None  # the taught class that claimed the frame, and its similarity


def top_records(top: TopK) -> list[dict[str, object]]:
    """The top-k as JSON-ready records, most likely first: what photos and video lines share."""
    return [{"class_id": cid, "label": label, "score": round(score, 6)}
            for cid, label, score in zip(top.class_ids, top.labels, top.scores, strict=True)]


def unknown_field(top: TopK, min_confidence: float | None) -> dict[str, bool]:
    """``{"unknown": true|false}`` with ``--min-confidence``, nothing without: photos and video lines share it."""
    return {} if min_confidence is None else {UNKNOWN: is_unknown(top, min_confidence)}


def stage_times(result: Classification) -> dict[str, float]:
    """``{"preprocess": ms, "inference": ms, "postprocess": ms}``: the one shape photos and video lines share."""
    times = result.times
    return {"preprocess": round(times.preprocess_ms, 3), "inference": round(times.inference_ms, 3),
            "postprocess": round(times.postprocess_ms, 3)}
