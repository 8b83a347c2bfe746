"""Stage 4: class scores become probabilities, the top-k classes and their labels."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TopK:
    """The k most likely classes, most likely first."""

    class_ids: tuple[int, ...]
    labels: tuple[str, ...]
    scores: tuple[float, ...]  # probabilities, 0..1

    @property
    def label(self) -> str:
        return self.labels[0]

    @property
    def score(self) -> float:
        return self.scores[0]


UNKNOWN = "unknown"  # the answer when the top score is below --min-confidence


def is_unknown(top: TopK, min_confidence: float | None) -> bool:
    """True when the best class is too unsure to be named: its score is below ``min_confidence``.

    The top-k itself is kept as it is, so a consumer still sees what the model leaned towards.
    """
    return min_confidence is not None and top.score < min_confidence


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def looks_like_probabilities(scores: np.ndarray) -> bool:
    """True when the scores are already a distribution (the model ends in a softmax)."""
    return bool(scores.min() >= 0 and abs(float(scores.sum()) - 1.0) < 1e-3)


def to_probabilities(scores: np.ndarray, logits: bool | None) -> np.ndarray:
    """Softmax when the model outputs logits; when unknown, decide from the scores themselves."""
    scores = scores.reshape(-1).astype(np.float32, copy=False)
    if logits is None:
        logits = not looks_like_probabilities(scores)
    return softmax(scores) if logits else scores.copy()


def top_k(probabilities: np.ndarray, labels: tuple[str, ...], k: int) -> TopK:
    """The k highest probabilities with their class ids and labels."""
    k = min(k, probabilities.size)
    ids = np.argpartition(-probabilities, k - 1)[:k]
    ids = ids[np.argsort(-probabilities[ids], kind="stable")]
    return TopK(
        class_ids=tuple(int(i) for i in ids),
        labels=tuple(labels[i] for i in ids),
        scores=tuple(float(probabilities[i]) for i in ids),
    )


class Smoother:
    """Exponential moving average of probabilities over consecutive video frames.

    ``alpha`` is the weight of the newest frame: 1 means no smoothing. A label that flickers
    between two classes frame to frame settles on the one that dominates recent frames.
    """

    def __init__(self, alpha: float) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], not {alpha}")
        self.alpha = alpha
        self._state: np.ndarray | None = None

    def __call__(self, probabilities: np.ndarray) -> np.ndarray:
        if self._state is None or self.alpha == 1:
            self._state = probabilities.copy()
        else:
            self._state *= 1 - self.alpha
            self._state += self.alpha * probabilities
        return self._state
