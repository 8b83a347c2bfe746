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
the clips' events from the files (``rebuild.py``), and the cameras' health events from the lines
this writer also appends for each of them beside the recordings (``health_log.py``).

The index is a cache of the disk, and never stops the run: a damaged file is moved aside and
rebuilt from the recordings, on the writer's thread while recording goes on; a lock held by
another process is waited for with growing pauses (the rows queue up meanwhile); a file deleted or
replaced under it is reopened (a deleted one rebuilt). Each is said once. At the start, events a
killed run left open are closed where their clips end (``rebuild.py``).
"""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from live_classify import log
from live_classify.pipeline.frames import Prediction
from live_classify.sinks.base import BackgroundWriter, InBackground, Redraw, Update
from live_classify.sinks.events.health_log import HealthLog
from live_classify.sinks.events.index_file import NAME, busy, damaged, identity, open_index, relative
from live_classify.sinks.events.rebuild import close_open_events, rebuild_into
from live_classify.sinks.events.rules import HEALTH, Change

BACKLOG = 10_000  # rows waiting for the disk; beyond it the oldest are dropped (counted)
RETRY_S = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)  # pauses between tries while another process holds the lock
GIVE_UP_CLOSING_S = 5.0  # at the close, a lock still held this long ends the waiting: the rest is lost

Job = Callable[[sqlite3.Connection], object]  # one row (or the rebuild), in a transaction of its own


class Index(InBackground):
    """The sink: events, each camera's seconds and the segments its recording closes, to ``index.db``."""

    name = "index"
    essential = False
    stop_requested = False

    def __init__(self, root: Path, say: log.Log = log.warning) -> None:
        self.root = root
        self.path = root / NAME
        self.rows = 0
        self._say = say
        self._closing = threading.Event()
        self._health = HealthLog(root, say)  # written on the writer's thread only
        self._started = started = time.time()
        self._db, rebuild = open_index(self.path, say)
        self._file = identity(self.path)
        self._second: dict[str, tuple[int, str | None, float]] = {}  # camera: the second being summed
        self._no_clip: set[str] = set()  # events named a clip that never came
        self._writer: BackgroundWriter[Job] = BackgroundWriter("index", self._execute, drop=True, backlog=BACKLOG)
        self._writer.submit(partial(self._tidy, rebuild=rebuild, before=started))

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
        """At its start, and again at its end (with the end and the best score); a health event is
        also a line on disk first (what a rebuild reads it back from)."""
        e = change.event
        if e.kind == HEALTH:
            self._writer.submit(partial(self._log_health, change))
        if e.id in self._no_clip:
            e = replace(e, clip=None, thumbnail=None)
        self._submit('INSERT OR REPLACE INTO events (id, camera, label, start, "end", score, clip, thumbnail, kind) '
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (e.id, e.camera, e.label, e.start, e.end, e.score, e.clip,
                                                            e.thumbnail, e.kind))

    def segment_closed(self, camera: str, path: Path, start: float, end: float, size: int) -> None:
        """From the recording's thread: a segment is whole on disk."""
        self._submit('INSERT OR REPLACE INTO segments (camera, path, start, "end", bytes) VALUES (?, ?, ?, ?, ?)',
                     (camera, relative(path, self.root), start, end, size))

    def segments_deleted(self, paths: list[Path]) -> None:
        """From the recording's thread: retention deleted these files."""
        for path in paths:
            self._submit("DELETE FROM segments WHERE path = ?", (relative(path, self.root),))
        for camera in {relative(path, self.root).partition("/")[0] for path in paths}:  # the seconds go with them
            self._submit('DELETE FROM seconds WHERE camera = ? AND second < (SELECT MIN(start) FROM segments '
                         "WHERE camera = ?)", (camera, camera))

    def clips_deleted(self, clips: list[Path]) -> None:
        """From a recording's thread: ``--retain-events`` deleted these clips (and their thumbnails)."""
        for clip in clips:
            self._submit("DELETE FROM events WHERE clip = ?", (relative(clip, self.root),))

    def clip_missing(self, event_id: str) -> None:
        """From a recording's thread: the event was named a clip, but no footage came (its row says no clip)."""
        self._no_clip.add(event_id)
        self._submit('UPDATE events SET clip = NULL, thumbnail = NULL WHERE id = ?', (event_id,))

    def idle(self, redraw: Redraw) -> None:
        pass

    def close(self) -> None:
        for camera in list(self._second):
            self._write_second(camera)
        self._closing.set()
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
        self._writer.submit(partial(self._row, sql, values))

    def _row(self, sql: str, values: tuple[object, ...], db: sqlite3.Connection) -> None:
        db.execute(sql, values)
        self.rows += 1

    def _log_health(self, change: Change, db: sqlite3.Connection) -> None:
        self._health.add(change)

    def _execute(self, job: Job) -> None:
        """In the writer's thread: one row, one transaction (committed at once: autocommit), on the
        file that is there now; a lock is waited for, a damaged file set aside and rebuilt. Health
        lines a full disk held back are tried again first."""
        if self._health.owed:
            self._health.flush()
        self._follow_file()
        waited, tries = time.monotonic(), 0
        while True:
            try:
                job(self._db)
                break
            except sqlite3.Error as error:
                if damaged(error):
                    self._reopen(rebuild=True)
                    continue
                if not busy(error) or (self._closing.is_set() and time.monotonic() - waited > GIVE_UP_CLOSING_S):
                    raise OSError(f"cannot write the index {self.path}: {error}") from None
                if tries == 0:
                    self._say(f"the index {self.path} is locked by another process: waiting for it (rows queue "
                              f"up, at most {BACKLOG})")
                time.sleep(RETRY_S[min(tries, len(RETRY_S) - 1)])
                tries += 1
        if tries:
            log.info(f"the index {self.path} is written again (locked for {time.monotonic() - waited:.0f} s)")

    def _follow_file(self) -> None:
        """A file deleted under the writer is made anew and rebuilt; one replaced is written from now on."""
        now = identity(self.path)
        if now == self._file:
            return
        gone = now is None
        self._fold_log()
        self._say(f"the index {self.path} was " + ("deleted: a new one is rebuilt from the recordings" if gone
                                                   else "replaced: the new file is written from now on"))
        self._reopen(rebuild=gone)

    def _fold_log(self) -> None:
        """Fold the write-ahead log into the file it belongs to (open here, whatever its name now)
        and empty it: SQLite does not at the close of a file moved or deleted, and the next file
        opened under the name would take that log's pages for its own."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:  # a lock or a damaged file: the reopen says what is wrong, if anything
            pass

    def _reopen(self, rebuild: bool) -> None:
        self._db.close()
        self._db, damaged_now = open_index(self.path, self._say)
        self._file = identity(self.path)
        if rebuild or damaged_now:  # health events a killed run left open are closed again, as at the start
            self._tidy(self._db, rebuild=True, before=self._started)

    def _tidy(self, db: sqlite3.Connection, *, rebuild: bool, before: float) -> None:
        """At the start, on the writer's thread: the rows of a damaged index rebuilt from the files;
        events left open by a run that was killed (started ``before`` this one) closed."""
        if rebuild:
            found = rebuild_into(db, self.root)
            log.info(f"the index {self.path} is rebuilt: {found.segments} segments of {found.cameras} cameras, "
                     f"{found.clips} event clips, {found.problems} camera problems")
        if before and (closed := close_open_events(db, self.root, before)):
            plural = "s" if closed > 1 else ""
            log.info(f"the index: {closed} event{plural} left open by a run that ended without closing them, "
                     "closed where their clips end")
