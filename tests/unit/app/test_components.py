"""Components taking a reload's changed spec (``app/components.py``) on small fakes: the events
naming the clips of a camera a reload starts recording, the model's watch stopped when a reload
switches it off."""
from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest

from live_classify.app import components
from live_classify.app.components import EventsPart, WatchPart
from live_classify.app.specs import EventsSpec, WatchSpec
from live_classify.app.watch import watch
from live_classify.config import EventConfig
from live_classify.engine.classifier import Classification, StageTimes
from live_classify.engine.postprocess import TopK
from live_classify.pipeline.frames import Frame, Prediction
from live_classify.sinks.events.rules import Change

RULES = EventConfig(("tiger cat",), threshold=0.5, hold_s=0.5, gap_s=1.0)


class Listener:
    error: str | None = None

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def write_event(self, change: Change) -> None:
        self.changes.append(change)


def seen(camera: str, index: int) -> Prediction:
    frame = Frame(index, index / 10, 1_700_000_000 + index / 10, np.zeros((2, 2, 3), np.uint8), camera)
    return Prediction(frame, Classification(TopK((1,), ("tiger cat",), (0.9,)), StageTimes(1.0, 1.0, 1.0),
                                            np.zeros(2)), 0.0)


def clock_world() -> Any:
    return SimpleNamespace(clock_of=lambda name: (lambda frame: frame.index / 10.0))


def clips_named(part: EventsPart, camera: str) -> list[str | None]:
    """The clips an event of ``camera`` names, start and end, as its listeners hear them."""
    heard = Listener()
    part.wire([cast(Any, heard)])
    part.events.write_predictions([seen(camera, i) for i in range(8)])
    part.events.close()
    return [c.event.clip for c in heard.changes if c.event.camera == camera]


def test_events_started_without_clips_name_the_clips_of_a_camera_a_reload_records(tmp_path: Path) -> None:
    part = EventsPart(EventsSpec(RULES, (("door", RULES),), ("door",), ()), clock_world())
    assert part.reconfigure(EventsSpec(RULES, (("door", RULES),), (), (("door", tmp_path),)))
    named = clips_named(part, "door")
    assert len(named) == 2 and named[0] is not None and named[0].startswith("door/events/"), named
    assert named[0] == named[1], "the end names its start's clip"


def test_a_reload_that_stops_a_cameras_clips_names_none(tmp_path: Path) -> None:
    part = EventsPart(EventsSpec(RULES, (("door", RULES),), (), (("door", tmp_path),)), clock_world())
    assert part.reconfigure(EventsSpec(RULES, (("door", RULES),), (), ()))
    assert clips_named(part, "door") == [None, None]


def test_the_model_watch_stops_when_a_reload_switches_it_off(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    threads: list[threading.Thread] = []

    def quick(path: Path, changed: threading.Event, stop: threading.Event) -> threading.Thread:
        threads.append(watch(path, changed, stop, every_s=0.01))
        return threads[-1]

    monkeypatch.setattr(components, "watch", quick)
    (model := tmp_path / "m.onnx").write_bytes(b"first")
    world: Any = SimpleNamespace(model_changed=threading.Event())
    for end in (lambda part: part.retire(None), lambda part: part.end()):
        end(WatchPart(WatchSpec(model), world))
        threads[-1].join(timeout=10)
        assert not threads[-1].is_alive(), "the watch goes on after watch-model was switched off"
