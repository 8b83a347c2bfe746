"""A fake systemd for the notify tests: the datagram socket ``$NOTIFY_SOCKET`` names, keeping
every message with its arrival time, and the ``systemd`` fixture that sets one up."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


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
                message = self._socket.recv(4096).decode()
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), message))  # when it came (not when recv began to wait)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._socket.close()

    def times_of(self, what: str) -> list[float]:
        return [t for t, message in self.messages if what in message.splitlines()]

    def count(self, what: str) -> int:
        return len(self.times_of(what))


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path / "notify")
    yield fake
    fake.close()
