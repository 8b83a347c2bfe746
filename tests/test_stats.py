"""The run's counters: latency percentiles from a fixed-size histogram, right to within its buckets."""
from __future__ import annotations

import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest

from live_classify.stats import LatencyHistogram, Stats

QUANTILES = [0, 1, 5, 25, 50, 75, 95, 99, 100]


def prediction(latency_ms: float, t_done: float = 0.0) -> SimpleNamespace:
    return SimpleNamespace(latency_ms=latency_ms, t_done=t_done)


@pytest.mark.parametrize("values", [
    np.random.default_rng(1).lognormal(np.log(30), 0.6, 100_000),  # a typical run: 30 ms, a long tail
    np.random.default_rng(2).uniform(0.2, 4000, 20_000),  # four decades
    np.array([12.5] * 500),  # all alike: exact
    np.array([8.0, 400.0]),  # two far apart: numpy interpolates between them
    np.array([3.0, 3.1, 5.0, 9.0, 250.0, 251.0, 7000.0]),
    np.array([0.0004, 0.9, 2e7]),  # beyond the buckets at both ends: the extremes, and the line between
], ids=["lognormal", "uniform", "constant", "two", "seven", "extremes"])
def test_the_histograms_percentiles_match_numpys_within_a_bucket(values: np.ndarray) -> None:
    histogram = LatencyHistogram()
    for value in values:
        histogram.add(float(value))
    for q in QUANTILES:
        expected = float(np.percentile(values, q))
        tolerance = 0.01 * (values.max() - values.min()) if len(values) == 3 else 0.01 * expected
        assert histogram.percentile(q) == pytest.approx(expected, abs=tolerance, rel=0), (q, expected)


def test_the_summary_gives_the_whole_runs_p50_and_p95() -> None:
    stats = Stats()
    assert stats.latency_summary() == "no latency measured" and stats.latency_percentile(50) is None
    values = np.concatenate([np.full(9000, 20.0), np.linspace(100, 200, 1000)])  # the slow ones come last
    for value in values:
        stats.count_classified(prediction(float(value)))
    assert stats.latency_summary() == "latency p50 20 ms, p95 150 ms"  # numpy: 20.0 and 150.05
    assert stats.classified == 10_000 and len(stats.latencies_ms) == 1000 and stats.latencies_ms[0] == 100.0


def test_memory_stays_flat_however_many_frames_are_classified() -> None:
    stats = Stats()
    for i in range(2000):  # warm-up: the newest-latencies window fills
        stats.count_classified(prediction(10.0 + i % 50))
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(50_000):  # half an hour of a 30 fps camera
            stats.count_classified(prediction(10.0 + i % 50, t_done=i / 30))
        grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown / 1024:.0f} KiB more after 50,000 frames"
    assert stats.latency_histogram.n == 52_000
