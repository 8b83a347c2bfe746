"""The oracle of a reload (issue 31): after SIGHUP from A to B, what the run shows is what a fresh
start with B shows. One table of configuration changes, each checked through the real command on
what a user sees: each camera's JSON lines and their threshold, its rows in ``DIR/index.db``, the
retained Home Assistant configs on a real mosquitto (a removed one cleared), the MQTT predictions,
the web view's cameras and /history's directory, the webhooks' events. The table runs as one chain
of reloads in one process (``door`` is never touched: it never pauses and keeps its open segment),
and each B of the table again as a fresh start, checked by the same function."""
from __future__ import annotations

import json
import queue
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from boxes import Box, Webhooks, index_rows, lines, retained, slug
from conftest import CHELSEA, COFFEE, DATA, LiveCli, run_cli
from mjpeg_server import Camera, MjpegServer
from mqtt_broker import MOSQUITTO, PREFIX, Broker, Subscriber
from web_client import free_port, get

from live_classify.config import HEALTH_PROBLEMS
from live_classify.engine.classifier import Classifier

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="needs mosquitto: apt-get install mosquitto")
MAX_GAP_S = 1.0
SETTLED = 5  # a camera's first lines after a reload may have been made before it: left out


def label_of(classifier: Classifier, photo: Path) -> str:
    """What the model says of a fake camera's picture, decoded as the command sees it."""
    image = cv2.imdecode(np.frombuffer(Camera(photo).next_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    return str(classifier.classify(image).top.labels[0])


class Rig:
    """Three cameras, a broker with a subscriber, a webhook receiver, a web port, the labels seen."""

    def __init__(self, folder: Path, classifier: Classifier, cameras: list[MjpegServer]) -> None:
        self.folder = folder
        self.cameras = cameras
        self.broker = Broker(folder)
        self.broker.start()
        self.subscriber = Subscriber(self.broker.port)
        self.webhooks = Webhooks()
        self.port = free_port()
        self.cat, self.espresso = label_of(classifier, CHELSEA), label_of(classifier, COFFEE)

    def close(self) -> None:
        self.subscriber.close()
        self.broker.stop()
        self.webhooks.close()

    def first(self) -> Box:
        """A: door and hall, recording (door's segments 10 minutes long: it keeps its open one),
        indexed, MQTT with discovery, the web view, events."""
        a, b, _ = self.cameras
        return Box((("door", a.url), ("hall", b.url)), (
            ("provider", "cpu"), ("headless", True), ("jsonl", "p.jsonl"), ("record", "rec/"), ("segment", "1s"),
            ("mqtt", self.broker.url), ("mqtt-discovery", True), ("serve", f"127.0.0.1:{self.port}"),
            ("event", [self.cat]), ("event-threshold", 0.05), ("event-hold", "0.5s"), ("event-gap", "2s")),
            (("door", (("segment", "10m"),)),))

    def table(self) -> list[tuple[str, Callable[[Box], Box]]]:
        """Each row: what changes, from the box before it to the next."""
        a, _, c = self.cameras

        def cameras(box: Box, add: tuple[str, str] | None = None, drop: str = "", move: str = "") -> Box:
            kept = tuple((n, a.url if n == move else url) for n, url in box.cameras if n != drop)
            return box.but(cameras=(*kept, add) if add else kept)

        return [
            ("a camera added", lambda box: cameras(box, add=("yard", c.url))),
            ("min-confidence switched on", lambda box: box.but(min_confidence=0.999)),
            ("min-confidence changed", lambda box: box.but(min_confidence=0.001)),
            ("events changed, webhooks on", lambda box: box.but(event=[self.espresso], webhook=[self.webhooks.url])),
            ("a camera removed", lambda box: cameras(box, drop="hall")),
            ("the recording moved", lambda box: box.but(record="rec2/")),
            ("a camera changed", lambda box: cameras(box, move="yard")),
            ("min-confidence and discovery off", lambda box: box.but(min_confidence=None, mqtt_discovery=None)),
            ("MQTT off", lambda box: box.but(mqtt=None)),
            ("the web view off", lambda box: box.but(serve=None)),
        ]

    def boxes(self) -> Iterator[tuple[str, Box]]:
        box = self.first()
        for name, change in self.table():
            box = change(box)
            yield name, box


@pytest.fixture
def rig(tmp_path: Path, classifier: Classifier) -> Iterator[Rig]:
    with MjpegServer(CHELSEA, fps=15) as a, MjpegServer(COFFEE, fps=15) as b, \
            MjpegServer(DATA / "rocket.jpg", fps=15) as c:
        made = Rig(tmp_path, classifier, [a, b, c])
        yield made
        made.close()


def unknown_as(box: Box, camera: str) -> Callable[[dict], bool]:
    """Whether a prediction's ``unknown`` is as B's min-confidence makes it (0.999: always; 0.001: never)."""
    threshold = box.of(camera, "min-confidence")
    return lambda record: record.get("unknown", "unset") == ("unset" if threshold is None else threshold > 0.5)


def discovery_of(box: Box) -> set[str]:
    """The Home Assistant configs B publishes: per camera, one per event label, its top label, its
    snapshot, and one per health problem (the checks are on for every live camera)."""
    if not (box.get("mqtt") and box.get("mqtt-discovery")):
        return set()
    node, labels = slug(PREFIX), box.get("event") or []
    assert isinstance(labels, list)
    return {f"homeassistant/binary_sensor/{node}/{slug(c)}_{slug(label)}/config" for c in box.names
            for label in labels} | {f"homeassistant/sensor/{node}/{slug(c)}_top/config" for c in box.names} \
        | {f"homeassistant/camera/{node}/{slug(c)}_snapshot/config" for c in box.names} \
        | {f"homeassistant/binary_sensor/{node}/{slug(c)}_health_{p}/config" for c in box.names
           for p in HEALTH_PROBLEMS}


def api(port: int, path: str) -> tuple[int, bytes]:
    try:
        return get(port, path)
    except OSError:  # nothing listens there (any more)
        return 0, b""


def check(cli: LiveCli, rig: Rig, box: Box, out: Path, mark: int, since: float, what: str) -> None:
    """What a user sees of ``box`` is ``box``'s, from line ``mark`` and wall time ``since`` on."""
    def after(camera: str) -> list[dict]:
        return [r for r in lines(out)[mark:] if r.get("camera") == camera and "event" not in r]

    cli.wait_for(lambda: all(len(after(c)) > 3 * SETTLED for c in box.names), 60, f"{what}: each camera's lines")
    for camera in box.names:
        wrong = [r for r in after(camera)[SETTLED:] if not unknown_as(box, camera)(r)]
        assert not wrong, f"{what}: {camera}'s JSON lines have another threshold than B's: {wrong[0]}"
    tail = lines(out)[mark:]
    gone = {r.get("camera") for r in tail[len(tail) // 2:]} - set(box.names) - {None}
    assert not gone, f"{what}: lines of cameras B does not have: {gone}"
    record = box.get("record")
    if record:
        db = rig.folder / str(record) / "index.db"
        short = [c for c in box.names if box.of(c, "segment") == "1s"]
        cli.wait_for(lambda: set(short) <= {r[0] for r in index_rows(db, "SELECT camera FROM segments WHERE start >= ?",
                                                                           since - 1)}, 60, f"{what}: segments indexed")
        cli.wait_for(lambda: set(box.names) <= {r[0] for r in index_rows(
            db, "SELECT camera FROM seconds WHERE second >= ?", int(since))}, 60, f"{what}: seconds indexed")
    cli.wait_for(lambda: set(retained(rig.broker.port, "homeassistant/#")) == discovery_of(box), 30,
                 f"{what}: the retained discovery configs are B's {sorted(discovery_of(box))}, "
                 f"not {sorted(retained(rig.broker.port, 'homeassistant/#'))}")
    for camera in box.names if box.get("mqtt") else ():
        prediction(rig.subscriber, camera, unknown_as(box, camera), what)
    check_web(cli, rig, box, what)
    labels = box.get("event")
    if box.get("webhook") and isinstance(labels, list) and "hall" in box.names:  # hall sees the espresso
        cli.wait_for(lambda: any(p.get("label") in labels for p in rig.webhooks.posts), 60,
                     f"{what}: a webhook of B's events")


def prediction(subscriber: Subscriber, camera: str, where: Callable[[dict], bool], what: str) -> None:
    """The next MQTT prediction of ``camera`` that satisfies ``where`` (the event states, not JSON, are passed by)."""
    deadline = time.monotonic() + 30
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = subscriber.messages.get(timeout=left)
        except queue.Empty:
            break
        if message.topic == f"{PREFIX}/{camera}/prediction" and where(json.loads(message.payload)):
            return
    raise AssertionError(f"{what}: no MQTT prediction of {camera} with B's threshold")


def check_web(cli: LiveCli, rig: Rig, box: Box, what: str) -> None:
    """The web view: B's cameras and threshold, /history over B's record directory; or no server."""
    if not box.get("serve"):
        cli.wait_for(lambda: api(rig.port, "/api/status")[0] == 0, 30, f"{what}: the web view gone")
        return

    def status() -> dict:
        code, body = api(rig.port, "/api/status")
        return json.loads(body) if code == 200 else {}

    def right() -> bool:
        cameras = status().get("cameras", [])
        return [c["name"] for c in cameras] == box.names and all(
            c["prediction"] and unknown_as(box, c["name"])(c["prediction"]) for c in cameras)

    cli.wait_for(right, 30, f"{what}: the web view's cameras and threshold are B's: {status().get('cameras')}")
    db = rig.folder / str(box.get("record")) / "index.db"
    expected = sorted({r[0] for r in index_rows(db, "SELECT DISTINCT camera FROM seconds")})
    code, body = api(rig.port, "/api/history/cameras")
    assert code == 200 and set(expected) <= set(json.loads(body)["cameras"]), f"{what}: /history is not B's: {body!r}"


def reload_to(cli: LiveCli, config: Path, box: Box, count: int) -> None:
    config.write_text(box.text())
    cli.signal(signal.SIGHUP)
    cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == count, 60, f"reload {count}")


def test_each_reload_of_the_table_ends_where_b_would_start(rig: Rig, live_cli: type[LiveCli]) -> None:
    config, out = rig.folder / "box.toml", rig.folder / "p.jsonl"
    box = rig.first()
    config.write_text(box.text())
    cli = live_cli("--config", str(config), cwd=rig.folder)
    check(cli, rig, box, out, 0, 0.0, "the start")
    door_segments = sorted((rig.folder / "rec" / "door").rglob("*.mp4"))
    for count, (what, box) in enumerate(rig.boxes(), start=1):
        reload_to(cli, config, box, count)
        check(cli, rig, box, out, len(lines(out)), time.time(), what)
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    door = [r for r in lines(out) if r.get("camera") == "door" and "event" not in r]
    frames = [r["frame"] for r in door]
    assert frames == sorted(set(frames)), "door restarted: its frames counted from 0 again"
    times = [r["time"] for r in door]
    for start, end in reloads(run.stderr):  # the main loop's part ends as "configuration reloaded" is said
        spanning = [b - a for a, b in zip(times, times[1:], strict=False) if a <= end <= b]
        before = [b - a for a, b in zip(times, times[1:], strict=False) if start - 10 <= a and b < start]
        allowed = max(MAX_GAP_S, 1.5 * max(before, default=0.0))  # a loaded machine's own pauses are not the reload's
        said = [line for line in run.stderr.splitlines() if start <= when(line) <= end]
        assert spanning and spanning[0] < allowed, f"door paused {spanning} (allowed {allowed:.2f} s) over: {said}"
    assert len(door_segments) == 1 and sorted((rig.folder / "rec" / "door").rglob("*.mp4")) == door_segments, \
        "door's open segment was closed by a reload"


def when(line: str) -> float:
    """A log line's time (stderr is not a terminal: each line has it)."""
    try:
        stamp, millis = line[:23].split(".")
        return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000
    except ValueError:  # a line of a traceback
        return 0.0


def reloads(stderr: str) -> list[tuple[float, float]]:
    """When each reload began (SIGHUP) and was applied, from the log's times."""
    begun = [when(line) for line in stderr.splitlines() if "SIGHUP: reading" in line]
    done = [when(line) for line in stderr.splitlines() if "configuration reloaded" in line]
    return list(zip(begun, done, strict=True))


def test_each_b_of_the_table_started_fresh_shows_the_same(rig: Rig, classifier: Classifier,
                                                          live_cli: type[LiveCli]) -> None:
    """The same check on a fresh start with each B (the oracle the reloads are held to); each B
    passes ``--check``, as the reload took it."""
    for row, (what, _) in enumerate(rig.table()):
        folder = rig.folder / slug(what)
        folder.mkdir()
        fresh = Rig(folder, classifier, rig.cameras)  # its own broker: only this run's retained configs
        try:
            box = list(fresh.boxes())[row][1]
            (folder / "box.toml").write_text(box.text())
            checked = run_cli("--config", str(folder / "box.toml"), "--check", cwd=folder)
            assert checked.returncode == 0, f"{what}: --check refuses what the reload took: {checked.stderr}"
            since = time.time()
            cli = live_cli("--config", str(folder / "box.toml"), cwd=folder)
            check(cli, fresh, box, folder / "p.jsonl", 0, since, f"fresh: {what}")
            cli.signal(signal.SIGINT)
            run = cli.finish()
            assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
        finally:
            fresh.close()
