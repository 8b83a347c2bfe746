"""Which components a reload reaches when it changes one key of the configuration alone: the keys of
one camera (every field of its ``SourceConfig``) and of the run's outputs. A reload leaves a component
alone exactly when its spec stays equal (``reconcile``), so each key must reach the specs of the
components made of it, and no other: the untouched camera's capture, recording (an open segment),
MQTT connection and the web server stay as they were. A ``SourceConfig`` key without a row fails.

What each reached component then does (in place or replaced) is ``test_reload_fields.py``'s table."""
from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from live_classify.app.specs import Key, Spec, specs
from live_classify.config import (
    CameraSettings,
    EventConfig,
    GateConfig,
    HealthConfig,
    OutputConfig,
    RecordConfig,
    RunConfig,
    SourceConfig,
    WebhookConfig,
)
from live_classify.sources.capture import parse_video_source

ROOT = Path("/rec/")
RECORD = RecordConfig(ROOT, segment_s=60.0, mode="both")
OWN = EventConfig(("person",), hold_s=2.5)
RULES = EventConfig(("espresso",))
HOOKS = WebhookConfig(("http://h/x",), "t", "https://pub")
DOOR = SourceConfig(parse_video_source("http://127.0.0.1:8554/door"), name="door", min_confidence=0.3,
                    record=RECORD, events=OWN, health=HealthConfig())
YARD = SourceConfig(parse_video_source("http://127.0.0.1:8554/yard"), name="yard", record=RECORD, events=RULES)
MQTT = SimpleNamespace(discovery=True, broker="mqtt://a/p")
OUT = OutputConfig(jsonl="p.jsonl", min_confidence=0.2, record=RECORD, events=RULES, webhooks=HOOKS,
                   serve=SimpleNamespace(sock=None), mqtt=MQTT)  # type: ignore[arg-type]

CAMERA = {("camera", "door")}
# door's key -> (its new value, the components a reload changing it alone reaches)
DOOR_KEYS: dict[str, tuple[object, set[Key]]] = {
    "spec": (parse_video_source("http://127.0.0.1:8554/other"),
             CAMERA | {("jsonl",), ("web",), ("mqtt", "door")}),  # the source's name is on their lines
    "name": ("porch", {("camera", "door"), ("camera", "porch"), ("record", "door"), ("record", "porch"),
                       ("mqtt", "door"), ("mqtt", "porch"), ("jsonl",), ("web",), ("events",)}),
    "camera": (CameraSettings(fps=5.0), CAMERA),
    "open_timeout": (20.0, CAMERA),
    "read_timeout": (9.0, CAMERA),
    "rtsp_transport": ("udp", CAMERA),
    "realtime": (True, CAMERA),
    "reconnect": (3, CAMERA),
    "threads": (2, CAMERA),
    "smooth": (0.5, CAMERA),
    "record": (replace(RECORD, segment_s=30.0), {("record", "door")}),
    "min_confidence": (0.6, CAMERA | {("jsonl",), ("mqtt", "door")}),
    "events": (EventConfig(("cat",), hold_s=2.5), {("events",), ("mqtt", "door")}),
    "gate": (GateConfig(), CAMERA),
    "health": (HealthConfig(checks=("offline",)), CAMERA | {("mqtt", "door")}),
}


def reached(before: dict[Key, Spec], after: dict[Key, Spec]) -> set[Key]:
    """The components a reload from ``before`` to ``after`` opens, changes or closes."""
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def test_every_key_of_a_camera_has_a_row() -> None:
    assert set(DOOR_KEYS) == {f.name for f in fields(SourceConfig)}


@pytest.mark.parametrize("key", sorted(DOOR_KEYS))
def test_a_cameras_key_reaches_its_own_components_and_no_other(key: str) -> None:
    value, wanted = DOOR_KEYS[key]
    assert getattr(DOOR, key) != value
    before = specs(RunConfig((DOOR, YARD), OUT), window=False)
    after = specs(RunConfig((replace(DOOR, **{key: value}), YARD), OUT), window=False)
    assert reached(before, after) == wanted


# the run's output key -> (its new value, the components a reload changing it alone reaches)
OUTPUT_KEYS: dict[str, tuple[object, set[Key]]] = {
    "jsonl": ("q.jsonl", {("jsonl",)}),
    "jsonl_rotate": ("daily", {("jsonl",)}),
    "jsonl_keep": (3, {("jsonl",)}),
    "min_confidence": (0.5, {("jsonl",), ("web",)}),  # each camera's own threshold is the camera's
    "serve": (SimpleNamespace(sock=None, token="u"), {("web",)}),  # webhooks: --public-url names the media
    "mqtt": (SimpleNamespace(discovery=False, broker="mqtt://a/p"), {("mqtt", "door"), ("mqtt", "yard")}),
    "events": (replace(RULES, threshold=0.7), {("events",)}),
    "webhooks": (replace(HOOKS, token="u"), {("webhooks",)}),
}


@pytest.mark.parametrize("key", sorted(OUTPUT_KEYS))
def test_an_output_key_reaches_its_own_components_and_no_other(key: str) -> None:
    value, wanted = OUTPUT_KEYS[key]
    before = specs(RunConfig((DOOR, YARD), OUT), window=False)
    after = specs(RunConfig((DOOR, YARD), replace(OUT, **{key: value})), window=False)
    assert reached(before, after) == wanted


def test_the_model_reaches_the_taught_classes_and_its_watch_alone() -> None:
    before = specs(RunConfig((DOOR, YARD), OUT, model=Path("a.onnx"), watch_model=True), window=False)
    after = specs(RunConfig((DOOR, YARD), OUT, model=Path("b.onnx"), watch_model=True), window=False)
    assert reached(before, after) == {("teach",), ("watch-model",)}


def test_a_new_event_hold_reaches_a_recording_only_where_it_records_clips() -> None:
    """The hold is the clips' pre-roll: a recording of segments alone keeps its open segment."""
    yard = replace(YARD, record=RecordConfig(ROOT, segment_s=60.0))  # segments, no clips
    held = replace(RULES, hold_s=9.0)
    before = specs(RunConfig((DOOR, yard), OUT), window=False)
    after = specs(RunConfig((replace(DOOR, events=replace(OWN, hold_s=9.0)), replace(yard, events=held)), OUT),
                  window=False)
    assert reached(before, after) == {("events",), ("record", "door")}
