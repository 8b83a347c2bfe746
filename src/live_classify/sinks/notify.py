"""systemd's service protocol: ready, alive, what it is doing, stopping — a datagram each, no dependency.

Under ``Type=notify`` with ``WatchdogSec=``, systemd restarts the service when ``WATCHDOG=1`` stops
coming. So the watchdog is fed from the main loop, on time (every half interval, from a frame or
from a wait between two frames alike), and only while the camera is healthy: a camera
silent for longer than the read timeout, one being reconnected, a main loop that no longer runs
all stop the pings, and systemd steps in. ``READY=1`` comes once the first frame is classified
(the model loaded, the camera delivering).
"""
from __future__ import annotations

import socket
import time
from collections.abc import Callable

import numpy as np

from live_classify.config import NotifyConfig
from live_classify.sinks.base import Update
from live_classify.stream.pipeline import Pipeline

LOOP_S = 0.1  # the main loop calls write() or idle() at least this often (Pipeline.frames' wait)


class Notifier:
    """The sink: READY=1 at the first classified frame, WATCHDOG=1 and STATUS= while the camera is
    healthy, STATUS= saying why while it is not, STOPPING=1 at the end. Sending never blocks: a
    datagram that does not go at once is dropped."""

    name = "systemd notifications"
    essential = False
    stop_requested = False

    def __init__(self, config: NotifyConfig, pipeline: Pipeline, clock: Callable[[], float] = time.monotonic) -> None:
        """``pipeline``: anything with ``last_capture`` (on ``clock``), ``reconnecting`` and ``stats``."""
        self.config = config
        self.pipeline = pipeline
        self.error: str | None = None
        self.ready = False
        self._clock = clock
        self._next_ping = 0.0
        self._next_status = 0.0
        address = "\0" + config.address[1:] if config.address.startswith("@") else config.address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.setblocking(False)
        try:
            self._socket.connect(address)
        except OSError as error:  # dropped with one line at the first frame; the run goes on
            self.error = f"cannot reach systemd at {config.address}: {error.strerror or error}"

    @property
    def interval_s(self) -> float:
        """How soon after a ping the next one goes: early by the main loop's longest wait between
        two calls, so that no two pings are ever more than half of ``WatchdogSec`` apart."""
        return max(self.config.ping_s - LOOP_S, self.config.ping_s / 2)

    def write(self, update: Update) -> None:
        now = self._clock()
        if not self.ready and update.shown.prediction is not None:
            self.ready = True
            self._send(f"READY=1\nSTATUS={self._status()}")
            self._next_ping = now + self.interval_s
        elif self.ready:
            self._tick(now)

    def idle(self, redraw: Callable[[], np.ndarray | None]) -> None:
        """No frame just now: a ping all the same when one is due and the camera is healthy."""
        if self.ready:
            self._tick(self._clock())

    def _tick(self, now: float) -> None:
        """The ping when it is due and the camera healthy; else, now and then, a status saying why not."""
        if now < self._next_ping:
            return
        quiet = now - self.pipeline.last_capture
        if not self.pipeline.reconnecting and quiet <= self.config.stall_s:
            self._send(f"WATCHDOG=1\nSTATUS={self._status()}")
            self._next_ping = now + self.interval_s
        elif now >= self._next_status:  # the ping stays due: it goes with the first frame back
            reconnecting = "; reconnecting" if self.pipeline.reconnecting else ""
            self._send(f"STATUS=no frame for {quiet:.0f} s{reconnecting}")
            self._next_status = now + self.config.ping_s

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
