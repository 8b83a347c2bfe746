"""Classes taught from a few examples, with no training run: a frame whose features (the model's
``features`` output, L2-normalised) lie close enough to a taught class's examples is named after
it; elsewhere the model's own label stays.

"Close enough" is calibrated from the examples themselves: each example's cosine similarity to its
nearest sibling says how much the class varies between its own views; the threshold sits
``MARGIN`` below the least similar pair (a class taught from varied views accepts more variety),
never below ``FLOOR`` (unrelated photos score about 0.13 on the bundled model, altered views of
the same thing 0.83 or more: ``benchmarks/teach.py``) nor above ``CEILING`` (five near-identical
frames would otherwise accept nothing but themselves, nor the camera's frames, which lack the
overlay the recorded examples carry).

A :class:`Matcher` is immutable: teaching builds a new one and swaps it into the shared
:class:`Taught` cell, which the inference thread reads once per batch: no lock, no half-made state.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from live_classify.engine.postprocess import TopK

TAUGHT_ID = -1  # the class id a taught label carries (it is none of the model's outputs)
MARGIN = 0.25
FLOOR = 0.45
# Also the threshold of a class taught from a single example. The recordings carry the overlay (the
# labels, the rates) and the camera's own frames do not: on a 320x240 camera the overlay covers a
# third of the picture, and a live frame of the very thing taught scores 0.67 (0.84 at 640x480).
CEILING = 0.6


def normalised(features: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a row of zeros stays zeros), as float32."""
    rows = np.atleast_2d(np.asarray(features, np.float32))
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def calibrate(examples: np.ndarray) -> float:
    """The similarity a frame needs to be taken for the class these (normalised) examples teach."""
    if len(examples) < 2:
        return CEILING
    similarity = examples @ examples.T
    np.fill_diagonal(similarity, -1.0)
    least = float(similarity.max(axis=1).min())  # the example farthest from all its siblings
    return float(np.clip(least - MARGIN, FLOOR, CEILING))


@dataclass(frozen=True)
class TaughtClass:
    """One taught label: its examples' normalised features and the threshold they calibrate."""

    label: str
    examples: np.ndarray  # [n, D], rows of length 1
    threshold: float

    @classmethod
    def of(cls, label: str, features: np.ndarray) -> TaughtClass:
        examples = normalised(features)
        return cls(label, examples, calibrate(examples))


@dataclass(frozen=True)
class Matcher:
    """Every taught class; :meth:`match` names the frames they claim."""

    classes: tuple[TaughtClass, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.classes)

    def match(self, features: np.ndarray) -> list[tuple[str, float] | None]:
        """For each row of ``features`` (``[n, D]``, raw), the closest class that claims it and the
        similarity, or None. Features of another size (another backbone) match nothing."""
        rows = normalised(features)
        best: list[tuple[str, float] | None] = [None] * len(rows)
        for taught in self.classes:
            if taught.examples.shape[1] != rows.shape[1]:
                continue
            nearest = (rows @ taught.examples.T).max(axis=1)
            for i, similarity in enumerate(nearest):
                found = best[i]
                if similarity >= taught.threshold and (found is None or similarity > found[1]):
                    best[i] = (taught.label, float(similarity))
        return best


class Taught:
    """The run's current :class:`Matcher`, shared by every engine; replaced whole, never changed."""

    def __init__(self) -> None:
        self.matcher = Matcher()

    def set(self, matcher: Matcher) -> None:
        self.matcher = matcher  # one reference written: a reader sees the old matcher or the new


def with_taught(top: TopK, label: str, similarity: float) -> TopK:
    """``top`` with the taught ``label`` first (its score: the similarity), the model's classes after it."""
    k = len(top.labels)
    return TopK((TAUGHT_ID, *top.class_ids[:k - 1]), (label, *top.labels[:k - 1]),
                (similarity, *top.scores[:k - 1]))
