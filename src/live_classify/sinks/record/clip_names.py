"""Where an event's clip goes: ``DIR/<camera>/events/<YYYY-MM-DD>/<HH-MM-SS>-<label>.mp4`` (local
time of the event's start), its best frame ``<same stem>.jpg`` and its sidecar ``<same stem>.json``
(the event as the JSON lines carry it, for ``live-classify index DIR`` to rebuild the events table).

Named on the main loop as the event starts, so that its start's JSON line, MQTT message, webhook,
SSE message and index row already say where its clip is (paths relative to DIR). An event that
starts while its camera's recording is stopped (a full disk) gets no clip (``clip`` null), never
another's footage. No encoder here.
"""
from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from live_classify import log
from live_classify.sinks import troubles
from live_classify.sinks.events.rules import END, Change, Event

EVENTS = "events"  # the folder under each camera's: apart from the segments' day folders
CLIP = re.compile(r"\d{2}-\d{2}-\d{2}-.+\.mp4")  # only files named so are clips (retention, the rebuild)


def label_part(label: str) -> str:
    """A label as a file name has it: ``tiger cat`` -> ``tiger-cat``."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", label).strip("-.") or "event"


def part_path(first: Path, part: int) -> Path:
    """``--event-max``: an event's clip number ``part`` (2, 3...) beside its first: ``<name>.<part>.mp4``."""
    return first.with_name(f"{first.stem}.{part}{first.suffix}")


def thumbnail_of(clip: Path) -> Path:
    return clip.with_suffix(".jpg")


def sidecar_of(clip: Path) -> Path:
    return clip.with_suffix(".json")


class ClipNames:
    """Gives each event of a camera that records clips its names (the same at its start and end)."""

    def __init__(self, roots: Mapping[str, Path]) -> None:
        """``roots``: each camera that records clips, and its ``--record DIR/``."""
        self.roots = dict(roots)
        self._given: dict[str, str] = {}  # event id: its clip, while it goes on

    def reroot(self, roots: Mapping[str, Path]) -> None:
        """A reload's cameras that record clips (an event going on keeps the clip its start named)."""
        self.roots = dict(roots)

    def __call__(self, change: Change) -> Change:
        event = change.event
        if event.camera not in self.roots:
            return change
        clip = self._given.get(event.id)
        if clip is None:
            clip = self._new(event)
        if change.kind == END:
            self._given.pop(event.id, None)
        else:
            self._given[event.id] = clip
        if not clip:  # no footage: it says so
            return replace(change, event=replace(event, clip=None, thumbnail=None))
        return replace(change, event=replace(event, clip=clip, thumbnail=str(thumbnail_of(Path(clip)))))

    def _new(self, event: Event) -> str:
        """A name no file and no event going on has (``_2``, ``_3``... within one second); "" while
        the camera's recording is stopped: the event has no footage."""
        if why := troubles.stopped("recording", event.camera):
            log.info(f"{event.camera}: the {event.label} event {event.id} has no clip: recording {why}")
            return ""
        moment = time.localtime(event.start)
        stem = f"{event.camera}/{EVENTS}/{time.strftime('%Y-%m-%d', moment)}/" \
               f"{time.strftime('%H-%M-%S', moment)}-{label_part(event.label)}"
        clip, n = f"{stem}.mp4", 1
        while clip in self._given.values() or (self.roots[event.camera] / clip).exists():
            n += 1
            clip = f"{stem}_{n}.mp4"
        return clip
