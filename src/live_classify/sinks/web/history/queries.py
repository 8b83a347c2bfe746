"""Reads of ``DIR/index.db``, read-only: the recording's own writer goes on beside them (WAL lets
readers and one writer work at once). Each call opens and closes its connection: it runs on an
executor thread, never on the server's event loop."""
from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from live_classify.sinks.events.index import NAME
from live_classify.sinks.events.index_file import has_kind
from live_classify.sinks.record.clip_names import part_path
from live_classify.sinks.web.history.params import Span

EVENTS_LIMIT = 1000  # the newest this many events of a search


class NoIndex(Exception):
    """There is no index to read (yet): recording without ``--segment`` or ``--event``."""


def media_url(path: str | None) -> str | None:
    """The URL that serves a file the index names (relative to DIR)."""
    return None if path is None else "/media/" + quote(path)


class History:
    """The queries the history page and its APIs make."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _connect(self) -> sqlite3.Connection:
        path = self.root / NAME
        if not path.is_file():
            raise NoIndex(f"no index in {self.root} yet (it comes with --segment or --event)")
        return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=5)

    def _rows(self, sql: str, values: tuple[object, ...]) -> list[tuple]:
        db = self._connect()
        try:
            return db.execute(sql, values).fetchall()
        finally:
            db.close()

    def events(self, span: Span) -> list[dict[str, object]]:
        """Events that overlap the span (one still going on counts to now), newest first."""
        where, values = _where(span, "start", '"end"')
        if span.label:
            where, values = [*where, "label = ?"], (*values, span.label)
        kinds = self._kinds()  # an older index has no kind: its events are all of classes
        if span.kind:
            where, values = [*where, "kind = ?" if kinds else "? = 'class'"], (*values, span.kind)
        kind = "kind" if kinds else "'class'"
        rows = self._rows(f'SELECT id, camera, label, start, "end", score, clip, thumbnail, {kind} FROM events'
                          f"{_clause(where)} ORDER BY start DESC LIMIT {EVENTS_LIMIT}", values)
        return [{"id": r[0], "camera": r[1], "label": r[2], "start": r[3], "end": r[4], "score": round(r[5], 4),
                 "clip": media_url(r[6]), "clips": [media_url(c) for c in self._clips(r[6])],
                 "thumbnail": media_url(r[7]), "kind": r[8]} for r in rows]

    def _kinds(self) -> bool:
        """Whether the index tells health events from class events."""
        db = self._connect()
        try:
            return has_kind(db)
        finally:
            db.close()

    def _clips(self, first: str | None) -> list[str]:
        """An event's clips in order: its first, then (``--event-max``) its next parts beside it on disk."""
        clips = [first] if first else []
        while clips and (self.root / (following := str(part_path(Path(first or ""), len(clips) + 1)))).is_file():
            clips.append(following)
        return clips

    def recordings(self, span: Span) -> list[dict[str, object]]:
        """Segments that overlap the span, oldest first."""
        where, values = _where(span, "start", '"end"')
        rows = self._rows(f'SELECT camera, path, start, "end", bytes FROM segments{_clause(where)} ORDER BY start',
                          values)
        return [{"camera": r[0], "url": media_url(r[1]), "path": r[1], "start": r[2], "end": r[3], "bytes": r[4]}
                for r in rows]

    def labels(self, camera: str | None, since: float, until: float, step: int) -> list[dict[str, object]]:
        """The per-second summary in buckets of ``step`` seconds: each bucket's most frequent top
        label (ties: the best score) and its best score, per camera; buckets with nothing are left out."""
        values: tuple[object, ...] = (since, until)
        where = "second >= ? AND second < ?"
        if camera:
            where, values = where + " AND camera = ?", (*values, camera)
        rows = self._rows(f"SELECT camera, CAST((second - ?) / ? AS INTEGER) AS bucket, label, count(*), max(score) "
                          f"FROM seconds WHERE {where} GROUP BY camera, bucket, label", (since, step, *values))
        best: dict[tuple[str, int], tuple[int, float, str | None]] = {}
        for cam, bucket, label, count, score in rows:
            if (cam, bucket) not in best or (count, score or 0.0) > best[cam, bucket][:2]:
                best[cam, bucket] = (count, score or 0.0, label)
        return [{"camera": cam, "start": since + bucket * step, "label": label, "score": round(score, 4)}
                for (cam, bucket), (_, score, label) in sorted(best.items())]

    def cameras(self) -> list[str]:
        """Every camera the index knows, by name."""
        rows = self._rows("SELECT camera FROM segments UNION SELECT camera FROM events "
                          "UNION SELECT DISTINCT camera FROM seconds", ())
        return sorted(row[0] for row in rows)

    def label_names(self, cameras: list[str] | None = None) -> list[str]:
        """Every label seen on top (on ``cameras``: None, all), most seen first (the search box's suggestions)."""
        only = "" if cameras is None else f" AND camera IN ({','.join('?' * len(cameras))})"
        counts = Counter({r[0]: r[1] for r in self._rows(
            f"SELECT label, count(*) FROM seconds WHERE label IS NOT NULL{only} GROUP BY label", tuple(cameras or ()))})
        return [label for label, _ in counts.most_common(200)]

    def segments(self, camera: str, start: float, end: float) -> list[tuple[Path, float, float]]:
        """The files of ``camera`` that overlap [start, end], oldest first, as (path, start, end)."""
        rows = self._rows('SELECT path, start, "end" FROM segments WHERE camera = ? AND "end" >= ? AND start <= ? '
                          "ORDER BY start", (camera, start, end))
        return [(self.root / r[0], r[1], r[2]) for r in rows]


def _where(span: Span, start: str, end: str) -> tuple[list[str], tuple[object, ...]]:
    """The conditions for rows [start, end] that overlap the span (an open end: still going on)."""
    where: list[str] = []
    values: list[object] = []
    if span.camera:
        where.append("camera = ?")
        values.append(span.camera)
    if span.since is not None:
        where.append(f"({end} IS NULL OR {end} >= ?)")
        values.append(span.since)
    if span.until is not None:
        where.append(f"{start} <= ?")
        values.append(span.until)
    return where, tuple(values)


def _clause(where: list[str]) -> str:
    return " WHERE " + " AND ".join(where) if where else ""
