"""Run as a systemd service: the notifications the real command sends to a socket like systemd's."""
from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import headless_env
from live_classify.sinks.notify import NotifyConfig
from mjpeg_server import MjpegServer


class FakeSystemd:
    """A datagram socket where systemd would listen; keeps every message with its arrival time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[float, str]] = []
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages.append((time.monotonic(), self._socket.recv(4096).decode()))
            except TimeoutError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._socket.close()

    def times_of(self, what: str) -> list[float]:
        return [t for t, message in self.messages if what in message.splitlines()]


@pytest.fixture
def systemd(tmp_path: Path):  # noqa: ANN201
    fake = FakeSystemd(tmp_path / "notify")
    yield fake
    fake.close()


def test_ready_then_pings_while_frames_flow_none_while_stalled_and_stopping(systemd: FakeSystemd, live_cli) -> None:
    with MjpegServer(Path(__file__).parent / "data" / "chelsea.png", fps=30) as camera:
        env = headless_env(NOTIFY_SOCKET=str(systemd.path), WATCHDOG_USEC="600000")  # WatchdogSec=0.6: a ping each 0.3 s
        cli = live_cli("--source", camera.url, "--jsonl", "-", "--read-timeout", "30", "--provider", "cpu", env=env)
        cli.wait_for(lambda: len(systemd.times_of("WATCHDOG=1")) >= 5, what="watchdog pings")
        camera.stall()
        stalled = time.monotonic()
        time.sleep(3)
        camera.resume()
        cli.wait_for(lambda: any(t > stalled + 3 for t in systemd.times_of("WATCHDOG=1")), what="pings again")
        cli.signal(signal.SIGINT)
        run = cli.finish()
    assert run.returncode == 0, run.stderr
    ready = systemd.times_of("READY=1")
    assert len(ready) == 1 and ready[0] < systemd.times_of("WATCHDOG=1")[0]
    pings = systemd.times_of("WATCHDOG=1")
    assert not [t for t in pings if stalled + 1.0 < t < stalled + 3], "pinged while no frame came"
    assert any(message.startswith("STATUS=no frame for") for _, message in systemd.messages)
    assert "STOPPING=1" in systemd.messages[-1][1].splitlines()


def test_the_watchdog_interval_is_half_of_what_systemd_asks() -> None:
    assert NotifyConfig.of({"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "10000000"}) == NotifyConfig("@x", 5.0)
    assert NotifyConfig.of({"NOTIFY_SOCKET": "/run/x"}) == NotifyConfig("/run/x", 1.0)
    assert NotifyConfig.of({}) is None


def test_a_notify_socket_nobody_listens_on_is_one_line_and_the_run_goes_on(tmp_path: Path, live_cli) -> None:
    with MjpegServer(Path(__file__).parent / "data" / "chelsea.png", fps=30) as camera:
        env = headless_env(NOTIFY_SOCKET=str(tmp_path / "nobody"))
        cli = live_cli("--source", camera.url, "--jsonl", "-", "--provider", "cpu", env=env)
        cli.wait_for(lambda: len(cli.stdout_lines) >= 10, what="predictions")
        cli.signal(signal.SIGINT)
        run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert "systemd notifications stopped: cannot reach systemd" in run.stderr and "Traceback" not in run.stderr
