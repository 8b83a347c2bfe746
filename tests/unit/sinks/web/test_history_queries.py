"""The history's searches on an index written here row by row: an event still going on, more
events than a search returns, segments and the per-second summary, exact values throughout."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from live_classify.sinks.events.index_file import connect
from live_classify.sinks.web.history.params import Span
from live_classify.sinks.web.history.queries import EVENTS_LIMIT, History, NoIndex

EVENT_ROW = "INSERT INTO events (id, camera, label, start, [end], score, clip, thumbnail) VALUES"

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


@pytest.fixture
def full(tmp_path: Path) -> History:
    """Two cameras: door's two segments, an event each, and door's per-second summary."""
    db = connect(tmp_path / "index.db")
    db.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?)", [
        ("door", "door/2027-01-15/10-00-00.mp4", T0, T0 + 2.9, 1000),
        ("door", "door/2027-01-15/10-00-03 #1.mp4", T0 + 3, T0 + 5.9, 2000),
        ("yard", "yard/2027-01-15/10-00-00.mp4", T0, T0 + 2.9, 3000)])
    db.executemany(EVENT_ROW + " (?, ?, ?, ?, ?, ?, ?, ?)", [
        ("d1", "door", "espresso", T0 + 1, T0 + 2, 0.123456, "door/events/2027-01-15/10-00-01 a.mp4",
         "door/events/2027-01-15/10-00-01 a.jpg"),
        ("y1", "yard", "tabby", T0 + 4, T0 + 5, 0.5, None, None)])
    db.executemany("INSERT INTO seconds VALUES (?, ?, ?, ?)", [
        ("door", int(T0), "espresso", 0.9), ("door", int(T0) + 1, "espresso", 0.8),
        ("door", int(T0) + 2, "cup", 0.95), ("door", int(T0) + 3, "cup", 0.7),
        ("door", int(T0) + 4, "espresso", 0.6), ("door", int(T0) + 5, None, None),
        ("gate", int(T0) + 1, "cup", 0.5), ("yard", int(T0) + 9, "espresso", 0.4)])
    db.close()
    return History(tmp_path)


def test_an_event_as_the_page_gets_it(full: History) -> None:
    assert full.events(Span("door", "espresso", None, None)) == [{
        "id": "d1", "camera": "door", "label": "espresso", "start": T0 + 1, "end": T0 + 2, "score": 0.1235,
        "clip": "/media/door/events/2027-01-15/10-00-01%20a.mp4",
        "clips": ["/media/door/events/2027-01-15/10-00-01%20a.mp4"],
        "thumbnail": "/media/door/events/2027-01-15/10-00-01%20a.jpg", "kind": "class"}]


def test_kind_health_lists_the_cameras_problems_only(full: History, tmp_path: Path) -> None:
    db = connect(tmp_path / "index.db")
    db.execute("INSERT INTO events (id, camera, label, start, [end], score, kind) VALUES "
               "('h1', 'door', 'dark', ?, ?, 1.0, 'health')", (T0 + 3, T0 + 4))
    db.close()
    assert [(e["id"], e["label"], e["kind"]) for e in full.events(Span(None, None, None, None, "health"))] == [
        ("h1", "dark", "health")]
    assert "h1" not in [e["id"] for e in full.events(Span(None, None, None, None, "class"))]
    assert full.events(Span("yard", None, None, None))[0]["clip"] is None
    assert full.events(Span(None, "tabby", None, None))[0]["camera"] == "yard"


def test_recordings_overlapping_a_span_oldest_first(full: History) -> None:
    assert full.recordings(Span("door", None, T0 + 2.95, None)) == [{
        "camera": "door", "url": "/media/door/2027-01-15/10-00-03%20%231.mp4",
        "path": "door/2027-01-15/10-00-03 #1.mp4", "start": T0 + 3, "end": T0 + 5.9, "bytes": 2000}]
    assert [r["path"] for r in full.recordings(Span(None, None, T0 + 2.9, T0 + 3))] == [
        "door/2027-01-15/10-00-00.mp4", "yard/2027-01-15/10-00-00.mp4", "door/2027-01-15/10-00-03 #1.mp4"]
    assert [r["bytes"] for r in full.recordings(Span(None, None, None, T0 + 2))] == [1000, 3000]


def test_the_summary_in_buckets_the_most_seen_label_and_its_best_score(full: History) -> None:
    second = float(int(T0))
    assert full.labels("door", second, second + 6, 2) == [
        {"camera": "door", "start": second, "label": "espresso", "score": 0.9},
        {"camera": "door", "start": second + 2, "label": "cup", "score": 0.95},
        {"camera": "door", "start": second + 4, "label": "espresso", "score": 0.6}]
    assert full.labels("door", second + 1, second + 3, 2) == [  # a tie: the best score wins
        {"camera": "door", "start": second + 1, "label": "cup", "score": 0.95}]
    assert full.labels(None, second + 1, second + 2, 1) == [
        {"camera": "door", "start": second + 1, "label": "espresso", "score": 0.8},
        {"camera": "gate", "start": second + 1, "label": "cup", "score": 0.5}]


def test_cameras_labels_and_segments_known_to_the_index(full: History, tmp_path: Path) -> None:
    assert full.cameras() == ["door", "gate", "yard"]
    assert full.label_names() == ["espresso", "cup"]
    second = tmp_path / "door/2027-01-15/10-00-03 #1.mp4"
    assert full.segments("door", T0 + 2.95, T0 + 10) == [(second, T0 + 3, T0 + 5.9)]
    assert [s[1] for s in full.segments("door", T0, T0 + 3)] == [T0, T0 + 3]
    assert full.segments("yard", T0 + 3, T0 + 10) == []


def test_an_index_made_before_health_events_has_no_health_events_to_list(tmp_path: Path) -> None:
    """Issue 35: the history reads an index it may not change (read-only): an older one, made before
    health events (no ``kind`` column), holds class events only, so ``?kind=health`` lists none of
    them and ``?kind=class`` lists them all (each said to be of kind ``class``)."""
    with closing(sqlite3.connect(tmp_path / "index.db")) as db:
        db.execute('CREATE TABLE events (id TEXT PRIMARY KEY, camera TEXT NOT NULL, label TEXT NOT NULL, '
                   'start REAL NOT NULL, "end" REAL, score REAL NOT NULL, clip TEXT, thumbnail TEXT)')
        db.execute("INSERT INTO events VALUES ('old', 'door', 'cat', ?, ?, 0.9, NULL, NULL)", (T0, T0 + 5))
        db.commit()
    history = History(tmp_path)
    assert history.events(Span(None, None, None, None, "health")) == []
    assert [(e["id"], e["kind"]) for e in history.events(Span(None, None, None, None, "class"))] == [("old", "class")]
