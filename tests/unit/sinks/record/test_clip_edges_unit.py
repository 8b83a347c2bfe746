"""Event clips at their edges, as units with a real encoder (a keyframe every half second, 10 fps):
where a clip starts (``--pre-roll``) and stops (``--post-roll``), the wall time its sidecar gives its
first frame, an ``--event-max`` part after the event's end, a part's thumbnail while it is being
written, ``--retain-events`` never deleting a clip still being written, and the ring a camera's
recording plans (``app/outputs.clip_plan``) reaching back to the pre-roll of an event told a hold late."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import av
import numpy as np

from live_classify.app.outputs import clip_plan
from live_classify.config import EncoderSettings, RecordConfig
from live_classify.engine.classifier import Classification, StageTimes
from live_classify.engine.postprocess import TopK
from live_classify.pipeline.frames import Frame, Prediction
from live_classify.sinks.events.moment import Moment
from live_classify.sinks.events.rules import END, START, Change, Event
from live_classify.sinks.record.clips import ClipPlan, Clips
from live_classify.sinks.record.mp4 import Mp4Writer

FRAME = np.full((48, 64, 3), 90, np.uint8)
WALL = 1_700_000_000.0
DAY = "door/events/2023-11-14"


def event(event_id: str, start: float, name: str) -> Event:
    return Event(event_id, "door", "cat", WALL + start, None, 0.9, WALL + start, source_start=start,
                 source_best=start, clip=f"{DAY}/{name}.mp4", thumbnail=f"{DAY}/{name}.jpg")


def ended(at: Event, end: float) -> Event:
    return replace(at, end=WALL + end, source_end=end)


def moment() -> Moment:
    frame = Frame(0, 0.0, WALL, FRAME, "door")
    return Moment(FRAME.copy(), Prediction(frame, Classification(TopK((1,), ("cat",), (0.9,)), StageTimes(1, 1, 1),
                                                                 np.zeros(2)), 0.0))


class Camera:
    """A camera's recording feeding its clips, frame by frame (frame ``i`` at ``i / 10`` s)."""

    def __init__(self, plan: ClipPlan) -> None:
        self.clips = Clips(plan)
        self.writer = Mp4Writer(None, (64, 48), EncoderSettings(keyframe_s=0.5), tap=self.clips.packet, rate=10)
        self.frame = 0

    def until(self, frame: int) -> None:
        for i in range(self.frame, frame):
            self.writer.write(FRAME, i / 10)
        self.frame = frame

    def close(self) -> None:
        self.writer.close()
        self.clips.close()


def frames(path: Path) -> int:
    with av.open(str(path)) as video:
        return sum(1 for packet in video.demux(video.streams.video[0]) if packet.dts is not None)


def test_a_clip_runs_from_pre_roll_before_its_start_to_post_roll_after_its_end(tmp_path: Path) -> None:
    """An event from 3.05 s to 3.95 s, pre-roll 1 s, post-roll 1 s: the clip is from the keyframe at
    2 s (the last at or before 2.05 s) to 4.9 s (30 frames), and its sidecar says its first frame
    was at the event's wall start less 1.05 s. (No edge falls on a frame's time: no rounding decides.)"""
    camera = Camera(ClipPlan(tmp_path, "door", pre_roll_s=1.0, post_roll_s=1.0, ring_s=4.0))
    cat = event("cat", 3.05, "22-13-23-cat")
    camera.until(35)
    camera.clips.tell(Change(START, cat, moment()))
    camera.until(45)
    camera.clips.tell(Change(END, ended(cat, 3.95)))
    camera.until(80)
    camera.close()
    sidecar = json.loads((tmp_path / f"{DAY}/22-13-23-cat.json").read_text())
    assert frames(tmp_path / str(cat.clip)) == 30
    assert (sidecar["clip_start"], sidecar["start"], sidecar["end"]) == (WALL + 2.0, WALL + 3.05, WALL + 3.95)


def test_a_clip_told_a_long_hold_after_its_start_still_has_its_pre_roll(tmp_path: Path) -> None:
    """An event is told ``--event-hold`` after its start: with a 5 s hold, the cat from 3.05 s is
    told at 8.1 s. The ring the camera's recording plans spans the pre-roll and that hold, so the
    clip still starts at the keyframe at 2 s, a second before the cat (a ring of the pre-roll and
    the slack alone has let 2 s go by then)."""
    rec = RecordConfig(tmp_path, mode="events", pre_roll_s=1.0, post_roll_s=1.0)
    plan = clip_plan(rec, "door", hold_s=5.0)
    assert plan is not None
    camera = Camera(plan)
    cat = event("cat", 3.05, "22-13-23-cat")
    camera.until(81)
    camera.clips.tell(Change(START, cat, moment()))
    camera.until(91)
    camera.clips.tell(Change(END, ended(cat, 3.95)))
    camera.until(100)
    camera.close()
    sidecar = json.loads((tmp_path / f"{DAY}/22-13-23-cat.json").read_text())
    assert sidecar["clip_start"] == WALL + 2.0, "the clip's pre-roll cut short by the hold"


def test_a_part_cut_after_the_event_s_end_stops_at_the_post_roll_not_at_the_run_s_end(tmp_path: Path) -> None:
    """--event-max 1 s; the event ends at 1.45 s, post-roll 0.5 s: the clip is cut at the keyframe
    at 1 s, and its second part stops at 1.9 s (10 frames), not cut again and again to the run's end."""
    camera = Camera(ClipPlan(tmp_path, "door", pre_roll_s=0.0, post_roll_s=0.5, max_s=1.0))
    cat = event("cat", 0.0, "22-13-20-cat")
    camera.until(1)
    camera.clips.tell(Change(START, cat, moment()))
    camera.until(5)
    camera.clips.tell(Change(END, ended(cat, 1.45)))
    camera.until(80)
    camera.close()
    first, second = tmp_path / f"{DAY}/22-13-20-cat.mp4", tmp_path / f"{DAY}/22-13-20-cat.2.mp4"
    assert (frames(first), frames(second)) == (10, 10)
    assert not (tmp_path / f"{DAY}/22-13-20-cat.3.mp4").exists()


def test_a_part_has_its_thumbnail_and_sidecar_while_it_is_written(tmp_path: Path) -> None:
    """A next part is listed in the history as soon as it exists: its picture is there at once."""
    camera = Camera(ClipPlan(tmp_path, "door", pre_roll_s=0.0, post_roll_s=0.0, max_s=1.0))
    cat = event("cat", 0.0, "22-13-20-cat")
    camera.until(1)
    camera.clips.tell(Change(START, cat, moment()))
    camera.until(15)  # the second part began at 1 s and goes on
    assert (tmp_path / f"{DAY}/22-13-20-cat.2.jpg").stat().st_size > 0
    assert json.loads((tmp_path / f"{DAY}/22-13-20-cat.2.json").read_text())["part"] == 2
    camera.close()


def test_retention_never_deletes_a_clip_still_being_written(tmp_path: Path) -> None:
    """--retain-events of a byte: a clip that ends prunes the finished ones, never the one going on."""
    camera = Camera(ClipPlan(tmp_path, "door", pre_roll_s=0.0, post_roll_s=0.0, retain_bytes=1))
    first, second = event("a", 0.0, "22-13-20-cat"), event("b", 0.5, "22-13-20-dog")
    camera.until(1)
    camera.clips.tell(Change(START, first, moment()))
    camera.until(6)
    camera.clips.tell(Change(START, second, moment()))
    camera.until(11)
    camera.clips.tell(Change(END, ended(first, 1.0)))
    camera.until(20)  # the first is done and pruned; the second goes on
    assert not (tmp_path / str(first.clip)).exists() and (tmp_path / str(second.clip)).exists()
    camera.close()


def test_a_clip_ends_where_the_encoder_s_parameters_change(tmp_path: Path) -> None:
    """The camera comes back at another size (a new encoder): the clip going on ends at its last
    packet of the old size, never with packets its stream's parameters cannot decode."""
    clips = Clips(ClipPlan(tmp_path, "door", pre_roll_s=0.0, post_roll_s=0.0))
    cat = event("cat", 0.0, "22-13-20-cat")
    before = Mp4Writer(None, (64, 48), EncoderSettings(keyframe_s=0.5), tap=clips.packet, rate=10)
    before.write(FRAME, 0.0)
    clips.tell(Change(START, cat, moment()))
    for i in range(1, 20):
        before.write(FRAME, i / 10)
    before.close()
    after = Mp4Writer(None, (32, 24), EncoderSettings(keyframe_s=0.5), tap=clips.packet, rate=10)
    for i in range(20, 40):
        after.write(np.full((24, 32, 3), 90, np.uint8), i / 10)
    after.close()
    clips.close()
    assert frames(tmp_path / str(cat.clip)) == 20


def test_an_end_told_just_before_the_run_ends_is_in_the_clip_s_sidecar(tmp_path: Path) -> None:
    """The run ends right after an event's end was told (no packet came since): the sidecar, which
    the history reads, has the event's end, not an event that never ended."""
    camera = Camera(ClipPlan(tmp_path, "door", pre_roll_s=0.0, post_roll_s=1.0))
    cat = event("cat", 0.0, "22-13-20-cat")
    camera.until(1)
    camera.clips.tell(Change(START, cat, moment()))
    camera.until(20)
    camera.clips.tell(Change(END, ended(cat, 1.85)))
    camera.close()
    assert json.loads((tmp_path / f"{DAY}/22-13-20-cat.json").read_text())["end"] == WALL + 1.85
