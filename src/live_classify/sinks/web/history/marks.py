"""Right or wrong: a person's word on an event, kept in the index's ``marks`` table (its own table, so
that the event's row, written again at its end or by a rebuild, never loses it; with the camera and
the label, so that the tally outlives the clip that retention deletes). Written on an executor thread
through a connection of its own, beside the recording's writer (WAL: one writer at a time, the other
waits a moment)."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from live_classify.sinks.events.index_file import NAME, connect
from live_classify.sinks.web.history.queries import NoIndex


class NoEvent(LookupError):
    """No event of that id in the index."""


def _index(root: Path) -> Path:
    path = root / NAME
    if not path.is_file():
        raise NoIndex(f"no index in {root} yet (it comes with --segment or --event)")
    return path


def write(root: Path, event: str, correct: bool | None, who: str) -> dict[str, object]:
    """Mark ``event`` right (True) or wrong (False), or take its mark back (None); the event's row as said."""
    db = connect(_index(root))  # creates the marks table in an index made before it existed
    try:
        row = db.execute("SELECT camera, label FROM events WHERE id = ?", (event,)).fetchone()
        if row is None:
            raise NoEvent(f"no event {event!r} in the index")
        if correct is None:
            db.execute("DELETE FROM marks WHERE event = ?", (event,))
        else:
            db.execute("INSERT OR REPLACE INTO marks (event, camera, label, correct, who, at) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (event, row[0], row[1], int(correct), who, time.time()))
    finally:
        db.close()
    return {"id": event, "camera": row[0], "label": row[1], "right": correct, "by": who}


def _read(root: Path, sql: str, values: tuple[object, ...] = ()) -> list[tuple]:
    db = sqlite3.connect(f"file:{quote(str(_index(root)))}?mode=ro", uri=True, timeout=5)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'marks'").fetchone():
            return []  # an index of an older version, not written since: no mark yet
        return db.execute(sql, values).fetchall()
    finally:
        db.close()


def of(root: Path, events: list[str]) -> dict[str, bool]:
    """The marks of these events (those marked)."""
    found: dict[str, bool] = {}
    for start in range(0, len(events), 500):  # SQLite's limit on the values of one statement
        chunk = events[start:start + 500]
        rows = _read(root, f"SELECT event, correct FROM marks WHERE event IN ({','.join('?' * len(chunk))})",
                     tuple(chunk))
        found.update({event: bool(correct) for event, correct in rows})
    return found


def tally(root: Path) -> list[dict[str, object]]:
    """Per camera and label, how many events were marked right and wrong (most marked first)."""
    rows = _read(root, "SELECT camera, label, sum(correct), count(*) - sum(correct) FROM marks "
                       "GROUP BY camera, label ORDER BY count(*) DESC, camera, label")
    return [{"camera": camera, "label": label, "right": right, "wrong": wrong} for camera, label, right, wrong in rows]
