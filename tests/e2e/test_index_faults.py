"""``DIR/index.db`` under faults, through the real command: a damaged file (at the start and for
``live-classify index DIR``), a lock another process holds longer than SQLite waits, the file
deleted while the run writes it, and an event a SIGKILL left open. The index is a cache of the
disk: none of these stops recording, and each is said once."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from conftest import LiveCli, run_cli
from recordings import probe
from scenes import EVENT_FLAGS

from live_classify.sinks.events.rebuild import length_of

GARBAGE = b"this is not an SQLite database, whatever its name says " * 200


def rows(rec: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{rec / 'index.db'}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()


def has_rows(rec: Path, sql: str) -> bool:
    """Whether ``sql`` (a count) finds rows yet: the file may be there before its tables."""
    try:
        return (rec / "index.db").exists() and rows(rec, sql)[0][0] > 0
    except sqlite3.OperationalError:
        return False


def segment_paths(rec: Path) -> set[str]:
    return {path for (path,) in rows(rec, "SELECT path FROM segments")}


def on_disk(rec: Path) -> set[str]:
    return {str(path.relative_to(rec)) for path in rec.glob("scenes/*-*-*/*.mp4")}


def record(scenes: Path, rec: Path, *flags: str) -> str:
    """One run of the scene into ``rec/`` (segments and clips); its stderr."""
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--jsonl", "/dev/null",
                  "--record", f"{rec}/", "--segment", "3s", "--record-mode", "both", *flags)
    assert run.returncode == 0, run.stderr
    return run.stderr


def test_a_damaged_index_is_moved_aside_and_rebuilt_at_the_start_while_recording_goes_on(scenes: Path,
                                                                                          tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    record(scenes, rec)
    first = on_disk(rec)
    events_before = rows(rec, 'SELECT id, clip FROM events ORDER BY start')
    (rec / "index.db").write_bytes(GARBAGE)
    for side in ("index.db-wal", "index.db-shm"):
        (rec / side).unlink(missing_ok=True)
    stderr = record(scenes, rec)
    said = [line for line in stderr.splitlines() if "is damaged" in line]
    assert len(said) == 1 and "moved aside as index.db.damaged-" in said[0], stderr
    (aside,) = rec.glob("index.db.damaged-*")
    assert aside.read_bytes() == GARBAGE  # what was there is kept, untouched
    assert first < on_disk(rec) == segment_paths(rec)  # the first run's segments rebuilt, the second's recorded
    assert set(events_before) <= set(rows(rec, "SELECT id, clip FROM events"))  # the clips' events, from sidecars
    assert len(rows(rec, "SELECT id FROM events")) == 4


def test_live_classify_index_moves_a_damaged_index_aside_and_rebuilds_it(scenes: Path, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    record(scenes, rec)
    (rec / "index.db").write_bytes(GARBAGE)
    run = run_cli("index", str(rec))
    assert run.returncode == 0, run.stderr
    assert "moved aside as index.db.damaged-" in run.stderr and "indexed 4 segments of 1 camera and 2 event clips" \
        in run.stderr, run.stderr
    assert segment_paths(rec) == on_disk(rec) and len(rows(rec, "SELECT id FROM events")) == 2


def test_live_classify_index_moves_an_index_with_broken_pages_aside_and_rebuilds_it(scenes: Path,
                                                                                    tmp_path: Path) -> None:
    """A real SQLite file whose pages are broken (SQLite says "malformed", not "not a database")."""
    rec = tmp_path / "rec"
    record(scenes, rec)
    for side in ("index.db-wal", "index.db-shm"):
        (rec / side).unlink(missing_ok=True)
    data = bytearray((rec / "index.db").read_bytes())
    data[200:4096] = b"\xab" * (4096 - 200)  # the schema's page, past SQLite's 100-byte header
    (rec / "index.db").write_bytes(bytes(data))
    run = run_cli("index", str(rec))
    assert run.returncode == 0, run.stderr
    assert "malformed" in run.stderr and "moved aside as index.db.damaged-" in run.stderr, run.stderr
    assert segment_paths(rec) == on_disk(rec) and len(rows(rec, "SELECT id FROM events")) == 2


def test_a_lock_held_longer_than_sqlite_waits_is_waited_for_and_the_index_goes_on(scenes: Path, tmp_path: Path,
                                                                                   live_cli: type[LiveCli]) -> None:
    rec = tmp_path / "rec"
    cli = live_cli("--source", str(scenes), "--realtime", "--headless", "--provider", "cpu", *EVENT_FLAGS,
                   "--jsonl", "/dev/null", "--record", f"{rec}/", "--segment", "2s")
    cli.wait_for(lambda: has_rows(rec, "SELECT count(*) FROM seconds"), timeout=60, what="the first rows")
    other = sqlite3.connect(rec / "index.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock, past SQLite's own 5 s wait
    cli.wait_for_stderr("is locked by another process: waiting for it", timeout=60)
    other.execute("ROLLBACK")
    other.close()
    cli.wait_for_stderr("is written again", timeout=60)
    run = cli.finish(timeout=60)
    assert run.returncode == 0, run.stderr
    assert "index stopped" not in run.stderr and run.stderr.count("is locked by another process") == 1
    assert segment_paths(rec) == on_disk(rec)  # every segment closed after the lock too


def test_an_index_deleted_under_the_run_is_made_anew_and_rebuilt_once(scenes: Path, tmp_path: Path,
                                                                      live_cli: type[LiveCli]) -> None:
    rec = tmp_path / "rec"
    cli = live_cli("--source", str(scenes), "--realtime", "--headless", "--provider", "cpu", *EVENT_FLAGS,
                   "--jsonl", "/dev/null", "--record", f"{rec}/", "--segment", "2s")
    cli.wait_for(lambda: has_rows(rec, "SELECT count(*) FROM segments"), timeout=60, what="the first segment's row")
    for name in ("index.db", "index.db-wal", "index.db-shm"):
        (rec / name).unlink(missing_ok=True)
    run = cli.finish(timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("was deleted: a new one is rebuilt from the recordings") == 1, run.stderr
    assert segment_paths(rec) == on_disk(rec) and len(on_disk(rec)) >= 5  # the rows from before, rebuilt


def test_an_event_a_kill_left_open_is_closed_where_its_clip_ends_at_the_next_start(scenes: Path, tmp_path: Path,
                                                                                  live_cli: type[LiveCli]) -> None:
    rec = tmp_path / "rec"
    cli = live_cli("--source", str(scenes), "--realtime", "--headless", "--provider", "cpu", *EVENT_FLAGS,
                   "--jsonl", "-", "--record", f"{rec}/", "--record-mode", "events")

    def started() -> list[dict]:
        return [json.loads(line) for line in list(cli.stdout_lines) if '"event": "start"' in line]

    def clip_has_frames() -> bool:
        clip = rec / started()[0]["clip"]
        return clip.exists() and int(probe(clip).get("nb_read_frames", 0)) >= 30

    cli.wait_for(lambda: bool(started()), timeout=60, what="the first event's start")
    cli.wait_for(clip_has_frames, timeout=30, what="the clip's first second on disk")
    cli.process.kill()
    cli.process.wait(10)
    start = started()[0]
    assert rows(rec, f"SELECT \"end\" FROM events WHERE id = '{start['id']}'") == [(None,)]
    clip = rec / start["clip"]
    clip_start = json.loads(clip.with_suffix(".json").read_text())["clip_start"]
    stderr = record(scenes, rec)  # the next start, nothing else asked
    assert "1 event left open by a run that ended without closing them" in stderr
    ((end,),) = rows(rec, f"SELECT \"end\" FROM events WHERE id = '{start['id']}'")
    assert end is not None and abs(end - (clip_start + length_of(clip))) < 1e-3
