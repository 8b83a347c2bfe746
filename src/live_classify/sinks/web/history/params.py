"""A history request's query, checked: each bad value is a 400 with one line saying which and why."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from multidict import MultiMapping

DAY_S = 86_400.0
MAX_BUCKETS = 10_000  # /api/history/labels: at most this many steps in one answer
MAX_EXPORT_S = 6 * 3600.0  # /api/clip.mp4: one download at most this long


LATEST = 95_617_584_000.0  # 5000-01-01 in Unix seconds: beyond it a time can only be a mistake (or an overflow)


def bad(message: str) -> web.HTTPBadRequest:
    """A 400 whose body is ``message``, one line."""
    return web.HTTPBadRequest(text=message.replace("\n", " ") + "\n")


def moment(query: MultiMapping[str], name: str) -> float | None:
    """``name`` as Unix seconds (``1733140800``, ``1733140800.5``) or ISO 8601 (``2026-12-02T10:00``,
    local time unless it names a zone); None when absent or empty."""
    value = query.get(name, "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = datetime.fromisoformat(value).timestamp()
        except ValueError:
            raise bad(f"{name}={value!r}: not a time (Unix seconds, or ISO 8601 like 2026-12-02T10:00)") from None
    if not (math.isfinite(seconds) and 0 <= seconds < LATEST):
        raise bad(f"{name}={value!r}: not a time (Unix seconds between 1970 and the year 5000)")
    return seconds


@dataclass(frozen=True)
class Span:
    """What a search asks for: a camera, a label, a time range (any of them left open)."""

    camera: str | None
    label: str | None
    since: float | None
    until: float | None
    kind: str | None = None  # "class" or "health" events only


def span(query: MultiMapping[str]) -> Span:
    since, until = moment(query, "since"), moment(query, "until")
    if since is not None and until is not None and since > until:
        raise bad("since is after until")
    kind = query.get("kind") or None
    if kind not in (None, "class", "health"):
        raise bad("kind is class or health")
    return Span(query.get("camera") or None, query.get("label") or None, since, until, kind)


def closed(query: MultiMapping[str]) -> tuple[float, float]:
    """``since`` and ``until`` for the summary: until defaults to now, since to a day before it."""
    found = span(query)
    until = found.until if found.until is not None else time.time()
    since = found.since if found.since is not None else until - DAY_S
    if since > until:
        raise bad("since is after until")
    return since, until


def step(query: MultiMapping[str], since: float, until: float) -> int:
    """Seconds per bucket: ``step``, else as few as keep the answer under 1000 buckets."""
    value = query.get("step", "").strip()
    if not value:
        return max(1, math.ceil((until - since) / 1000))
    try:
        seconds = int(value)
    except ValueError:
        raise bad(f"step={value!r}: not a whole number of seconds") from None
    if not 1 <= seconds <= LATEST:
        raise bad(f"step={value!r}: a whole number of seconds from 1 to {LATEST:.0f}")
    if (until - since) / seconds > MAX_BUCKETS:
        raise bad(f"step={seconds}: more than {MAX_BUCKETS} steps from since to until; take a bigger step")
    return seconds


def export(query: MultiMapping[str]) -> tuple[str, float, float]:
    """``camera``, ``start`` and ``end`` of an export: all three required, at most MAX_EXPORT_S apart."""
    camera = query.get("camera", "")
    start, end = moment(query, "start"), moment(query, "end")
    if not camera or start is None or end is None:
        raise bad("camera, start and end are required")
    if end <= start:
        raise bad("end must be after start")
    if end - start > MAX_EXPORT_S:
        raise bad(f"at most {MAX_EXPORT_S / 3600:.0f} hours in one export")
    return camera, start, end
