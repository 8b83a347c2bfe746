"""``--serve`` with several cameras, through the real command: one server, a stream per camera
showing that camera's picture, status, events and metrics naming each camera, a health check that
names the camera that stalls, and a page with one tile per camera in a real browser."""
from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE, LiveCli
from mjpeg_server import Camera, MjpegServer
from prometheus_client.parser import text_string_to_metric_families
from web_client import CHROMIUM, decode, free_port, get, mjpeg_parts, open_stream, read_page, status, wait_until

from live_classify.engine.classifier import Classifier

NAMES = ("door", "cam1")  # the first named, the second by default
MIDDLE = (slice(120, 400), slice(0, 640))  # below the overlay's panel, above the camera's frame number
# The frame a <video> shows, drawn on a canvas at its own size, as a JPEG data URL.
DRAWN = ("(v) => { const c = Object.assign(document.createElement('canvas'), {width: v.videoWidth, "
         "height: v.videoHeight}); c.getContext('2d').drawImage(v, 0, 0); return c.toDataURL('image/jpeg'); }")


@pytest.fixture
def two_cameras() -> Iterator[list[MjpegServer]]:
    """Two fake live cameras at 30 fps on 127.0.0.1: a cat and an espresso."""
    with MjpegServer(CHELSEA) as a, MjpegServer(COFFEE) as b:
        yield [a, b]


@pytest.fixture(scope="module")
def labels(classifier: Classifier) -> dict[str, str]:
    """What the model says of each camera's picture, decoded as the command sees it."""
    answers = {}
    for name, photo in zip(NAMES, (CHELSEA, COFFEE), strict=True):
        image = cv2.imdecode(np.frombuffer(Camera(photo).next_jpeg(), np.uint8), cv2.IMREAD_COLOR)
        answers[name] = classifier.classify(image).top.labels[0]
    assert len(set(answers.values())) == 2, answers  # two answers, or the test could not tell the cameras apart
    return answers


def serve_cameras(live_cli: type[LiveCli], cameras: list[MjpegServer], *extra: str) -> tuple[LiveCli, int]:
    """``live-classify --source U1 --name door --source U2 --serve PORT``; returns once both are classified."""
    port = free_port()
    cli = live_cli("--source", cameras[0].url, "--name", NAMES[0], "--source", cameras[1].url, "--provider", "cpu",
                   "--jsonl", "-", "--serve", f"127.0.0.1:{port}", *extra)
    cli.wait_for_stderr("serving http://")
    wait_until(lambda: all(c["classified"] > 0 and c["prediction"] for c in status(port)["cameras"]),
               "both cameras classified, their newest answer shown")  # counted by inference, shown by the main loop
    return cli, port


def whose(jpeg: bytes, cameras: list[MjpegServer]) -> str:
    """The name of the camera whose picture a streamed frame is nearest to."""
    image = decode(jpeg)[MIDDLE].astype(int)
    distances = [np.abs(image - c.camera.base[MIDDLE].astype(int)).mean() for c in cameras]
    return NAMES[int(np.argmin(distances))]


def get_unless_streamed(port: int, path: str) -> tuple[int, bytes]:
    """The status and body of a GET; a stream's body (it never ends) is not read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        streamed = response.headers.get_content_type() == "multipart/x-mixed-replace"
        return response.status, b"" if streamed else response.read()
    finally:
        connection.close()


def metrics(port: int) -> dict[tuple[str, str], float]:
    """``/metrics`` parsed by prometheus-client: (sample name, camera label) -> value."""
    code, body = get(port, "/metrics")
    assert code == 200
    return {(s.name, s.labels.get("camera", "")): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def test_each_camera_has_its_own_stream_and_only_watched_cameras_are_encoded(
        two_cameras: list[MjpegServer], live_cli: type[LiveCli]) -> None:
    cli, port = serve_cameras(live_cli, two_cameras)
    door = mjpeg_parts(open_stream(port, "/stream.mjpg?camera=door"))
    assert {whose(next(door), two_cameras) for _ in range(5)} == {"door"}
    assert status(port)["cameras"][1]["encoded"] == 0, "nobody watches cam1: none of its frames is encoded"
    cam1 = mjpeg_parts(open_stream(port, "/stream.mjpg?camera=cam1"))
    assert {whose(next(cam1), two_cameras) for _ in range(5)} == {"cam1"}
    bare = mjpeg_parts(open_stream(port))
    assert whose(next(bare), two_cameras) == "door", "no camera named: the first"
    for name in NAMES:
        code, jpeg = get(port, f"/snapshot.jpg?camera={name}")
        assert code == 200 and whose(jpeg, two_cameras) == name
    for path in ("/stream.mjpg?camera=yard", "/snapshot.jpg?camera=yard"):
        code, body = get_unless_streamed(port, path)
        assert code == 404 and body.count(b"\n") == 1 and json.loads(body) == {"error": "no camera named 'yard'"}
    assert [c["viewers"] for c in status(port)["cameras"]] == [2, 1]


def test_status_events_and_metrics_carry_every_camera(
        two_cameras: list[MjpegServer], labels: dict[str, str], live_cli: type[LiveCli]) -> None:
    cli, port = serve_cameras(live_cli, two_cameras)
    now = status(port)
    sources = [s.url for s in two_cameras]
    assert [(c["name"], c["source"]) for c in now["cameras"]] == list(zip(NAMES, sources, strict=True))
    assert (now["name"], now["source"]) == ("door", two_cameras[0].url), "the first camera's fields, as with one"
    for row in now["cameras"]:
        assert row["source_up"] and row["captured"] > 0
        prediction = row["prediction"]
        assert prediction["camera"] == row["name"] and prediction["top"][0]["label"] == labels[row["name"]]
    events = open_stream(port, "/api/events")
    seen: dict[str, list[str]] = {name: [] for name in NAMES}
    while min(len(answers) for answers in seen.values()) < 5:
        line = events.fp.readline().decode()
        if line.startswith("data: "):
            event = json.loads(line[len("data: "):])
            seen[event["camera"]].append(event["top"][0]["label"])
    for name in NAMES:
        assert set(seen[name]) == {labels[name]}, seen
    wait_until(lambda: all(metrics(port)[("live_classify_latency_seconds_count", n)] >= 5 for n in NAMES),
               "latencies of both cameras")
    scraped = metrics(port)
    for name in NAMES:
        assert scraped[("live_classify_frames_captured_total", name)] > 0
        assert scraped[("live_classify_frames_classified_total", name)] > 0
        assert scraped[("live_classify_source_up", name)] == 1
    assert not any(camera == "" for _, camera in scraped), "with several cameras, every series names its camera"


def test_healthz_names_the_camera_that_stalls(two_cameras: list[MjpegServer], live_cli: type[LiveCli]) -> None:
    cli, port = serve_cameras(live_cli, two_cameras, "--reconnect", "50")
    wait_until(lambda: get(port, "/healthz")[0] == 200, "healthy")
    two_cameras[1].stall()
    wait_until(lambda: get(port, "/healthz")[0] == 503, "unhealthy once cam1 stalls")
    health = json.loads(get(port, "/healthz")[1])
    assert health["healthy"] is False and health["down"] == ["cam1"], health
    assert health["cameras"]["door"] == "frames flowing"
    assert [c["source_up"] for c in status(port)["cameras"]] == [True, False]
    stalled = mjpeg_parts(open_stream(port, "/stream.mjpg?camera=cam1"))
    redrawn = [next(stalled) for _ in range(3)]
    assert len(set(redrawn)) > 1, "the stalled camera's viewers see its last frame, redrawn saying so"
    assert {whose(jpeg, two_cameras) for jpeg in redrawn} == {"cam1"}
    scraped = metrics(port)
    assert (scraped[("live_classify_source_up", "door")], scraped[("live_classify_source_up", "cam1")]) == (1, 0)
    two_cameras[1].resume()
    wait_until(lambda: get(port, "/healthz")[0] == 200, "healthy again once cam1 is back")
    assert json.loads(get(port, "/healthz")[1])["down"] == []


@pytest.mark.skipif(not CHROMIUM, reason="needs a browser: apt-get install chromium")
def test_the_page_shows_one_tile_per_camera_in_a_real_browser(
        two_cameras: list[MjpegServer], labels: dict[str, str], live_cli: type[LiveCli], tmp_path: Path) -> None:
    cli, port = serve_cameras(live_cli, two_cameras)
    expression = ("JSON.stringify(Array.from(document.querySelectorAll('#tiles figure')).map((tile) => ({"
                  "name: tile.querySelector('strong').textContent, label: tile.querySelector('.label').textContent, "
                  "playing: tile.querySelector('.playing').textContent, "
                  "state: tile.querySelector('small').textContent, "
                  "width: tile.querySelector('video').videoWidth, shown: tile.querySelector('video').readyState >= 2, "
                  f"picture: ({DRAWN})(tile.querySelector('video'))}})))")
    tiles = read_page(port, tmp_path, expression, lambda page: len(page) == 2 and all(
        t["width"] and t["shown"] and t["label"] and t["state"] for t in page))
    assert [t["name"] for t in tiles] == list(NAMES), tiles
    for tile in tiles:
        assert tile["playing"] == "playing H.264 (Media Source Extensions)" and tile["width"] == 640, tile
        assert tile["label"].startswith(labels[tile["name"]] + " "), tiles
        assert re.fullmatch(r".+ · capture \d+ fps · inference \d+ fps", tile["state"]), tile  # each rate named
        picture = base64.b64decode(tile["picture"].split(",", 1)[1])
        assert whose(picture, two_cameras) == tile["name"], "each tile's <video> plays its own camera"


@pytest.mark.skipif(not CHROMIUM, reason="needs a browser: apt-get install chromium")
def test_the_tile_of_a_camera_in_trouble_says_its_problem_in_red(
        two_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    # cam1 covered (a black picture, sent again and again): its tile says its problem and is marked as a
    # camera that is down ("lost": red), door's is not (mutation round issue35-health-4).
    black = cv2.imencode(".jpg", np.full((480, 640, 3), 8, np.uint8))[1].tobytes()
    two_cameras[1].camera.next_jpeg = lambda: black  # type: ignore[method-assign]
    cli, port = serve_cameras(live_cli, two_cameras, "--health-after", "1")
    wait_until(lambda: status(port)["cameras"][1]["health"] is not None, "cam1's problem raised")
    expression = ("JSON.stringify(Array.from(document.querySelectorAll('#tiles figure')).map((tile) => ({"
                  "name: tile.querySelector('strong').textContent, state: tile.querySelector('small').textContent, "
                  "marked: tile.querySelector('small').className})))")
    tiles = read_page(port, tmp_path, expression,
                      lambda page: len(page) == 2 and "camera problem: " in page[1]["state"])
    assert [(t["name"], t["marked"]) for t in tiles] == [("door", ""), ("cam1", "lost")], tiles
    assert "camera problem: " not in tiles[0]["state"], tiles
