"""A camera's spec (``app/specs.py``): its live fields (threshold, motion gate) change without a
restart, anything else of its capture restarts it."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from live_classify.app.specs import CameraSpec, EventsSpec, RecordSpec, specs
from live_classify.config import EventConfig, GateConfig, OutputConfig, RecordConfig, RunConfig, SourceConfig
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
