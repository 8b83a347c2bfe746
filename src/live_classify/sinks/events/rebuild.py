"""``live-classify index DIR``: the index's segments rebuilt from the files on disk, so that a lost
or damaged ``index.db`` is not lost history. Each ``DIR/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4`` is
one row: its start from its name (local time, as the recording named it), its end from its
length as PyAV reads it, its size. The events and the per-second summary are kept as they are (the
events come back from their clips once clips are recorded).
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from live_classify.errors import LiveClassifyError
from live_classify.sinks.events.index import NAME, connect, relative
from live_classify.sinks.record.retention import segment_files


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


def rebuild(root: Path) -> tuple[int, int]:
    """Replace the index's segments with those on disk under ``root``; (segments, cameras)."""
    if not root.is_dir():
        raise LiveClassifyError(f"{root}: not a directory (give the DIR/ of --record DIR/)")
    rows = [(camera.name, relative(path, root), start_of(path), start_of(path) + length_of(path), path.stat().st_size)
            for camera in sorted(p for p in root.iterdir() if p.is_dir())
            for path in segment_files(camera)]
    db = connect(root / NAME)
    try:
        with db:  # one transaction: the old rows stay until the new ones are all in
            db.execute("BEGIN")
            db.execute("DELETE FROM segments")
            db.executemany('INSERT OR REPLACE INTO segments (camera, path, start, "end", bytes) VALUES (?, ?, ?, ?, ?)',
                           rows)
    except sqlite3.Error as error:
        raise LiveClassifyError(f"cannot write the index {root / NAME}: {error}") from None
    finally:
        db.close()
    return len(rows), len({row[0] for row in rows})
