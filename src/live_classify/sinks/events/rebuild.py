"""The index's rows read back from the files on disk, so that a lost or damaged ``index.db`` is not
lost history: by ``live-classify index DIR``, and by the running index itself when it finds its
file damaged or deleted. Each ``DIR/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4`` is one row: its start
from its name (local time, as the recording named it), its end from its length as PyAV reads it,
its size. Each event clip ``DIR/<camera>/events/<day>/<...>.mp4`` is its event's row again, from
its JSON sidecar (an event cut short by a kill: its end where its clip ends). Each camera's health
problems are rows again from the lines ``health_log.py`` keeps of them (a row still in the index
keeps the end it has where the lines have none). The rows of other events without a clip, and the
per-second summary, are kept as they are.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from live_classify.errors import LiveClassifyError
from live_classify.sinks.events.health_log import HealthRow, health_rows
from live_classify.sinks.events.index_file import NAME, open_index, relative
from live_classify.sinks.record.clip_files import clip_files
from live_classify.sinks.record.clip_names import sidecar_of, thumbnail_of
from live_classify.sinks.record.retention import segment_files

EventRow = tuple[str, str, str, float, float | None, float, str, str | None]
SegmentRow = tuple[str, str, float, float, int]


class Rebuilt(NamedTuple):
    """What a rebuild found on disk."""

    segments: int
    cameras: int
    clips: int  # the clips' events
    problems: int  # the cameras' health events


def start_of(path: Path) -> float:
    """A segment's start, Unix seconds, from ``<YYYY-MM-DD>/<HH-MM-SS>[_N].mp4`` (local time)."""
    stamp = f"{path.parent.name} {path.stem.partition('_')[0]}"
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H-%M-%S"))


def length_of(path: Path) -> float:
    """Seconds of video in a segment; 0 for one that cannot be read (cut off before its first frame)."""
    import av  # PyAV: only the rebuild reads video

    try:
        with av.open(str(path)) as container:
            if container.duration is not None:
                return container.duration / 1e6
            stream = container.streams.video[0]
            return float((stream.duration or 0) * (stream.time_base or 0))
    except (av.FFmpegError, IndexError, OSError):
        return 0.0


def event_row(clip: Path, root: Path) -> EventRow | None:
    """A clip's event, from its sidecar; None for a clip without one (or one that cannot be read)."""
    try:
        event = json.loads(sidecar_of(clip).read_text(encoding="utf-8"))
        end = event["end"] if event["end"] is not None else event["clip_start"] + length_of(clip)
        return (str(event["id"]), str(event["camera"]), str(event["label"]), float(event["start"]), end,
                float(event["score"]), relative(clip, root),
                relative(thumbnail_of(clip), root) if thumbnail_of(clip).exists() else None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def on_disk(root: Path) -> tuple[list[SegmentRow], list[EventRow]]:
    """The segments' rows and the clips' events' rows of the files under ``root``."""
    cameras = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    segments = [(camera.name, relative(path, root), start_of(path), start_of(path) + length_of(path),
                 path.stat().st_size) for camera in cameras for path in segment_files(camera)]
    events = [row for camera in cameras for row in (event_row(clip, root) for clip in clip_files(camera))
              if row is not None]
    return segments, events


def write_rows(db: sqlite3.Connection, segments: list[SegmentRow], events: list[EventRow],
               problems: Sequence[HealthRow] = ()) -> None:
    """Replace the segments and the clips' events, and write the health events, in one transaction:
    the old rows stay until the new ones are all in."""
    with db:
        db.execute("BEGIN")
        db.execute("DELETE FROM segments")
        db.executemany('INSERT OR REPLACE INTO segments (camera, path, start, "end", bytes) VALUES (?, ?, ?, ?, ?)',
                       segments)
        db.execute("DELETE FROM events WHERE clip IS NOT NULL")
        db.executemany('INSERT OR REPLACE INTO events (id, camera, label, start, "end", score, clip, thumbnail) '
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
        db.executemany('INSERT INTO events (id, camera, label, start, "end", score, kind) VALUES '
                       "(?, ?, ?, ?, ?, 1.0, 'health') ON CONFLICT (id) DO UPDATE SET "
                       '"end" = COALESCE(excluded."end", events."end")', problems)


def rebuild_into(db: sqlite3.Connection, root: Path) -> Rebuilt:
    """The rows of the files under ``root`` into ``db``."""
    segments, events = on_disk(root)
    problems = health_rows(root)
    write_rows(db, segments, events, problems)
    cameras = {row[0] for row in segments} | {row[1] for row in events} | {row[1] for row in problems}
    return Rebuilt(len(segments), len(cameras), len(events), len(problems))


def close_open_events(db: sqlite3.Connection, root: Path, before: float) -> int:
    """Events that started before ``before`` and never ended (a run killed mid-event): each ends
    where its clip ends, or, without a clip, at the last second its label was seen on its camera
    (at its start if none). Returns how many were closed."""
    rows = db.execute('SELECT id, camera, label, start, clip FROM events WHERE "end" IS NULL AND start < ?',
                      (before,)).fetchall()
    for event_id, camera, label, start, clip in rows:
        row = event_row(root / clip, root) if clip else None
        end = row[4] if row is not None and row[0] == event_id else None
        if end is None:
            (last,) = db.execute("SELECT MAX(second) + 1 FROM seconds WHERE camera = ? AND label = ? AND second >= ?",
                                 (camera, label, int(start))).fetchone()
            end = max(start, float(last)) if last is not None else start
        db.execute('UPDATE events SET "end" = ? WHERE id = ?', (end, event_id))
    return len(rows)


def rebuild(root: Path) -> Rebuilt:
    """``live-classify index DIR``: replace the index's segments and clips' events with those on
    disk under ``root``, and write its cameras' health events (a damaged index is moved aside first)."""
    if not root.is_dir():
        raise LiveClassifyError(f"{root}: not a directory (give the DIR/ of --record DIR/)")
    db, _ = open_index(root / NAME)
    try:
        return rebuild_into(db, root)
    except sqlite3.Error as error:
        raise LiveClassifyError(f"cannot write the index {root / NAME}: {error}") from None
    finally:
        db.close()
