"""Components taking a reload's changed spec (``app/components.py``) on small fakes: the events
naming the clips of a camera a reload starts recording, the model's watch stopped when a reload
switches it off."""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest

from live_classify.app import components
from live_classify.app.components import EventsPart, WatchPart
from live_classify.app.specs import (
    CameraSpec,
    EventsSpec,
    JsonlSpec,
    MqttSpec,
    RecordSpec,
    WatchSpec,
    WebSpec,
    WindowSpec,
)
from live_classify.app.watch import watch
from live_classify.config import EventConfig, GateConfig, RecordConfig, SourceConfig
from live_classify.engine.classifier import Classification, StageTimes
from live_classify.engine.postprocess import TopK
from live_classify.pipeline.frames import Frame, Prediction
from live_classify.sinks.events.rules import Change
from live_classify.sinks.jsonl_file import Rotation
from live_classify.sources.capture import parse_video_source

RULES = EventConfig(("tiger cat",), threshold=0.5, hold_s=0.5, gap_s=1.0)
DOOR = SourceConfig(parse_video_source("http://127.0.0.1:8554/door"), name="door", min_confidence=0.3)


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


def test_events_name_the_clips_of_the_cameras_that_record_them_from_the_start(tmp_path: Path) -> None:
    part = EventsPart(EventsSpec(RULES, (("door", RULES), ("yard", RULES)), (), (("door", tmp_path),)), clock_world())
    assert clips_named(part, "yard") == [None, None]
    part = EventsPart(EventsSpec(RULES, (("door", RULES), ("yard", RULES)), (), (("door", tmp_path),)), clock_world())
    assert all(clip and clip.startswith("door/events/") for clip in clips_named(part, "door"))


def test_a_reload_that_stops_a_cameras_clips_names_none(tmp_path: Path) -> None:
    part = EventsPart(EventsSpec(RULES, (("door", RULES),), (), (("door", tmp_path),)), clock_world())
    assert part.reconfigure(EventsSpec(RULES, (("door", RULES),), (), ()))
    assert clips_named(part, "door") == [None, None]


def test_an_event_going_on_across_a_reload_ends_naming_the_clip_its_start_named(tmp_path: Path) -> None:
    """A reload that changes the events (here: a camera added) while the door's event goes on: its
    end names the clip its start named, the one the recorder opened then (on disk by now), not
    another name beside it (``..._2.mp4``, never written)."""
    part = EventsPart(EventsSpec(RULES, (("door", RULES),), (), (("door", tmp_path),)), clock_world())
    heard = Listener()
    part.wire([cast(Any, heard)])
    part.events.write_predictions([seen("door", i) for i in range(8)])
    [start] = heard.changes
    assert start.event.clip is not None
    (tmp_path / start.event.clip).parent.mkdir(parents=True)
    (tmp_path / start.event.clip).write_bytes(b"")  # the clip, opened by the recorder as the event started
    assert part.reconfigure(EventsSpec(RULES, (("door", RULES), ("yard", RULES)), (), (("door", tmp_path),)))
    part.events.write_predictions([seen("door", i) for i in range(8, 12)])
    part.events.close()
    assert [(c.kind, c.event.camera, c.event.clip) for c in heard.changes] == [
        ("start", "door", start.event.clip), ("end", "door", start.event.clip)], "the end names another clip"


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


class Recorder:
    """A sink's stand-in: what it was made with, and each call made to it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.made = (args, kwargs)
        self.calls: list[tuple[str, tuple]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.calls.append((name, args))


class FakeCameras:
    """The run's cameras as a camera component sees them: ``door`` runs, others are added."""

    provider = "CPU"

    def __init__(self) -> None:
        self.members = {"door": SimpleNamespace(name="door", camera=SimpleNamespace(snapshot=None, flow=None))}
        self.calls: list[tuple] = []

    def find(self, name: str) -> Any:
        return self.members.get(name)

    def new_member(self, source_config: object, source: object) -> Any:
        self.calls.append(("new_member", source_config, source))
        return SimpleNamespace(camera=SimpleNamespace(snapshot=None, flow=None))

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.calls.append((name, *args))


def camera_world() -> Any:
    removed: list[str] = []
    return SimpleNamespace(cameras=FakeCameras(), opened={}, window=None, collector=None, removed=removed.append,
                           relearn=lambda name: None,
                           gone=removed, own=lambda camera, sink: sink, status_of=lambda name: None,
                           encoders={}, components={})


def test_a_camera_takes_its_threshold_and_gate_in_place_and_anything_else_restarts_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components, "Annotator", lambda *args: args[3])  # the threshold it draws with
    world = camera_world()
    part = components.CameraPart(CameraSpec.of(DOOR), world)
    assert world.cameras.calls == [("annotate", "door", 0.3), ("retune", "door", 0.3, None, DOOR.health, True)], \
        "a running camera is not made again"
    gate = GateConfig(refresh_s=5.0)
    assert part.reconfigure(CameraSpec.of(replace(DOOR, min_confidence=0.15, gate=gate)))
    assert world.cameras.calls[-1] == ("retune", "door", 0.15, gate, DOOR.health, True)
    assert not part.reconfigure(CameraSpec.of(replace(DOOR, smooth=0.5)))
    assert world.cameras.calls[-1] == ("retune", "door", 0.15, gate, DOOR.health, True), "a restart is not a retune"
    part.retire(None)
    assert world.gone == ["door"]


def test_a_new_camera_uses_the_source_the_reload_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components, "Annotator", lambda *args: args[3])
    world = camera_world()
    yard, opened = replace(DOOR, name="yard", min_confidence=None), object()
    world.opened["yard"] = opened
    components.CameraPart(CameraSpec.of(yard), world)
    new = CameraSpec.of(yard).source
    assert world.cameras.calls[0] == ("new_member", new, opened) and world.opened == {}
    assert [call[0] for call in world.cameras.calls] == ["new_member", "add", "annotate", "retune"]
    assert world.cameras.calls[-2] == ("annotate", "yard", None)


def test_the_json_lines_take_new_names_and_thresholds_in_place_and_reopen_for_a_new_file(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components, "JsonLines", Recorder)
    first = JsonlSpec("p.jsonl", True, "door-src", (("door", "door-src"),), (("door", 0.3),), 0.2, Rotation())
    part = components.JsonlPart(first, camera_world())
    assert part.jsonl.made == (("p.jsonl", "door-src"), {  # type: ignore[attr-defined]
        "drop": True, "min_confidence": 0.2, "sources": {"door": "door-src"}, "thresholds": {"door": 0.3},
        "rotation": Rotation()})
    two = replace(first, sources=(("door", "door-src"), ("yard", "y")), thresholds=(("door", 0.3), ("yard", 0.5)),
                  min_confidence=0.1)
    assert part.reconfigure(two)
    assert part.jsonl.calls == [("reconfigure", ({"door": "door-src", "yard": "y"},  # type: ignore[attr-defined]
                                                 {"door": 0.3, "yard": 0.5}, 0.1))]
    for reopened in (replace(two, target="q.jsonl"), replace(two, drop=False),
                     replace(two, rotation=Rotation("daily"))):
        assert not part.reconfigure(reopened), reopened


def broker(url: str, discovery: bool = True) -> Any:
    return SimpleNamespace(broker=url, discovery=discovery)


def test_mqtt_keeps_its_connection_for_a_new_threshold_or_labels_and_clears_only_what_it_will_not_publish(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components, "MqttSink", Recorder)
    spec, world = MqttSpec(broker("mqtt://a/p"), "door", "door-src", 0.3, ("person",)), camera_world()
    world.own = lambda camera, sink: (camera, sink)  # several cameras: each its own frames
    part = components.MqttPart(spec, world)
    assert part.sink == ("door", part.mqtt)
    args, kwargs = part.mqtt.made  # type: ignore[attr-defined]
    assert (args[:3], args[4], kwargs) == ((spec.mqtt, "door", "door-src"), 0.3,
                                           {"events": ("person",), "problems": spec.problems})
    assert part.reconfigure(replace(spec, min_confidence=0.5, labels=("person", "cat")))
    assert part.mqtt.calls[-1] == ("reconfigure", (0.5, ("person", "cat"), spec.problems))  # type: ignore[attr-defined]
    for restarted in (replace(spec, mqtt=broker("mqtt://b/p")), replace(spec, source_name="other")):
        assert not part.reconfigure(restarted)
    forgotten = {}
    for what, successor in {"gone": None, "another broker": replace(spec, mqtt=broker("mqtt://b/p")),
                            "no discovery": replace(spec, mqtt=broker("mqtt://a/p", discovery=False)),
                            "the same broker": replace(spec, mqtt=broker("mqtt://a/p"), labels=("cat",))}.items():
        part.retire(successor)
        forgotten[what] = part.mqtt.calls[-1]  # type: ignore[attr-defined]
    assert forgotten == {"gone": ("forget", (None,)), "another broker": ("forget", (None,)),
                         "no discovery": ("forget", (None,)), "the same broker": ("forget", (("cat",),))}


def test_the_web_view_keeps_its_server_for_new_cameras_threshold_or_recordings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(components, "WebView", Recorder)
    serve: Any = SimpleNamespace(sock=None, token="t", fps=None, clients=None, password=None, hosts=())
    spec = WebSpec(serve, (("door", "door-src"), ("yard", "y")), 0.3, None)
    world = camera_world()
    world.configuration = None
    part = components.WebPart(spec, world)
    (_, feeds, options), _ = part.web.made  # type: ignore[attr-defined]
    assert [(f.name, f.source_name) for f in feeds] == [("door", "door-src"), ("yard", "y")]
    assert (options.token, options.min_confidence) == ("t", 0.3)
    assert part.reconfigure(replace(spec, feeds=(("yard", "y"),), min_confidence=0.5, recordings=Path("/rec")))
    name, (feeds, threshold, recordings, users) = part.web.calls[-1]  # type: ignore[attr-defined]
    assert (name, [(f.name, f.source_name) for f in feeds], threshold, recordings, users) == (
        "reconfigure", [("yard", "y")], 0.5, Path("/rec"), spec.users)
    assert not part.reconfigure(replace(spec, serve=SimpleNamespace(**{**vars(serve), "token": "u"})))


def test_a_grid_takes_the_reloads_cameras_and_one_window_says_it_cannot(monkeypatch: pytest.MonkeyPatch) -> None:
    warned: list[str] = []
    monkeypatch.setattr(components, "warning", warned.append)
    grid, world = Recorder(), camera_world()
    world.window = grid
    assert components.WindowPart(WindowSpec(("door",)), world).reconfigure(WindowSpec(("door", "yard")))
    assert grid.calls == [("set_cameras", (["door", "yard"],))] and warned == []
    world.window = SimpleNamespace()  # one window: no tiles
    assert components.WindowPart(WindowSpec(("door",)), world).reconfigure(WindowSpec(("door",)))
    assert warned == []
    assert components.WindowPart(WindowSpec(("door",)), world).reconfigure(WindowSpec(("door", "yard")))
    assert len(warned) == 1 and "grid after a restart" in warned[0]


def test_a_recording_uses_the_encoder_the_reload_chose_and_the_runs_index(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple] = []
    monkeypatch.setattr(components, "recording", lambda spec, member, encoding, index, captured:
                        made.append((spec.camera, encoding, index, captured())) or "sink")
    world = camera_world()
    world.captured_of = lambda name: {"door": 42}[name]
    world.own = lambda camera, sink: (camera, sink)
    record = RecordConfig(Path("/rec/"), segment_s=60.0)
    spec = RecordSpec("door", record, 0.0, Path("/rec/"))
    assert components.RecordPart(spec, world).sink == ("door", "sink")
    world.components[("index",)] = index = components.IndexPart.__new__(components.IndexPart)
    index.index = "the index"  # type: ignore[assignment]
    world.encoders[record.path] = "chosen"
    components.RecordPart(spec, world)
    assert made == [("door", record.encoding, None, 42), ("door", "chosen", "the index", 42)]
