"""``live-classify index DIR``: the index's segments rebuilt from the files on disk, so that a lost
or damaged ``index.db`` is not lost history. Each ``DIR/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4`` is
one row: its start from its name (local time, as the recording named it), its end from its
length as PyAV reads it, its size. Each event clip ``DIR/<camera>/events/<day>/<...>.mp4`` is its
event's row again, from its JSON sidecar (an event cut short by a kill: its end where its clip
ends); the rows of events without a clip, and the per-second summary, are kept as they are.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from live_classify.errors import LiveClassifyError
from live_classify.sinks.events.index import NAME, connect, relative
from live_classify.sinks.record.clip_files import clip_files
from live_classify.sinks.record.clip_names import sidecar_of, thumbnail_of
from live_classify.sinks.record.retention import segment_files

EventRow = tuple[str, str, str, float, float | None, float, str, str | None]


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


def rebuild(root: Path) -> tuple[int, int, int]:
    """Replace the index's segments and clips' events with those on disk under ``root``;
    (segments, cameras, clips)."""
    if not root.is_dir():
        raise LiveClassifyError(f"{root}: not a directory (give the DIR/ of --record DIR/)")
    rows = [(camera.name, relative(path, root), start_of(path), start_of(path) + length_of(path), path.stat().st_size)
            for camera in sorted(p for p in root.iterdir() if p.is_dir())
            for path in segment_files(camera)]
    events = [row for camera in sorted(p for p in root.iterdir() if p.is_dir())
              for row in map(lambda clip: event_row(clip, root), clip_files(camera)) if row is not None]
    db = connect(root / NAME)
    try:
        with db:  # one transaction: the old rows stay until the new ones are all in
            db.execute("BEGIN")
            db.execute("DELETE FROM segments")
            db.executemany('INSERT OR REPLACE INTO segments (camera, path, start, "end", bytes) VALUES (?, ?, ?, ?, ?)',
                           rows)
            db.execute("DELETE FROM events WHERE clip IS NOT NULL")
            db.executemany('INSERT OR REPLACE INTO events (id, camera, label, start, "end", score, clip, thumbnail) '
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
    except sqlite3.Error as error:
        raise LiveClassifyError(f"cannot write the index {root / NAME}: {error}") from None
    finally:
        db.close()
    return len(rows), len({row[0] for row in rows} | {row[1] for row in events}), len(events)
