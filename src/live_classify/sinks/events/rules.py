"""``--event LABEL``: when a class is on top long enough, an event starts; when it has been gone
long enough, it ends. Pure: observations in, starts and ends out, no thread and no clock of its own.

Two clocks, on purpose. The durations (``--event-hold``, ``--event-gap``) are measured on the
source's own clock (a camera's capture time, a file's time from its frame rate), so a file gives
the same events however fast it is read. The times an event reports (start, end, best) are the
frames' wall-clock times, Unix seconds as the JSON lines' ``time`` and the index have them.

- A class is *present* in a frame when it is the top label with a score of at least the threshold.
- It must be present in every frame for ``hold_s`` before its event starts; the start is
  back-dated to the first of those frames (a frame without it starts the count again).
- Once started, the event ends when the class has been absent for ``gap_s``; its end is the last
  frame it was present in. A dip shorter than the gap changes nothing: no flapping.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from live_classify.config import EventConfig

if TYPE_CHECKING:  # its picture is drawn with OpenCV, which the rules need not load
    from live_classify.sinks.events.moment import Moment

START, END = "start", "end"
CLASS, HEALTH = "class", "health"  # an event's kinds


@dataclass(frozen=True)
class Event:
    """One event as the world hears of it; ``end`` is None while it goes on."""

    id: str
    camera: str
    label: str
    start: float  # Unix seconds: the wall time of its first frame
    end: float | None  # Unix seconds: the wall time of the last frame it was present in
    score: float  # the best score seen
    best_time: float  # Unix seconds: the wall time of the frame with the best score
    # The same three on the source's own clock (the recording's timeline: where a clip is cut).
    source_start: float = 0.0
    source_end: float | None = None
    source_best: float = 0.0
    clip: str | None = None  # --record-mode events|both: its clip, relative to --record DIR/
    thumbnail: str | None = None  # its best frame's JPEG beside it (the best so far at the start, then at the end)
    kind: str = CLASS  # CLASS: a label was seen; HEALTH: the camera is in trouble (``label``: the problem)


@dataclass(frozen=True)
class Change:
    """An event started or ended."""

    kind: str  # START or END
    event: Event
    # The best frame so far with its own prediction, for the thumbnail (None: the frames were not kept).
    moment: Moment | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Seen:
    """One classified frame of a camera, as the rules need it."""

    t: float  # seconds on the source's own clock
    wall: float  # Unix seconds
    label: str | None  # the top label
    score: float
    keep: Callable[[], Moment] | None = field(default=None, compare=False, repr=False)  # the frame, if it is a best


@dataclass
class _Watch:
    """One label on one camera: a run of present frames not yet long enough, or an event going on."""

    first: Seen | None = None  # the first present frame of the run (while holding or during the event)
    last: Seen | None = None  # the last present frame
    best: Seen | None = None
    moment: Moment | None = None  # the best frame, kept
    event: Event | None = None  # started, not ended


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Tracker:
    """The rules applied to one camera's frames, in order."""

    camera: str
    rules: EventConfig  # the labels watched, and the threshold, hold and gap of each
    make_id: Callable[[], str] = new_id
    _watches: dict[str, _Watch] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._watches = {label: _Watch() for label in self.rules.labels}

    def observe(self, seen: Seen) -> list[Change]:
        """One frame: the events that end and start with it (ends first)."""
        changes = self.tick(seen.t)
        for label, watch in self._watches.items():
            if seen.label == label and seen.score >= self.rules.threshold:
                changes += self._present(watch, label, seen)
            elif watch.event is None:
                watch.first = watch.last = watch.best = watch.moment = None  # the hold starts again
        return changes

    def tick(self, t: float) -> list[Change]:
        """The source's clock is at ``t``: the events whose class has been gone for the gap end."""
        return [self._end(watch) for watch in self._watches.values()
                if watch.event is not None and watch.last is not None and t - watch.last.t >= self.rules.gap_s]

    def finish(self) -> list[Change]:
        """The frames have ended: every event going on ends at its last frame."""
        return [self._end(watch) for watch in self._watches.values() if watch.event is not None]

    @property
    def open(self) -> list[Event]:
        return [watch.event for watch in self._watches.values() if watch.event is not None]

    def _present(self, watch: _Watch, label: str, seen: Seen) -> list[Change]:
        if watch.first is None:
            watch.first = seen
        watch.last = seen
        if watch.best is None or seen.score > watch.best.score:
            watch.best = seen
            watch.moment = seen.keep() if seen.keep else None
        if watch.event is not None:
            watch.event = replace(watch.event, score=watch.best.score, best_time=watch.best.wall,
                                  source_best=watch.best.t)
            return []
        if seen.t - watch.first.t < self.rules.hold_s:
            return []
        watch.event = Event(self.make_id(), self.camera, label, watch.first.wall, None, watch.best.score,
                            watch.best.wall, watch.first.t, None, watch.best.t)
        return [Change(START, watch.event, watch.moment)]

    def _end(self, watch: _Watch) -> Change:
        assert watch.event is not None and watch.last is not None
        ended, moment = replace(watch.event, end=watch.last.wall, source_end=watch.last.t), watch.moment
        watch.event = watch.first = watch.last = watch.best = watch.moment = None
        return Change(END, ended, moment)


def record(change: Change) -> dict[str, object]:
    """A start or an end as a JSON line, an MQTT message, an SSE message and a webhook carry it
    (``clip`` and ``thumbnail``: paths relative to ``--record DIR/``, null without clips; a health
    event names its ``problem``, which is also its label)."""
    event = change.event
    told: dict[str, object] = {
        "event": change.kind, "id": event.id, "camera": event.camera, "label": event.label,
        "score": round(event.score, 6), "start": round(event.start, 3),
        "end": None if event.end is None else round(event.end, 3),
        "best_time": round(event.best_time, 3), "clip": event.clip, "thumbnail": event.thumbnail, "kind": event.kind}
    if event.kind == HEALTH:
        told["problem"] = event.label
    return told
