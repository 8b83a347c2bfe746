"""``--mqtt`` for real: the command on the fake camera, publishing to a real mosquitto on 127.0.0.1."""
from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE, LiveCli, assert_clean_error, run_cli
from mjpeg_server import MjpegServer
from mqtt_broker import MOSQUITTO, PREFIX, Broker, Subscriber, free_port
from paho.mqtt.client import DisconnectFlags
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode
from updates import update

from live_classify.config import MqttConfig
from live_classify.errors import BadValue
from live_classify.sinks.mqtt import MqttSink
from live_classify.sinks.mqtt_broker import broker_url, disconnect_reason
from live_classify.sinks.record.retention import camera_folder
from live_classify.sources.capture import parse_video_source

if MOSQUITTO is None and os.environ.get("CI"):
    raise RuntimeError("CI must install mosquitto (.ci/run does)")
pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="needs mosquitto: apt-get install mosquitto")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    server = Broker(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    client = Subscriber(broker.port)
    yield client
    client.close()


def publish(live_cli: type[LiveCli], camera: MjpegServer, broker: Broker, *extra: str) -> LiveCli:
    """The command on the camera, publishing; returns once it says it publishes."""
    cli = live_cli("--source", camera.url, "--provider", "cpu", "--jsonl", os.devnull, "--mqtt", broker.url, *extra)
    cli.wait_for_stderr("publishing to MQTT broker")
    return cli


def test_predictions_and_status_arrive_with_the_documented_topics(live_cli, camera, broker, subscriber) -> None:
    cli = publish(live_cli, camera, broker)
    prediction = subscriber.next("/prediction")
    camera_name = camera_folder(parse_video_source(camera.url))
    assert prediction["topic"] == f"{PREFIX}/{camera_name}/prediction" and camera_name.startswith("127.0.0.1-")
    assert {"frame", "time", "source", "top", "times_ms", "latency_ms"} <= prediction.keys()
    assert prediction["top"][0]["label"] in {"tiger cat", "tabby", "Egyptian cat"}
    status = subscriber.next("/status", where=lambda p: p["state"] == "online")
    assert status["classified"] >= 1 and "dropped" in status
    cli.signal(signal.SIGINT)
    assert cli.finish().returncode == 0
    late = Subscriber(broker.port)  # a newcomer gets the retained status at once
    try:
        final = late.next("/status")
        assert final["state"] == "offline" and final["retain"] is True
        assert final["published"] >= 2
    finally:
        late.close()


def raw_until(subscriber: Subscriber, done, timeout: float = 60.0) -> dict[str, list[bytes]]:  # noqa: ANN001
    """Every payload per topic (as bytes) until ``done(payloads)`` holds."""
    payloads: dict[str, list[bytes]] = {}
    deadline = time.monotonic() + timeout
    while not done(payloads):
        assert time.monotonic() < deadline, f"timed out; topics seen: {sorted(payloads)}"
        with contextlib.suppress(queue.Empty):
            message = subscriber.messages.get(timeout=1)
            payloads.setdefault(message.topic, []).append(message.payload)
    return payloads


def test_home_assistant_sees_the_label_the_page_shows_a_snapshot_camera_and_occupancy_only_where_given(
        live_cli, camera, broker, subscriber) -> None:
    """Below --min-confidence the page shows "unknown": so does the sensor. The snapshot is a
    retained JPEG, sent again at an event's start; a device class only where one was given."""
    cats = ("tiger cat", "tabby", "Egyptian cat")
    cli = publish(live_cli, camera, broker, "--min-confidence", "0.99", "--mqtt-discovery",
                  *[flag for cat in cats for flag in ("--event", cat)], "--event-threshold", "0.01",
                  "--event-hold", "0.1s", "--mqtt-device-class", "tabby=occupancy")
    name = camera_folder(parse_video_source(camera.url))
    cam, node = f"{PREFIX}/{name}", PREFIX.replace("/", "_")
    seen = raw_until(subscriber, lambda p: len(p.get(f"{cam}/snapshot", [])) >= 2 and f"{cam}/label" in p
                     and any(b'"event": "start"' in e for e in p.get(f"{cam}/events", [])))
    cli.signal(signal.SIGINT)
    assert cli.finish().returncode == 0
    assert seen[f"{cam}/label"][0] == b"unknown"  # not the top label the page does not show
    snapshot = cv2.imdecode(np.frombuffer(seen[f"{cam}/snapshot"][-1], np.uint8), cv2.IMREAD_COLOR)
    assert snapshot is not None and snapshot.shape[:2] == (480, 640)
    newcomer = Subscriber(broker.port)
    newcomer.client.subscribe("homeassistant/#", qos=1)
    late = raw_until(newcomer, lambda p: f"{cam}/snapshot" in p and f"{cam}/label" in p
                     and sum(topic.endswith("/config") and "_health_" not in topic for topic in p) == 5)
    # 3 binary sensors, a sensor, a camera (and the camera's health problems: tests/e2e/test_health.py)
    newcomer.close()
    assert late[f"{cam}/snapshot"][0][:3] == b"\xff\xd8\xff" and late[f"{cam}/label"] == [b"unknown"]  # retained
    configs = {topic: json.loads(payloads[-1]) for topic, payloads in late.items() if topic.endswith("/config")}
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    sensor = configs[f"homeassistant/sensor/{node}/{slug}_top/config"]
    assert sensor["state_topic"] == f"{cam}/label" and "value_template" not in sensor
    shot = configs[f"homeassistant/camera/{node}/{slug}_snapshot/config"]
    assert shot["topic"] == f"{cam}/snapshot" and shot["device"] == sensor["device"]
    classes = {cat: configs[f"homeassistant/binary_sensor/{node}/{slug}_{cat.lower().replace(' ', '_')}/config"]
               .get("device_class") for cat in cats}
    assert classes == {"tiger cat": None, "tabby": "occupancy", "Egyptian cat": None}


def test_a_device_class_home_assistant_does_not_know_is_a_usage_error() -> None:
    run = run_cli("--camera", "0", "--mqtt", "mqtt://h/p", "--mqtt-discovery", "--mqtt-device-class", "tabby=kitchen")
    assert_clean_error(run, "--mqtt-device-class", "not LABEL=CLASS with CLASS one of Home Assistant's")
    assert run.returncode == 2


def newcomer_sees(broker: Broker, topic_end: str) -> dict:
    """What a subscriber connecting just now gets at once: the retained message."""
    newcomer = Subscriber(broker.port)
    try:
        return newcomer.next(topic_end, timeout=3)  # retained: at once (a fresh one would say retain False)
    finally:
        newcomer.close()


def test_subscribers_joining_mid_run_get_online_and_after_kill_9_offline_both_retained(live_cli, camera, broker,
                                                                                       subscriber) -> None:
    cli = publish(live_cli, camera, broker)
    subscriber.next("/status", where=lambda p: p["state"] == "online")
    online = newcomer_sees(broker, "/status")
    assert (online["state"], online["retain"], online["source"]) == ("online", True, camera.url)
    cli.process.kill()
    subscriber.next("/status", where=lambda p: p["state"] == "offline")  # the broker has published the will
    will = newcomer_sees(broker, "/status")
    # Nothing the will cannot know when it was set at connect time: no time, no counters.
    assert will == {"topic": online["topic"], "retain": True, "qos": 1, "state": "offline", "source": camera.url}


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_every_message_goes_at_the_qos_asked_for_the_last_will_too(live_cli, camera, broker, subscriber,
                                                                   qos: int) -> None:
    cli = publish(live_cli, camera, broker, "--mqtt-qos", str(qos))
    assert subscriber.next("/prediction")["qos"] == qos
    assert subscriber.next("/status", where=lambda p: p["state"] == "online")["qos"] == qos
    cli.process.kill()
    assert subscriber.next("/status", where=lambda p: p["state"] == "offline")["qos"] == qos


def test_two_cameras_each_publish_under_their_name_with_their_own_status_and_last_will(live_cli, broker,
                                                                                     subscriber) -> None:
    with MjpegServer(CHELSEA) as cat, MjpegServer(COFFEE) as cup:
        cli = live_cli("--source", cat.url, "--name", "door", "--source", cup.url, "--name", "yard", "--headless",
                       "--provider", "cpu", "--jsonl", os.devnull, "--mqtt", broker.url)
        for name in ("door", "yard"):
            cli.wait_for_stderr(f"under {PREFIX}/{name}/")
        for _ in range(5):  # each topic has its own camera's predictions, none of the other's
            assert subscriber.next(f"{PREFIX}/door/prediction")["top"][0]["label"] in {"tiger cat", "tabby",
                                                                                     "Egyptian cat"}
            assert subscriber.next(f"{PREFIX}/yard/prediction")["top"][0]["label"] == "espresso"
        online = latest_status(subscriber, "online", {"door", "yard"})
        assert (online["door"]["source"], online["yard"]["source"]) == (cat.url, cup.url)
        cli.process.kill()
        offline = latest_status(subscriber, "offline", {"door", "yard"})  # each camera's own last will
        assert (offline["door"]["source"], offline["yard"]["source"]) == (cat.url, cup.url)


def latest_status(subscriber: Subscriber, state: str, cameras: set[str]) -> dict[str, dict]:
    """The next status in ``state`` of each camera, by name."""
    seen: dict[str, dict] = {}
    while seen.keys() != cameras:
        status = subscriber.next("/status", where=lambda p: p["state"] == state)
        seen[status["topic"].split("/")[-2]] = status
    return seen


@pytest.mark.parametrize("qos", ["0", "1"])  # QoS 0 too: paho would drop those, the backlog keeps them
def test_publishing_resumes_after_the_broker_restarts(live_cli, camera, broker, qos: str) -> None:
    cli = publish(live_cli, camera, broker, "--mqtt-qos", qos)
    subscriber = Subscriber(broker.port, session="watcher")  # it misses nothing sent before it is back
    subscriber.next("/prediction")
    subscriber.close()
    broker.stop()
    cli.wait_for_stderr("lost the MQTT broker")
    away_from = time.time()
    time.sleep(3)
    broker.start()
    again = Subscriber(broker.port, session="watcher")
    try:
        cli.wait_for_stderr("is back")
        # What was classified while the broker was away waited in the backlog and arrives now.
        during = again.next("/prediction", where=lambda p: away_from + 0.5 < p["time"] < away_from + 2.5)
        # The first status after the return may be built before the backlog went out (a slow start
        # under load had published only 2): the one that counts the backlog says none was dropped.
        status = again.next("/status", where=lambda p: p["state"] == "online" and p["published"] > 2)
        assert cli.process.poll() is None, cli.stderr
        assert during["frame"] > 0 and status["dropped"] == 0
    finally:
        again.close()
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr
    lost = [line for line in cli.stderr_lines if "lost the MQTT broker" in line]
    assert len(lost) == 1 and "(connection closed: the broker stopped, or the network between is down)" in lost[0]


def test_every_and_on_change_limit_the_prediction_messages(live_cli, camera, broker, subscriber) -> None:
    cli = publish(live_cli, camera, broker, "--mqtt-every", "2")
    first, second = subscriber.next("/prediction"), subscriber.next("/prediction")
    assert second["time"] - first["time"] >= 1.9
    cli.signal(signal.SIGINT)
    cli.finish()
    cli = publish(live_cli, camera, broker, "--mqtt-on-change")
    subscriber.next("/prediction")
    status = subscriber.next("/status", where=lambda p: p["state"] == "online" and p["classified"] >= 10)
    with pytest.raises(AssertionError, match="no /prediction"):
        subscriber.next("/prediction", timeout=2)  # the camera shows the same cat: nothing new to say
    cli.signal(signal.SIGINT)
    assert cli.finish().returncode == 0
    # One prediction in the whole run (not a count of all messages: the statuses, every 5 s, are
    # more when the machine is slow to reach 10 classifications), and the rest skipped by choice.
    with pytest.raises(AssertionError, match="no /prediction"):
        subscriber.next("/prediction", timeout=0.5)
    assert status["skipped"] > 0


def test_an_unreachable_broker_is_a_warning_or_with_required_an_error(live_cli, camera) -> None:
    port = free_port()
    url = f"mqtt://user:s3cret@127.0.0.1:{port}/{PREFIX}"
    cli = live_cli("--source", camera.url, "--provider", "cpu", "--jsonl", "-", "--mqtt", url)
    cli.wait_for_stderr("the run goes on")
    cli.wait_for(lambda: len(cli.stdout_lines) >= 3, what="JSON lines despite the broker")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "s3cret" not in run.stderr and "user:***@" in run.stderr
    required = run_cli("--source", camera.url, "--provider", "cpu", "--jsonl", "-", "--mqtt", url, "--mqtt-required")
    assert_clean_error(required, "cannot reach MQTT broker")
    assert required.returncode == 1 and "s3cret" not in required.stderr


def test_a_wrong_password_is_one_line_and_the_run_goes_on(live_cli, camera, tmp_path: Path) -> None:
    secured = Broker(tmp_path)
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "me", "right"], check=True)
    passwords.chmod(0o600)
    secured.config.write_text(secured.config.read_text().replace("allow_anonymous true", "allow_anonymous false")
                              + f"password_file {passwords}\n")
    secured.start()
    try:
        url = f"mqtt://me:wr0ng@127.0.0.1:{secured.port}/{PREFIX}"
        cli = live_cli("--source", camera.url, "--provider", "cpu", "--jsonl", "-", "--mqtt", url)
        cli.wait_for_stderr("refused the connection: Not authorized; the run goes on")
        cli.wait_for(lambda: len(cli.stdout_lines) >= 3, what="JSON lines despite the refusal")
        cli.signal(signal.SIGINT)
        run = cli.finish()
        assert run.returncode == 0 and "wr0ng" not in run.stderr
        assert sum("MQTT broker" in line for line in run.stderr.splitlines() if "published" not in line) == 1
    finally:
        secured.stop()


@pytest.mark.parametrize("url", ["http://h/p", "mqtt://h", "mqtt://u:s3cret@h:99999/p", "mqtt:///p", "mqtt://h/a/#"])
def test_a_bad_url_is_one_line_and_exit_2(url: str) -> None:
    run = run_cli("--camera", "0", "--mqtt", url)
    assert_clean_error(run, "--mqtt")
    assert run.returncode == 2 and "s3cret" not in run.stderr


@pytest.mark.parametrize(("url", "why"), [("mqtt://127.0.0.1", "no topic prefix after the host"),
                                        ("mqtt://h:1884/", "no topic prefix after the host"),
                                        ("mqtt://h/a/+/b", "the topic prefix cannot hold + or # (MQTT's wildcards)"),
                                        ("mqtt://h/a/#", "the topic prefix cannot hold + or # (MQTT's wildcards)"),
                                        ("mqtt://h/a?retain=1", "a query (?...) has no meaning in an MQTT URL")])
def test_a_bad_url_says_what_is_wrong_with_it(url: str, why: str) -> None:
    with pytest.raises(BadValue) as refused:
        broker_url(url)
    assert str(refused.value).startswith(f"{why}: {url!r} (give mqtt")


def test_a_lost_broker_is_said_in_words_not_paho_s_unspecified_error() -> None:
    closed, sent = DisconnectFlags(False), DisconnectFlags(True)
    assert disconnect_reason(closed, ReasonCode(PacketTypes.DISCONNECT, "Unspecified error")) == \
        "connection closed: the broker stopped, or the network between is down"
    assert disconnect_reason(closed, ReasonCode(PacketTypes.DISCONNECT, "Keep alive timeout")) == \
        "no answer from the broker for 15 s"
    assert disconnect_reason(sent, ReasonCode(PacketTypes.DISCONNECT, "Server shutting down")) == \
        "the broker ended the connection: Server shutting down"


def test_the_url_gives_host_port_prefix_and_credentials() -> None:
    parsed = broker_url("mqtt://me:p%40ss@broker.lan:1884/home/cams/")
    assert (parsed.host, parsed.port, parsed.prefix, parsed.username, parsed.password) == \
        ("broker.lan", 1884, "home/cams", "me", "p@ss")
    assert "p%40ss" not in str(parsed) and broker_url("mqtt://h/x").port == 1883
    assert (broker_url("mqtts://h/x").port, broker_url("mqtts://h/x").tls, broker_url("mqtt://h/x").tls) == \
        (8883, True, False)


def test_a_broker_away_longer_than_the_backlog_loses_the_oldest_and_says_how_many(broker: Broker) -> None:
    Subscriber(broker.port, session="watcher").close()  # the broker keeps what comes for it while it is away
    broker.stop()
    sink = MqttSink(MqttConfig(broker_url(broker.url)), "cam", "camera 0", backlog=5)
    for index in range(20):  # 20 predictions, the first label, snapshot and status: 23 messages for 5 places
        sink.write(update(index, index / 30))
    broker.start()
    watcher = Subscriber(broker.port, session="watcher")
    try:
        deadline = time.monotonic() + 30
        while sink.published < 5 and time.monotonic() < deadline:  # paho retries after 1 s, then 2 s, ...
            time.sleep(0.1)
        sink.close()
        frames = []
        while (message := watcher.next("", timeout=3))["topic"].endswith("/prediction"):
            frames.append(message["frame"])
    finally:
        watcher.close()
    assert frames == list(range(15, 20))  # the newest five; the 18 before them were dropped
    assert message["state"] == "offline" and message["dropped"] == 18
    assert "(18 dropped: the broker was away)" in sink.summary()


def test_what_waits_for_a_broker_that_never_comes_back_is_counted_as_dropped() -> None:
    sink = MqttSink(MqttConfig(broker_url(f"mqtt://127.0.0.1:{free_port()}/{PREFIX}")), "cam", "camera 0", backlog=50)
    for index in range(60):  # 60 predictions, the first label, snapshot and status: 13 dropped now
        sink.write(update(index, index / 30))
    sink.close()  # the 50 waiting and the offline status cannot be sent
    assert (sink.dropped, sink.published) == (64, 0)
    assert "published 0 MQTT messages" in sink.summary() and "(64 dropped: the broker was away)" in sink.summary()
