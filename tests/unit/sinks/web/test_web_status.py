"""``/api/status`` and ``/metrics`` in this process, their values checked against what is known:
frames dropped while the inference server is away, latencies in seconds in the right buckets, and
ages that are never negative."""
from __future__ import annotations

import http.client
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from statuses import camera_status

from live_classify.config import SourceSpec
from live_classify.engine.backend import BackendUnavailable
from live_classify.pipeline.batching import Batcher
from live_classify.pipeline.camera import Camera as ACamera
from live_classify.pipeline.frames import Flow, Frame, Prediction
from live_classify.pipeline.queues import Wake
from live_classify.pipeline.status import CameraState, CameraStatus
from live_classify.sinks.events.rules import END, START, Change, Event
from live_classify.sinks.web import view as web
from live_classify.sinks.web.listen import Address, listen


def wait_until(condition, what: str, timeout: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def still_camera(**extra: object) -> Callable[[], CameraStatus]:
    """A camera that has not started, as the web view reads it."""
    status = camera_status(state=CameraState.STARTING, last_capture=time.monotonic(), **extra)
    return lambda: status


def view_of(cameras: list[Callable[[], CameraStatus]]) -> web.WebView:
    feeds = [web.Feed(f"cam{n}", f"cam{n}", status) for n, status in enumerate(cameras)]
    return web.WebView(listen(Address("127.0.0.1", 0), None), feeds, web.Options("CPU", None, None))


@pytest.fixture
def views() -> Iterator[list[web.WebView]]:
    """Web views to close at the end of the test."""
    opened: list[web.WebView] = []
    yield opened
    for view in opened:
        view.close()


def metrics(view: web.WebView) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A scrape of ``/metrics`` over HTTP: (sample name, its labels) -> value."""
    connection = http.client.HTTPConnection("127.0.0.1", view.server._sock.getsockname()[1], timeout=10)
    try:
        connection.request("GET", "/metrics")
        body = connection.getresponse().read().decode()
    finally:
        connection.close()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


class Camera:
    """A live source whose frames the test sends (its camera is an ``ACamera``)."""

    def __init__(self) -> None:
        self.spec = SourceSpec("cam", "camera", "cam")
        self.claimed_fps = None
        self.lost_because = "ended"
        self.frames: queue.Queue = queue.Queue()

    def read(self) -> np.ndarray | None:
        return self.frames.get()

    def reopen(self) -> bool:
        return False

    def release(self) -> None:
        pass


class Away:
    """An inference server that never answers."""

    def classify_batch(self, images: list[np.ndarray], pad_to: int | None = None) -> list[object]:
        raise BackendUnavailable("connection refused")


def test_dropped_counts_the_frames_lost_while_the_inference_server_was_away(views: list[web.WebView]) -> None:
    source, wake = Camera(), Wake()
    camera = ACamera(source, flow=Flow.LATEST, wake=wake, log=lambda _: None).start()  # type: ignore[arg-type]
    batcher = Batcher(Away(), [camera], wake, max_batch=1, log=lambda _: None).start()  # type: ignore[arg-type]
    for _ in range(6):
        source.frames.put(np.zeros((4, 4, 3), np.uint8))
    wait_until(lambda: camera.stats.captured == 6 and camera.stats.unserved >= 1, "frames taken while away")
    camera.stop()
    source.frames.put(None)
    batcher.join(5)
    camera.join(5)  # the counters hold still from here
    stats = camera.stats
    assert stats.unserved >= 1 and camera.backend_down == "connection refused"
    views.append(view := view_of([camera.snapshot]))
    status = view.status()
    assert status["dropped"] == stats.replaced + stats.unserved > 0, (status["dropped"], stats)
    assert status["classified"] == 0 and status["captured"] == 6
    assert metrics(view)[("live_classify_frames_dropped_total", ())] == stats.replaced + stats.unserved


def test_each_camera_s_gated_frames_and_stillness_are_its_own(views: list[web.WebView]) -> None:
    views.append(view := view_of([still_camera(captured=50, classified=3, gated=47, still=True),
                                  still_camera(captured=50, classified=50, gated=0, still=False)]))
    cameras = view.status()["cameras"]
    assert [(c["gated"], c["still"]) for c in cameras] == [(47, True), (0, False)]  # type: ignore[index, union-attr]
    scraped = metrics(view)
    assert [scraped[("live_classify_frames_gated_total", (("camera", f"cam{n}"),))] for n in (0, 1)] == [47, 0]


LATENCIES_MS = [3.0, 12.0, 12.0, 40.0, 150.0, 700.0]
BUCKETS = {"0.005": 1, "0.01": 1, "0.02": 3, "0.03": 3, "0.05": 4, "0.075": 4, "0.1": 4, "0.2": 5, "0.5": 5,
           "1.0": 6, "2.0": 6, "+Inf": 6}


@pytest.mark.parametrize("cameras", [1, 2])
def test_the_latency_histogram_is_in_seconds_in_the_right_buckets(cameras: int, views: list[web.WebView]) -> None:
    views.append(view := view_of([still_camera() for _ in range(cameras)]))
    name = f"cam{cameras - 1}"  # with two, the second camera's: the first gets none
    image = np.zeros((4, 4, 3), np.uint8)
    predictions = [Prediction(Frame(i, 100.0, 0.0, image, name), None, 100.0 + ms / 1e3)  # type: ignore[arg-type]
                   for i, ms in enumerate(LATENCIES_MS)]
    assert [round(p.latency_ms, 6) for p in predictions] == LATENCIES_MS
    view.server.predictions(predictions)
    labels = (("camera", name),) if cameras > 1 else ()
    wait_until(lambda: metrics(view).get(("live_classify_latency_seconds_count", labels)) == len(LATENCIES_MS),
               "the predictions observed")
    scrape = metrics(view)
    total = scrape[("live_classify_latency_seconds_sum", labels)]
    assert total == pytest.approx(sum(LATENCIES_MS) / 1e3)
    assert total / len(LATENCIES_MS) < 1.0, "seconds, not milliseconds"
    buckets = {le: scrape[("live_classify_latency_seconds_bucket", tuple(sorted((*labels, ("le", le)))))]
               for le in BUCKETS}
    assert buckets == BUCKETS


def racing() -> CameraStatus:
    """A camera whose newest frame comes just as its status is read (the capture thread meanwhile)."""
    time.sleep(0.01)  # the status is being put together; a frame comes, now
    return camera_status(captured=1, last_capture=time.monotonic())


def test_the_last_frame_s_age_is_never_negative(views: list[web.WebView]) -> None:
    views.append(view := view_of([racing]))
    statuses = [view.status() for _ in range(3)]
    assert all(s["last_frame_age_s"] >= 0 for s in statuses), [s["last_frame_age_s"] for s in statuses]
    assert all(s["source_up"] for s in statuses), "a frame that just came: frames flowing"


def test_the_recent_events_are_the_newest_ended_first(views: list[web.WebView]) -> None:
    """``/api/status``'s recent events, which the live page lists as they are: the last
    ``RECENT_EVENTS`` ended, the newest first; one going on is not among them."""
    view = view_of([still_camera()])
    views.append(view)
    ended = 7
    for n in range(ended + 1):
        event = Event(f"e{n}", "cam0", "cat", 100.0 + n, None, 0.9, 100.0 + n)
        view.write_event(Change(START, event))
        if n < ended:
            view.write_event(Change(END, replace(event, end=100.5 + n)))
    told = view.status()["events"]
    assert isinstance(told, dict)
    assert [e["id"] for e in told["recent"]] == [f"e{n}" for n in range(ended - 1, ended - 1 - web.RECENT_EVENTS, -1)]
    assert [e["id"] for e in told["going_on"]] == [f"e{ended}"]
    assert [(e["event"], e["end"]) for e in told["recent"]][0] == ("end", 100.5 + ended - 1)  # as it ended


def test_a_camera_that_is_offline_says_so_in_its_status_and_a_covered_one_its_problem(
        views: list[web.WebView]) -> None:
    """``/api/status``'s ``health`` is the camera's problem now, whatever the state of its frames:
    ``offline`` while none come (the tile and a script read it there), ``dark`` while they do
    (mutation round 6 of issue 35: ``offline`` dropped where the frames do not flow)."""
    offline = camera_status(name="cam0", reconnecting=True, captured=40, last_capture=time.monotonic() - 60,
                            health="offline")
    dark = camera_status(name="cam1", captured=40, last_capture=time.monotonic(), health="dark")
    views.append(view := view_of([lambda: offline, lambda: dark]))
    cameras = view.status()["cameras"]
    assert [(c["source_up"], c["health"]) for c in cameras] == [  # type: ignore[index, union-attr]
        (False, "offline"), (True, "dark")]
