"""A real mosquitto of the test's own on 127.0.0.1, plain or with a TLS listener beside the plain
one, and a subscriber that keeps what it receives (the ``--mqtt`` tests share them)."""
from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt

MOSQUITTO = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
PREFIX = "test/cams"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class ServerCertificate:
    """The broker's certificate and key (PEM files), and the CA that signed it."""

    ca: Path
    cert: Path
    key: Path


class Broker:
    """A mosquitto on 127.0.0.1, which a test can stop and start again on the same port(s).

    With ``tls``, a second listener (``tls_port``) speaks TLS with that certificate; the plain
    one stays for the test's own subscriber.
    """

    def __init__(self, folder: Path, tls: ServerCertificate | None = None) -> None:
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.config = folder / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""
        # Persistence: a subscriber's session and what was queued for it outlive a restart of the broker.
        text = (f"allow_anonymous true\n{user}persistence true\npersistence_location {folder}/\n"
                f"queue_qos0_messages true\nlistener {self.port} 127.0.0.1\n")
        if tls:
            text += f"listener {self.tls_port} 127.0.0.1\ncafile {tls.ca}\ncertfile {tls.cert}\nkeyfile {tls.key}\n"
        self.config.write_text(text)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}/{PREFIX}"

    def tls_url(self, host: str = "127.0.0.1") -> str:
        return f"mqtts://{host}:{self.tls_port}/{PREFIX}"

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        for port in filter(None, (self.port, self.tls_port)):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
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
        # QoS 2: each message arrives at the QoS it was published with (the lower of the two).
        self.client.on_connect = lambda client, *rest: client.subscribe(f"{PREFIX}/#", qos=2)
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10), "the broker did not confirm the subscription"

    def next(self, topic_end: str, timeout: float = 30.0, where=lambda payload: True) -> dict:  # noqa: ANN001
        """The next message whose topic ends with ``topic_end`` and whose JSON satisfies ``where``:
        its object, with the message's ``topic``, ``retain`` and ``qos``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                break
            try:
                payload = json.loads(message.payload)
            except ValueError:  # a plain label, a JPEG snapshot: not what this looks for
                continue
            if message.topic.endswith(topic_end) and where(payload):
                return {"topic": message.topic, "retain": message.retain, "qos": message.qos, **payload}
        raise AssertionError(f"no {topic_end} message in {timeout} s")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
