"""Stage 4: softmax, top-k, smoothing."""
from __future__ import annotations

import numpy as np
import pytest

from live_classify.engine.postprocess import (
    Smoother,
    is_unknown,
    looks_like_probabilities,
    softmax,
    to_probabilities,
    top_k,
)

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


def test_softmax_of_hand_computed_rows_each_on_its_own() -> None:
    """exp(0), exp(ln 2), exp(ln 5) are 1, 2, 5: the probabilities are eighths. Each row of a batch
    is normalized on its own, even when another row's logits are far larger."""
    x = np.array([0.0, np.log(2.0), np.log(5.0)])
    np.testing.assert_allclose(softmax(x), [1 / 8, 2 / 8, 5 / 8], rtol=1e-12)
    rows = np.array([[0.0, np.log(2.0), np.log(5.0)], [1000.0, 1000.0 + np.log(3.0), 1000.0]])
    np.testing.assert_allclose(softmax(rows), [[1 / 8, 2 / 8, 5 / 8], [1 / 5, 3 / 5, 1 / 5]], rtol=1e-12)


def test_scores_are_probabilities_only_when_none_is_negative_and_they_sum_to_one() -> None:
    assert looks_like_probabilities(np.array([0.0, 1.0]))  # a zero is a probability
    assert looks_like_probabilities(np.array([0.25, 0.7505]))  # within 1e-3 of 1
    assert not looks_like_probabilities(np.array([-0.5, 1.5]))  # sums to 1, but a negative score
    assert not looks_like_probabilities(np.array([0.5, 0.502]))  # 2e-3 off
    assert not looks_like_probabilities(np.array([0.5, 1.0]))


def test_to_probabilities_flattens_to_float32_and_never_returns_the_input() -> None:
    p = np.array([[0.125, 0.25, 0.625]], np.float64)
    got = to_probabilities(p, None)
    assert got.dtype == np.float32 and got.shape == (3,)
    np.testing.assert_array_equal(got, [0.125, 0.25, 0.625])
    x = np.array([3.0, 1.0, 2.0], np.float32)
    kept = to_probabilities(x, False)  # the model says: these are probabilities already
    np.testing.assert_array_equal(kept, x)
    kept[0] = 9.0
    assert x[0] == 3.0, "the caller's scores were changed"
    np.testing.assert_allclose(to_probabilities(np.log(np.array([[1.0, 2.0, 5.0]])), True), [1 / 8, 2 / 8, 5 / 8],
                               rtol=1e-6)


def test_top_k_finds_the_k_largest_of_many_in_order() -> None:
    rng = np.random.default_rng(7)
    labels = tuple(f"class {i}" for i in range(50))
    for _ in range(20):
        p = rng.permutation(50).astype(np.float32) / 1225
        for k in (1, 2, 3, 5, 10):
            want = tuple(int(i) for i in np.argsort(-p)[:k])
            got = top_k(p, labels, k)
            assert got.class_ids == want
            assert got.labels == tuple(labels[i] for i in want)
            assert got.scores == tuple(float(p[i]) for i in want)
            assert got.label == labels[want[0]] and got.score == float(p[want[0]])


def test_top_k_of_a_thousand_classes() -> None:
    """The bundled model's size: a partition that is off by one shows here, not on 50 classes."""
    rng = np.random.default_rng(11)
    labels = tuple(str(i) for i in range(1000))
    for _ in range(10):
        p = rng.random(1000).astype(np.float32)
        for k in (1, 2, 5):
            assert top_k(p, labels, k).class_ids == tuple(int(i) for i in np.argsort(-p)[:k])


def test_unknown_only_below_the_threshold_and_only_when_one_is_set() -> None:
    top = top_k(np.array([0.5, 0.3, 0.2], np.float32), ("a", "b", "c"), 2)
    assert not is_unknown(top, None)
    assert not is_unknown(top, 0.5)  # at the threshold: named
    assert is_unknown(top, 0.6)
    assert not is_unknown(top, 0.4)


def test_smoothing_is_the_exponential_average_with_the_newest_frame_weighted_alpha() -> None:
    smooth = Smoother(0.25)
    np.testing.assert_allclose(smooth(np.array([1.0, 0.0])), [1.0, 0.0])
    np.testing.assert_allclose(smooth(np.array([0.0, 1.0])), [0.75, 0.25])
    np.testing.assert_allclose(smooth(np.array([0.0, 1.0])), [0.5625, 0.4375])


def test_without_smoothing_each_result_is_the_frames_own_and_stays_so() -> None:
    smooth = Smoother(1.0)
    first = smooth(np.array([0.9, 0.1]))
    second = smooth(np.array([0.2, 0.8]))
    np.testing.assert_array_equal(first, [0.9, 0.1])
    np.testing.assert_array_equal(second, [0.2, 0.8])


@pytest.mark.parametrize("alpha", [0.0, -0.5, 1.5, 2.0])
def test_smoothing_weight_outside_zero_to_one_is_refused(alpha: float) -> None:
    with pytest.raises(ValueError, match=rf"^alpha must be in \(0, 1\], not {alpha}$"):
        Smoother(alpha)
