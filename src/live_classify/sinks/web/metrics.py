"""``/metrics``: the run's counters in Prometheus's text format, in a registry of its own.

The pipeline already counts everything; a collector reads those counts at each scrape rather than
keeping a second set. Only the latency histogram is fed as predictions come.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import itemgetter

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

PREFIX = "live_classify"
LATENCY_BUCKETS_S = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.0)
COUNTERS = {
    "captured": "frames read from the source",
    "classified": "frames classified",
    "dropped": "live frames with no prediction of their own: replaced by a newer one, or the inference server away",
    "gated": "frames not classified because nothing moved (--gate motion): they kept the last answer",
    "reconnects": "times the source was reopened",
}
GAUGES = {
    "capture_fps": "frames captured per second, over the last 2 s",
    "inference_fps": "frames classified per second, over the last 2 s",
    "prediction_age_s": "seconds since the newest prediction was made",
    "viewers": "MJPEG streams open now",
}


class Metrics:
    """The registry behind ``/metrics``: ``status`` is read at each scrape. With several cameras
    every series has a ``camera`` label, one sample per camera (``cameras``: their names)."""

    def __init__(self, status: Callable[[], dict[str, object]], cameras: list[str] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._status = status
        self._labels = ["camera"] if cameras else []
        self.registry.register(self)
        self._latency = Histogram(f"{PREFIX}_latency_seconds", "from capture to result", self._labels,
                                  buckets=LATENCY_BUCKETS_S, registry=self.registry)

    def observe(self, latency_ms: float, camera: str) -> None:
        histogram = self._latency.labels(camera) if self._labels else self._latency
        histogram.observe(latency_ms / 1e3)

    def exposition(self) -> tuple[bytes, str]:
        """The body and content type of a scrape."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def collect(self) -> Iterator[Metric]:
        """The counters and gauges as they are now (prometheus-client's collector protocol)."""
        status = self._status()
        rows: list[dict] = status["cameras"] if self._labels else [status]  # type: ignore[assignment]
        for name, text in COUNTERS.items():
            counter = CounterMetricFamily(f"{PREFIX}_frames_{name}" if name != "reconnects" else f"{PREFIX}_{name}",
                                          text, labels=self._labels)
            yield self._add(counter, rows, itemgetter(name))
        for name, text in GAUGES.items():
            gauge = self._add(GaugeMetricFamily(f"{PREFIX}_{name}", text, labels=self._labels), rows, itemgetter(name))
            if gauge.samples:
                yield gauge
        up = GaugeMetricFamily(f"{PREFIX}_source_up", "1 while frames flow, 0 while the source is lost or stalled",
                               labels=self._labels)
        yield self._add(up, rows, lambda row: 1.0 if row["source_up"] else 0.0)

    def _add(self, family: Metric, rows: list[dict], value: Callable[[dict], float | None]) -> Metric:
        """One sample per camera (one, unlabelled, with one camera); a value not known yet is left out."""
        for row in rows:
            if (number := value(row)) is not None:
                family.add_metric([row["name"]] if self._labels else [], float(number))  # type: ignore[attr-defined]
        return family
