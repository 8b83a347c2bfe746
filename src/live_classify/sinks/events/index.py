"""``--record DIR/`` with ``--segment`` or ``--event``: ``DIR/index.db``, an SQLite index of what
was seen and recorded, to search without reading JSON lines or video.

Tables (times in Unix seconds): ``events`` (one row per event, written at its start and again at
its end; ``clip`` and ``thumbnail`` are paths relative to DIR, as ``--record-mode events|both``
names them at the start, ``<camera>/events/<YYYY-MM-DD>/<HH-MM-SS>-<label>.mp4`` and ``.jpg``, the
JPEG written as the event starts and again as it ends; NULL for an event that has no clip; a row goes when
``--retain-events`` deletes its clip), ``segments`` (one row per closed segment, removed when
retention deletes its file) and ``seconds`` (per camera and wall-clock second, the top label and
score of that second's best classification). One thread writes (a :class:`BackgroundWriter`),
each row in a transaction of its own, in WAL mode: a SIGKILL loses at most the second still
being summed and never corrupts the file. ``live-classify index DIR`` rebuilds the segments and
the clips' events from the files (``rebuild.py``).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from live_classify.errors import LiveClassifyError
from live_classify.pipeline.frames import Prediction
from live_classify.sinks.base import BackgroundWriter, InBackground, Redraw, Update
from live_classify.sinks.events.rules import Change

NAME = "index.db"
WAL_PAGES = 16  # the write-ahead log is folded into index.db past this many pages (64 kB)
BACKLOG = 10_000  # rows waiting for the disk; beyond it the oldest are dropped (counted)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, camera TEXT NOT NULL, label TEXT NOT NULL,
    start REAL NOT NULL, "end" REAL, score REAL NOT NULL, clip TEXT, thumbnail TEXT);
CREATE INDEX IF NOT EXISTS events_by_time ON events (camera, start);
CREATE TABLE IF NOT EXISTS segments (camera TEXT NOT NULL, path TEXT PRIMARY KEY, start REAL NOT NULL,
    "end" REAL NOT NULL, bytes INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS segments_by_time ON segments (camera, start);
CREATE TABLE IF NOT EXISTS seconds (camera TEXT NOT NULL, second INTEGER NOT NULL, label TEXT,
    score REAL, PRIMARY KEY (camera, second));
"""

Statement = tuple[str, tuple[object, ...]]


def connect(path: Path) -> sqlite3.Connection:
    """The index at ``path``, created if new, in WAL mode; one line if it cannot be."""
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: a process killed loses nothing committed
        # A small log, folded into the file often: the index must not take the room the video needs.
        db.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        db.execute(f"PRAGMA journal_size_limit={WAL_PAGES * 4096}")
        db.executescript(SCHEMA)
    except sqlite3.Error as error:
        raise LiveClassifyError(f"cannot open the index {path}: {error}") from None
    return db


def relative(path: Path, root: Path) -> str:
    """A segment's path as the index keeps it: under DIR, so the folder can move."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


class Index(InBackground):
    """The sink: events, each camera's seconds and the segments its recording closes, to ``index.db``."""

    name = "index"
    essential = False
    stop_requested = False

    def __init__(self, root: Path, connect_to: Callable[[Path], sqlite3.Connection] = connect) -> None:
        self.root = root
        self.path = root / NAME
        self.rows = 0
        self._db = connect_to(self.path)
        self._second: dict[str, tuple[int, str | None, float]] = {}  # camera: the second being summed
        self._writer: BackgroundWriter[Statement] = BackgroundWriter("index", self._execute, drop=True,
                                                                     backlog=BACKLOG)

    def write(self, update: Update) -> None:
        self.write_predictions(update.shown.new_predictions)

    def write_predictions(self, predictions: list[Prediction]) -> None:
        """Each camera's best classification of each second; a second is written once the next begins."""
        for prediction in predictions:
            camera, second = prediction.frame.camera, int(prediction.frame.wall_time)
            top = prediction.result.top
            label = str(top.labels[0]) if len(top.labels) else None
            score = float(top.scores[0]) if len(top.scores) else 0.0
            held = self._second.get(camera)
            if held is not None and held[0] != second:
                self._write_second(camera)
                held = None
            if held is None or score > held[2]:
                self._second[camera] = (second, label, score)

    def write_event(self, change: Change) -> None:
        """At its start, and again at its end (with the end and the best score)."""
        e = change.event
        self._submit('INSERT OR REPLACE INTO events (id, camera, label, start, "end", score, clip, thumbnail) '
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (e.id, e.camera, e.label, e.start, e.end, e.score, e.clip,
                                                         e.thumbnail))

    def segment_closed(self, camera: str, path: Path, start: float, end: float, size: int) -> None:
        """From the recording's thread: a segment is whole on disk."""
        self._submit('INSERT OR REPLACE INTO segments (camera, path, start, "end", bytes) VALUES (?, ?, ?, ?, ?)',
                     (camera, relative(path, self.root), start, end, size))

    def segments_deleted(self, paths: list[Path]) -> None:
        """From the recording's thread: retention deleted these files."""
        for path in paths:
            self._submit("DELETE FROM segments WHERE path = ?", (relative(path, self.root),))

    def clips_deleted(self, clips: list[Path]) -> None:
        """From a recording's thread: ``--retain-events`` deleted these clips (and their thumbnails)."""
        for clip in clips:
            self._submit("DELETE FROM events WHERE clip = ?", (relative(clip, self.root),))

    def idle(self, redraw: Redraw) -> None:
        pass

    def close(self) -> None:
        for camera in list(self._second):
            self._write_second(camera)
        self._writer.finish()
        self._db.close()

    def summary(self) -> str | None:
        dropped = f" ({self._writer.dropped} dropped: the disk was too slow)" if self._writer.dropped else ""
        return f"indexed {self.rows} rows in {self.path}{dropped}"

    def _write_second(self, camera: str) -> None:
        second, label, score = self._second.pop(camera)
        self._submit("INSERT OR REPLACE INTO seconds (camera, second, label, score) VALUES (?, ?, ?, ?)",
                     (camera, second, label, round(score, 6)))

    def _submit(self, sql: str, values: tuple[object, ...]) -> None:
        self._writer.submit((sql, values))

    def _execute(self, statement: Statement) -> None:
        """In the writer's thread: one row, one transaction (committed at once: autocommit)."""
        sql, values = statement
        try:
            self._db.execute(sql, values)
        except sqlite3.Error as error:
            raise OSError(f"cannot write the index {self.path}: {error}") from None
        self.rows += 1
