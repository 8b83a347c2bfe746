"""``--mqtt`` for real: the command on the fake camera, publishing to a real mosquitto on 127.0.0.1."""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from conftest import LiveCli, assert_clean_error, run_cli
from mjpeg_server import MjpegServer

from live_classify.sinks.mqtt import broker_url
from live_classify.sinks.segments import camera_folder
from live_classify.sources import parse_video_source

MOSQUITTO = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
if MOSQUITTO is None and os.environ.get("CI"):
    raise RuntimeError("CI must install mosquitto (.ci/run does)")
pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="needs mosquitto: apt-get install mosquitto")

PREFIX = "test/cams"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Broker:
    """A mosquitto of our own on 127.0.0.1, which a test can stop and start again on the same port."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""
        # Persistence: a subscriber's session and what was queued for it outlive a restart of the broker.
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n{user}persistence true\n"
                               f"persistence_location {folder}/\nqueue_qos0_messages true\n")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}/{PREFIX}"

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "mosquitto did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Subscriber:
    """A paho client that keeps every message of ``PREFIX/#`` in a queue."""

    def __init__(self, port: int, session: str | None = None) -> None:
        """``session``: a persistent one, whose messages the broker keeps while it is away."""
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=session or "",
                                  clean_session=session is None)
        self.client.on_message = lambda client, userdata, message: self.messages.put(message)
        self.client.on_connect = lambda client, *rest: client.subscribe(f"{PREFIX}/#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def next(self, topic_end: str, timeout: float = 30.0, where=lambda payload: True) -> dict:  # noqa: ANN001
        """The next message whose topic ends with ``topic_end`` and whose JSON satisfies ``where``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                break
            payload = json.loads(message.payload)
            if message.topic.endswith(topic_end) and where(payload):
                return {"topic": message.topic, "retain": message.retain, **payload}
        raise AssertionError(f"no {topic_end} message in {timeout} s")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


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


def test_the_last_will_says_offline_after_kill_9(live_cli, camera, broker, subscriber) -> None:
    cli = publish(live_cli, camera, broker)
    subscriber.next("/status", where=lambda p: p["state"] == "online")
    cli.process.kill()
    offline = subscriber.next("/status", where=lambda p: p["state"] == "offline")
    assert offline["source"] == camera.url


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
        status = again.next("/status", where=lambda p: p["state"] == "online")
        assert cli.process.poll() is None, cli.stderr
        assert during["frame"] > 0 and status["dropped"] == 0 and status["published"] > 2
    finally:
        again.close()
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr
    assert sum("lost the MQTT broker" in line for line in cli.stderr_lines) == 1


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
    assert status["published"] <= 3  # one prediction and the status messages so far


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


@pytest.mark.parametrize("url", ["mqtts://h/p", "mqtt://h", "mqtt://u:s3cret@h:99999/p", "mqtt:///p", "mqtt://h/a/#"])
def test_a_bad_url_is_one_line_and_exit_2(url: str) -> None:
    run = run_cli("--camera", "0", "--mqtt", url)
    assert_clean_error(run, "--mqtt")
    assert run.returncode == 2 and "s3cret" not in run.stderr


def test_the_url_gives_host_port_prefix_and_credentials() -> None:
    parsed = broker_url("mqtt://me:p%40ss@broker.lan:1884/home/cams/")
    assert (parsed.host, parsed.port, parsed.prefix, parsed.username, parsed.password) == \
        ("broker.lan", 1884, "home/cams", "me", "p@ss")
    assert "p%40ss" not in str(parsed) and broker_url("mqtt://h/x").port == 1883
