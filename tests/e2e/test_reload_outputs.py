"""``--config`` reloads that rebuild outputs, through the real command and SIGHUP: the web server
moved or given a new token (the old one closed; one that cannot bind is one line, the old one goes
on), its cameras following the file; the JSON lines to a new file with none lost; MQTT under a new
prefix against a real mosquitto; a camera's own event rules, changed by a reload."""
from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest
from boxes import box, lines, retained, slug
from conftest import CHELSEA, COFFEE, DATA, LiveCli, count_frames
from mjpeg_server import Camera, MjpegServer
from mqtt_broker import MOSQUITTO, PREFIX, Broker, Subscriber
from web_client import CHROMIUM, free_port, get, read_page

from live_classify.engine.classifier import Classifier

MAX_GAP_S = 1.0  # a camera's longest wait between two lines, over a reload


@pytest.fixture
def three_cameras() -> Iterator[list[MjpegServer]]:
    with MjpegServer(CHELSEA, fps=15) as a, MjpegServer(COFFEE, fps=15) as b, \
            MjpegServer(DATA / "rocket.jpg", fps=15) as c:
        yield [a, b, c]


@pytest.fixture
def porch() -> Iterator[MjpegServer]:
    """A second camera that sees the cat."""
    with MjpegServer(CHELSEA, fps=15) as camera:
        yield camera




def api(port: int, path: str, token: str) -> tuple[int, bytes]:
    try:
        return get(port, path, {"Authorization": f"Bearer {token}"})
    except OSError:  # nothing listens there (any more)
        return 0, b""


def cameras_of(port: int, token: str) -> list[str]:
    code, body = api(port, "/api/status", token)
    return [c["name"] for c in json.loads(body)["cameras"]] if code == 200 else []


def served(port: int) -> dict:
    """/api/status, or {} while no server answers."""
    code, body = api(port, "/api/status", "")
    return json.loads(body) if code == 200 else {}


def reopened(status: dict, old_uptime: float) -> bool:
    """The new server (its uptime counted again), with a viewer of every camera (MJPEG, or H.264)."""
    cameras = status["cameras"]
    watched = all(c["viewers"] for c in cameras) or status.get("live", {}).get("viewers", 0) >= len(cameras)
    return status.get("uptime_s", old_uptime) < old_uptime and watched


def reload(cli: LiveCli, config: Path, text: str, count: int) -> None:
    config.write_text(text)
    cli.signal(signal.SIGHUP)
    cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == count, 60, f"reload {count}")


def test_the_web_view_follows_the_cameras_and_moves_with_its_settings(
        three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    a, b, c = three_cameras
    port, config = free_port(), tmp_path / "box.toml"
    serve = f'serve = "127.0.0.1:{port}"\nserve-token = "first"\n'
    config.write_text(box({"door": a, "hall": b}, serve))
    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for(lambda: cameras_of(port, "first") == ["door", "hall"], 60, "the first two cameras served")

    reload(cli, config, box({"door": a, "yard": c}, serve), 1)  # a camera removed, one added: same server
    assert cameras_of(port, "first") == ["door", "yard"]
    cli.wait_for(lambda: api(port, "/snapshot.jpg?camera=yard", "first")[1][:2] == b"\xff\xd8", 30, "yard's frame")
    assert api(port, "/snapshot.jpg?camera=hall", "first")[0] == 404
    uptime = json.loads(api(port, "/api/status", "first")[1])["uptime_s"]

    reload(cli, config, box({"door": a, "yard": c}, serve + "min-confidence = 0.2\n"), 2)  # serve untouched
    assert json.loads(api(port, "/api/status", "first")[1])["uptime_s"] >= uptime, "the server was rebuilt"

    moved = f'serve = "127.0.0.1:{port}"\nserve-token = "second"\n'  # the same address, a new token
    reload(cli, config, box({"door": a, "yard": c}, moved), 3)
    cli.wait_for(lambda: api(port, "/api/status", "first")[0] == 401, 30, "the old token refused")
    assert cameras_of(port, "second") == ["door", "yard"]

    other = free_port()
    reload(cli, config, box({"door": a, "yard": c}, moved.replace(str(port), str(other))), 4)
    cli.wait_for(lambda: cameras_of(other, "second") == ["door", "yard"], 30, "the server on its new port")
    cli.wait_for(lambda: api(port, "/api/status", "second")[0] == 0, 30, "the old port closed")

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        reload(cli, config, box({"door": a, "yard": c}, moved.replace(str(port), str(busy))), 5)
        said = [line for line in cli.stderr_lines if f"cannot serve on 127.0.0.1:{busy}" in line]
        assert said and "the web view stays as it was" in said[0], cli.stderr
        assert cameras_of(other, "second") == ["door", "yard"], "the old server went with the refused move"
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert "second" not in run.stderr and "first" not in run.stderr, "a token was printed"


@pytest.mark.skipif(not CHROMIUM, reason="needs a browser: apt-get install chromium")
def test_the_open_page_shows_an_added_camera_and_drops_a_removed_one(
        three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    """The page open in a browser through two reloads: a camera replaced (its tile goes, the new
    one's comes), then the server rebuilt on its address (the page opens its streams anew)."""
    a, b, c = three_cameras
    port, config = free_port(), tmp_path / "box.toml"
    serve = f'serve = "127.0.0.1:{port}"\n'
    config.write_text(box({"door": a, "hall": b}, serve))
    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for_stderr("serving http://")
    expression = ("JSON.stringify(Array.from(document.querySelectorAll('#tiles figure')).map((tile) => ({"
                  "name: tile.querySelector('strong').textContent, "  # H.264 in the <video>, or MJPEG: the <img>
                  "width: tile.querySelector('video').videoWidth || tile.querySelector('img').naturalWidth})))")
    done: dict[str, float] = {}
    last: list[dict] = [{}]  # the status as the browser last left it

    def ready(page: list[dict]) -> bool:
        names = [tile["name"] for tile in page if tile["width"]]
        if names == ["door", "hall"] and not done:  # the page as it opened: reload while it stays open
            done["cameras"] = 0
            reload(cli, config, box({"door": a, "yard": c}, serve), 1)
        elif names == ["door", "yard"] and len(page) == 2 and "server" not in done:
            done["server"] = served(port)["uptime_s"]  # the old server's: the new one's starts again
            reload(cli, config, box({"door": a, "yard": c}, serve + "serve-fps = 10\n"), 2)
        elif "server" in done:
            last[0] = served(port)
            return reopened(last[0], done["server"])
        return False

    read_page(port, tmp_path / "profile", expression, ready)  # type: ignore[arg-type]
    now = last[0]
    assert reopened(now, done["server"]), f"the page did not open its streams on the new server: {now}"
    assert [camera["name"] for camera in now["cameras"]] == ["door", "yard"], now
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr


def open_files(pid: int) -> set[str]:
    folder = Path(f"/proc/{pid}/fd")
    return {os.readlink(folder / fd) for fd in os.listdir(folder) if (folder / fd).is_symlink()}


def test_the_json_lines_move_to_a_new_file_with_none_lost(
        three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    a, b, _ = three_cameras
    config, first, second = tmp_path / "box.toml", tmp_path / "p.jsonl", tmp_path / "q.jsonl"
    config.write_text(box({"door": a, "hall": b}))
    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for(lambda: len(lines(first)) >= 30, 60, "the first file's lines")
    reload(cli, config, box({"door": a, "hall": b}, jsonl="q.jsonl"), 1)
    cli.wait_for(lambda: len(lines(second)) >= 30, 60, "the second file's lines")
    assert str(first) not in open_files(cli.process.pid), "the first file was left open"
    assert str(second) in open_files(cli.process.pid)
    written = first.read_text()
    assert written.endswith("}\n"), "the first file's last line was cut"
    old, new = lines(first), lines(second)
    for camera in ("door", "hall"):
        frames = [r["frame"] for r in old + new if r["camera"] == camera]
        times = [r["time"] for r in old + new if r["camera"] == camera]
        assert frames == sorted(set(frames)), f"{camera}: a line twice, or out of order"
        assert max(later - earlier for earlier, later in pairwise(times)) < MAX_GAP_S, f"{camera}: lines lost"
        assert [r for r in new if r["camera"] == camera], f"{camera}: no line in the new file"
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert first.read_text() == written, "the old file was written after the move"


@pytest.mark.skipif(MOSQUITTO is None, reason="needs mosquitto: apt-get install mosquitto")
def test_mqtt_moves_to_a_new_prefix(three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    a, b, _ = three_cameras
    broker = Broker(tmp_path)
    broker.start()
    subscriber = Subscriber(broker.port)
    config = tmp_path / "box.toml"
    try:
        config.write_text(box({"door": a, "hall": b}, f'mqtt = "{broker.url}"\nmqtt-discovery = true\n'))
        cli = live_cli("--config", str(config), cwd=tmp_path)
        for name in ("door", "hall"):
            subscriber.next(f"{PREFIX}/{name}/prediction")
        cli.wait_for(lambda: nodes(broker) == {slug(PREFIX)}, 30, "Home Assistant's configs at the first prefix")
        reload(cli, config, box({"door": a, "hall": b}, f'mqtt = "{broker.url}/moved"\nmqtt-discovery = true\n'), 1)
        cli.wait_for(lambda: nodes(broker) == {slug(f"{PREFIX}/moved")}, 30,  # the old ones cleared, not left behind
                     f"Home Assistant's configs at the new prefix alone, not {sorted(nodes(broker))}")
        for name in ("door", "hall"):  # the old topics told the camera is away, the new ones carry on
            subscriber.next(f"{PREFIX}/{name}/status", where=lambda p: p["state"] == "offline")
        for name in ("door", "hall"):
            moved = subscriber.next(f"{PREFIX}/moved/{name}/prediction")
            assert moved["top"] and moved["topic"] == f"{PREFIX}/moved/{name}/prediction", moved
        cli.signal(signal.SIGINT)
        run = cli.finish()
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    finally:
        subscriber.close()
        broker.stop()


def test_a_camera_alone_at_the_start_keeps_its_own_topics_once_a_reload_adds_another(
        three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    a, b, _ = three_cameras
    broker = Broker(tmp_path)
    broker.start()
    subscriber = Subscriber(broker.port)
    config = tmp_path / "box.toml"
    try:
        config.write_text(box({"door": a}, f'mqtt = "{broker.url}"\n'))
        cli = live_cli("--config", str(config), cwd=tmp_path)
        subscriber.next(f"{PREFIX}/door/prediction")
        reload(cli, config, box({"door": a, "hall": b}, f'mqtt = "{broker.url}"\n'), 1)
        subscriber.next(f"{PREFIX}/hall/prediction")  # the added camera classified: its frames go round
        door = [subscriber.next(f"{PREFIX}/door/prediction") for _ in range(30)]
        assert {p["camera"] for p in door} == {"door"}, "the added camera's frames on the first one's topic"
        cli.signal(signal.SIGINT)
        assert cli.finish().returncode == 0
    finally:
        subscriber.close()
        broker.stop()


def nodes(broker: Broker) -> set[str]:
    """The MQTT prefixes (as Home Assistant's node ids) of the discovery configs retained at the broker."""
    return {topic.split("/")[2] for topic in retained(broker.port, "homeassistant/#")}


def label_of(classifier: Classifier, photo: Path) -> str:
    """What the model says of a fake camera's picture, decoded as the command sees it."""
    image = cv2.imdecode(np.frombuffer(Camera(photo).next_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    return str(classifier.classify(image).top.labels[0])


def test_a_cameras_own_event_rules_apply_to_it_alone_and_change_on_reload(
        three_cameras: list[MjpegServer], porch: MjpegServer, classifier: Classifier, live_cli: type[LiveCli],
        tmp_path: Path) -> None:
    """door watches its own label (the cat), hall and porch the top level's (the espresso: porch,
    which sees a cat too, has no event); a reload takes door's own rules away: door's event ends,
    hall's goes on untouched."""
    a, b, _ = three_cameras
    cat, espresso = label_of(classifier, CHELSEA), label_of(classifier, COFFEE)
    config, out = tmp_path / "box.toml", tmp_path / "p.jsonl"
    rules = f'event = ["{espresso}"]\nevent-threshold = 0.05\nevent-hold = "0.5s"\nevent-gap = "2s"\n'
    own = box({"hall": b, "porch": porch}, rules) + f'\n[[camera]]\nname = "door"\nsource = "{a.url}"\n' \
        f'event = ["{cat}"]\n'
    config.write_text(own)
    cli = live_cli("--config", str(config), "--check", cwd=tmp_path)
    check = cli.finish()
    assert check.returncode == 0 and f'event = ["{cat}"]' in check.stdout and f'event = ["{espresso}"]' in check.stdout

    def events() -> list[dict]:
        return [r for r in lines(out) if "event" in r]

    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for(lambda: {(e["camera"], e["label"]) for e in events()} >= {("door", cat), ("hall", espresso)}, 60,
                 "each camera's event, by its own rules")
    reload(cli, config, box({"hall": b, "porch": porch, "door": a}, rules), 1)
    cli.wait_for(lambda: [e["event"] for e in events() if e["camera"] == "door"] == ["start", "end"], 30,
                 "door's event ended by the reload")
    before = len(lines(out))
    cli.wait_for(lambda: len([r for r in lines(out)[before:] if r.get("camera") == "hall"]) >= 30, 60, "hall going on")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert "door: restarting" not in run.stderr, "new event rules alone restarted the camera"
    hall = [(e["event"], e["label"]) for e in events() if e["camera"] == "hall"]
    assert hall == [("start", espresso), ("end", espresso)], f"hall's event did not go on through the reload: {hall}"
    door = [e for e in events() if e["camera"] == "door"]
    assert len(door) == 2 and door[-1]["end"] < [r for r in lines(out) if r.get("camera") == "door"][-1]["time"]
    assert not [e for e in events() if e["camera"] == "porch"], "porch took door's rules"


def test_a_camera_added_by_a_reload_records_its_event_clips(
        three_cameras: list[MjpegServer], classifier: Classifier, live_cli: type[LiveCli], tmp_path: Path) -> None:
    """``record-mode = "events"``: a camera a reload adds names and writes its clips like one there
    from the start (its clips were named by a namer built once, at the start, for the first cameras)."""
    cat, espresso = label_of(classifier, CHELSEA), label_of(classifier, COFFEE)
    a, b, _ = three_cameras
    config, out, rec = tmp_path / "box.toml", tmp_path / "p.jsonl", tmp_path / "rec"
    rules = (f'event = ["{espresso}", "{cat}"]\nevent-threshold = 0.05\nevent-hold = "0.5s"\nevent-gap = "2s"\n'
             f'record = "{rec}/"\nrecord-mode = "events"\npre-roll = "1s"\npost-roll = "0.5s"\n')
    config.write_text(box({"hall": b}, rules))
    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for(lambda: any(r.get("event") == "start" for r in lines(out)), 60, "hall's event")
    reload(cli, config, box({"hall": b, "door": a}, rules), 1)
    cli.wait_for(lambda: any(r.get("event") == "start" and r["camera"] == "door" for r in lines(out)), 60,
                 "door's event")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    door = [r for r in lines(out) if r.get("event") and r["camera"] == "door"]
    assert door and all(r["clip"] and r["clip"].startswith("door/events/") for r in door), door
    assert count_frames(rec / door[-1]["clip"]) > 0
