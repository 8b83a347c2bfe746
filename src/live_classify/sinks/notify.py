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

from live_classify.config import NotifyConfig
from live_classify.pipeline.status import RunStatus
from live_classify.sinks.base import Redraw, Update

LOOP_S = 0.1  # the main loop calls write() or idle() at least this often (its wait for a frame)


class Notifier:
    """The sink: READY=1 at the first classified frame, WATCHDOG=1 and STATUS= while the camera is
    healthy, STATUS= saying why while it is not, STOPPING=1 at the end. Sending never blocks: a
    datagram that does not go at once is dropped."""

    name = "systemd notifications"
    essential = False
    stop_requested = False

    def __init__(self, config: NotifyConfig, status: Callable[[], RunStatus],
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``status``: the run's cameras now (their ``last_capture`` on ``clock``)."""
        self.config = config
        self.status = status
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
            self._send(f"READY=1\nSTATUS={self._status(self.status())}")
            self._next_ping = now + self.interval_s
        elif self.ready:
            self._tick(now)

    def idle(self, redraw: Redraw) -> None:
        """No frame just now: a ping all the same when one is due and the camera is healthy."""
        if self.ready:
            self._tick(self._clock())

    def _tick(self, now: float) -> None:
        """The ping when it is due and the camera healthy; else, now and then, a status saying why not."""
        if now < self._next_ping:
            return
        run = self.status()
        quiet = now - run.last_capture
        if not run.reconnecting and quiet <= self.config.stall_s:
            self._send(f"WATCHDOG=1\nSTATUS={self._status(run)}")
            self._next_ping = now + self.interval_s
        elif now >= self._next_status:  # the ping stays due: it goes with the first frame back
            reconnecting = "; reconnecting" if run.reconnecting else ""
            self._send(f"STATUS=no frame for {quiet:.0f} s{reconnecting}")
            self._next_status = now + self.config.ping_s

    def reloading(self) -> None:
        """A reload begins (``Type=notify-reload``): sd_notify(3) wants the monotonic clock with it."""
        self._send(f"RELOADING=1\nMONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def reloaded(self, refused: str | None = None) -> None:
        """The reload is done (applied, or ``refused`` saying why): ready again."""
        self._send(f"READY=1\nSTATUS={refused or self._status(self.status())}")

    def close(self) -> None:
        if self.error is None:
            self._send("STOPPING=1")
        self._socket.close()

    def summary(self) -> None:
        return None

    @staticmethod
    def _status(run: RunStatus) -> str:
        """The counters of every camera, added up."""
        return (f"capture {run.rate('capture_fps'):.1f} fps, inference {run.rate('inference_fps'):.1f} fps, "
                f"{run.total('classified')} classified, {run.total('dropped')} dropped, "
                f"{run.total('reconnects')} reconnects")

    def _send(self, message: str) -> None:
        try:
            self._socket.send(message.encode())
        except BlockingIOError:
            pass  # systemd is busy: the next ping comes soon enough
        except OSError as error:  # systemd went away: nothing to tell any more
            self.error = f"cannot reach systemd at {self.config.address}: {error.strerror or error}"
