"""Configuration files for the reload tests, and what such a run leaves to observe: its JSON
lines, its index's rows, the retained messages at its broker, the POSTs of its webhooks."""
from __future__ import annotations

import http.server
import json
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from mjpeg_server import MjpegServer


def box(cameras: dict[str, MjpegServer], extra: str = "", jsonl: str = "p.jsonl") -> str:
    """A configuration file: the JSON lines to ``jsonl``, one [[camera]] per entry."""
    text = f'provider = "cpu"\nheadless = true\njsonl = "{jsonl}"\n{extra}'
    for name, camera in cameras.items():
        text += f'\n[[camera]]\nname = "{name}"\nsource = "{camera.url}"\n'
    return text


def lines(path: Path) -> list[dict]:
    """The whole JSON lines written so far (a line being written is left out)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def toml(value: object) -> str:
    """A value as a configuration file spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return repr(value) if isinstance(value, (int, float)) else json.dumps(str(value))


@dataclass(frozen=True)
class Box:
    """A box's configuration as a test describes it: the cameras (name: URL), the top-level keys,
    and each camera's own keys."""

    cameras: tuple[tuple[str, str], ...]
    keys: tuple[tuple[str, object], ...] = ()
    own: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()

    def get(self, key: str, default: object = None) -> object:
        return dict(self.keys).get(key, default)

    def of(self, camera: str, key: str, default: object = None) -> object:
        return dict(dict(self.own).get(camera, ())).get(key, self.get(key, default))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.cameras]

    def text(self) -> str:
        text = "".join(f"{key} = {toml(value)}\n" for key, value in self.keys)
        for name, url in self.cameras:
            text += f'\n[[camera]]\nname = "{name}"\nsource = "{url}"\n'
            text += "".join(f"{key} = {toml(value)}\n" for key, value in dict(self.own).get(name, ()))
        return text

    def but(self, cameras: tuple[tuple[str, str], ...] | None = None, **keys: object) -> Box:
        """This box with other cameras, or keys changed (``None``: the key removed; ``_`` for ``-``)."""
        merged = dict(self.keys) | {key.replace("_", "-"): value for key, value in keys.items()}
        return Box(cameras if cameras is not None else self.cameras,
                   tuple((k, v) for k, v in merged.items() if v is not None), self.own)


def index_rows(db: Path, sql: str, *args: object) -> list[tuple]:
    """Rows of a run's ``index.db`` (none while it is not there yet)."""
    if not db.exists():
        return []
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # the run is creating its tables
        return []
    finally:
        connection.close()


def retained(port: int, pattern: str, settle_s: float = 0.5) -> dict[str, str]:
    """The retained messages under ``pattern`` at the broker now, as a new subscriber gets them
    (an empty retained message deletes one: it is never delivered)."""
    got: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, message: got.put(message) if message.retain else None
    subscribed = threading.Event()
    client.on_connect = lambda c, *rest: c.subscribe(pattern, qos=1)
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert subscribed.wait(10), "the broker did not confirm the subscription"
        found: dict[str, str] = {}
        deadline = time.monotonic() + settle_s  # retained messages come at once after the subscription
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = got.get(timeout=left)
            except queue.Empty:
                break
            found[message.topic] = message.payload.decode()
        return found
    finally:
        client.loop_stop()
        client.disconnect()


def slug(text: str) -> str:
    """A name as Home Assistant's ids have it (as the command makes them)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "_"


@dataclass
class Webhooks:
    """An HTTP server on 127.0.0.1 that keeps the JSON of each POST."""

    posts: list[dict] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        posts = self.posts

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def threads_and_memory(pid: int) -> tuple[int, int]:
    """A process's threads and resident memory (kB), from /proc/PID/status."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0])


def gaps(times: Iterator[float] | list[float]) -> list[float]:
    values = list(times)
    return [later - earlier for earlier, later in zip(values, values[1:], strict=False)]
