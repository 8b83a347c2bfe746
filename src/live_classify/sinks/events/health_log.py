"""A camera's health problems on disk, beside its recordings: ``DIR/<camera>/health/<YYYY-MM-DD>.jsonl``
(the local day of the problem's start), one JSON line for its start and one for its end, as the
JSON lines carry them (but for ``start`` and ``end``, unrounded, as the index has them). A health
event has no clip and so no sidecar: these lines are what an index rebuilt from the disk
(``rebuild.py``) reads it back from, as it reads a class event from its sidecar.

Appended by the index's writer thread, never the main loop; flushed, not fsynced: a power cut may
cut the last line short, and the reader skips a line that is not whole. A line that cannot be
written (a full disk, a folder that takes no files) is one warning; it is kept (at most
``OWED_MAX`` lines) and tried again before each of the index's next rows (one a second while
frames come), written once there is room again, with one line to say so.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from live_classify import log
from live_classify.sinks.events.rules import END, HEALTH, Change, record

FOLDER = "health"  # under each camera's folder: apart from its segments' day folders and its clips
FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.jsonl")
OWED_MAX = 1000  # lines kept while they cannot be written; beyond it the oldest are lost

HealthRow = tuple[str, str, str, float, float | None]  # id, camera, problem, start, end (None: going on)


def log_path(root: Path, camera: str, start: float) -> Path:
    return root / camera / FOLDER / f"{time.strftime('%Y-%m-%d', time.localtime(start))}.jsonl"


class HealthLog:
    """The lines of ``DIR``'s cameras' health events, appended in order; used on one thread only."""

    def __init__(self, root: Path, say: log.Log = log.warning) -> None:
        self.root = root
        self.owed: list[tuple[Path, bytes]] = []  # lines not written yet, oldest first
        self._say = say
        self._failing = False

    def add(self, change: Change) -> None:
        """A health event's start or end: appended after the lines still owed (a class event is not)."""
        event = change.event
        if event.kind != HEALTH:
            return
        told = {**record(change), "start": event.start, "end": event.end}  # unrounded: the index's very times
        line = json.dumps(told, ensure_ascii=False) + "\n"
        self.owed.append((log_path(self.root, event.camera, event.start), line.encode("utf-8")))
        del self.owed[:-OWED_MAX]
        self.flush()

    def flush(self) -> None:
        """Write the lines owed, in order, until one cannot be (said once, until they can again)."""
        while self.owed:
            path, line = self.owed[0]
            try:
                append(path, line)
            except OSError as error:
                if not self._failing:
                    self._failing = True
                    self._say(f"cannot write the camera health log {path}: {error.strerror or error}; its lines "
                              "are kept and written once it can be (the index has them meanwhile)")
                return
            self.owed.pop(0)
        if self._failing:
            self._failing = False
            log.info(f"the camera health logs under {self.root} are written again")


def append(path: Path, line: bytes) -> None:
    """``line`` at the end of ``path``, on a line of its own even after a line left torn."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as out:
        if out.seek(0, os.SEEK_END) > 0:
            out.seek(-1, os.SEEK_END)
            if out.read(1) != b"\n":
                line = b"\n" + line
        out.write(line)


def read_log(path: Path) -> list[dict[str, Any]]:
    """A file's whole lines as objects; a torn or foreign line is skipped, as is a file that cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        try:
            told = json.loads(line)
        except ValueError:
            continue
        if isinstance(told, dict) and told.get("kind") == HEALTH:
            found.append(told)
    return found


def health_rows(root: Path) -> list[HealthRow]:
    """Every camera's health events under ``root``: from its end line (which says all), else from
    its start line (going on, or cut short by a kill); a line that does not say what it must is left out."""
    events: dict[str, HealthRow] = {}
    for path in sorted(root.glob(f"*/{FOLDER}/*.jsonl")):
        if not FILE.fullmatch(path.name):
            continue
        for told in read_log(path):
            try:
                row = (str(told["id"]), str(told["camera"]), str(told["problem"]), float(told["start"]),
                       None if told["end"] is None else float(told["end"]))
            except (KeyError, TypeError, ValueError):
                continue
            if told.get("event") == END or row[0] not in events:
                events[row[0]] = row
    return sorted(events.values(), key=lambda row: (row[3], row[0]))
