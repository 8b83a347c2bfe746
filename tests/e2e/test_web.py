"""``--serve`` for real: the command on the fake camera, read over HTTP as a browser or a watchdog would."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest
from conftest import COFFEE, assert_clean_error, headless_env, run_cli
from mjpeg_server import MjpegServer
from prometheus_client.parser import text_string_to_metric_families
from statuses import camera_status
from web_client import (
    CAT_LABELS,
    CHROMIUM,
    PICTURE_WIDTH,
    decode,
    free_port,
    get,
    mjpeg_parts,
    open_stream,
    read_page,
    serve,
    status,
    wait_until,
)

from live_classify.pipeline.frames import Frame, Shown
from live_classify.pipeline.status import CameraState
from live_classify.sinks.base import Sinks, Update
from live_classify.sinks.web import view as web
from live_classify.sinks.web.listen import Address, listen


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_status_counts_and_the_stream_is_the_annotated_video(camera: MjpegServer, live_cli) -> None:
    cli, port = serve(live_cli, camera)
    wait_until(lambda: status(port)["classified"] > 0, "a first prediction")
    first = status(port)
    wait_until(lambda: status(port)["captured"] > first["captured"] + 30, "the counters to grow")
    now = status(port)
    assert now["classified"] > first["classified"] and now["provider"] == "CPU"
    assert now["source_up"] and not now["reconnecting"]
    assert now["prediction"]["top"][0]["label"] in CAT_LABELS
    assert set(now["prediction"]) == set(json.loads(cli.stdout_lines[-1])), "the same shape as a JSON line"
    assert now["latency_ms"]["p50"] > 0 and now["capture_fps"] > 0
    stream = mjpeg_parts(open_stream(port))
    parts = [next(stream) for _ in range(5)]
    assert all(decode(part).shape == (480, 640, 3) for part in parts)
    assert len(set(parts)) == 5, "five different frames, not one repeated"
    top = (slice(10, 60), slice(0, 640))  # under the camera's time stamp, where the overlay's panel is
    difference = np.abs(decode(parts[0])[top].astype(int) - camera.camera.base[top].astype(int)).mean()
    assert difference > 10, "the frames carry the overlay"
    code, jpeg = get(port, "/snapshot.jpg")
    assert code == 200 and decode(jpeg).shape == (480, 640, 3)


def test_a_stalled_viewer_holds_up_nobody_and_costs_no_memory(camera: MjpegServer, live_cli) -> None:
    cli, port = serve(live_cli, camera)
    pid = cli.process.pid
    stalled = open_stream(port, rcvbuf=4096)  # sends its request, then reads nothing
    viewer = mjpeg_parts(open_stream(port))
    for _ in range(30):  # settled: both connected, buffers full
        next(viewer)
    before_rss, before = rss_mb(pid), status(port)["captured"]
    sizes = [len(next(viewer)) for _ in range(240)]  # about 8 s at 30 fps
    captured = status(port)["captured"] - before
    grown = rss_mb(pid) - before_rss
    assert captured >= 240, "capture went on"
    would_queue_mb = captured * np.mean(sizes) / 2**20
    assert grown < would_queue_mb / 2, f"RSS grew {grown:.1f} MB; queuing every frame would be {would_queue_mb:.1f} MB"
    wait_until(lambda: status(port)["viewers"] == 1, "the stalled viewer dropped (its socket took nothing for 5 s)")
    stalled.close()


def test_viewers_come_and_go_without_leaking(camera: MjpegServer, live_cli) -> None:
    cli, port = serve(live_cli, camera)
    first = open_stream(port)
    next(mjpeg_parts(first))
    first.close()
    wait_until(lambda: status(port)["viewers"] == 0, "the first viewer to be gone")
    before = threads(cli.process.pid)
    for _ in range(50):
        response = open_stream(port)
        next(mjpeg_parts(response))
        response.close()
    wait_until(lambda: status(port)["viewers"] == 0, "every viewer to be gone")
    assert threads(cli.process.pid) == before


def test_events_are_the_json_lines(camera: MjpegServer, live_cli) -> None:
    cli, port = serve(live_cli, camera)
    events = open_stream(port, "/api/events")
    assert events.headers.get_content_type() == "text/event-stream"
    received = []
    while len(received) < 5:
        line = events.fp.readline().decode()
        if line.startswith("data: "):
            received.append(json.loads(line[len("data: "):]))
    assert [e["frame"] for e in received] == sorted(e["frame"] for e in received)
    wait_until(lambda: any(json.loads(x)["frame"] == received[-1]["frame"] for x in list(cli.stdout_lines)),
               "the JSON line of the last event")
    lines = {row["frame"]: row for row in map(json.loads, list(cli.stdout_lines))}
    assert all(lines[e["frame"]] == e for e in received), "each event is its frame's JSON line"


def test_health_and_metrics_follow_the_camera(camera: MjpegServer, live_cli) -> None:
    cli, port = serve(live_cli, camera, "--reconnect", "50")
    wait_until(lambda: get(port, "/healthz")[0] == 200, "healthy")
    wait_until(lambda: status(port)["classified"] > 10, "predictions")
    code, body = get(port, "/metrics")
    assert code == 200
    metrics = {s.name: s.value for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    assert metrics["live_classify_frames_captured_total"] > 10
    assert metrics["live_classify_frames_classified_total"] > 10
    assert "live_classify_frames_dropped_total" in metrics and metrics["live_classify_reconnects_total"] == 0
    assert metrics["live_classify_latency_seconds_count"] >= 10 and metrics["live_classify_source_up"] == 1
    camera.stop()
    wait_until(lambda: get(port, "/healthz")[0] == 503, "unhealthy once the camera is gone")
    assert not status(port)["source_up"]
    lost = mjpeg_parts(open_stream(port))
    assert len({next(lost) for _ in range(3)}) > 1, "while the source is lost, viewers see the last frame saying so"
    metrics = {s.name: s.value for family in text_string_to_metric_families(get(port, "/metrics")[1].decode())
               for s in family.samples}
    assert metrics["live_classify_source_up"] == 0


def test_beyond_loopback_a_token_is_required(camera: MjpegServer, live_cli) -> None:
    token = "s3cret-token-value"
    refused = run_cli("--source", camera.url, "--provider", "cpu", "--serve", f"0.0.0.0:{free_port()}")
    assert_clean_error(refused, "--serve-token")
    assert "opened" not in refused.stderr, "refused before the camera opens"
    cli, port = serve(live_cli, camera, host="0.0.0.0", env=headless_env(LIVE_CLASSIFY_TOKEN=token))
    assert get(port, "/api/status")[0] == 401
    assert get(port, "/stream.mjpg")[0] == 401
    assert get(port, "/api/status", {"Authorization": "Bearer wrong"})[0] == 401
    assert get(port, "/api/status", {"Authorization": f"Bearer {token}"})[0] == 200
    assert get(port, f"/?token={token}")[0] == 200
    assert get(port, "/healthz")[0] in (200, 503), "a watchdog needs no token"
    assert "token" in cli.stderr and token not in cli.stderr


def test_a_port_in_use_is_one_line_before_the_camera_opens(camera: MjpegServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = run_cli("--source", camera.url, "--provider", "cpu", "--serve", str(taken.getsockname()[1]))
    assert_clean_error(run, "cannot serve on 127.0.0.1:", "in use")
    assert run.returncode == 1 and "opened" not in run.stderr


if not CHROMIUM and os.environ.get("CI"):
    raise RuntimeError("CI must install chromium (.ci/run does)")


@pytest.mark.skipif(not CHROMIUM, reason="needs a browser: apt-get install chromium")
def test_the_page_in_a_real_browser_shows_the_label_and_the_video(camera: MjpegServer, live_cli, tmp_path) -> None:
    """Headless Chromium opens the page; its DOM, read over the DevTools protocol, has the label and the counters."""
    cli, port = serve(live_cli, camera)
    expression = ("JSON.stringify({label: document.getElementById('label').textContent, "
                  "frames: document.getElementById('frames').textContent, "
                  f"video: {PICTURE_WIDTH}}})")
    page = read_page(port, tmp_path, expression, lambda page: page.get("label") in CAT_LABELS and page.get("video"))
    assert page["label"] in CAT_LABELS, page
    assert int(page["frames"].split(" / ")[0]) > 0, page
    assert page["video"] > 0, "the <video> (H.264) or the <img> (MJPEG) decoded frames of the stream"






@pytest.mark.skipif(not CHROMIUM, reason="needs a browser: apt-get install chromium")
def test_the_page_of_a_covered_camera_says_its_problem_in_red(camera: MjpegServer, live_cli, tmp_path) -> None:
    """One camera, covered (a black picture, sent again and again): its frames still flow, yet once its
    problem is raised the page's state line says it and is marked as a camera in trouble ("lost": red),
    as a tile of several is (mutation round issue35-health-8, N7)."""
    black = cv2.imencode(".jpg", np.full((480, 640, 3), 8, np.uint8))[1].tobytes()
    camera.camera.next_jpeg = lambda: black  # type: ignore[method-assign]
    cli, port = serve(live_cli, camera, "--health-after", "1")
    wait_until(lambda: status(port)["health"] is not None, "the camera's problem raised")
    expression = ("JSON.stringify({state: document.getElementById('state').textContent, "
                  "marked: document.getElementById('state').className})")
    page = read_page(port, tmp_path, expression, lambda page: "camera problem: " in page.get("state", ""))
    assert page["marked"] == "lost", page


@pytest.mark.skipif(not CHROMIUM, reason="needs a browser: apt-get install chromium")
def test_the_page_shows_the_events_going_on_with_one_time_format(camera: MjpegServer, live_cli, tmp_path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser nine hours east of UTC (Tokyo, no daylight saving): the event's start in its local
    time, as the history page writes it, not in UTC (the same only on a box in UTC)."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # the browser started next inherits it
    cats = [flag for label in CAT_LABELS for flag in ("--event", label)]
    cli, port = serve(live_cli, camera, *cats, "--event-threshold", "0.01", "--event-hold", "0.2s")
    expression = ("JSON.stringify({going: [...document.querySelectorAll('#going-on li')].map(i => i.textContent), "
                  "none: document.getElementById('no-events').hidden, "
                  "rates: [...document.querySelectorAll('#counters dt')].map(d => d.textContent)})")
    page = read_page(port, tmp_path, expression, lambda page: page.get("going"))
    (told,) = status(port)["events"]["going_on"]  # the start the page was told of, its score a share (0 to 1)
    cli.signal(signal.SIGINT)
    assert cli.finish().returncode == 0
    (going,) = page["going"]  # the cat on top all along: one event, going on
    assert re.fullmatch(rf"({'|'.join(CAT_LABELS)}) \d+% on \S+, since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d", going), going
    assert going.startswith(f"{told['label']} {told['score'] * 100:.0f}% on "), (going, told)  # a percentage
    tokyo = datetime.fromtimestamp(told["start"], timezone(timedelta(hours=9))).strftime("%Y-%m-%d %H:%M:%S")
    assert going.endswith(f", since {tokyo}"), (going, tokyo)  # the browser's local time
    assert page["none"] is True and {"capture rate", "inference rate"} <= set(page["rates"]), page


@pytest.mark.parametrize("value, why", [("0", "1 to 65535"), ("70000", "1 to 65535"), ("host:", "1 to 65535"),
                                        ("nowhere.invalid:8080", "cannot resolve")])
def test_a_bad_address_is_one_line(value: str, why: str, camera: MjpegServer) -> None:
    run = run_cli("--source", camera.url, "--provider", "cpu", "--serve", value)
    assert_clean_error(run, why)
    assert "opened" not in run.stderr


def test_serving_photos_is_a_usage_error() -> None:
    run = run_cli("--source", str(COFFEE), "--serve")
    assert_clean_error(run, "--serve is for cameras, streams and video files")
    assert run.returncode == 2


class Counting:
    """Another output of the run, counting the frames it is given."""

    name, essential, error, stop_requested = "counting", True, None, False

    def __init__(self) -> None:
        self.frames = 0

    def write(self, update: Update) -> None:
        self.frames += 1

    def idle(self, redraw) -> None:  # noqa: ANN001
        pass

    def close(self) -> None:
        pass

    def summary(self) -> None:
        return None


def test_a_failing_server_is_one_line_and_the_run_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JPEG encoder fails while a viewer watches: the web output is dropped with one line, the others go on."""
    camera = camera_status(state=CameraState.STARTING, last_capture=time.monotonic())
    sock = listen(Address("127.0.0.1", 0), None)
    view = web.WebView(sock, [web.Feed("test", "test", lambda: camera)],
                        web.Options("CPU", token=None, fps=None))
    viewer = open_stream(sock.getsockname()[1])
    monkeypatch.setattr(web.cv2, "imencode", lambda *_: (_ for _ in ()).throw(MemoryError("no memory")))
    other, warnings = Counting(), []
    sinks = Sinks([view, other], warnings.append)
    image = np.zeros((48, 64, 3), np.uint8)
    frame = Frame(0, time.monotonic(), time.time(), image)
    try:
        sent = 0
        while sent < 199 and view in sinks.active:
            sinks.write(Update(Shown(frame, None, [], True), 0.0, lambda: image))
            sent += 1
            time.sleep(0.05)
        assert view not in sinks.active and sinks.failure is None
        assert warnings == ["web server stopped: no memory; the rest of the run goes on"]
        sinks.write(Update(Shown(frame, None, [], True), 0.0, lambda: image))
        assert other.frames == sent + 1
    finally:
        viewer.close()
        view.close()
