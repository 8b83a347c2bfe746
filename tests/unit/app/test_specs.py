"""A camera's spec (``app/specs.py``): its live fields (threshold, motion gate) change without a
restart, anything else of its capture restarts it."""
from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from live_classify.app.specs import (
    CameraSpec,
    EventsSpec,
    IndexSpec,
    JsonlSpec,
    MqttSpec,
    RecordSpec,
    TeachSpec,
    WatchSpec,
    WebhooksSpec,
    WebSpec,
    WindowSpec,
    indexed_directory,
    jsonl_target,
    media_url,
    specs,
)
from live_classify.config import (
    CollectConfig,
    EventConfig,
    GateConfig,
    HealthConfig,
    OutputConfig,
    RecordConfig,
    RunConfig,
    SourceConfig,
    WebhookConfig,
)
from live_classify.sinks.jsonl_file import Rotation
from live_classify.sources.capture import parse_video_source

DOOR = SourceConfig(parse_video_source("http://127.0.0.1:8554/door"), name="door", min_confidence=0.3)


def test_a_new_motion_gate_or_threshold_keeps_the_capture_and_is_taken_up() -> None:
    gate = GateConfig(refresh_s=5.0, area_pct=1.0)
    for changed in (replace(DOOR, gate=gate), replace(DOOR, min_confidence=0.15), replace(DOOR, gate=gate,
                                                                                         min_confidence=None)):
        before, after = CameraSpec.of(DOOR), CameraSpec.of(changed)
        assert before != after, "a reload must see the change"
        assert before.same_capture(after), f"{changed}: the camera would restart"
        assert (after.gate, after.min_confidence) == (changed.gate, changed.min_confidence)


def test_anything_else_of_the_capture_restarts_it() -> None:
    assert not CameraSpec.of(DOOR).same_capture(CameraSpec.of(replace(DOOR, smooth=0.5)))
    assert not CameraSpec.of(DOOR).same_capture(CameraSpec.of(replace(DOOR, spec=parse_video_source("http://h/yard"))))


def clip_of(folder: Path) -> SourceConfig:
    """A video file (it need only exist: nothing opens it here)."""
    (path := folder / "clip.mp4").write_bytes(b"")
    return SourceConfig(parse_video_source(str(path)), name="clip")


def test_the_json_lines_drop_only_when_every_camera_is_live(tmp_path: Path) -> None:
    """A slow reader may lose live lines, never a file's (a file is classified frame by frame)."""
    clip = clip_of(tmp_path)
    out = OutputConfig(jsonl="p.jsonl", headless=True)
    assert not clip.spec.live and DOOR.spec.live
    jsonl = {names: specs(RunConfig(tuple(sources), out), window=False)[("jsonl",)]
             for names, sources in (("door", [DOOR]), ("door+clip", [DOOR, clip]), ("clip", [clip]))}
    assert {names: spec.drop for names, spec in jsonl.items()} == {"door": True, "door+clip": False, "clip": False}


def test_a_recording_is_indexed_where_it_writes_segments_or_clips_and_only_there() -> None:
    rules = EventConfig(("espresso",))
    root = Path("/rec/")
    plans = {"segments": RecordConfig(root, segment_s=60.0), "clips": RecordConfig(root, mode="events"),
             "both": RecordConfig(root, segment_s=60.0, mode="both"), "one file": RecordConfig(root, mode="continuous")}
    indexed = {}
    for what, record in plans.items():
        door = replace(DOOR, record=record, events=rules)
        found = specs(RunConfig((door,), OutputConfig(record=record, events=rules, headless=True)), window=False)
        spec = found[("record", "door")]
        assert isinstance(spec, RecordSpec)
        indexed[what] = spec.indexed
    assert indexed == {"segments": root, "clips": root, "both": root, "one file": None}


def test_the_events_run_on_the_wall_clock_for_live_cameras_only(tmp_path: Path) -> None:
    clip = clip_of(tmp_path)
    rules = EventConfig(("espresso",))
    found = specs(RunConfig((DOOR, clip), OutputConfig(events=rules, headless=True)), window=False)
    events = found[("events",)]
    assert isinstance(events, EventsSpec)
    assert events.live == ("door",) and dict(events.own) == {"door": None, "clip": None}


def test_health_checks_alone_run_the_events_for_their_problems() -> None:
    """Issue 35: a live camera's health checks (on by default) are told as events with no ``--event``
    at all; with health off and no rule there are no events."""
    found = specs(RunConfig((replace(DOOR, health=HealthConfig()),), OutputConfig(headless=True)), window=False)
    events = found[("events",)]
    assert isinstance(events, EventsSpec)
    assert events.rules is None and events.live == ("door",)
    assert ("events",) not in specs(RunConfig((DOOR,), OutputConfig(headless=True)), window=False)

def test_every_picture_is_decoded_where_a_window_or_a_recording_shows_it_and_that_changes_in_place() -> None:
    record = RecordConfig(Path("/rec/"), segment_s=60.0)
    yard = replace(DOOR, name="yard", record=record)

    def every_picture(window: bool, *sources: SourceConfig) -> dict[str, bool]:
        found = specs(RunConfig(sources, OutputConfig(record=record, headless=not window)), window=window)
        return {key[1]: spec.every_picture for key, spec in found.items() if isinstance(spec, CameraSpec)}

    assert every_picture(False, DOOR, yard) == {"door": False, "yard": True}  # headless: the recorded one only
    assert every_picture(True, DOOR, yard) == {"door": True, "yard": True}  # a window shows every camera
    before = CameraSpec.of(DOOR, every_picture=False)
    after = CameraSpec.of(DOOR, every_picture=True)
    assert before != after and before.same_capture(after), "a recording added by a reload restarts the camera"


def test_a_cameras_recording_or_events_are_not_its_capture() -> None:
    """Another camera's outputs (its recording, its event rules) never restart its capture."""
    other = replace(DOOR, record=RecordConfig(Path("/rec/"), segment_s=60.0), events=EventConfig(("espresso",)))
    assert CameraSpec.of(DOOR) == CameraSpec.of(other)


def test_a_recordings_pre_roll_spans_its_event_hold_only_where_it_records_clips() -> None:
    rules = EventConfig(("espresso",), hold_s=2.5)
    plans = {"clips": (RecordConfig(Path("/rec/"), mode="events"), rules),
             "segments": (RecordConfig(Path("/rec/"), segment_s=60.0), rules),
             "clips, no events": (RecordConfig(Path("/rec/"), mode="events"), None)}
    hold = {}
    for what, (record, events) in plans.items():
        door = replace(DOOR, record=record, events=events)
        spec = specs(RunConfig((door,), OutputConfig(record=record, events=events, headless=True)), False)
        hold[what] = spec[("record", "door")].hold_s  # type: ignore[union-attr]
    assert hold == {"clips": 2.5, "segments": 0.0, "clips, no events": 0.0}


def test_each_output_is_one_spec_made_of_its_own_settings(tmp_path: Path) -> None:
    """A run of everything: each spec's fields, from the run's and each camera's settings."""
    root = Path("/rec/")
    clip = replace(clip_of(tmp_path), min_confidence=None, record=RecordConfig(root, segment_s=60.0))  # no clips
    rules = EventConfig(("espresso",))
    own = EventConfig(("person",), hold_s=2.5)
    record = RecordConfig(root, segment_s=60.0, mode="both")
    door = replace(DOOR, record=record, events=own)
    serve, mqtt = SimpleNamespace(sock=None), SimpleNamespace(discovery=False)
    out = OutputConfig(jsonl="p.jsonl", jsonl_rotate="daily", jsonl_keep=3, min_confidence=0.2, record=record,
                       events=rules, webhooks=WebhookConfig(("http://h/x",), "t", "https://pub"), serve=serve,
                       mqtt=mqtt)  # type: ignore[arg-type]
    found = specs(RunConfig((door, clip), out, model=Path("m.onnx"), watch_model=True), window=True)
    names = (("door", door.spec.name), ("clip", clip.spec.name))
    assert found == {
        ("camera", "door"): CameraSpec.of(door), ("camera", "clip"): CameraSpec.of(clip),
        ("events",): EventsSpec(rules, (("door", own), ("clip", None)), ("door",), (("door", root),)),
        ("jsonl",): JsonlSpec("p.jsonl", False, door.spec.name, names, (("door", 0.3), ("clip", None)), 0.2,
                              Rotation("daily", 3)),
        ("record", "door"): RecordSpec("door", record, 2.5, root),
        ("record", "clip"): RecordSpec("clip", clip.record, 0.0, root),  # type: ignore[arg-type]
        ("window",): WindowSpec(("door", "clip")),
        ("web",): WebSpec(serve, names, 0.2, root),  # type: ignore[arg-type]
        ("mqtt", "door"): MqttSpec(mqtt, "door", door.spec.name, 0.3, ("person",)),  # type: ignore[arg-type]
        ("mqtt", "clip"): MqttSpec(mqtt, "clip", clip.spec.name, None, ()),  # type: ignore[arg-type]
        ("webhooks",): WebhooksSpec(("http://h/x",), "t", "https://pub"),
        ("index",): IndexSpec(root),
        ("teach",): TeachSpec(root, Path("m.onnx")),  # the classes taught from the recordings
        ("watch-model",): WatchSpec(Path("m.onnx")),
    }
    assert list(found)[:2] == [("camera", "door"), ("camera", "clip")], "the cameras first: they feed the rest"
    assert ("watch-model",) not in specs(RunConfig((door,), out, watch_model=True), window=False), "no model file"
    assert ("watch-model",) not in specs(RunConfig((door,), out, model=Path("m.onnx")), window=False)


def test_the_json_lines_go_to_stdout_only_when_nothing_else_shows_a_result() -> None:
    record, serve = RecordConfig(Path("/rec/")), SimpleNamespace()
    cases: dict[str, tuple[OutputConfig, bool]] = {
        "nothing": (OutputConfig(), False), "a window": (OutputConfig(), True),
        "a recording": (OutputConfig(record=record), False),
        "the web view": (OutputConfig(serve=serve), False),  # type: ignore[arg-type]
        "a headless collection": (OutputConfig(collect=CollectConfig(Path("c"), label="cup")), False),
        "a collection by keys": (OutputConfig(collect=CollectConfig(Path("c"), classes=("cup",))), False),
        "--jsonl and a window": (OutputConfig(jsonl="p.jsonl"), True)}
    assert {what: jsonl_target(out, window) for what, (out, window) in cases.items()} == {
        "nothing": "-", "a window": None, "a recording": None, "the web view": None, "a headless collection": None,
        "a collection by keys": "-", "--jsonl and a window": "p.jsonl"}


def test_a_recording_folder_is_indexed_when_it_has_segments_or_events() -> None:
    rules, root = EventConfig(("espresso",)), Path("/rec/")
    cases = {"segments": OutputConfig(record=RecordConfig(root, segment_s=60.0)),
             "events": OutputConfig(record=RecordConfig(root), events=rules),
             "one file per camera": OutputConfig(record=RecordConfig(root)),
             "a file": OutputConfig(record=RecordConfig(Path("/rec/a.mp4"), segment_s=60.0), events=rules),
             "no recording": OutputConfig(events=rules)}
    assert {what: indexed_directory(out) for what, out in cases.items()} == {
        "segments": root, "events": root, "one file per camera": None, "a file": None, "no recording": None}


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_webhooks_find_the_clips_on_the_web_view_that_serves_them(host: str) -> None:
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.bind((host, 0))
    except OSError:
        pytest.skip(f"{host}: not on this machine")
    with sock:
        port = sock.getsockname()[1]
        served: Any = OutputConfig(record=RecordConfig(Path("/rec/"), segment_s=60.0), serve=SimpleNamespace(sock=sock),
                                   events=EventConfig(("espresso",)))  # type: ignore[arg-type]
        shown = f"[{host}]" if ":" in host else host
        assert media_url(served) == f"http://{shown}:{port}"
        assert media_url(replace(served, record=None)) is None, "no index: the web view serves no clip"
        assert media_url(replace(served, serve=None)) is None


def test_webhooks_are_built_for_the_cameras_health_problems_alone_and_not_where_no_event_can_come() -> None:
    hooks = WebhookConfig(("http://h/x",))
    watched = replace(DOOR, health=HealthConfig())
    found = specs(RunConfig((watched,), OutputConfig(jsonl="-", webhooks=hooks), model=Path("m.onnx")), window=False)
    assert found[("webhooks",)] == WebhooksSpec(("http://h/x",), None, None)
    assert found[("events",)] == EventsSpec(None, (("door", None),), ("door",), ())
    unwatched = replace(DOOR, health=None)
    found = specs(RunConfig((unwatched,), OutputConfig(jsonl="-", webhooks=hooks), model=Path("m.onnx")), window=False)
    assert ("webhooks",) not in found and ("events",) not in found
