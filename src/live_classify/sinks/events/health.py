"""A camera's health problems as events: when the problem a camera shows changes (``offline``,
``frozen``, ``dark``, ``blurred``, ``moved``, or none), the old one ends and the new one starts, as
a class event does, through the same outputs (JSON lines, MQTT, the web view, webhooks, the index),
with ``kind`` ``health`` and the problem as its label."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace

from live_classify.sinks.events.rules import END, HEALTH, START, Change, Event, new_id

POLL_S = 0.5  # the cameras' problems are looked at this often (they are raised after seconds anyway)


class HealthEvents:
    """Each camera's problem, as last told; ``problems`` says what it is now (None: not watched)."""

    def __init__(self, problems: Callable[[], Mapping[str, str | None]] | None) -> None:
        self.problems = problems
        self.going_on: dict[str, Event] = {}  # camera: its problem's event, started and not ended
        self.started: Counter[str] = Counter()  # problems raised, per problem
        self._next = 0.0

    def poll(self, now: float | None = None) -> list[Change]:
        """The starts and ends since the last look (none more often than every ``POLL_S``)."""
        now = time.monotonic() if now is None else now
        if self.problems is None or now < self._next:
            return []
        self._next = now + POLL_S
        return self.changes(self.problems(), time.time())

    def changes(self, problems: Mapping[str, str | None], wall: float) -> list[Change]:
        """``problems`` (camera: its problem now) against what was told: the ends, then the starts."""
        ended = [camera for camera, event in self.going_on.items() if problems.get(camera) != event.label]
        told = [self._end(camera, wall) for camera in ended]
        for camera, problem in problems.items():
            if problem is not None and camera not in self.going_on:
                self.going_on[camera] = Event(new_id(), camera, problem, wall, None, 1.0, wall, kind=HEALTH)
                self.started[problem] += 1
                told.append(Change(START, self.going_on[camera]))
        return told

    def finish(self) -> list[Change]:
        """The run ends: every problem going on ends now."""
        return [self._end(camera, time.time()) for camera in list(self.going_on)]

    def summary(self) -> str | None:
        if not self.started:
            return None
        counts = ", ".join(f"{count} {problem}" for problem, count in self.started.most_common())
        return f"camera problems raised: {counts}"

    def _end(self, camera: str, wall: float) -> Change:
        return Change(END, replace(self.going_on.pop(camera), end=wall))
