"""Every field of every spec (``app/specs.py``) and what a reload that changes it alone does to its
component (``app/components.py``): taken **in place** (the same sink, nothing closed: an open
segment, an event going on, a learned health normal, a broker connection stay) or **replaced**
(``reconfigure`` says no; the reconcile closes it and builds it anew from the new spec).

For each in-place field, the component built from spec A then reconfigured to B must hold what one
built fresh from B holds (the oracle of issue 31, at the component level); each replaced field must
make ``reconfigure`` refuse. A spec field with no row fails :func:`test_every_field_of_every_spec_has_a_row`.

Each row also names the test (besides this module's) that shows what a user then sees: the JSON
lines, MQTT, the web view's answers, the index, the files, the camera
(:func:`test_each_row_names_a_test_that_exists` keeps those names true); ``tests/unit/app/README.md``
is the table in words.

A reload that does not change a spec leaves its component alone (never reconfigured nor replaced):
``unit/app/test_reconcile.py::test_equal_untouched_changed_reconfigured_or_replaced_removed_closed_new_opened``;
which spec a configuration key reaches is ``unit/app/test_specs.py``'s.
"""
from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_components import Listener, Recorder, broker, camera_world, clock_world, seen

from live_classify.app import components, specs
from live_classify.app.specs import (
    CameraSpec,
    CollectSpec,
    EventsSpec,
    IndexSpec,
    JsonlSpec,
    MqttSpec,
    NotifySpec,
    RecordSpec,
    TeachSpec,
    WatchSpec,
    WebhooksSpec,
    WebSpec,
    WindowSpec,
)
from live_classify.config import (
    EventConfig,
    GateConfig,
    HealthConfig,
    NotifyConfig,
    RecordConfig,
    SourceConfig,
    WebUser,
)
from live_classify.sinks.jsonl_file import Rotation
from live_classify.sources.capture import parse_video_source

IN_PLACE, REPLACED = "in place", "replaced"

DOOR = SourceConfig(parse_video_source("http://127.0.0.1:8554/door"), name="door", min_confidence=0.3)
CAT, DOG = EventConfig(("tiger cat",), threshold=0.5), EventConfig(("dog",), threshold=0.7)
ADA = WebUser("ada", "hash", "admin")


def serve(token: str = "t") -> Any:
    return SimpleNamespace(sock=None, token=token, fps=None, clients=None, password=None, hosts=())


@dataclass(frozen=True)
class Row:
    """A spec's field: what a reload changing it alone does, from ``before`` to ``after``; ``shown``:
    the test (file under tests/, name) that shows a user what such a reload does (None: nothing a user
    sees holds state to keep, or nothing shows it: said in ``why``)."""

    reload: str
    before: Any
    after: Any
    shown: tuple[str, str] | None
    why: str = ""


JSONL = JsonlSpec("p.jsonl", True, "door-src", (("door", "door-src"),), (("door", 0.3),), 0.2, Rotation())
MQTT = MqttSpec(broker("mqtt://a/p"), "door", "door-src", 0.3, ("person",), ("offline",))
WEB = WebSpec(serve(), (("door", "door-src"),), 0.3, None, None)
EVENTS = EventsSpec(CAT, (("door", CAT), ("yard", None)), ("door",), (("yard", Path("/rec/")),))
RECORD = RecordSpec("door", RecordConfig(Path("/rec/"), segment_s=60.0), 0.0, Path("/rec/"))
TEACH = TeachSpec(Path("/a"), None)
HOOKS = WebhooksSpec(("http://a",), None, None)
NOTIFY = NotifyConfig("@systemd")
SEEN = ("e2e/test_reload_seen.py", "test_a_reload_moves_loaded_thresholds_history_and_a_refused_one_is_ready_again")
ORACLE = ("e2e/test_reload_oracle.py", "test_each_reload_of_the_table_ends_where_b_would_start")
STATELESS = "it keeps nothing a reload must carry over: a new one from the new spec is the fresh start"

# (spec class, field) -> its row; a CameraSpec's live keys as ("CameraSpec", "live.KEY").
TABLE: dict[tuple[str, str], Row] = {
    ("CameraSpec", "source"): Row(REPLACED, DOOR, replace(DOOR, smooth=0.5),
        ("e2e/test_reload.py",
        "test_a_reload_ends_starts_and_leaves_the_untouched_camera_alone")),
    ("CameraSpec", "every_picture"): Row(IN_PLACE, True, False,
        ("unit/app/test_retune.py",
        "test_a_reload_that_ends_the_last_recording_leaves_a_still_frame_undecoded")),
    ("CameraSpec", "live.min_confidence"): Row(IN_PLACE, DOOR, replace(DOOR, min_confidence=0.15),
        SEEN),
    ("CameraSpec", "live.gate"): Row(IN_PLACE, DOOR, replace(DOOR, gate=GateConfig(refresh_s=5.0)),
        ("e2e/test_gate_reload.py",
        "test_a_reload_turns_the_gate_on_changes_its_masks_and_turns_it_off_without_a_restart")),
    ("CameraSpec", "live.health"): Row(IN_PLACE, DOOR, replace(DOOR, health=HealthConfig()),
        ("unit/app/test_retune.py",
        "test_new_health_settings_reach_the_camera_and_are_learned_anew")),
    ("CameraSpec", "live"): Row(IN_PLACE, DOOR, replace(DOOR, min_confidence=None, gate=GateConfig()),
        ("unit/app/test_retune.py",
        "test_a_camera_part_hands_its_spec_s_threshold_gate_and_pictures_shown_to_its_camera")),
    ("RecordSpec", "camera"): Row(REPLACED, RECORD, replace(RECORD, camera="yard"),
        ("e2e/test_reload.py",
        "test_a_removed_camera_ends_its_recording_and_says_offline")),
    ("RecordSpec", "record"): Row(REPLACED, RECORD, replace(RECORD, record=RecordConfig(Path("/r/"), segment_s=30.0)),
        SEEN),
    ("RecordSpec", "hold_s"): Row(REPLACED, RECORD, replace(RECORD, hold_s=2.0),
        ("e2e/test_reload_outputs.py",
        "test_a_camera_added_by_a_reload_records_its_event_clips")),
    ("RecordSpec", "indexed"): Row(REPLACED, RECORD, replace(RECORD, indexed=None),
        ("unit/app/test_components.py",
        "test_a_recording_uses_the_encoder_the_reload_chose_and_the_runs_index")),
    ("JsonlSpec", "target"): Row(REPLACED, JSONL, replace(JSONL, target="q.jsonl"),
        ("e2e/test_reload_outputs.py",
        "test_the_json_lines_move_to_a_new_file_with_none_lost")),
    ("JsonlSpec", "drop"): Row(REPLACED, JSONL, replace(JSONL, drop=False),
        ("unit/app/test_specs.py",
        "test_the_json_lines_drop_only_when_every_camera_is_live")),
    ("JsonlSpec", "rotation"): Row(REPLACED, JSONL, replace(JSONL, rotation=Rotation("daily")),
        ("unit/app/test_components.py",
        "test_the_json_lines_take_new_names_and_thresholds_in_place_and_reopen_for_a_new_file")),
    ("JsonlSpec", "first_source"): Row(IN_PLACE, JSONL, replace(JSONL, first_source="other"),
        None,
        "not observable: every frame of a run names its camera, found in sources"),
    ("JsonlSpec", "sources"): Row(IN_PLACE, JSONL, replace(JSONL, sources=(("door", "new-src"), ("yard", "y"))),
        ORACLE),
    ("JsonlSpec", "thresholds"): Row(IN_PLACE, JSONL, replace(JSONL, thresholds=(("door", 0.6),)),
        SEEN),
    ("JsonlSpec", "min_confidence"): Row(IN_PLACE, JSONL, replace(JSONL, min_confidence=None),
        ORACLE),
    ("MqttSpec", "mqtt"): Row(REPLACED, MQTT, replace(MQTT, mqtt=broker("mqtt://b/p")),
        ("e2e/test_reload_outputs.py",
        "test_mqtt_moves_to_a_new_prefix")),
    ("MqttSpec", "camera"): Row(REPLACED, MQTT, replace(MQTT, camera="yard"),
        ("e2e/test_reload_outputs.py",
        "test_a_camera_alone_at_the_start_keeps_its_own_topics_once_a_reload_adds_another")),
    ("MqttSpec", "source_name"): Row(REPLACED, MQTT, replace(MQTT, source_name="other"),
        ("unit/app/test_components.py",
        "test_mqtt_keeps_its_connection_for_a_new_threshold_or_labels_and_clears_only_what_it_will_not_publish")),
    ("MqttSpec", "min_confidence"): Row(IN_PLACE, MQTT, replace(MQTT, min_confidence=0.6),
        ORACLE),
    ("MqttSpec", "labels"): Row(IN_PLACE, MQTT, replace(MQTT, labels=("person", "cat")),
        ("unit/sinks/test_mqtt_unit.py",
        "test_a_reload_that_adds_a_label_leaves_an_event_going_on_alone_and_clears_a_removed_label")),
    ("MqttSpec", "problems"): Row(IN_PLACE, MQTT, replace(MQTT, problems=("offline", "dark")),
        ("unit/sinks/test_mqtt_unit.py",
        "test_a_reload_that_changes_only_the_health_checks_moves_home_assistant_s_configs")),
    ("WebSpec", "serve"): Row(REPLACED, WEB, replace(WEB, serve=serve("u")),
        ("e2e/test_reload_outputs.py",
        "test_the_web_view_follows_the_cameras_and_moves_with_its_settings")),
    ("WebSpec", "feeds"): Row(IN_PLACE, WEB, replace(WEB, feeds=(("door", "door-src"), ("yard", "y"))),
        ("e2e/test_reload_outputs.py",
        "test_the_open_page_shows_an_added_camera_and_drops_a_removed_one")),
    ("WebSpec", "min_confidence"): Row(IN_PLACE, WEB, replace(WEB, min_confidence=0.6),
        SEEN),
    ("WebSpec", "recordings"): Row(IN_PLACE, WEB, replace(WEB, recordings=Path("/rec")),
        SEEN),
    ("WebSpec", "users"): Row(IN_PLACE, WEB, replace(WEB, users=(ADA,)),
        ("e2e/test_web_users.py",
        "test_people_log_in_see_their_cameras_change_as_admins_and_go_with_a_reload")),
    ("EventsSpec", "rules"): Row(IN_PLACE, EVENTS, replace(EVENTS, rules=DOG),
        ("unit/sinks/events/test_events_sink_unit.py",
        "test_new_rules_for_a_camera_end_its_event_going_on_first")),
    ("EventsSpec", "own"): Row(IN_PLACE, EVENTS, replace(EVENTS, own=(("door", DOG), ("yard", CAT))),
        ("e2e/test_reload_outputs.py",
        "test_a_cameras_own_event_rules_apply_to_it_alone_and_change_on_reload")),
    ("EventsSpec", "live"): Row(IN_PLACE, EVENTS, replace(EVENTS, live=("yard",)),
        ("unit/sinks/events/test_events_sink_unit.py",
        "test_a_reload_moves_a_camera_onto_the_wall_clock_or_off_it")),
    ("EventsSpec", "roots"): Row(IN_PLACE, EVENTS, replace(EVENTS, roots=(("door", Path("/rec/")),)),
        ("unit/app/test_components.py",
        "test_events_started_without_clips_name_the_clips_of_a_camera_a_reload_records")),
    ("IndexSpec", "root"): Row(REPLACED, IndexSpec(Path("/a")), IndexSpec(Path("/b")),
        SEEN),
    ("TeachSpec", "root"): Row(REPLACED, TEACH, replace(TEACH, root=Path("/b")),
        ("unit/app/test_reload_fields.py",
        "test_taught_classes_are_kept_when_the_teacher_is_replaced_and_cleared_when_gone")),
    ("TeachSpec", "model"): Row(REPLACED, TEACH, replace(TEACH, model=Path("m.onnx")),
        ("unit/app/test_reload_fields.py",
        "test_taught_classes_are_kept_when_the_teacher_is_replaced_and_cleared_when_gone")),
    ("NotifySpec", "notify"): Row(REPLACED, NotifySpec(NOTIFY), NotifySpec(replace(NOTIFY, stall_s=10.0)),
        None, "systemd's socket and the command line's read timeout: a new notifier says READY=1 again at its"
        " first frame, which systemd takes; nothing else is kept"),
    ("WebhooksSpec", "urls"): Row(REPLACED, HOOKS, replace(HOOKS, urls=("http://b",)),
        None, STATELESS),
    ("WebhooksSpec", "token"): Row(REPLACED, HOOKS, replace(HOOKS, token="t"),
        None, STATELESS),
    ("WebhooksSpec", "media"): Row(REPLACED, HOOKS, replace(HOOKS, media="http://m"),
        None, STATELESS),
    ("WatchSpec", "model"): Row(REPLACED, WatchSpec(Path("a.onnx")), WatchSpec(Path("b.onnx")),
        ("e2e/test_reload_says.py",
        "test_watch_model_switched_on_and_off_by_a_reload")),
    ("WindowSpec", "cameras"): Row(IN_PLACE, WindowSpec(("door",)), WindowSpec(("door", "yard")),
        ("unit/app/test_components.py",
        "test_a_grid_takes_the_reloads_cameras_and_one_window_says_it_cannot")),
}


def every_field() -> set[tuple[str, str]]:
    """Every dataclass field of every kind of spec, and each of a camera's live keys."""
    found = {(kind.__name__, f.name) for kind in typing.get_args(specs.Spec) for f in fields(kind)}
    return found | {("CameraSpec", f"live.{name}") for name in CameraSpec.LIVE}


def test_every_field_of_every_spec_has_a_row() -> None:
    """A field added to a spec (or a live key) without a row here fails: say what a reload does with it."""
    assert set(typing.get_args(specs.Spec)) == set(components.KINDS), "a spec without a component, or the reverse"
    assert every_field() == set(TABLE)


def test_every_source_key_but_the_live_ones_and_the_outputs_restarts_the_camera() -> None:
    """Each key of a camera's ``SourceConfig``: a live one is taken in place, an output's (record,
    events) is not the camera's, any other restarts its capture."""
    changed: dict[str, object] = {"spec": parse_video_source("http://h/yard"), "name": "yard",
                                  "camera": replace(DOOR.camera, fps=5.0), "rtsp_transport": "udp", "reconnect": 3,
                                  "record": RecordConfig(Path("/rec/")), "events": CAT, "gate": GateConfig(),
                                  "health": HealthConfig(), "min_confidence": 0.9}
    verdicts = {}
    for key in fields(SourceConfig):
        value = getattr(DOOR, key.name)
        bumped = (not value) if isinstance(value, bool) else value + 1 if isinstance(value, (int, float)) else value
        new = changed.get(key.name, bumped)
        assert new != value, key.name
        before, after = CameraSpec.of(DOOR), CameraSpec.of(replace(DOOR, **{key.name: new}))
        verdicts[key.name] = "untouched" if before == after else IN_PLACE if before.same_capture(after) else REPLACED
    assert verdicts == {**{k.name: REPLACED for k in fields(SourceConfig)}, "record": "untouched",
                        "events": "untouched", **{name: IN_PLACE for name in CameraSpec.LIVE}}


# -- each component: what it holds, read from its sink's stand-in (a Recorder) or its real sink ---

def retuned(part: Any) -> tuple:
    """What the camera was last handed: threshold, gate, health, every picture."""
    return [call for call in part.world.cameras.calls if call[0] == "retune"][-1][2:]


def jsonl_holds(part: Any) -> dict:
    _, made = part.jsonl.made
    held = {"sources": made["sources"], "thresholds": made["thresholds"], "min_confidence": made["min_confidence"]}
    for name, args in part.jsonl.calls:
        if name == "reconfigure":
            held = dict(zip(("sources", "thresholds", "min_confidence"), args, strict=True))
    return held


def mqtt_holds(part: Any) -> dict:
    args, made = part.mqtt.made
    held = {"min_confidence": args[4], "labels": made["events"], "problems": made["problems"]}
    for name, call in part.mqtt.calls:
        if name == "reconfigure":
            held = dict(zip(("min_confidence", "labels", "problems"), call, strict=True))
    return held


def web_holds(part: Any) -> dict:
    (_, feeds, options), _ = part.web.made
    held = {"feeds": feeds, "min_confidence": options.min_confidence, "recordings": options.recordings,
            "users": options.users}
    for name, call in part.web.calls:
        if name == "reconfigure":
            held = dict(zip(("feeds", "min_confidence", "recordings", "users"), call, strict=True))
    held["feeds"] = [(feed.name, feed.source_name) for feed in held["feeds"]]
    return held


def events_hold(part: Any) -> dict:
    events = part.events
    return {"rules": events.rules, "cameras": sorted(events.clocks), "live": events.live,
            "trackers": {camera: tracker and tracker.rules for camera, tracker in events.trackers.items()},
            "roots": part.names.roots if part.names else {}}


def window_holds(part: Any) -> list:
    return [call for call in part.window.calls if call[0] == "set_cameras"]


def make_world(monkeypatch: pytest.MonkeyPatch) -> Any:
    for sink in ("JsonLines", "MqttSink", "WebView", "Index", "Notifier", "Webhooks", "Teacher"):
        monkeypatch.setattr(components, sink, Recorder)
    monkeypatch.setattr(components, "Annotator", lambda *args: args[3])
    monkeypatch.setattr(components, "watch", lambda *args: None)
    monkeypatch.setattr(components, "recording", lambda *args: Recorder())
    world = camera_world()
    world.clock_of = clock_world().clock_of
    world.configuration, world.captured_of, world.model_changed, world.window = None, lambda name: 0, None, Recorder()
    world.cameras.status = lambda: SimpleNamespace(cameras=[])
    world.cameras.classifier = SimpleNamespace(taught=None, labels=())
    world.cameras.members["yard"] = world.cameras.members["door"]
    return world


def spec_of(kind: str, value: Any) -> Any:
    if kind == "CameraSpec":
        return CameraSpec.of(DOOR, value) if isinstance(value, bool) else CameraSpec.of(value)
    return value


HOLDS: dict[str, Callable[[Any], object]] = {"CameraSpec": retuned, "JsonlSpec": jsonl_holds, "MqttSpec": mqtt_holds,
                                             "WebSpec": web_holds, "EventsSpec": events_hold}


@pytest.mark.parametrize("key", sorted(TABLE), ids=lambda key: ".".join(key))
def test_a_reload_changing_one_field_ends_where_a_fresh_start_would(key: tuple[str, str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A built from A then reconfigured to B holds what one built fresh from B holds, on the same sink
    (nothing closed); a field that needs a new component makes ``reconfigure`` refuse."""
    kind, row = key[0], TABLE[key]
    a, b = spec_of(kind, row.before), spec_of(kind, row.after)
    assert a != b, "the row must change its field"
    world = make_world(monkeypatch)
    part = components.build(a, world)
    sink = part.sink
    taken = part.reconfigure(b)
    assert taken == (row.reload == IN_PLACE), f"{key}: {'replaced' if not taken else 'reconfigured'}, not {row.reload}"
    if not taken:
        return
    assert part.sink is sink and ("close", ()) not in getattr(sink, "calls", []), "a change in place closed its sink"
    if kind == "WindowSpec":
        assert window_holds(part) == [("set_cameras", (list(b.cameras),))]
        return
    fresh = components.build(b, make_world(monkeypatch))
    assert HOLDS[kind](part) == HOLDS[kind](fresh), "the reload ends elsewhere than a fresh start with B"


def test_each_row_names_a_test_that_exists() -> None:
    """The table's tests are real: each named file under tests/ defines the test named."""
    tests = Path(__file__).parents[2]
    missing = [shown for row in TABLE.values() if (shown := row.shown) is not None
               and f"def {shown[1]}(" not in (tests / shown[0]).read_text()]
    assert missing == []
    assert all(row.why for row in TABLE.values() if row.shown is None), "a row with no test says why"


def test_collecting_has_no_field_and_is_made_once() -> None:
    assert fields(CollectSpec) == ()


def test_taught_classes_are_kept_when_the_teacher_is_replaced_and_cleared_when_gone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(monkeypatch)
    part = components.build(TeachSpec(Path("/a"), None), world)
    part.retire(TeachSpec(Path("/a"), Path("m.onnx")))
    assert ("clear", ()) not in part.teacher.calls  # type: ignore[attr-defined]
    part.retire(None)
    assert ("clear", ()) in part.teacher.calls  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", sorted(k for k in TABLE if k[0] == "EventsSpec"), ids=lambda key: key[1])
def test_an_event_going_on_goes_on_through_a_reload_that_leaves_its_cameras_rules(key: tuple[str, str]) -> None:
    """Of every events field, only a new rule for the door ends the door's event going on."""
    row = TABLE[key]
    part = components.EventsPart(row.before, clock_world())
    heard = Listener()
    part.wire([heard])  # type: ignore[list-item]
    part.events.write_predictions([seen("door", i) for i in range(20)])
    assert [c.kind for c in heard.changes] == ["start"], "the test needs an event going on"
    part.reconfigure(row.after)
    part.events.write_predictions([seen("door", i) for i in range(20, 25)])
    ended = dict(row.before.own)["door"] != dict(row.after.own)["door"]
    assert [c.kind for c in heard.changes] == (["start", "end"] if ended else ["start"]), key
