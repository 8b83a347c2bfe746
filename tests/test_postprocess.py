"""Stage 4: softmax, top-k, smoothing."""
from __future__ import annotations

import numpy as np
import pytest

from live_classify.engine.postprocess import Smoother, looks_like_probabilities, softmax, to_probabilities, top_k

LABELS = ("a", "b", "c", "d")


def test_softmax_matches_the_formula_and_survives_huge_logits() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    np.testing.assert_allclose(softmax(x), np.exp(x) / np.exp(x).sum(), rtol=1e-6)
    big = softmax(np.array([1000.0, 999.0], np.float32))
    assert np.isfinite(big).all() and big[0] > big[1]


def test_probabilities_are_not_softmaxed_twice() -> None:
    p = np.array([[0.1, 0.2, 0.3, 0.4]], np.float32)
    assert looks_like_probabilities(p)
    np.testing.assert_allclose(to_probabilities(p, None), p[0])
    np.testing.assert_allclose(to_probabilities(p, True), softmax(p[0]), rtol=1e-6)
    logits = np.array([[2.0, -1.0, 0.5, 3.0]], np.float32)
    np.testing.assert_allclose(to_probabilities(logits, None), softmax(logits[0]), rtol=1e-6)


def test_top_k_is_sorted_and_labelled() -> None:
    p = np.array([0.1, 0.4, 0.2, 0.3], np.float32)
    result = top_k(p, LABELS, 3)
    assert result.class_ids == (1, 3, 2)
    assert result.labels == ("b", "d", "c")
    assert result.scores == pytest.approx((0.4, 0.3, 0.2))
    assert top_k(p, LABELS, 10).class_ids == (1, 3, 2, 0)


def test_smoothing_holds_the_label_through_a_one_frame_flicker() -> None:
    steady, flicker = np.array([0.7, 0.3]), np.array([0.2, 0.8])
    smooth = Smoother(0.3)
    for _ in range(5):
        smooth(steady)
    assert smooth(flicker).argmax() == 0  # one odd frame does not flip the label
    for _ in range(10):
        last = smooth(flicker)
    assert last.argmax() == 1  # a lasting change does
    assert Smoother(1.0)(flicker) is not flicker
    with pytest.raises(ValueError):
        Smoother(0.0)
