"""The counters of one camera's run: what the threads count and the overlay, the web view, MQTT,
systemd and the summary read."""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from live_classify.pipeline.frames import Prediction


RECENT_LATENCIES = 1000  # the web view's latency is that of the newest predictions


class RateMeter:
    """Events per second over the last ``window`` seconds."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, t: float) -> None:
        self._times.append(t)
        while self._times and t - self._times[0] > self.window:
            self._times.popleft()

    @property
    def rate(self) -> float:
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / max(1e-9, self._times[-1] - self._times[0])


class LatencyHistogram:
    """Every latency of a run in fixed memory: counts in geometric buckets 1 % wide (from 1 µs to
    about 3 hours), so a percentile is right to within 1 % of its value however long the run. A list
    of every value grew by megabytes an hour per camera."""

    LOW_MS, RATIO, HIGH_MS = 1e-3, 1.01, 1e7

    def __init__(self) -> None:
        self._log_ratio = math.log(self.RATIO)
        self.counts = np.zeros(math.ceil(math.log(self.HIGH_MS / self.LOW_MS) / self._log_ratio), np.int64)
        self.n = 0
        self.low, self.high = math.inf, -math.inf  # the extremes seen: a percentile never lies outside them

    def add(self, ms: float) -> None:
        index = int(math.log(ms / self.LOW_MS) / self._log_ratio) if ms > self.LOW_MS else 0
        self.counts[min(index, len(self.counts) - 1)] += 1
        self.n += 1
        self.low, self.high = min(self.low, ms), max(self.high, ms)

    def percentile(self, q: float) -> float | None:
        """As ``np.percentile`` (linear between the two nearest values) would say of every value added."""
        if not self.n:
            return None
        rank = q / 100 * (self.n - 1)
        below = math.floor(rank)
        first, second = self._value_at(below), self._value_at(min(below + 1, self.n - 1))
        return first + (rank - below) * (second - first)

    def _value_at(self, k: int) -> float:
        """The middle of the bucket holding the k-th smallest value (0-based), within the extremes;
        beyond the buckets at either end, the extreme."""
        bucket = int(np.searchsorted(np.cumsum(self.counts), k, side="right"))
        if bucket in (0, len(self.counts) - 1):
            return self.low if bucket == 0 else self.high
        middle = self.LOW_MS * self.RATIO ** (bucket + 0.5)
        return min(max(middle, self.low), self.high)


@dataclass
class Stats:
    """Counters the threads update and the overlay and the summary read.

    Each counter has one writer thread, except the inference ones, which several workers share
    under ``lock``.
    """

    captured: int = 0
    classified: int = 0
    replaced: int = 0  # live: frames inference never saw because a newer one replaced them (capture's count)
    unserved: int = 0  # live: frames taken for inference while the inference server was away (inference's count)
    reconnects: int = 0
    capture_rate: RateMeter = field(default_factory=RateMeter)
    inference_rate: RateMeter = field(default_factory=RateMeter)
    display_rate: RateMeter = field(default_factory=RateMeter)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_LATENCIES))  # the newest
    latency_histogram: LatencyHistogram = field(default_factory=LatencyHistogram)  # all, in fixed memory
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_classified(self, prediction: Prediction) -> None:
        with self.lock:
            self.classified += 1
            self.inference_rate.tick(prediction.t_done)
            self.latencies_ms.append(prediction.latency_ms)
            self.latency_histogram.add(prediction.latency_ms)

    @property
    def dropped(self) -> int:
        """Live frames that got no prediction of their own."""
        return self.replaced + self.unserved

    def latency_summary(self) -> str:
        """The summary's words for the whole run's latency: p50 and p95, or that none was measured."""
        p50, p95 = self.latency_percentile(50), self.latency_percentile(95)
        return f"latency p50 {p50:.0f} ms, p95 {p95:.0f} ms" if p50 is not None and p95 is not None \
            else "no latency measured"

    def latency_percentile(self, q: float) -> float | None:
        return self.latency_histogram.percentile(q)
