"""What the run looks like from outside, at one moment: a frozen snapshot of each camera and of
them all, for every consumer (the overlay, the web view, MQTT, systemd, the summary).

A consumer never reads a camera's threads' fields directly: it calls the run's ``status`` and
gets values that cannot change under it while it reads them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

FLOWING_S = 3.0  # no frame for longer than this: not flowing (``/healthz`` says 503)


class CameraState(Enum):
    """Where a camera stands; its capture thread sets it (STALLED is read from the newest frame's age)."""

    STARTING = "starting"  # no frame yet
    LIVE = "live"  # frames come
    STALLED = "stalled"  # no frame for longer than the read timeout
    RECONNECTING = "reconnecting"  # lost: reopened with backoff
    LOST = "lost"  # lost for good: every reconnection attempt failed
    ENDED = "ended"  # the source ended (a file), or the run stopped it


@dataclass(frozen=True)
class CameraStatus:
    """One camera at one moment."""

    name: str  # the camera's name (``--name``)
    source_name: str  # its source, as the JSON lines name it
    state: CameraState
    lost_because: str  # why it was lost, while it is reconnecting ("" otherwise)
    last_capture: float  # time.monotonic() of the newest frame (of the start, before the first)
    captured: int
    classified: int
    dropped: int  # live frames that got no prediction of their own (replaced, or the server away)
    reconnects: int
    capture_fps: float
    inference_fps: float
    display_fps: float
    recent_latencies_ms: tuple[float, ...]  # the newest predictions' capture-to-result latencies
    backend_down: str | None  # why the inference server is away, while it is
    ended: bool  # the main loop has seen its last frame
    error: str | None  # why it failed, if it did
    gated: int = 0  # ``--gate motion``: still frames not classified (they kept the last answer)
    still: bool = False  # its newest shown frame was still: the answer shown is kept, not re-checked
    health: str | None = None  # the problem it is in (offline, frozen, dark, blurred, moved), or None

    @property
    def reconnecting(self) -> bool:
        """Lost and not back (a camera lost for good stays so)."""
        return self.state in (CameraState.RECONNECTING, CameraState.LOST)

    def quiet_s(self, now: float) -> float:
        """How long no frame has come."""
        return now - self.last_capture

    def flowing(self, now: float) -> tuple[bool, str]:
        """(healthy, why): its frames are flowing, or why not."""
        if self.ended:
            return False, "ended"
        if self.reconnecting:
            return False, f"source lost ({self.lost_because or 'reconnecting'})"
        if self.captured == 0:
            return False, "no frame yet"
        if (quiet := self.quiet_s(now)) > FLOWING_S:
            return False, f"no frame for {quiet:.1f} s"
        return True, "frames flowing"


@dataclass(frozen=True)
class RunStatus:
    """Every camera of the run at one moment (systemd's watchdog reads the run as a whole)."""

    cameras: Sequence[CameraStatus]

    @property
    def running(self) -> list[CameraStatus]:
        return [c for c in self.cameras if not c.ended]

    @property
    def last_capture(self) -> float:
        """The newest frame of any camera."""
        return max(c.last_capture for c in self.cameras)

    @property
    def reconnecting(self) -> bool:
        """Every running camera is being reconnected (none left to vouch for the run)."""
        running = self.running
        return bool(running) and all(c.reconnecting for c in running)

    def total(self, counter: str) -> int:
        """A counter added up over the cameras."""
        return sum(getattr(c, counter) for c in self.cameras)

    def rate(self, meter: str) -> float:
        """A rate added up over the cameras."""
        return sum(getattr(c, meter) for c in self.cameras)
