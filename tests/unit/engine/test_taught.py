"""Taught classes: the threshold calibrated from the examples, the matcher, and the bundled model's
classifier naming a frame after a taught class (its smoothing too) while the others keep the model's."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE

from live_classify.engine.classifier import Classifier
from live_classify.engine.postprocess import Smoother, TopK
from live_classify.engine.taught import (
    CEILING,
    FLOOR,
    MARGIN,
    TAUGHT_ID,
    Matcher,
    TaughtClass,
    calibrate,
    normalised,
    with_taught,
)


def unit(*values: float) -> np.ndarray:
    return normalised(np.array([values], np.float32))[0]


def test_the_threshold_sits_a_margin_below_the_least_similar_pair_within_floor_and_ceiling() -> None:
    spread = np.stack([unit(1, 0, 0), unit(1, 1, 0), unit(1, 0.1, 0)])  # nearest pairs: 0.995, 0.774, 0.995
    least = float(unit(1, 1, 0) @ unit(1, 0.1, 0))
    assert calibrate(spread) == pytest.approx(least - MARGIN)
    assert calibrate(np.stack([unit(1, 0, 0), unit(0, 1, 0)])) == FLOOR, "orthogonal examples: the floor"
    assert calibrate(np.stack([unit(1, 0, 0)] * 3)) == CEILING, "identical examples: the ceiling"
    assert calibrate(np.stack([unit(1, 0, 0)])) == CEILING, "one example: the ceiling"


def test_a_frame_goes_to_the_closest_class_that_claims_it_and_to_none_below_its_threshold() -> None:
    mug = TaughtClass("mug", np.stack([unit(1, 0, 0)]), 0.9)
    van = TaughtClass("van", np.stack([unit(0, 1, 0), unit(0, 0.9, 0.1)]), 0.9)
    frames = np.array([[5, 0.1, 0], [0, 2, 0.2], [1, 1, 0], [0, 0, 3]], np.float32)  # raw: normalised by match
    assert Matcher((mug, van)).match(frames) == [("mug", pytest.approx(0.9998, abs=1e-4)),
                                                ("van", pytest.approx(1.0, abs=1e-4)), None, None]
    both = Matcher((TaughtClass("near", np.stack([unit(1, 0.05, 0)]), 0.5), mug))
    assert both.match(np.array([[1, 0, 0]], np.float32))[0][0] == "mug", "the closer class wins, not the first"
    assert Matcher((mug,)).match(np.ones((1, 5), np.float32)) == [None], "another backbone's features"
    assert Matcher().match(frames) == [None] * 4


def test_the_taught_label_comes_first_with_the_models_after_it() -> None:
    top = TopK((3, 1, 2), ("cup", "espresso", "bowl"), (0.6, 0.3, 0.1))
    assert with_taught(top, "our mug", 0.93) == TopK((TAUGHT_ID, 3, 1), ("our mug", "cup", "espresso"),
                                                     (0.93, 0.6, 0.3))


def _views(path: object, count: int) -> list[np.ndarray]:
    """``count`` views of a photo as a camera would give them: shifted a little, with sensor noise."""
    image, rng = cv2.imread(str(path)), np.random.default_rng(3)
    views = []
    for _ in range(count):
        dx, dy = rng.integers(-6, 7, 2)
        moved = cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), image.shape[1::-1],
                               borderMode=cv2.BORDER_REFLECT)
        views.append(np.clip(moved + rng.normal(0, 3, moved.shape), 0, 255).astype(np.uint8))
    return views


def test_the_classifier_names_a_taught_things_frames_and_leaves_the_others_to_the_model(
        classifier: Classifier) -> None:
    engine = classifier.sibling()
    teach, coffee, cat = _views(COFFEE, 5), cv2.flip(cv2.imread(str(COFFEE)), 1), cv2.imread(str(CHELSEA))
    before = engine.classify(coffee)
    engine.classify_batch(teach)
    features = engine.backend.features(5)
    assert features is not None and features.shape == (5, 1280)
    engine.taught.set(Matcher((TaughtClass.of("our mug", features),)))
    mug, other = engine.classify_batch([coffee, cat])
    assert mug.top.label == "our mug" and mug.top.class_ids[0] == TAUGHT_ID and mug.taught is not None
    assert mug.top.labels[1:] == before.top.labels[:-1], "the model's own classes follow the taught one"
    assert other.top.label in {"tiger cat", "tabby", "Egyptian cat"} and other.taught is None
    smoothed = engine.smoothed(mug, Smoother(0.5))
    assert smoothed.top.label == "our mug", "smoothing keeps the taught label of the frame"
    assert engine.sibling().classify(coffee).top.label == "our mug", "a sibling shares what was taught"
    successor = classifier.sibling()
    successor.taught = type(engine.taught)()
    successor.succeeds(engine)
    assert successor.classify(coffee).top.label == "our mug", "a new model keeps what was taught"
    engine.taught.set(Matcher())
    assert engine.classify(coffee).top.label == before.top.label == "espresso"
