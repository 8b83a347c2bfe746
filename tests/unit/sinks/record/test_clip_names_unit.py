"""Clip names: given as an event starts, the same at its end, in every message that tells of it; only
for the cameras that record clips; never a name already taken."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from live_classify.config import EventConfig
from live_classify.engine.classifier import Classification, StageTimes
from live_classify.engine.postprocess import TopK
from live_classify.pipeline.frames import Frame, Prediction
from live_classify.sinks import troubles
from live_classify.sinks.events import mqtt_topics
from live_classify.sinks.events.rules import START, Change, Event
from live_classify.sinks.events.sink import Events
from live_classify.sinks.record.clip_names import ClipNames, label_part

RULES = EventConfig(("tiger cat",), threshold=0.5, hold_s=0.5, gap_s=1.0)


def seen(camera: str, index: int, label: str) -> Prediction:
    """A classified frame at 10 fps; its wall time fixed, so that two runs name the same second."""
    frame = Frame(index, index / 10, 1_700_000_000 + index / 10, np.zeros((2, 2, 3), np.uint8), camera)
    return Prediction(frame, Classification(TopK((1,), (label,), (0.9,)), StageTimes(1.0, 1.0, 1.0), np.zeros(2)), 0.0)


class Listener:
    def __init__(self) -> None:
        self.error: str | None = None
        self.changes: list[Change] = []

    def write_event(self, change: Change) -> None:
        self.changes.append(change)


def run(names: ClipNames, cameras: tuple[str, ...]) -> list[Change]:
    heard = Listener()
    sink = Events(RULES, {c: (lambda frame: frame.index / 10.0) for c in cameras}, [heard],  # type: ignore[list-item]
                  names=names)
    for camera in cameras:
        sink.write_predictions([seen(camera, i, "tiger cat") for i in range(8)])
    sink.close()
    return heard.changes


def test_an_event_has_its_clip_and_thumbnail_from_its_start_to_its_end(tmp_path: Path) -> None:
    changes = run(ClipNames({"door": tmp_path}), ("door", "yard"))
    door = [c for c in changes if c.event.camera == "door"]
    yard = [c for c in changes if c.event.camera == "yard"]
    day = time.strftime("%Y-%m-%d", time.localtime(door[0].event.start))
    hms = time.strftime("%H-%M-%S", time.localtime(door[0].event.start))
    clip = f"door/events/{day}/{hms}-tiger-cat.mp4"
    assert [(c.kind, c.event.clip, c.event.thumbnail) for c in door] == [
        (kind, clip, clip.replace(".mp4", ".jpg")) for kind in ("start", "end")]
    assert [(c.event.clip, c.event.thumbnail) for c in yard] == [(None, None)] * 2  # it records no clips
    message = json.loads(mqtt_topics.event_messages("p/door", door[0])[0][1])
    assert (message["event"], message["clip"], message["thumbnail"]) == (START, clip, clip.replace(".mp4", ".jpg"))


def test_a_name_taken_on_disk_gets_a_number(tmp_path: Path) -> None:
    first = run(ClipNames({"door": tmp_path}), ("door",))[0].event.clip
    assert first is not None
    (tmp_path / first).parent.mkdir(parents=True)
    (tmp_path / first).touch()
    again = run(ClipNames({"door": tmp_path}), ("door",))[0].event.clip  # the frames' times: the same second
    assert again == first.replace(".mp4", "_2.mp4")


def test_a_label_is_made_safe_for_a_file_name() -> None:
    assert label_part("tiger cat") == "tiger-cat" and label_part("a/../b") == "a-..-b"  # never a folder
    assert label_part("...") == "event"


def test_two_events_going_on_in_one_second_get_names_of_their_own_and_none_while_the_disk_is_full(
        tmp_path: Path) -> None:
    names = ClipNames({"door": tmp_path})
    start = 1_700_000_000.5

    def started(event_id: str) -> Event:
        return names(Change(START, Event(event_id, "door", "tiger cat", start, None, 0.9, start))).event

    first, second = started("a"), started("b")
    assert first.clip != second.clip and second.clip is not None and second.clip.endswith("-tiger-cat_2.mp4")
    troubles.report("recording", "door", "stopped: disk full (it resumes when there is room)")
    try:
        stopped = started("c")
    finally:
        troubles.report("recording", "door", None)
    assert (stopped.clip, stopped.thumbnail) == (None, None)  # no footage: never another's name
    assert started("d").clip is not None


def test_a_clip_is_named_for_its_start_in_local_time_not_utc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nine hours east of UTC, an event that starts at 22:13:20 UTC on 14 November 2023 is on the
    15th at 07:13:20 for the user, as the recording's day folders are."""
    monkeypatch.setenv("TZ", "JST-9")  # a POSIX zone: no tz database needed
    time.tzset()
    try:
        changes = run(ClipNames({"door": tmp_path}), ("door",))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert changes[0].event.start == 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    assert changes[0].event.clip == "door/events/2023-11-15/07-13-20-tiger-cat.mp4"
