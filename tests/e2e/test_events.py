"""``--event`` through the real command: a video file whose scene alternates (the cat, the espresso,
the cat...) at known frames, read at its own pace so the events fall on known frames; their start
and end lines, the index rows and its rebuild, webhooks to a receiver that is down then back,
MQTT events, states and Home Assistant's discovery, SSE on /api/events."""
from __future__ import annotations

import http.client
import http.server
import json
import queue
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from conftest import LiveCli, run_cli
from mqtt_broker import MOSQUITTO, PREFIX, Broker, free_port
from scenes import DIP, EVENT_FLAGS, EXPECTED, lines_of

EVENT_KEYS = ["event", "id", "camera", "label", "score", "start", "end", "best_time", "clip", "thumbnail", "kind"]


@pytest.mark.parametrize("gate", ["off", "motion"])
def test_one_event_per_espresso_phase_in_the_json_lines_and_the_index(gate: str, scenes: Path, tmp_path: Path) -> None:
    """With ``--gate motion`` only the scene changes are classified; the still frames between keep
    the answer, so the events start and end on the same frames."""
    out, rec = tmp_path / "out.jsonl", tmp_path / "rec"
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--event", "missile",
                  "--jsonl", str(out), "--record", f"{rec}/", "--segment", "3s", "--gate", gate)
    assert run.returncode == 0, run.stderr
    predictions, events = lines_of(out)
    time_of = {line["frame"]: line["time"] for line in predictions}
    assert time_of[DIP] and [p for p in predictions if p["frame"] == DIP][0]["top"][0]["label"] != "espresso"
    assert [e["event"] for e in events] == ["start", "end", "start", "end"]
    assert all(list(e) == EVENT_KEYS for e in events)
    starts, ends = events[0::2], events[1::2]
    assert [(s["id"], s["start"], s["end"]) for s in starts] == [(e["id"], e["start"], None) for e in ends]
    if gate == "motion":  # each end on a still frame (no line of its own): between the classified ones around it
        assert list(time_of) == [0, 20, DIP, DIP + 1, 50, 70, 100] and "113 gated (still)" in run.stderr
        assert [e["start"] for e in ends] == [time_of[a] for a, _ in EXPECTED]
        # (a file's frames may be read within a millisecond of each other: equal once rounded)
        assert time_of[DIP + 1] <= ends[0]["end"] <= time_of[50] and time_of[100] >= ends[1]["end"] >= time_of[70]
    else:
        assert [(e["start"], e["end"]) for e in ends] == [(time_of[a], time_of[b]) for a, b in EXPECTED]
    assert len({e["id"] for e in ends}) == 2 and all(e["camera"] == "scenes" and e["score"] >= 0.5 for e in ends)
    assert "2 events: 2 espresso\n" in run.stderr  # counted per label: none of missile, watched too
    with sqlite3.connect(rec / "index.db") as db:
        rows = db.execute('SELECT id, camera, label, start, "end", score, clip FROM events ORDER BY start').fetchall()
        assert [(r[0], round(r[3], 3), round(r[4], 3), r[6]) for r in rows] == [
            (e["id"], e["start"], e["end"], None) for e in ends]
        segments = db.execute('SELECT camera, path, start, "end", bytes FROM segments ORDER BY start').fetchall()
        seconds = db.execute("SELECT count(*) FROM seconds").fetchone()[0]
    assert len(segments) == 4 and all((rec / path).stat().st_size == size for _, path, _, _, size in segments)
    assert seconds >= 1
    with sqlite3.connect(rec / "index.db") as db:  # the segments' rows lost: the events without a clip stay
        db.execute("DELETE FROM segments")
    rebuilt = run_cli("index", str(rec))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "indexed 4 segments of 1 camera and 0 event clips" in rebuilt.stderr, rebuilt.stderr
    with sqlite3.connect(rec / "index.db") as db:
        paths = [row[0] for row in db.execute("SELECT path FROM segments ORDER BY start")]
        kept = db.execute('SELECT id, camera, label, start, "end", score, clip FROM events ORDER BY start').fetchall()
        assert db.execute("SELECT count(*) FROM seconds").fetchone()[0] == seconds
    assert paths == [row[1] for row in segments] and kept == rows


def test_an_unknown_label_is_one_line_and_exit_2(scenes: Path) -> None:
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", "--event", "unicorn", "--jsonl", "-")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "--event unicorn: the model has no class of that name" in run.stderr


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps each POST's JSON and Authorization header; it can
    start late, on a port chosen before."""

    def __init__(self, answer_after_s: float = 0.0) -> None:
        self.port = free_port()
        self.posts: queue.Queue[tuple[dict, str | None]] = queue.Queue()
        self.keys: list[tuple[str | None, str | None]] = []  # each POST's X-Event-Id and Idempotency-Key
        self.answer_after_s = answer_after_s  # a slow receiver
        self.server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        posts, keys, slow = self.posts, self.keys, self.answer_after_s

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                keys.append((self.headers.get("X-Event-Id"), self.headers.get("Idempotency-Key")))
                posts.put((json.loads(body), self.headers.get("Authorization")))
                time.sleep(slow)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self, count: int, timeout: float = 30.0) -> list[tuple[dict, str | None]]:
        return [self.posts.get(timeout=timeout) for _ in range(count)]

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def test_webhooks_wait_for_a_receiver_that_is_down_and_come_back(scenes: Path, live_cli: type[LiveCli],
                                                                  receiver: Receiver) -> None:
    url = f"http://127.0.0.1:{receiver.port}/hook"
    cli = live_cli("--source", str(scenes), "--realtime", "--headless", "--provider", "cpu", *EVENT_FLAGS,
                   "--jsonl", "-", "--webhook", url, "--webhook-token", "s3cret-token")
    cli.wait_for_stderr(f"webhook {url} is down", timeout=60)  # the first start found nobody there
    receiver.start()
    cli.wait_for_stderr(f"webhook {url} is back", timeout=60)
    posts = receiver.received(4, timeout=60)
    run = cli.finish(timeout=60)
    assert run.returncode == 0, run.stderr
    assert [(p["event"], auth) for p, auth in posts] == [(kind, "Bearer s3cret-token") for kind in
                                                          ("start", "end", "start", "end")]
    events = [json.loads(line) for line in run.stdout.splitlines() if '"event"' in line]
    assert [p for p, _ in posts] == events  # the same JSON as the lines
    assert run.stderr.count("is down") == 1 and "s3cret-token" not in run.stderr


def test_a_receiver_that_never_comes_is_one_line_and_the_run_goes_on(scenes: Path, receiver: Receiver) -> None:
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--jsonl", "-",
                  "--webhook", f"http://127.0.0.1:{receiver.port}/hook", timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("is down") == 1 and "is back" not in run.stderr
    assert "webhooks: posted 0 to" in run.stderr and "dropped: it was down" in run.stderr
    assert sum('"event"' in line for line in run.stdout.splitlines()) == 4


def test_a_receiver_slower_than_a_few_seconds_gets_each_start_and_end_once_with_its_key_and_clip_urls(
        scenes: Path, live_cli: type[LiveCli], tmp_path: Path) -> None:
    """It answers after 3 s: each POST is kept (its key the same on every try), and the clip and
    thumbnail are URLs of the web view that serve them."""
    receiver, port = Receiver(answer_after_s=3.0), free_port()
    receiver.start()
    try:
        cli = live_cli("--source", str(scenes), "--realtime", "--headless", "--provider", "cpu", *EVENT_FLAGS,
                       "--jsonl", "-", "--webhook", f"http://127.0.0.1:{receiver.port}/hook",
                       "--record", f"{tmp_path / 'rec'}/", "--record-mode", "events", "--serve", f"127.0.0.1:{port}")
        first, _ = receiver.received(1, timeout=60)[0]
        assert first["thumbnail"].startswith(f"http://127.0.0.1:{port}/media/scenes/events/")
        assert fetched(first["thumbnail"])[:3] == b"\xff\xd8\xff"  # a JPEG
        posts = [first] + [post for post, _ in receiver.received(3, timeout=60)]
        run = cli.finish(timeout=60)
    finally:
        receiver.stop()
    assert run.returncode == 0, run.stderr
    assert receiver.posts.empty() and len(receiver.keys) == 4  # no retry reached it: each once
    assert receiver.keys == [(p["id"], f"{p['id']}-{p['event']}") for p in posts]
    assert all(p["clip"].startswith(f"http://127.0.0.1:{port}/media/scenes/events/") for p in posts)
    assert "webhooks: posted 4 to" in run.stderr and "dropped" not in run.stderr.split("webhooks: posted")[1]


def test_public_url_wins_over_the_serve_address_in_the_clip_and_thumbnail_urls(scenes: Path, tmp_path: Path,
                                                                                 receiver: Receiver) -> None:
    """Behind a proxy the receivers reach the box at --public-url, not at the address --serve binds:
    with both given, every POST's clip and thumbnail are under the public URL (its trailing / once)."""
    receiver.start()
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--jsonl", "-",
                  "--webhook", f"http://127.0.0.1:{receiver.port}/hook", "--record", f"{tmp_path / 'rec'}/",
                  "--record-mode", "events", "--serve", f"127.0.0.1:{free_port()}",
                  "--public-url", "https://cams.example.com/box/", timeout=90)
    assert run.returncode == 0, run.stderr
    posts = [post for post, _ in receiver.received(4, timeout=30)]
    base = "https://cams.example.com/box/media/scenes/events/"
    assert [(p["clip"][:len(base)], p["thumbnail"][:len(base)]) for p in posts] == [(base, base)] * 4


def fetched(url: str, timeout: float = 30.0) -> bytes:
    """GET ``url``, again while it is 404 (a thumbnail is written just after its start is told)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - the test's own server
                return answer.read()
        except urllib.error.HTTPError as error:
            if error.code != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_events_a_hung_receiver_never_got_are_counted_as_dropped_at_the_end(scenes: Path) -> None:
    """It takes the connection and never answers: the run ends within its bounded flush and says
    that all four (two starts, two ends) were dropped."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--jsonl", "-",
                      "--webhook", f"http://127.0.0.1:{hung.getsockname()[1]}/hook", timeout=60)
    assert run.returncode == 0, run.stderr
    assert sum('"event"' in line for line in run.stdout.splitlines()) == 4
    assert "webhooks: posted 0 to" in run.stderr and "(4 dropped: it was down or too slow)" in run.stderr


@pytest.mark.skipif(MOSQUITTO is None, reason="needs mosquitto")
@pytest.mark.parametrize("gate", ["off", "motion"])  # the still frames keep the answer: the same events, states
def test_mqtt_events_states_and_home_assistant_discovery(gate: str, scenes: Path, tmp_path: Path) -> None:
    broker = Broker(tmp_path)
    broker.start()
    try:
        received = subscribe(broker.port)
        run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--jsonl", "-",
                      "--mqtt", broker.url, "--mqtt-discovery", "--gate", gate)
        assert run.returncode == 0, run.stderr
        camera = f"{PREFIX}/scenes"
        messages = drain(received)
        events = [(json.loads(m.payload), m.retain, m.qos) for m in messages if m.topic == f"{camera}/events"]
        assert [(e["event"], retain, qos) for e, retain, qos in events] == [
            ("start", False, 1), ("end", False, 1), ("start", False, 1), ("end", False, 1)]
        states = [m.payload.decode() for m in messages if m.topic == f"{camera}/espresso"]
        assert states == ["OFF", "ON", "OFF", "ON", "OFF"]
        retained = {m.topic: m for m in drain(subscribe(broker.port), wait=2.0)}
        assert retained[f"{camera}/espresso"].payload == b"OFF" and f"{camera}/events" not in retained
        binary = json.loads(retained["homeassistant/binary_sensor/test_cams/scenes_espresso/config"].payload)
        sensor = json.loads(retained["homeassistant/sensor/test_cams/scenes_top/config"].payload)
        assert (binary["state_topic"], binary["availability_topic"]) == (f"{camera}/espresso", f"{camera}/status")
        assert (binary["payload_on"], binary["payload_off"], binary["payload_available"]) == ("ON", "OFF", "online")
        assert sensor["state_topic"] == f"{camera}/label" and sensor["device"] == binary["device"]
        assert "device_class" not in binary  # an espresso is no occupancy
    finally:
        broker.stop()


def subscribe(port: int) -> queue.Queue:
    """Every message on the broker, retained ones first, as they come."""
    received: queue.Queue = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, message: received.put(message)
    subscribed = threading.Event()
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_connect = lambda c, *rest: c.subscribe("#", qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert subscribed.wait(10)
    return received


def drain(received: queue.Queue, wait: float = 2.0) -> list:
    messages = []
    while True:
        try:
            messages.append(received.get(timeout=wait))
        except queue.Empty:
            return messages


@pytest.mark.parametrize("gate", ["off", "motion"])  # --realtime: frames flow as a live camera's
def test_sse_carries_each_start_and_end_as_a_message_named_event(gate: str, scenes: Path,
                                                                 live_cli: type[LiveCli]) -> None:
    port = free_port()
    cli = live_cli("--source", str(scenes), "--realtime", "--headless", "--provider", "cpu", *EVENT_FLAGS,
                   "--jsonl", "-", "--serve", f"127.0.0.1:{port}", "--gate", gate)
    cli.wait_for_stderr("serving http://", timeout=60)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/api/events")
    response = connection.getresponse()
    named, data = [], 0
    name = None
    while len(named) < 4:
        raw = response.readline()
        assert raw, f"the stream ended after {len(named)} event messages"  # not a spin on its end
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            record = json.loads(line.removeprefix("data: "))
            if name == "event":
                named.append(record)
            else:
                data += 1
                assert "event" not in record
            name = None
    connection.close()
    assert [e["event"] for e in named] == ["start", "end", "start", "end"] and data > 0
    assert cli.finish(timeout=60).returncode == 0


def test_the_index_keeps_what_was_committed_through_a_sigkill(scenes: Path, tmp_path: Path,
                                                              live_cli: type[LiveCli]) -> None:
    rec = tmp_path / "rec"
    cli = live_cli("--source", str(scenes), "--realtime", "--headless", "--provider", "cpu", *EVENT_FLAGS,
                   "--jsonl", "-", "--record", f"{rec}/", "--segment", "2s")

    def committed() -> list[tuple]:
        if not (rec / "index.db").exists():
            return []
        try:
            with sqlite3.connect(f"file:{rec / 'index.db'}?mode=ro", uri=True) as db:  # a reader beside the writer
                return db.execute('SELECT id, "end" FROM events').fetchall() if segments_in(db) else []
        except sqlite3.OperationalError:  # the tables are being made
            return []

    def started() -> list[dict]:
        return [json.loads(line) for line in list(cli.stdout_lines) if '"event": "start"' in line]

    cli.wait_for(lambda: len(committed()) == 1 and started(), timeout=60, what="the first event's row and a segment's")
    cli.process.kill()
    cli.process.wait(10)
    with sqlite3.connect(rec / "index.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert [row[0] for row in db.execute("SELECT id FROM events")] == [started()[0]["id"]]
        assert segments_in(db) >= 1 and db.execute("SELECT count(*) FROM seconds").fetchone()[0] >= 1


def segments_in(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM segments").fetchone()[0]
