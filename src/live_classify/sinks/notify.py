"""systemd's service protocol: ready, alive, what it is doing, stopping — a datagram each, no dependency.

Under ``Type=notify`` with ``WatchdogSec=``, systemd restarts the service when ``WATCHDOG=1`` stops
coming. So the watchdog is fed from the main loop and only while frames flow: a hung pipeline, a
camera that stalls for good, a main loop that no longer runs all stop the pings, and systemd steps
in. ``READY=1`` comes once the first frame is classified (the model loaded, the camera delivering).
"""
from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from live_classify.pipeline import Pipeline
from live_classify.sinks.base import Update


@dataclass(frozen=True)
class NotifyConfig:
    """Where systemd listens, and how often it wants to hear that the service is alive."""

    address: str  # a path, or "@name" for the abstract namespace
    ping_s: float = 1.0  # half of WatchdogSec, as sd_notify's documentation asks; 1 s without one

    @classmethod
    def of(cls, environ: Mapping[str, str]) -> NotifyConfig | None:
        """From ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC``, which systemd sets; None when not run by it."""
        address = environ.get("NOTIFY_SOCKET")
        if not address:
            return None
        usec = environ.get("WATCHDOG_USEC", "")
        ping_s = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else 1.0
        return cls(address, ping_s)


class Notifier:
    """The sink: READY=1 at the first classified frame, WATCHDOG=1 and STATUS= while frames flow,
    STOPPING=1 at the end. Sending never blocks: a datagram that does not go at once is dropped."""

    name = "systemd notifications"
    essential = False
    stop_requested = False

    def __init__(self, config: NotifyConfig, pipeline: Pipeline) -> None:
        self.config = config
        self.pipeline = pipeline
        self.error: str | None = None
        self.ready = False
        self._next_ping = 0.0
        address = "\0" + config.address[1:] if config.address.startswith("@") else config.address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.setblocking(False)
        try:
            self._socket.connect(address)
        except OSError as error:  # dropped with one line at the first frame; the run goes on
            self.error = f"cannot reach systemd at {config.address}: {error.strerror or error}"

    def write(self, update: Update) -> None:
        now = time.monotonic()
        if not self.ready and update.shown.prediction is not None:
            self.ready = True
            self._send(f"READY=1\nSTATUS={self._status()}")
            self._next_ping = now + self.config.ping_s
        elif self.ready and now >= self._next_ping:
            self._send(f"WATCHDOG=1\nSTATUS={self._status()}")
            self._next_ping = now + self.config.ping_s

    def idle(self, redraw: Callable[[], np.ndarray | None]) -> None:
        """No frame: no watchdog ping (that is the point), but the status says why."""
        now = time.monotonic()
        if self.ready and now >= self._next_ping:
            quiet = now - self.pipeline.last_capture
            self._send(f"STATUS=no frame for {quiet:.0f} s" + ("; reconnecting" if self.pipeline.reconnecting else ""))
            self._next_ping = now + self.config.ping_s

    def close(self) -> None:
        if self.error is None:
            self._send("STOPPING=1")
        self._socket.close()

    def summary(self) -> None:
        return None

    def _status(self) -> str:
        stats = self.pipeline.stats
        return (f"capture {stats.capture_rate.rate:.1f} fps, inference {stats.inference_rate.rate:.1f} fps, "
                f"{stats.classified} classified, {stats.dropped} dropped, {stats.reconnects} reconnects")

    def _send(self, message: str) -> None:
        try:
            self._socket.send(message.encode())
        except BlockingIOError:
            pass  # systemd is busy: the next ping comes soon enough
        except OSError as error:  # systemd went away: nothing to tell any more
            self.error = f"cannot reach systemd at {self.config.address}: {error.strerror or error}"
