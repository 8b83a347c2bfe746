"""``/metrics`` from a status dict, scraped in this process: every series' exact name, help, type,
labels and value, with one camera and with two, a gauge not known yet left out, latencies in
seconds in their buckets."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from live_classify.sinks.web.metrics import Metrics


def row(name: str, n: int, **extra: object) -> dict[str, object]:
    return {"name": name, "captured": 10 * n, "classified": 9 * n, "dropped": n, "reconnects": n + 1, "gated": 4 * n,
            "capture_fps": 30.0 + n, "inference_fps": 29.5 + n, "prediction_age_s": 0.25 * n, "viewers": n,
            "source_up": True, **extra}


def families(metrics: Metrics) -> dict[str, tuple[str, str, list[tuple[str, dict[str, str], float]]]]:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain; version=")
    return {f.name: (f.type, f.documentation, [(s.name, s.labels, s.value) for s in f.samples])
            for f in text_string_to_metric_families(body.decode())}


def test_one_camera_has_unlabelled_series_with_the_status_values() -> None:
    found = families(Metrics(lambda: row("cam", 2)))
    assert found["live_classify_frames_captured"] == ("counter", "frames read from the source",
                                                      [("live_classify_frames_captured_total", {}, 20.0)])
    assert found["live_classify_frames_classified"][2] == [("live_classify_frames_classified_total", {}, 18.0)]
    assert found["live_classify_frames_dropped"][2] == [("live_classify_frames_dropped_total", {}, 2.0)]
    assert found["live_classify_frames_gated"] == (
        "counter", "frames not classified because nothing moved (--gate motion): they kept the last answer",
        [("live_classify_frames_gated_total", {}, 8.0)])
    assert found["live_classify_reconnects"] == ("counter", "times the source was reopened",
                                                 [("live_classify_reconnects_total", {}, 3.0)])
    assert found["live_classify_capture_fps"] == ("gauge", "frames captured per second, over the last 2 s",
                                                  [("live_classify_capture_fps", {}, 32.0)])
    assert found["live_classify_inference_fps"][2] == [("live_classify_inference_fps", {}, 31.5)]
    assert found["live_classify_prediction_age_s"][2] == [("live_classify_prediction_age_s", {}, 0.5)]
    assert found["live_classify_viewers"] == ("gauge", "MJPEG streams open now", [("live_classify_viewers", {}, 2.0)])
    assert found["live_classify_source_up"] == ("gauge", "1 while frames flow, 0 while the source is lost or stalled",
                                                [("live_classify_source_up", {}, 1.0)])


def test_a_gauge_not_known_yet_is_left_out_and_a_lost_source_is_0() -> None:
    found = families(Metrics(lambda: row("cam", 0, prediction_age_s=None, source_up=False)))
    assert "live_classify_prediction_age_s" not in found
    assert found["live_classify_viewers"][2] == [("live_classify_viewers", {}, 0.0)]  # 0 is known, not None
    assert found["live_classify_source_up"][2] == [("live_classify_source_up", {}, 0.0)]


def test_two_cameras_give_one_sample_each_labelled_with_the_camera() -> None:
    status = {"cameras": [row("door", 1), row("yard", 3, source_up=False, prediction_age_s=None)]}
    found = families(Metrics(lambda: status, ["door", "yard"]))
    assert found["live_classify_frames_captured"][2] == [
        ("live_classify_frames_captured_total", {"camera": "door"}, 10.0),
        ("live_classify_frames_captured_total", {"camera": "yard"}, 30.0)]
    assert found["live_classify_source_up"][2] == [("live_classify_source_up", {"camera": "door"}, 1.0),
                                                   ("live_classify_source_up", {"camera": "yard"}, 0.0)]
    assert found["live_classify_prediction_age_s"][2] == [("live_classify_prediction_age_s", {"camera": "door"}, 0.25)]


def test_latencies_are_observed_in_seconds_in_the_documented_buckets() -> None:
    metrics = Metrics(lambda: row("cam", 1))
    for latency_ms in (4.0, 5.0, 30.0, 2500.0):
        metrics.observe(latency_ms, "ignored with one camera")
    histogram = families(metrics)["live_classify_latency_seconds"]
    assert histogram[:2] == ("histogram", "from capture to result")
    buckets = {s[1]["le"]: s[2] for s in histogram[2] if s[0].endswith("_bucket")}
    assert buckets == {"0.005": 2.0, "0.01": 2.0, "0.02": 2.0, "0.03": 3.0, "0.05": 3.0, "0.075": 3.0, "0.1": 3.0,
                       "0.2": 3.0, "0.5": 3.0, "1.0": 3.0, "2.0": 3.0, "+Inf": 4.0}
    total = {s[0]: s[2] for s in histogram[2] if not s[0].endswith("_bucket") and not s[0].endswith("_created")}
    assert total["live_classify_latency_seconds_count"] == 4.0
    assert abs(total["live_classify_latency_seconds_sum"] - 2.539) < 1e-9


def test_with_cameras_each_latency_goes_to_its_cameras_histogram() -> None:
    metrics = Metrics(lambda: {"cameras": [row("a", 1), row("b", 1)]}, ["a", "b"])
    metrics.observe(40.0, "a")
    metrics.observe(400.0, "b")
    metrics.observe(410.0, "b")
    samples = families(metrics)["live_classify_latency_seconds"][2]
    counts = {s[1]["camera"]: s[2] for s in samples if s[0] == "live_classify_latency_seconds_count"}
    assert counts == {"a": 1.0, "b": 2.0}
    le_005 = {s[1]["camera"]: s[2] for s in samples if s[0].endswith("_bucket") and s[1]["le"] == "0.05"}
    assert le_005 == {"a": 1.0, "b": 0.0}
