"""The run's counters: latency percentiles from a fixed-size histogram, right to within its buckets."""
from __future__ import annotations

import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest

from live_classify.pipeline.stats import LatencyHistogram, RateMeter, Stats

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


# -- exact values: the buckets, the interpolation, the rate window -------------------------------

def middle(bucket: int) -> float:
    """The value a bucket stands for: its geometric middle."""
    return 1e-3 * 1.01 ** (bucket + 0.5)


def test_the_histogram_has_buckets_1_percent_wide_from_1_us_to_10_000_s() -> None:
    histogram = LatencyHistogram()
    assert len(histogram.counts) == 2315  # ceil(log(1e10) / log(1.01))
    assert histogram.percentile(50) is None and histogram.n == 0
    for value, bucket in [(1.0, 694), (10.0, 925), (1000.0, 1388), (9.99e6, 2313), (2e7, 2314), (1e-3, 0), (5e-4, 0)]:
        one = LatencyHistogram()
        one.add(value)
        assert one.counts.nonzero()[0].tolist() == [bucket] and one.counts[bucket] == 1, value
        assert (one.n, one.low, one.high) == (1, value, value)


def test_a_percentile_is_the_line_between_the_middles_of_the_two_nearest_buckets() -> None:
    histogram = LatencyHistogram()
    for value in (1000.0, 10.0, 1.0, 100.0):  # any order
        histogram.add(value)
    assert (histogram.n, histogram.low, histogram.high) == (4, 1.0, 1000.0)
    assert histogram.percentile(0) == pytest.approx(middle(694), rel=1e-12)  # 1.0028
    assert histogram.percentile(100) == 1000.0  # bucket 1388's middle, 1000.52, is above the largest value
    assert histogram.percentile(50) == pytest.approx(middle(925) + 0.5 * (middle(1157) - middle(925)), rel=1e-12)
    assert histogram.percentile(40) == pytest.approx(middle(925) + 0.2 * (middle(1157) - middle(925)), rel=1e-12)
    assert histogram.percentile(1 / 3 * 100) == pytest.approx(middle(925), rel=1e-12)


def test_values_sharing_a_bucket_give_its_middle_and_the_end_buckets_give_the_extremes() -> None:
    histogram = LatencyHistogram()
    for value in (5.01, 5.02, 5.03, 5.04):  # all in bucket 856, whose middle is 5.0264
        histogram.add(value)
    assert histogram.counts[856] == 4
    assert histogram.percentile(0) == histogram.percentile(100) == pytest.approx(middle(856), rel=1e-12)
    for values, clamped in [((5.03, 5.04), 5.03), ((5.01, 5.02), 5.02)]:  # the middle lies outside them
        both = LatencyHistogram()
        for value in values:
            both.add(value)
        assert both.percentile(0) == both.percentile(100) == clamped
    tiny = LatencyHistogram()
    for value in (2e-4, 5e-4, 3e7, 4e7):
        tiny.add(value)
    assert [tiny.percentile(q) for q in (0, 100)] == [2e-4, 4e7]
    assert tiny.percentile(100 / 3) == 2e-4 and tiny.percentile(200 / 3) == 4e7


def test_the_rate_counts_events_over_the_last_two_seconds() -> None:
    meter = RateMeter()
    assert meter.window == 2.0 and meter.rate == 0.0
    meter.tick(10.0)
    assert meter.rate == 0.0  # one event: no rate yet
    for t in (10.5, 11.0, 11.5, 12.0):  # the first is exactly 2 s old: kept
        meter.tick(t)
    assert meter.rate == 2.0  # 4 intervals in 2 s
    meter.tick(12.1)  # now the first is 2.1 s old: gone
    assert meter.rate == pytest.approx(4 / 1.6, rel=1e-12)
    meter.tick(20.0)  # a pause longer than the window: only this one left
    assert meter.rate == 0.0
    edge = RateMeter()
    for t in (10.0, 11.9, 12.0):  # 10.0 is exactly 2 s old at 12.0: still in the window
        edge.tick(t)
    assert edge.rate == 1.0


def test_the_rate_window_is_the_one_given_and_two_events_at_once_do_not_divide_by_zero() -> None:
    meter = RateMeter(window=0.5)
    for t in (0.0, 0.25, 0.5, 0.75):
        meter.tick(t)
    assert meter.rate == 4.0  # 0.0 dropped: 0.25..0.75, 2 intervals in 0.5 s
    same = RateMeter()
    same.tick(3.0)
    same.tick(3.0)
    assert same.rate == pytest.approx(1e9, rel=1e-12)


def test_the_counters_start_at_zero_and_dropped_adds_both_kinds() -> None:
    stats = Stats()
    counts = (stats.captured, stats.classified, stats.replaced, stats.unserved, stats.reconnects, stats.dropped)
    assert counts == (0,) * 6
    stats.replaced, stats.unserved = 3, 2
    assert stats.dropped == 5
    for t in (1.0, 1.5, 2.0):
        stats.count_classified(prediction(7.0, t_done=t))
    assert stats.inference_rate.rate == 2.0 and stats.capture_rate.rate == 0.0 and stats.display_rate.window == 2.0
    assert list(stats.latencies_ms) == [7.0, 7.0, 7.0] and stats.latencies_ms.maxlen == 1000
    assert stats.latency_percentile(50) == 7.0 and stats.latency_summary() == "latency p50 7 ms, p95 7 ms"


def test_the_summary_says_the_50th_and_the_95th_percentile_not_their_neighbours() -> None:
    stats = Stats()
    for value in [10.0] * 50 + [1000.0] * 50:
        stats.count_classified(prediction(value))
    assert stats.latency_summary() == "latency p50 505 ms, p95 1000 ms"  # halfway between 10 and 1000; p51 is 1000
