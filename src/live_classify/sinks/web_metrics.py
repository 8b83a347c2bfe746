"""``/metrics``: the run's counters in Prometheus's text format, in a registry of its own.

The pipeline already counts everything; a collector reads those counts at each scrape rather than
keeping a second set. Only the latency histogram is fed as predictions come.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

PREFIX = "live_classify"
LATENCY_BUCKETS_S = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.0)
COUNTERS = {
    "captured": "frames read from the source",
    "classified": "frames classified",
    "dropped": "frames inference never saw because a newer one replaced them",
    "reconnects": "times the source was reopened",
}
GAUGES = {
    "capture_fps": "frames captured per second, over the last 2 s",
    "inference_fps": "frames classified per second, over the last 2 s",
    "prediction_age_s": "seconds since the newest prediction was made",
    "viewers": "MJPEG streams open now",
}


class Metrics:
    """The registry behind ``/metrics``: ``status`` is read at each scrape."""

    def __init__(self, status: Callable[[], dict[str, object]]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._status = status
        self.registry.register(self)
        self._latency = Histogram(f"{PREFIX}_latency_seconds", "from capture to result", buckets=LATENCY_BUCKETS_S,
                                  registry=self.registry)

    def observe(self, latency_ms: float) -> None:
        self._latency.observe(latency_ms / 1e3)

    def exposition(self) -> tuple[bytes, str]:
        """The body and content type of a scrape."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def collect(self) -> Iterator[Metric]:
        """The counters and gauges as they are now (prometheus-client's collector protocol)."""
        status = self._status()
        for name, text in COUNTERS.items():
            counter = CounterMetricFamily(f"{PREFIX}_frames_{name}" if name != "reconnects" else f"{PREFIX}_{name}",
                                          text)
            counter.add_metric([], float(status[name]))  # type: ignore[arg-type]
            yield counter
        for name, text in GAUGES.items():
            value = status[name]
            if value is not None:
                yield GaugeMetricFamily(f"{PREFIX}_{name}", text, value=float(value))  # type: ignore[arg-type]
        yield GaugeMetricFamily(f"{PREFIX}_source_up", "1 while frames flow, 0 while the source is lost or stalled",
                                value=1.0 if status["source_up"] else 0.0)
