"""``DIR/index.db`` as a file: opened in WAL mode with its tables, told apart from a damaged one
(moved aside, so that a new one can be rebuilt from the recordings: the index is a cache of the
disk), and known by its identity on disk, so that a file deleted or replaced under the writer is
noticed. No rows here: ``index.py`` writes them, ``rebuild.py`` reads them back from the files."""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from live_classify import log
from live_classify.errors import LiveClassifyError

NAME = "index.db"
WAL_PAGES = 16  # the write-ahead log is folded into index.db past this many pages (64 kB)
BUSY_S = 5.0  # SQLite's own wait for another writer's lock, before the writer's retries take over

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, camera TEXT NOT NULL, label TEXT NOT NULL,
    start REAL NOT NULL, "end" REAL, score REAL NOT NULL, clip TEXT, thumbnail TEXT,
    kind TEXT NOT NULL DEFAULT 'class');
CREATE INDEX IF NOT EXISTS events_by_time ON events (camera, start);
CREATE TABLE IF NOT EXISTS segments (camera TEXT NOT NULL, path TEXT PRIMARY KEY, start REAL NOT NULL,
    "end" REAL NOT NULL, bytes INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS segments_by_time ON segments (camera, start);
CREATE TABLE IF NOT EXISTS seconds (camera TEXT NOT NULL, second INTEGER NOT NULL, label TEXT,
    score REAL, PRIMARY KEY (camera, second));
CREATE TABLE IF NOT EXISTS marks (event TEXT PRIMARY KEY, camera TEXT NOT NULL, label TEXT NOT NULL,
    correct INTEGER NOT NULL, who TEXT NOT NULL, at REAL NOT NULL);
"""
# Each table is made where it is missing, so an index.db of an older version gains the newer ones
# (``marks``) the first time it is opened to be written, with its rows as they were.

Identity = tuple[int, int] | None  # (device, inode) of the file, None when there is none


def connect(path: Path) -> sqlite3.Connection:
    """The index at ``path``, created if new, in WAL mode; a damaged file raises
    :class:`sqlite3.DatabaseError` (see :func:`damaged`), anything else is one line."""
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_S)
    except sqlite3.Error as error:
        raise LiveClassifyError(f"cannot open the index {path}: {error}") from None
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: a process killed loses nothing committed
        # A small log, folded into the file often: the index must not take the room the video needs.
        db.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        db.execute(f"PRAGMA journal_size_limit={WAL_PAGES * 4096}")
        db.executescript(SCHEMA)
        if not has_kind(db):  # an index made before health events: its events are all of classes
            db.execute("ALTER TABLE events ADD COLUMN kind TEXT NOT NULL DEFAULT 'class'")
    except sqlite3.Error as error:
        db.close()
        if damaged(error):
            raise
        raise LiveClassifyError(f"cannot open the index {path}: {error}") from None
    return db


def has_kind(db: sqlite3.Connection) -> bool:
    """Whether the events table tells class events from health events (an older index's does not)."""
    return any(row[1] == "kind" for row in db.execute("PRAGMA table_info(events)"))


def damaged(error: sqlite3.Error) -> bool:
    """The file is not an SQLite database, or its pages are broken (not a lock, not a full disk)."""
    text = str(error)
    return "not a database" in text or "malformed" in text


def busy(error: sqlite3.Error) -> bool:
    """Another process holds the lock: worth waiting for."""
    text = str(error)
    return "locked" in text or "busy" in text


def open_index(path: Path, say: log.Log = log.warning) -> tuple[sqlite3.Connection, bool]:
    """The index at ``path``; a damaged one is moved aside (one line says where) and a new one made.
    Returns the connection and whether the file is new after damage (its rows are to be rebuilt)."""
    try:
        return connect(path), False
    except sqlite3.DatabaseError as error:
        aside = set_aside(path)
        say(f"the index {path} is damaged ({error}): moved aside as {aside.name}; a new one is rebuilt "
            "from the recordings and sidecars")
    try:
        return connect(path), True
    except sqlite3.DatabaseError as error:
        raise LiveClassifyError(f"cannot open the index {path}: {error}") from None


def set_aside(path: Path) -> Path:
    """Rename ``index.db`` (and its write-ahead log) to ``index.db.damaged-<time>``; its shared
    memory file goes (SQLite makes a new one)."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while aside.exists():
        n += 1
        aside = aside.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
    try:
        os.replace(path, aside)
        if (wal := path.with_name(f"{path.name}-wal")).exists():
            os.replace(wal, aside.with_name(f"{aside.name}-wal"))
        path.with_name(f"{path.name}-shm").unlink(missing_ok=True)
    except OSError as error:
        raise LiveClassifyError(f"cannot move the damaged index {path} aside: {error.strerror}") from None
    return aside


def identity(path: Path) -> Identity:
    """Which file ``path`` names now: a file deleted or replaced under an open connection is another."""
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_dev, status.st_ino)


def relative(path: Path, root: Path) -> str:
    """A segment's path as the index keeps it: under DIR, so the folder can move."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
