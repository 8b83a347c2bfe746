"""The index as a file under faults, in this process (issue 33 items 1 and 2): what counts as a
lock or as damage, a damaged file moved aside under a name of its own, a file deleted or replaced
under the writer (said once, rebuilt when it was deleted or damaged), a lock waited for (said
once, the row kept), and a lock still held at the close given up on (the close ends)."""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import pytest

from live_classify.sinks.events import index as index_module
from live_classify.sinks.events import index_file
from live_classify.sinks.events.index import Index
from live_classify.sinks.events.index_file import busy, damaged, identity, open_index, set_aside
from live_classify.sinks.events.rules import HEALTH, START, Change, Event
from live_classify.sinks.web.history.params import Span
from live_classify.sinks.web.history.queries import History

SEGMENT = "door/2027-01-15/10-00-00.mp4"  # on disk (not a video: its length reads as 0)


def event(event_id: str, clip: str | None = None) -> Change:
    return Change(START, Event(event_id, "door", "cat", 1.0, None, 0.9, 1.0, clip=clip))


def rows(root: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(root / "index.db")) as db:
        return db.execute(sql).fetchall()


def written(index: Index, n: int) -> None:
    """Wait (on the index's own count) until ``n`` rows are on disk."""
    deadline = time.monotonic() + 30
    while index.rows < n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert index.rows >= n


@pytest.mark.parametrize("text, is_busy, is_damaged", [
    ("database is locked", True, False), ("database table is locked", True, False),
    ("database is busy", True, False), ("file is not a database", False, True),
    ("database disk image is malformed", False, True), ("database or disk is full", False, False),
    ("disk I/O error", False, False)])
def test_a_lock_is_waited_for_damage_is_set_aside_and_a_full_disk_is_neither(text: str, is_busy: bool,
                                                                             is_damaged: bool) -> None:
    error = sqlite3.OperationalError(text)
    assert (busy(error), damaged(error)) == (is_busy, is_damaged)


def test_damaged_files_in_one_second_are_each_set_aside_under_a_name_of_their_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_file, "time", SimpleNamespace(strftime=lambda fmt: "20270115-100000"))
    path = tmp_path / "index.db"
    said: list[str] = []
    for n in (1, 2, 3):
        path.write_bytes(f"garbage {n}".encode() * 512)
        db, rebuild = open_index(path, said.append)
        db.close()
        assert rebuild  # its rows are to be rebuilt from the files
    aside = sorted(tmp_path.glob("index.db.damaged-*"))
    assert [p.name for p in aside] == ["index.db.damaged-20270115-100000", "index.db.damaged-20270115-100000-2",
                                       "index.db.damaged-20270115-100000-3"]
    assert [p.read_bytes()[:9] for p in aside] == [b"garbage 1", b"garbage 2", b"garbage 3"]
    assert len(said) == 3 and "moved aside as index.db.damaged-20270115-100000-3;" in said[2]


def test_the_write_ahead_log_goes_aside_with_its_file_and_the_shared_memory_goes(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    path.write_bytes(b"garbage")
    (tmp_path / "index.db-wal").write_bytes(b"log")
    (tmp_path / "index.db-shm").write_bytes(b"shm")
    aside = set_aside(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [aside.name, f"{aside.name}-wal"]
    assert Path(f"{aside}-wal").read_bytes() == b"log"


def test_a_file_is_known_by_its_identity_not_its_size_or_contents(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    path.write_bytes(b"a" * 10)
    first = identity(path)
    with path.open("ab") as grown:
        grown.write(b"more")
    assert identity(path) == first  # written to: the same file
    other = tmp_path / "other"
    other.write_bytes(b"a" * 14)
    os.replace(other, path)
    assert identity(path) not in (first, None)  # replaced, the same size: another file
    path.unlink()
    assert identity(path) is None


def writing_beside_a_segment(folder: Path) -> tuple[Index, list[str]]:
    """An index of ``folder`` (which holds a segment to rebuild from) with event e1 written; what it says."""
    (folder / SEGMENT).parent.mkdir(parents=True)
    (folder / SEGMENT).write_bytes(b"not a video")
    said: list[str] = []
    index = Index(folder, say=said.append)
    index.write_event(event("e1"))
    written(index, 1)
    return index, said


def test_an_index_deleted_under_the_writer_is_said_once_made_anew_and_rebuilt(tmp_path: Path) -> None:
    index, said = writing_beside_a_segment(tmp_path)
    (tmp_path / "index.db").unlink()  # by hand: its log and shared memory files are left
    index.write_event(event("e2"))
    index.write_event(event("e3", clip="door/events/2027-01-15/10-00-00-cat.mp4"))
    index.clips_deleted([tmp_path / "door/events/2027-01-15/10-00-00-cat.mp4"])
    index.close()
    assert [line for line in said if "deleted" in line] == [
        f"the index {tmp_path / 'index.db'} was deleted: a new one is rebuilt from the recordings"] == said
    assert rows(tmp_path, "SELECT id FROM events ORDER BY id") == [("e2",)]
    assert rows(tmp_path, "SELECT path FROM segments") == [(SEGMENT,)]  # rebuilt from the disk
    assert index.summary() == f"indexed 4 rows in {tmp_path / 'index.db'}"


def test_an_index_replaced_under_the_writer_is_written_from_then_on_and_a_damaged_one_rebuilt(
        tmp_path: Path) -> None:
    index, said = writing_beside_a_segment(tmp_path)
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as made:  # a good index of its own, with a table of its own
        made.executescript(index_file.SCHEMA + "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine');")
    os.rename(tmp_path / "index.db", tmp_path / "index.old")
    os.replace(other, tmp_path / "index.db")  # put in its place: written on, not rebuilt
    index.write_event(event("e2"))
    written(index, 2)
    assert rows(tmp_path, "SELECT id FROM events") == [("e2",)] and rows(tmp_path, "SELECT * FROM segments") == []
    assert rows(tmp_path, "SELECT x FROM notes") == [("mine",)], "the old file's log is not applied to the new one"
    with closing(sqlite3.connect(tmp_path / "index.old")) as old:
        assert old.execute("SELECT id FROM events").fetchall() == [("e1",)], "its rows went into the old file"
    (tmp_path / "garbage").write_bytes(b"garbage" * 512)
    os.replace(tmp_path / "garbage", tmp_path / "index.db")  # a damaged one: set aside, rebuilt
    index.write_event(event("e3"))
    index.write_event(event("e4"))
    index.close()
    assert rows(tmp_path, "SELECT id FROM events ORDER BY id") == [("e3",), ("e4",)]
    assert rows(tmp_path, "SELECT path FROM segments") == [(SEGMENT,)]
    assert [line.split(" was ")[-1] for line in said if " was " in line] == [
        "replaced: the new file is written from now on", "replaced: the new file is written from now on"]
    assert sum("is damaged" in line for line in said) == 1 and len(said) == 3


def hold_the_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    return other


def test_a_lock_held_by_another_writer_is_waited_for_said_once_and_the_row_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_file, "BUSY_S", 0.0)
    said: list[str] = []
    index = Index(tmp_path, say=said.append)
    index.write_event(event("e0"))
    written(index, 1)
    other = hold_the_lock(tmp_path / "index.db")
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 8:  # 13.8 s of pauses: past the 12 s lock of the issue, the last pause repeated
            other.execute("COMMIT")  # the other writer lets go after eight tries

    monkeypatch.setattr(index_module, "time", SimpleNamespace(time=time.time, monotonic=time.monotonic, sleep=pause))
    index.write_event(event("e1"))
    index.close()
    other.close()
    assert rows(tmp_path, "SELECT id FROM events ORDER BY id") == [("e0",), ("e1",)] and index.error is None
    assert pauses == [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 5.0, 5.0]  # growing pauses, then the longest again
    assert [line for line in said if "locked" in line] == said and len(said) == 1


def test_a_lock_still_held_at_the_close_is_given_up_on_and_the_close_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_file, "BUSY_S", 0.0)
    monkeypatch.setattr(index_module, "GIVE_UP_CLOSING_S", 0.0)
    index = Index(tmp_path, say=lambda line: None)
    index.write_event(event("e0"))
    written(index, 1)
    other = hold_the_lock(tmp_path / "index.db")
    waiting, pauses = threading.Event(), [0]

    def pause(seconds: float) -> None:
        pauses[0] += 1
        waiting.set()
        if pauses[0] == 100:
            other.execute("ROLLBACK")  # a writer that never gives up would hang the test: let go
        time.sleep(0.001)

    monkeypatch.setattr(index_module, "time", SimpleNamespace(time=time.time, monotonic=time.monotonic, sleep=pause))
    index.write_event(event("e1"))
    assert waiting.wait(30)
    index.close()
    other.close()
    assert pauses[0] < 100 and "database is locked" in (index.error or "")
    assert rows(tmp_path, "SELECT id FROM events") == [("e0",)]  # the row waiting for the lock is lost


def test_at_the_start_an_event_a_killed_run_left_open_is_closed_and_said_in_one_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db, _ = open_index(tmp_path / "index.db")
    db.execute("INSERT INTO events VALUES ('open', 'door', 'cat', 5.0, NULL, 0.9, NULL, NULL, 'class')")
    db.close()
    with caplog.at_level(logging.INFO, logger="live_classify"):
        Index(tmp_path).close()
    assert rows(tmp_path, 'SELECT "end" FROM events') == [(5.0,)]
    assert [r.getMessage() for r in caplog.records if "left open" in r.getMessage()] == [
        "the index: 1 event left open by a run that ended without closing them, closed where their clips end"]


def test_a_health_event_is_written_with_its_kind_and_listed_by_kind_health(tmp_path: Path) -> None:
    """Issue 35: ``/api/history/events?kind=health`` lists the cameras' problems, so the index writes
    each event's kind (a health event kept as a class event would be listed with the labels)."""
    index = Index(tmp_path, say=lambda line: None)
    index.write_event(event("c1"))
    index.write_event(Change(START, Event("h1", "door", "dark", 2.0, None, 1.0, 2.0, kind=HEALTH)))
    written(index, 2)
    index.close()
    assert rows(tmp_path, "SELECT id, kind FROM events ORDER BY id") == [("c1", "class"), ("h1", "health")]
    history = History(tmp_path)
    assert [e["id"] for e in history.events(Span(None, None, None, None, "health"))] == ["h1"]
    assert [e["id"] for e in history.events(Span(None, None, None, None, "class"))] == ["c1"]


def test_an_index_made_before_health_events_gains_their_kind_and_keeps_its_rows_as_classes(tmp_path: Path) -> None:
    """Issue 35: an ``index.db`` of an older version has no ``kind`` column; the run's index adds it
    (its rows: class events) and writes and lists health events as on a new one."""
    with closing(sqlite3.connect(tmp_path / "index.db")) as db:
        db.execute('CREATE TABLE events (id TEXT PRIMARY KEY, camera TEXT NOT NULL, label TEXT NOT NULL, '
                   'start REAL NOT NULL, "end" REAL, score REAL NOT NULL, clip TEXT, thumbnail TEXT)')
        db.execute("INSERT INTO events VALUES ('old', 'door', 'cat', 1.0, 2.0, 0.9, NULL, NULL)")
        db.commit()
    index = Index(tmp_path, say=lambda line: None)
    index.write_event(Change(START, Event("h1", "door", "dark", 3.0, None, 1.0, 3.0, kind=HEALTH)))
    written(index, 1)
    index.close()
    assert rows(tmp_path, "SELECT id, kind FROM events ORDER BY id") == [("h1", "health"), ("old", "class")]
    history = History(tmp_path)
    assert [e["id"] for e in history.events(Span(None, None, None, None, "health"))] == ["h1"]
    assert [e["id"] for e in history.events(Span(None, None, None, None, "class"))] == ["old"]


def test_the_write_ahead_log_stays_small_while_the_run_writes(tmp_path: Path) -> None:
    """The index must not take the room the video needs: its log is folded into ``index.db`` every
    few pages and cut back, so 300 rows (a transaction each) leave a log of tens of kB, not one page per row."""
    index = Index(tmp_path, say=lambda line: None)
    for n in range(300):
        index.write_event(event(f"e{n:03}"))
    written(index, 300)
    log_bytes = (tmp_path / "index.db-wal").stat().st_size  # read while the writer still has the file open
    index.close()
    assert len(rows(tmp_path, "SELECT id FROM events")) == 300
    assert log_bytes <= 2 * index_file.WAL_PAGES * 4096, f"a {log_bytes} byte log for 300 rows"
