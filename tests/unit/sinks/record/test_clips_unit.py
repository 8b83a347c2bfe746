"""Event clips as units (issue 33): an event named a clip whose footage never came (the ring empty:
no video yet, or none since a full disk stopped the recording) has no clip in the index, while one
with footage keeps its clip; a clip's frames last their own time, its last one too; its thumbnail
is the best frame the start told, then the one the end told."""
from __future__ import annotations

import errno
import json
import logging
import sqlite3
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from disks import Disk
from updates import update

from live_classify.config import EncoderSettings
from live_classify.sinks import troubles
from live_classify.sinks.events.index import Index
from live_classify.sinks.events.moment import Moment
from live_classify.sinks.events.rules import END, START, Change, Event
from live_classify.sinks.record import clips as clips_module
from live_classify.sinks.record import segments
from live_classify.sinks.record.clips import ClipPlan, Clips
from live_classify.sinks.record.mp4 import Mp4Writer
from live_classify.sinks.record.recording import Recording
from live_classify.sinks.record.retention import SegmentPlan
from live_classify.sinks.record.ring import Packet

FRAME = np.full((48, 64, 3), 90, np.uint8)


def event(event_id: str, start: float, clip: str) -> Event:
    return Event(event_id, "door", "cat", 1_700_000_000 + start, None, 0.9, 1_700_000_000 + start,
                 source_start=start, source_best=start, clip=clip, thumbnail=clip.replace(".mp4", ".jpg"))


def encode(writer: Mp4Writer, first: int, last: int) -> None:
    for i in range(first, last):
        writer.write(FRAME, i / 10)


def test_an_event_whose_footage_never_came_has_no_clip_in_the_index(tmp_path: Path) -> None:
    index = Index(tmp_path)
    clips = Clips(ClipPlan(tmp_path, "door", pre_roll_s=0.0, post_roll_s=0.0), index)
    writer = Mp4Writer(None, (64, 48), tap=clips.packet, rate=10)
    early = event("early", 0.0, "door/events/2023-11-14/22-13-20-cat.mp4")  # told before any packet came
    for change in (Change(START, early), Change(END, early)):
        index.write_event(change)
    clips.tell(Change(START, early))
    encode(writer, 0, 20)
    later = event("later", 1.0, "door/events/2023-11-14/22-13-21-cat.mp4")  # the ring has its footage
    index.write_event(Change(START, later))
    clips.tell(Change(START, later))
    encode(writer, 20, 30)
    writer.close()
    clips.close()
    index.write_event(Change(END, later))
    index.close()
    with sqlite3.connect(tmp_path / "index.db") as db:
        rows = dict(db.execute("SELECT id, clip FROM events").fetchall())
    assert rows == {"early": None, "later": later.clip}  # never a name without a file behind it
    assert not (tmp_path / str(early.clip)).exists() and (tmp_path / str(later.clip)).exists()


def test_a_clip_s_sidecar_is_beside_it_from_its_start_as_a_kill_mid_event_leaves_it(tmp_path: Path) -> None:
    """A run killed mid-event leaves its clip with the sidecar that ``live-classify index`` and the
    next start read (which event, where its clip starts): written as the clip opens, not at its end."""
    clips = Clips(ClipPlan(tmp_path, "door", pre_roll_s=0.5, post_roll_s=0.0))
    writer = Mp4Writer(None, (64, 48), tap=clips.packet, rate=10)
    going_on = event("going-on", 1.0, "door/events/2023-11-14/22-13-21-cat.mp4")
    encode(writer, 0, 15)  # a keyframe at 0 s and at 1 s: the pre-roll (from 0.5 s) starts at 0 s
    clips.tell(Change(START, going_on))
    encode(writer, 15, 25)  # the clip is being written; the event never ends, nothing is closed yet
    sidecar = json.loads((tmp_path / "door/events/2023-11-14/22-13-21-cat.json").read_text())
    assert (sidecar["id"], sidecar["end"], sidecar["clip_start"]) == ("going-on", None, 1_700_000_000.0)
    writer.close()
    clips.close()


def test_an_event_whose_footage_never_came_still_has_no_clip_once_it_ends(tmp_path: Path) -> None:
    """Its end comes after the recording found no footage, and names the clip its start named."""
    index = Index(tmp_path)
    clips = Clips(ClipPlan(tmp_path, "door", pre_roll_s=0.0, post_roll_s=0.0), index)
    writer = Mp4Writer(None, (64, 48), tap=clips.packet, rate=10)
    early = event("early", 0.0, "door/events/2023-11-14/22-13-20-cat.mp4")
    index.write_event(Change(START, early))
    clips.tell(Change(START, early))
    encode(writer, 0, 10)  # its first packet finds the ring empty: no footage
    ended = replace(early, end=early.start + 0.5, source_end=0.5)
    index.write_event(Change(END, ended))
    clips.tell(Change(END, ended))
    encode(writer, 10, 20)
    writer.close()
    clips.close()
    index.close()
    with sqlite3.connect(tmp_path / "index.db") as db:
        rows = db.execute('SELECT id, "end", clip, thumbnail FROM events').fetchall()
    assert rows == [("early", ended.end, None, None)]  # ended, and never a name without a file behind it
    assert not (tmp_path / str(early.clip)).exists()


def test_a_clip_lasts_as_long_as_its_frames_even_when_the_stream_states_another_rate(tmp_path: Path) -> None:
    """A live source's first file states 30 fps (its rate not measured yet); the frames are 10 fps
    apart: each, the last one too, lasts 0.1 s, so the clip is as long as the time it covers."""
    clips = Clips(ClipPlan(tmp_path, "door", pre_roll_s=1.0, post_roll_s=0.0))
    writer = Mp4Writer(None, (64, 48), tap=clips.packet)  # no rate: the stream says 30 fps
    noise = np.random.default_rng(0)
    one = event("one", 1.0, "door/events/2023-11-14/22-13-21-cat.mp4")
    for i in range(40):
        if i == 15:
            clips.tell(Change(START, one))
        writer.write(noise.integers(0, 255, (48, 64, 3), dtype=np.uint8), i / 10)
    writer.close()
    clips.close()
    with av.open(str(tmp_path / str(one.clip))) as container:
        stream = container.streams.video[0]
        durations = [float(p.duration * stream.time_base) for p in container.demux(stream) if p.dts is not None]
        length = float(stream.duration * stream.time_base)
    assert durations == [0.1] * len(durations) and len(durations) >= 30, durations
    assert length == len(durations) / 10  # what a player shows as the clip's length


def test_event_max_cuts_only_at_keyframes_so_every_part_starts_with_a_picture_of_its_own(tmp_path: Path) -> None:
    """A keyframe every 2 s and --event-max 0.5 s: each part waits for the next keyframe (three
    parts of 2 s in 6 s), never a part that starts on a frame that needs the one before it."""
    clips = Clips(ClipPlan(tmp_path, "door", pre_roll_s=0.0, post_roll_s=0.0, max_s=0.5))
    writer = Mp4Writer(None, (64, 48), EncoderSettings(keyframe_s=2.0), tap=clips.packet, rate=10)
    long = event("long", 0.0, "door/events/2023-11-14/22-13-20-cat.mp4")
    encode(writer, 0, 1)  # the ring has its first keyframe when the start is taken up
    clips.tell(Change(START, long))
    encode(writer, 1, 60)
    writer.close()
    clips.close()
    parts = sorted(path.name for path in (tmp_path / "door/events/2023-11-14").glob("*.mp4"))
    assert parts == ["22-13-20-cat.2.mp4", "22-13-20-cat.3.mp4", "22-13-20-cat.mp4"]
    for part in parts:
        with av.open(str(tmp_path / "door/events/2023-11-14" / part)) as video:
            first = next(video.demux(video.streams.video[0]))
            assert first.is_keyframe, part


def test_a_clip_after_a_full_disk_has_only_footage_from_after_the_resume(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Bright frames until the disk fills (2.9 s), dark ones once there is room again (4.0 s); an
    event just after the resume with a 2 s pre-roll: its clip holds only dark frames, none from
    before the stop (the pre-roll is forgotten at the stop)."""
    disk = Disk()
    monkeypatch.setattr(segments, "SpaceWatch", lambda: disk)
    recording = Recording(tmp_path, 10.0, drop=False, segments=SegmentPlan(60.0, "door"),
                          clips=ClipPlan(tmp_path, "door", pre_roll_s=2.0, post_roll_s=0.0))
    bright, dark = np.full((48, 64, 3), 230, np.uint8), np.full((48, 64, 3), 20, np.uint8)
    for i in range(30):  # 0.0 to 2.9 s; the disk fills at the last
        disk.full = "the disk is nearly full (1.0 MB free)" if i == 29 else None
        recording._encode((bright, i / 10))  # the writer thread's step, in order with the events told below
    disk.full = None
    for i in range(30, 65):  # dropped until 4.0 s, where there is room again
        disk.room = "20.0 MB free" if i == 40 else None
        recording._encode((dark, i / 10))
    one = event("one", 5.5, "door/events/2023-11-14/22-13-25-cat.mp4")  # its pre-roll reaches back to 3.5 s
    recording.write_event(Change(START, one))
    recording.write_event(Change(END, replace(one, end=one.start + 0.5, source_end=6.0)))
    for i in range(65, 80):
        recording._encode((dark, i / 10))
    recording.close()
    with av.open(str(tmp_path / str(one.clip))) as container:
        levels = [float(frame.to_ndarray(format="gray").mean()) for frame in container.decode(video=0)]
    assert levels and max(levels) < 60, levels  # dark only: 4.0 s on


def test_a_camera_removed_while_a_full_disk_stops_its_recording_leaves_no_trouble_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reload removes a camera whose recording a full disk stopped: its recording is closed, and
    status and /healthz no longer say "recording stopped" for a camera that is gone."""
    disk = Disk()
    monkeypatch.setattr(segments, "SpaceWatch", lambda: disk)
    recording = Recording(tmp_path, 10.0, drop=False, segments=SegmentPlan(60.0, "gone"),
                          clips=ClipPlan(tmp_path, "gone", pre_roll_s=1.0, post_roll_s=0.0))
    image = np.zeros((48, 64, 3), np.uint8)
    for i in range(5):
        disk.full = "the disk is nearly full (1.0 MB free)" if i == 4 else None
        recording._encode((image, i / 10))
    assert troubles.stopped("recording", "gone")
    recording.close()
    assert troubles.stopped("recording", "gone") is None


def test_a_camera_removed_during_an_event_finishes_its_clip_to_the_last_frame(tmp_path: Path) -> None:
    """A reload removes a camera while one of its events goes on: closing its recording finishes the
    event's clip (its muxer's last fragment written, the file closed, counted), as the end of a run
    does, rather than leaving it open, short of its last frames, until the process ends."""
    recording = Recording(tmp_path, 10.0, drop=False, segments=SegmentPlan(60.0, "door"),
                          clips=ClipPlan(tmp_path, "door", pre_roll_s=0.0, post_roll_s=0.0))
    cat = event("cat", 1.0, "door/events/2023-11-14/22-13-21-cat.mp4")
    for i in range(30):  # 10 fps; a keyframe each second: the clip starts at the one at 1.0 s
        if i == 11:
            recording.write_event(Change(START, cat))
        recording._encode((FRAME, i / 10))
    recording.close()
    with av.open(str(tmp_path / str(cat.clip))) as clip:
        stream = clip.streams.video[0]
        times = [round(float(p.pts * stream.time_base), 3) for p in clip.demux(stream) if p.pts is not None]
    assert times == [round(i / 10 - 1.0, 3) for i in range(10, 30)], "from its keyframe to the last frame"
    assert "1 event clip in" in recording.summary()


def test_the_end_s_best_frame_replaces_the_start_s_thumbnail(tmp_path: Path) -> None:
    """The start tells the best frame so far (a dark one), the end the best of all (a bright one,
    seen later): while the event goes on the thumbnail is the dark frame, once its clip is done the
    bright one (the end's thumbnail is the event's best, not its start's)."""
    clips = Clips(ClipPlan(tmp_path, "door", pre_roll_s=1.0, post_roll_s=0.0))
    writer = Mp4Writer(None, (64, 48), tap=clips.packet, rate=10)
    cat = event("cat", 0.5, "door/events/2023-11-14/22-13-20-cat.mp4")
    dark, bright = (Moment(np.full((240, 320, 3), level, np.uint8), update(0, 0.0).shown.new_predictions[0])
                    for level in (0, 255))
    thumbnail = tmp_path / "door/events/2023-11-14/22-13-20-cat.jpg"
    encode(writer, 0, 10)
    clips.tell(Change(START, cat, dark))
    encode(writer, 10, 20)
    at_start = cv2.imread(str(thumbnail)).mean()
    clips.tell(Change(END, replace(cat, end=cat.start + 1.5, source_end=2.0, score=0.99), bright))
    encode(writer, 20, 30)
    writer.close()
    clips.close()
    assert at_start < 64, "while it goes on: the start's best so far"
    assert cv2.imread(str(thumbnail)).mean() > 192, "once done: the end's best"


def test_a_clip_that_cannot_be_written_is_one_warning_and_let_go_while_the_others_go_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Two events' clips; one's file refuses its writes from its fifth packet (its disk full, its
    folder gone): one warning, that clip let go (never tried again, not counted as written), the
    other clip whole to its last frame."""
    written = clips_module.Clip.write

    def refusing(clip: clips_module.Clip, packet: Packet) -> None:
        if clip.event.id == "full" and clip._last_pts >= 300:  # noqa: SLF001 - the test's own fault
            raise OSError(errno.ENOSPC, "No space left on device")
        written(clip, packet)

    monkeypatch.setattr(clips_module.Clip, "write", refusing)
    clips = Clips(ClipPlan(tmp_path, "door", pre_roll_s=0.0, post_roll_s=0.0))
    writer = Mp4Writer(None, (64, 48), tap=clips.packet, rate=10)
    full = event("full", 0.0, "door/events/2023-11-14/22-13-20-cat.mp4")
    fine = event("fine", 0.0, "door/events/2023-11-14/22-13-20-cat_2.mp4")
    encode(writer, 0, 1)
    clips.tell(Change(START, full))
    clips.tell(Change(START, fine))
    with caplog.at_level(logging.INFO, logger="live_classify"):
        encode(writer, 1, 30)
        writer.close()
        clips.close()
    refused = [r.getMessage() for r in caplog.records if str(full.clip) in r.getMessage()]
    assert refused == [f"the event clip {tmp_path / str(full.clip)}: [Errno 28] No space left on device; "
                       "the recording goes on"]
    assert clips.written == 1
    with av.open(str(tmp_path / str(fine.clip))) as container:
        assert sum(1 for p in container.demux(container.streams.video[0]) if p.dts is not None) == 30
