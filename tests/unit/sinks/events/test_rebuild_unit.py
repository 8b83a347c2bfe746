"""``live-classify index DIR``'s rebuild, in this process, on a tree written here: a segment and an
event clip of known lengths, an event without a clip and the per-second summary already indexed."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import av
import numpy as np
import pytest

from live_classify.errors import LiveClassifyError
from live_classify.sinks.events.index_file import connect
from live_classify.sinks.events.rebuild import close_open_events, rebuild, start_of

EVENT_ROW = "INSERT INTO events (id, camera, label, start, [end], score, clip, thumbnail) VALUES"

START = time.mktime(time.strptime("2027-01-15 10-00-00", "%Y-%m-%d %H-%M-%S"))  # local time, as names are


def video(path: Path, seconds: float, fps: int = 10) -> Path:
    """An H.264 MP4 this many seconds long."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(round(seconds * fps)):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")))
        out.mux(stream.encode())
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """DIR: door's 3 s segment at 10:00:00 and a 2 s clip of an event cut short by a kill (its end
    None), its clip starting 1.5 s before it; an index that knows an event without a clip."""
    video(tmp_path / "door" / "2027-01-15" / "10-00-00.mp4", 3)
    clip = video(tmp_path / "door" / "events" / "2027-01-15" / "10-00-05-espresso.mp4", 2)
    clip.with_suffix(".jpg").write_bytes(b"jpeg")
    event = {"id": "killed", "camera": "door", "label": "espresso", "start": START + 6.5, "end": None,
             "score": 0.8, "clip_start": START + 5}
    clip.with_suffix(".json").write_text(json.dumps(event))
    video(tmp_path / "door" / "events" / "2027-01-15" / "10-00-09-espresso.mp4", 1)  # no sidecar: no row
    db = connect(tmp_path / "index.db")
    db.execute(EVENT_ROW + " ('no-clip', 'door', 'espresso', ?, ?, 0.9, NULL, NULL)", (START, START + 1))
    db.execute(EVENT_ROW + " ('gone', 'door', 'espresso', ?, ?, 0.9, 'door/events/x.mp4', NULL)",
               (START, START + 1))
    db.execute("INSERT INTO seconds VALUES ('door', ?, 'espresso', 0.9)", (int(START),))
    db.close()
    return tmp_path


def rows(root: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(root / "index.db") as db:
        return db.execute(sql).fetchall()


def test_segments_and_clips_are_indexed_from_the_disk_and_the_rest_is_kept(tree: Path) -> None:
    assert rebuild(tree) == (1, 1, 1, 0)
    ((camera, path, start, end, size),) = rows(tree, 'SELECT camera, path, start, "end", bytes FROM segments')
    assert (camera, path, start) == ("door", "door/2027-01-15/10-00-00.mp4", START)
    assert end == pytest.approx(START + 3, abs=0.15) and size == (tree / path).stat().st_size
    events = rows(tree, 'SELECT id, camera, label, start, "end", score, clip, thumbnail FROM events ORDER BY id')
    assert [e[0] for e in events] == ["killed", "no-clip"], "a clip gone from the disk is gone from the index"
    killed, kept = events
    assert killed[1:4] == ("door", "espresso", START + 6.5) and killed[5:] == (
        0.8, "door/events/2027-01-15/10-00-05-espresso.mp4", "door/events/2027-01-15/10-00-05-espresso.jpg")
    assert killed[4] == pytest.approx(START + 5 + 2, abs=0.15), "its end: where its clip ends"
    assert kept == ("no-clip", "door", "espresso", START, START + 1, 0.9, None, None)
    assert rows(tree, "SELECT camera, second, label FROM seconds") == [("door", int(START), "espresso")]


def test_a_segment_s_start_is_its_name_and_a_numbered_one_too(tmp_path: Path) -> None:
    assert start_of(tmp_path / "2027-01-15" / "10-00-00_2.mp4") == START


def test_not_a_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LiveClassifyError, match="not a directory"):
        rebuild(tmp_path / "nowhere")


def test_an_ended_event_keeps_its_end_and_a_clip_without_thumbnail_has_none(tree: Path) -> None:
    clip = video(tree / "door" / "events" / "2027-01-15" / "10-00-20-espresso.mp4", 1)
    event = {"id": "ended", "camera": "door", "label": "espresso", "start": START + 21, "end": START + 24.5,
             "score": 0.7, "clip_start": START + 20}
    clip.with_suffix(".json").write_text(json.dumps(event), encoding="utf-8")
    assert rebuild(tree) == (1, 1, 2, 0)
    assert rows(tree, 'SELECT "end", clip, thumbnail FROM events WHERE id = \'ended\'') == [
        (START + 24.5, "door/events/2027-01-15/10-00-20-espresso.mp4", None)]


def test_an_index_that_cannot_be_written_is_one_line_and_keeps_its_rows(tree: Path) -> None:
    with sqlite3.connect(tree / "index.db") as db:  # a segments table of another shape: the insert fails
        db.execute("DROP TABLE segments")
        db.execute("CREATE TABLE segments (camera TEXT, start REAL)")
    with pytest.raises(LiveClassifyError) as refused:
        rebuild(tree)
    assert str(refused.value) == f"cannot write the index {tree / 'index.db'}: table segments has no column named path"
    assert [r[0] for r in rows(tree, "SELECT id FROM events ORDER BY id")] == ["gone", "no-clip"], "rolled back"


def test_a_segment_gone_from_the_disk_is_gone_from_the_index(tree: Path) -> None:
    assert rebuild(tree) == (1, 1, 1, 0)
    (tree / "door" / "2027-01-15" / "10-00-00.mp4").unlink()  # deleted by hand, or by retention unheard
    video(tree / "door" / "2027-01-15" / "10-00-30.mp4", 1)
    assert rebuild(tree) == (1, 1, 1, 0)
    assert rows(tree, "SELECT path FROM segments") == [("door/2027-01-15/10-00-30.mp4",)]


def test_an_event_a_kill_left_open_without_a_clip_ends_after_the_last_second_its_label_was_seen(tmp_path: Path) -> None:
    """No clip to measure: the end is the end of the last second the per-second summary has its label on
    its camera (other labels and cameras, and seconds before its start, do not count); none: its start."""
    db = connect(tmp_path / "index.db")
    db.execute(EVENT_ROW + " ('open', 'door', 'cat', ?, NULL, 0.9, NULL, NULL)", (START + 10.5,))
    db.execute(EVENT_ROW + " ('unseen', 'door', 'dog', ?, NULL, 0.9, NULL, NULL)", (START + 20.25,))
    db.execute(EVENT_ROW + " ('brief', 'door', 'fox', ?, NULL, 0.9, NULL, NULL)", (START + 30.5,))
    db.executemany("INSERT INTO seconds VALUES (?, ?, ?, 0.9)",
                   [("door", int(START) + 5, "cat"), ("door", int(START) + 10, "cat"), ("door", int(START) + 12, "cat"),
                    ("door", int(START) + 13, "bird"), ("yard", int(START) + 14, "cat"),
                    ("door", int(START) + 30, "fox")])
    assert close_open_events(db, tmp_path, before=START + 60) == 3
    assert dict(db.execute('SELECT id, "end" FROM events').fetchall()) == {
        "open": START + 13, "unseen": START + 20.25, "brief": START + 31}  # seen only in the second it started in
    db.close()


def test_a_segment_cut_off_before_its_first_frame_and_a_clip_with_a_broken_sidecar_do_not_stop_the_rebuild(
        tree: Path) -> None:
    """A kill mid-write leaves such files: the segment is indexed with no length, the clip without a row."""
    (tree / "door" / "2027-01-15" / "10-00-10.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom cut off")
    clip = video(tree / "door" / "events" / "2027-01-15" / "10-00-30-espresso.mp4", 1)
    clip.with_suffix(".json").write_text('{"id": "torn", "camera": "do', encoding="utf-8")
    assert rebuild(tree) == (2, 1, 1, 0)
    assert rows(tree, 'SELECT start, "end" FROM segments WHERE path LIKE \'%10-00-10.mp4\'') == [
        (START + 10, START + 10)]
    assert [r[0] for r in rows(tree, "SELECT id FROM events ORDER BY id")] == ["killed", "no-clip"]


def test_only_open_events_of_an_earlier_run_are_closed_and_never_by_another_event_s_clip(tree: Path) -> None:
    """An ended event keeps its end; one this run started (after ``before``) stays open; a clip whose
    sidecar is another event's (a name taken again) does not give its end."""
    db = connect(tree / "index.db")
    clip = "door/events/2027-01-15/10-00-05-espresso.mp4"  # the tree's clip: its sidecar is event "killed"'s
    db.executemany("INSERT INTO events VALUES (?, 'door', 'espresso', ?, ?, 0.9, ?, NULL, 'class')", [
        ("ended", START + 2, START + 2.5, None), ("mine", START + 100, None, None), ("named", START + 6, None, clip)])
    assert close_open_events(db, tree, before=START + 50) == 1
    ends = dict(db.execute('SELECT id, "end" FROM events').fetchall())
    db.close()
    assert (ends["ended"], ends["mine"], ends["named"]) == (START + 2.5, None, START + 6)
