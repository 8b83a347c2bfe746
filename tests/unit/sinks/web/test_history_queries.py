"""The history's searches on an index written here row by row: an event still going on, more
events than a search returns, segments and the per-second summary, exact values throughout."""
from __future__ import annotations

from pathlib import Path

import pytest

from live_classify.sinks.events.index import connect
from live_classify.sinks.web.history.params import Span
from live_classify.sinks.web.history.queries import EVENTS_LIMIT, History, NoIndex

T0 = 1_800_000_000.0
EVERY = Span(None, None, None, None)


def index(root: Path, events: list[tuple[str, str, float, float | None]]) -> History:
    """DIR/index.db with these events (id, camera, start, end): espresso, a score of 0.9."""
    db = connect(root / "index.db")
    db.executemany('INSERT INTO events (id, camera, label, start, "end", score, clip, thumbnail) '
                   "VALUES (?, ?, 'espresso', ?, ?, 0.9, NULL, NULL)", events)
    db.close()
    return History(root)


def ids(found: list[dict[str, object]]) -> list[object]:
    return [event["id"] for event in found]


def test_an_event_still_going_on_is_found_by_every_search_that_reaches_now(tmp_path: Path) -> None:
    history = index(tmp_path, [("over", "door", T0, T0 + 10), ("going-on", "door", T0 + 20, None)])
    assert ids(history.events(Span(None, None, T0 + 15, None))) == ["going-on"]
    assert ids(history.events(Span("door", "espresso", T0 + 5, T0 + 3600))) == ["going-on", "over"]
    assert ids(history.events(Span(None, None, None, T0 + 15))) == ["over"], "it began after the span"
    (event,) = history.events(Span(None, None, T0 + 30, None))
    assert event["end"] is None and event["start"] == T0 + 20


def test_events_come_newest_first_and_past_the_limit_the_oldest_are_left_out(tmp_path: Path) -> None:
    total = EVENTS_LIMIT + 5
    history = index(tmp_path, [(f"e{n:04d}", "door", T0 + n, T0 + n + 0.5) for n in range(total)])
    found = ids(history.events(EVERY))
    assert found == [f"e{n:04d}" for n in reversed(range(5, total))]
    assert ids(history.events(Span(None, None, T0 + total - 2.4, None))) == [f"e{n:04d}" for n in (1004, 1003)]


def test_no_index_yet_is_said(tmp_path: Path) -> None:
    with pytest.raises(NoIndex, match="no index in"):
        History(tmp_path).events(EVERY)
