"""``live-classify-train``'s features step as a unit (issue 33, item 19): its progress counts the
training images, then the held-out ones after them, up to the total it announced."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from live_classify.train import run
from live_classify.train.dataset import Dataset


class Extractor:
    """The backbone, faked: a feature row per image, ``done(n)`` after each image."""

    preprocessing = SimpleNamespace(describe=lambda: "fake")

    def __init__(self, model: Path) -> None:
        pass

    def __call__(self, images: Sequence[np.ndarray], done: Callable[[int], None] | None = None) -> np.ndarray:
        for n in range(1, len(images) + 1):
            if done is not None:
                done(n)
        return np.zeros((len(images), 4), np.float32)


made: list[Counts] = []  # each progress line _extract made, in order


class Counts:
    """A progress line that keeps each count it is told."""

    def __init__(self, what: str, total: int, unit: str) -> None:
        self.what, self.total = what, total
        self.told: list[int] = []
        made.append(self)

    def update(self, done: int) -> None:
        self.told.append(done)

    def finish(self) -> None:
        pass


def test_the_features_count_goes_on_through_the_held_out_images_to_the_total(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four images trained on, two held out: the line counts 1 to 6 of 6 (on a terminal it would
    otherwise go back to 1/6 and stop at 2/6 while the step ends)."""
    made.clear()
    monkeypatch.setattr(run, "FeatureExtractor", Extractor)
    monkeypatch.setattr(run, "Progress", Counts)
    image = np.zeros((8, 8, 3), np.uint8)
    dataset = Dataset(("a", "b"), [image] * 6, np.array([0, 0, 0, 1, 1, 1]), [Path(f"{n}.jpg") for n in range(6)])
    split = run._Split(np.array([0, 1, 3, 4]), np.array([2, 5]))
    run._extract(Path("model.onnx"), dataset, split, 0, np.random.default_rng(0), lambda line: None)
    assert [(c.what, c.total, c.told) for c in made] == [("features", 6, [1, 2, 3, 4, 5, 6])]
