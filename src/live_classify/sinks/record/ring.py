"""The pre-roll: the last seconds of a camera's H.264 as the encoder made it, in memory, so that an
event's clip can start before the event was known (a start is known only after ``--event-hold``).

Kept in whole groups of pictures (a keyframe and the frames that depend on it; one a second, as
``mp4.py`` forces them): a clip must start on a keyframe, and dropping a group at a time keeps the
oldest packet a keyframe. Bounded twice: by time (the oldest group goes once the next one alone
covers the span) and by bytes (the oldest groups go past the cap, whatever the span: a scene that
compresses badly shortens the pre-roll rather than growing memory). No PyAV here: bytes and times.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

RING_BYTES = 32 * 1024 * 1024  # the cap: ~2 minutes of 720p30 at 2 Mbit/s, far past any pre-roll's need


@dataclass(frozen=True)
class Packet:
    """One encoded frame as the encoder gave it."""

    t: float  # seconds on the source's clock
    key: bool
    data: bytes
    template: int  # which codec parameters it needs (a camera back at another size has new ones)


class Ring:
    """The newest packets, at least ``span_s`` of them (from a keyframe at or before the span's
    start), at most ``max_bytes`` (whole groups beyond it go first)."""

    def __init__(self, span_s: float, max_bytes: int = RING_BYTES) -> None:
        self.span_s = span_s
        self.max_bytes = max_bytes
        self.bytes = 0
        self.peak_bytes = 0  # the most it held: what the README's figure is
        self._groups: deque[list[Packet]] = deque()

    def add(self, packet: Packet) -> None:
        """The newest packet; one that needs a keyframe the ring no longer has is not kept."""
        if packet.key:
            self._groups.append([packet])
        elif self._groups:
            self._groups[-1].append(packet)
        else:
            return
        self.bytes += len(packet.data)
        self._trim(packet.t)
        self.peak_bytes = max(self.peak_bytes, self.bytes)

    def since(self, t: float) -> list[Packet]:
        """The packets from the last keyframe at or before ``t`` (or the oldest kept, if the ring
        does not reach back so far) to the newest."""
        groups = list(self._groups)
        first = max((i for i, group in enumerate(groups) if group[0].t <= t), default=0)
        return [packet for group in groups[first:] for packet in group]

    def clear(self) -> None:
        """Forget every packet (the recording stopped: what it holds is no event's pre-roll any more)."""
        self._groups.clear()
        self.bytes = 0

    @property
    def seconds(self) -> float:
        """The time the ring covers, oldest packet to newest."""
        return self._groups[-1][-1].t - self._groups[0][0].t if self._groups else 0.0

    def _trim(self, now: float) -> None:
        while len(self._groups) > 1 and (self._groups[1][0].t <= now - self.span_s or self.bytes > self.max_bytes):
            self.bytes -= sum(len(packet.data) for packet in self._groups.popleft())
