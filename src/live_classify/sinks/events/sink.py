"""The events sink: each camera's predictions through its own :class:`Tracker`, each camera's
health problems (:class:`HealthEvents`), and every start and end handed to the outputs that tell of
events (those with ``write_event``: the JSON lines, MQTT, the web view, the webhooks, the index;
``write_event`` returns at once, slow work on their own threads).

It sees what was classified (``new_predictions``: a live camera's frames that inference never
saw are not evidence either way), and, with ``--gate motion``, each still frame with the answer it
kept (``Shown.kept``: nothing changed, so the answer stands on that frame's time; a hold or a gap is
timed on it, and a refresh that says otherwise ends the event). It comes first among the sinks so
that, at the end of the run, it ends the events still going on while the outputs that tell of them
are still open.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import partial

from live_classify.config import EventConfig
from live_classify.log import debug_traceback
from live_classify.pipeline.frames import Frame, Prediction
from live_classify.sinks.base import Redraw, Sink, Update
from live_classify.sinks.events.health import HealthEvents
from live_classify.sinks.events.moment import Moment
from live_classify.sinks.events.rules import CLASS, START, Change, Seen, Tracker
from live_classify.sinks.summary_text import events_line


class Events:
    """The sink: predictions in, starts and ends out to the listeners; never essential."""

    name = "events"
    essential = False
    stop_requested = False
    error: str | None = None

    def __init__(self, rules: EventConfig | None, clocks: Mapping[str, Callable[[Frame], float]],
                 listeners: Iterable[Sink], live: Iterable[str] = (),
                 names: Callable[[Change], Change] | None = None,
                 own: Mapping[str, EventConfig | None] | None = None,
                 problems: Callable[[], Mapping[str, str | None]] | None = None) -> None:
        """``clocks``: each camera's source clock (its trackers measure hold and gap on it);
        ``live``: the cameras whose clock is ``time.monotonic`` (their events end on time even
        while no frame comes); ``names``: gives each event its clip's and thumbnail's names
        (``--record-mode events|both``) before anyone hears of it; ``own``: a camera's own rules
        (None: it has no events), else ``rules`` (None: no class events, health events only);
        ``problems``: each camera's health problem now (:class:`HealthEvents`)."""
        self.rules = rules
        self.clocks = dict(clocks)
        self.live = set(live)
        self.listeners = [sink for sink in listeners if hasattr(sink, "write_event")]
        self.trackers: dict[str, Tracker | None] = {}
        for camera in self.clocks:
            self.set_rules(camera, (own or {}).get(camera, rules))
        self.started: Counter[str] = Counter()  # events started, per label
        self.names = names
        self.health = HealthEvents(problems)

    def write(self, update: Update) -> None:
        self._tell(self.health.poll())
        shown = update.shown
        self.write_predictions(shown.new_predictions)
        if shown.kept and shown.prediction is not None:  # a still frame: the kept answer, at its time
            self._observe(shown.frame, shown.prediction)

    def write_predictions(self, predictions: list[Prediction]) -> None:
        for prediction in predictions:
            self._observe(prediction.frame, prediction)

    def _observe(self, frame: Frame, prediction: Prediction) -> None:
        """``prediction`` seen on ``frame`` (its own, or a still frame's kept one): to its camera's
        tracker, on the camera's clock; the moment a thumbnail shows is the prediction's own frame."""
        tracker = self.trackers[frame.camera] if frame.camera in self.trackers else self._tracker(frame.camera)
        if tracker is None:
            return
        top = prediction.result.top
        label = str(top.labels[0]) if len(top.labels) else None
        score = float(top.scores[0]) if len(top.scores) else 0.0
        seen = Seen(self.clocks[frame.camera](frame), frame.wall_time, label, score, partial(Moment.of, prediction))
        self._tell(tracker.observe(seen))

    def idle(self, redraw: Redraw) -> None:
        """No frame now: a live camera's event whose class has been gone for the gap ends anyway."""
        self._tell(self.health.poll())
        now = time.monotonic()
        for camera in self.live:
            if tracker := self.trackers.get(camera):
                self._tell(tracker.tick(now))

    def close(self) -> None:
        """The run ends: every event going on ends at its last frame."""
        for tracker in self.trackers.values():
            self._tell(tracker.finish() if tracker else [])
        self._tell(self.health.finish())

    def summary(self) -> str | None:
        watched = [label for tracker in self.trackers.values() if tracker for label in tracker.rules.labels]
        problems = self.health.summary()
        if self.rules is None and not watched:
            return problems
        return events_line(self.started, watched) + (f"; {problems}" if problems else "")

    def set_rules(self, camera: str, rules: EventConfig | None) -> None:
        """A camera's rules (None: no events of it), new or changed by a reload: its events going on end first."""
        if tracker := self.trackers.get(camera):
            self._tell(tracker.finish())
        self.trackers[camera] = Tracker(camera, rules) if rules else None

    def listen_to(self, listeners: Iterable[Sink]) -> None:
        """The outputs that tell of events (those with ``write_event``), after a start or a reload."""
        self.listeners = [sink for sink in listeners if hasattr(sink, "write_event")]

    def reconfigure(self, rules: EventConfig | None, clocks: Mapping[str, Callable[[Frame], float]],
                    live: Iterable[str], own: Mapping[str, EventConfig | None],
                    names: Callable[[Change], Change] | None) -> None:
        """A reload's cameras and rules: a camera removed ends its events, one whose rules changed (or
        new) starts anew; the others' events go on untouched."""
        self.rules, self.clocks, self.live, self.names = rules, dict(clocks), set(live), names
        for camera in [c for c in self.trackers if c not in self.clocks]:
            self.set_rules(camera, None)
            del self.trackers[camera]
        for camera in self.clocks:
            wanted = own.get(camera, rules)
            tracker = self.trackers.get(camera)
            if camera not in self.trackers or (tracker.rules if tracker else None) != wanted:
                self.set_rules(camera, wanted)

    def _tracker(self, camera: str) -> Tracker | None:
        """A camera with no clock given (one camera, frames not named): the first one's clock."""
        self.clocks[camera] = next(iter(self.clocks.values()))
        tracker = self.trackers[camera] = Tracker(camera, self.rules) if self.rules else None
        return tracker

    def _tell(self, changes: list[Change]) -> None:
        """Each change to each listener still working; one that fails is left to the run to drop."""
        for change in changes:
            if self.names and change.event.kind == CLASS:  # a health event has no clip
                change = self.names(change)
            if change.kind == START and change.event.kind == CLASS:
                self.started[change.event.label] += 1
            for listener in self.listeners:
                if listener.error is None:
                    try:
                        listener.write_event(change)
                    except Exception as error:  # noqa: BLE001 - that output's failure, not the events'
                        debug_traceback("events: an output failed", error)
                        listener.error = str(error) or type(error).__name__
