"""The counters of one camera's run: what the threads count and the overlay, the web view, MQTT,
systemd and the summary read."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from live_classify.frames import Prediction


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
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_classified(self, prediction: Prediction) -> None:
        with self.lock:
            self.classified += 1
            self.inference_rate.tick(prediction.t_done)
            self.latencies_ms.append(prediction.latency_ms)

    @property
    def dropped(self) -> int:
        """Live frames that got no prediction of their own."""
        return self.replaced + self.unserved

    def latency_summary(self) -> str:
        """The summary's words for the latency: p50 and p95, or that none was measured."""
        p50, p95 = self.latency_percentile(50), self.latency_percentile(95)
        return f"latency p50 {p50:.0f} ms, p95 {p95:.0f} ms" if p50 is not None and p95 is not None \
            else "no latency measured"

    def latency_percentile(self, q: float) -> float | None:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else None
