"""The summary's words: plurals, events per label, a camera's rate over its own lifetime."""
from __future__ import annotations

from collections import Counter

from live_classify.pipeline.stats import Stats
from live_classify.sinks.summary_text import camera_line, events_line, plural


def test_a_count_of_one_is_singular() -> None:
    assert [plural(n, "camera") for n in (0, 1, 2)] == ["0 cameras", "1 camera", "2 cameras"]
    assert plural(1, "event clip") == "1 event clip"


def test_events_are_counted_per_label_not_named_after_the_watched_labels() -> None:
    assert events_line(Counter({"espresso": 46, "rocket": 1}), ["rocket", "espresso"]) == \
        "47 events: 46 espresso, 1 rocket"
    assert events_line(Counter({"espresso": 1}), ["espresso"]) == "1 event: 1 espresso"
    assert events_line(Counter(), ["rocket", "espresso", "rocket"]) == "0 events (watching for espresso, rocket)"


def test_the_labels_with_the_most_events_come_first_not_in_alphabetical_order() -> None:
    assert events_line(Counter({"cat": 1, "zebra": 3, "mug": 2}), ["cat", "mug", "zebra"]) == \
        "6 events: 3 zebra, 2 mug, 1 cat"


def test_a_camera_added_late_gets_its_rate_over_its_own_lifetime() -> None:
    """The run is 100 s old; the camera a reload added 10 s ago classified 100 frames: 10 fps, not 1."""
    late = Stats(started=1000.0)
    late.classified, late.reconnects = 100, 1
    line = camera_line("yard", late, now=1010.0)
    assert "100 classified (10.0 fps over its 10.0 s)" in line and "1 reconnect;" in line
