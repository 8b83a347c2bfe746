"""The event rules with a fake clock: hold, back-dating, gap, no flapping, the best score."""
from __future__ import annotations

import itertools

from live_classify.config import EventConfig
from live_classify.sinks.events.rules import END, START, Event, Seen, Tracker, record

WALL0 = 1_700_000_000.0


def tracker(**rules: float) -> Tracker:
    ids = (f"e{n}" for n in itertools.count(1))
    return Tracker("door", EventConfig(("cat",), **rules), make_id=lambda: next(ids))


def feed(tr: Tracker, frames: list[tuple[float, str, float]]) -> list[tuple[str, Event]]:
    """(t, label, score) at 10 fps or any times; wall time = WALL0 + t."""
    return [(c.kind, c.event) for t, label, score in frames
            for c in tr.observe(Seen(t, WALL0 + t, label, score))]


Frames = list[tuple[float, str, float]]


def scene(start: float, stop: float, label: str, score: float = 0.9, step: float = 0.1) -> Frames:
    n = round((stop - start) / step)
    return [(round(start + i * step, 3), label, score) for i in range(n)]


def test_an_event_starts_after_the_hold_back_dated_to_its_first_frame() -> None:
    tr = tracker(hold_s=1.0, gap_s=3.0)
    changes = feed(tr, scene(0, 2, "cup") + scene(2, 4, "cat"))
    assert [(kind, e.start) for kind, e in changes] == [(START, WALL0 + 2.0)]
    started = feed(tracker(hold_s=1.0), scene(2, 3, "cat"))
    assert started == []  # 0.9 s of the cat is not yet the hold


def test_it_ends_after_the_gap_at_the_last_frame_seen() -> None:
    tr = tracker(hold_s=1.0, gap_s=3.0)
    changes = feed(tr, scene(0, 2, "cat") + scene(2, 4.9, "cup"))
    assert [kind for kind, _ in changes] == [START]
    changes = feed(tr, [(4.9, "cup", 0.9)])  # 3 s after the last cat at 1.9
    assert [(kind, e.start, e.end) for kind, e in changes] == [(END, WALL0, WALL0 + 1.9)]


def test_a_one_frame_dip_does_not_end_it_no_flapping() -> None:
    tr = tracker(hold_s=0.5, gap_s=1.0)
    frames = scene(0, 2, "cat")
    frames[12] = (frames[12][0], "cup", 0.9)  # one frame of something else
    frames[15] = (frames[15][0], "cat", 0.2)  # one frame below the threshold
    frames += scene(2, 5, "cup")
    changes = feed(tr, frames)
    assert [kind for kind, _ in changes] == [START, END]
    assert changes[1][1].end == WALL0 + 1.9


def test_the_hold_starts_again_after_a_frame_without_it() -> None:
    tr = tracker(hold_s=1.0, gap_s=3.0)
    frames = scene(0, 0.9, "cat") + [(0.9, "cup", 0.9)] + scene(1.0, 2.5, "cat")
    changes = feed(tr, frames)
    assert [(kind, e.start) for kind, e in changes] == [(START, WALL0 + 1.0)]


def test_below_the_threshold_is_absent() -> None:
    assert feed(tracker(threshold=0.5, hold_s=0.5), scene(0, 3, "cat", score=0.49)) == []


def test_the_best_score_and_its_time() -> None:
    tr = tracker(hold_s=0.5, gap_s=1.0)
    frames = scene(0, 3, "cat", score=0.6)
    frames[20] = (frames[20][0], "cat", 0.97)
    frames += scene(3, 5, "cup")
    (_, start), (_, end) = feed(tr, frames)
    assert start.score == 0.6 and (end.score, end.best_time) == (0.97, WALL0 + 2.0)
    assert end.id == start.id


def test_the_thumbnail_is_the_best_frame_so_far_at_the_start_and_the_best_of_all_at_the_end() -> None:
    """Each frame's ``keep`` gives its time (standing for its picture): the start's thumbnail is the
    best frame of the hold, the end's the best of the whole event (0.97 at 2 s), not the start's."""
    tr = tracker(hold_s=0.5, gap_s=1.0)
    frames = scene(0, 3, "cat", score=0.6)
    frames[20] = (frames[20][0], "cat", 0.97)
    frames += scene(3, 5, "cup")
    changes = [c for t, label, score in frames  # a str stands for the frame's Moment
               for c in tr.observe(Seen(t, WALL0 + t, label, score, keep=lambda t=t: f"frame at {t}"))]
    assert [(c.kind, c.moment) for c in changes] == [(START, "frame at 0.0"), (END, "frame at 2.0")]


def test_a_new_event_needs_the_hold_again_and_a_new_id() -> None:
    tr = tracker(hold_s=1.0, gap_s=1.0)
    changes = feed(tr, scene(0, 2, "cat") + scene(2, 4, "cup") + scene(4, 6, "cat") + scene(6, 8, "cup"))
    assert [(kind, e.id, e.start) for kind, e in changes] == [
        (START, "e1", WALL0), (END, "e1", WALL0), (START, "e2", WALL0 + 4.0), (END, "e2", WALL0 + 4.0)]


def test_tick_ends_an_event_when_no_frame_comes_and_finish_ends_the_rest() -> None:
    tr = tracker(hold_s=0.5, gap_s=2.0)
    feed(tr, scene(0, 1, "cat"))
    assert tr.tick(2.8) == [] and [c.kind for c in tr.tick(2.9)] == [END]
    feed(tr, scene(10, 11, "cat"))
    (change,) = tr.finish()
    assert (change.kind, change.event.end) == (END, WALL0 + 10.9) and tr.open == []


def test_labels_are_watched_apart() -> None:
    ids = (f"e{n}" for n in itertools.count(1))
    tr = Tracker("door", EventConfig(("cat", "cup"), hold_s=0.5, gap_s=5.0), make_id=lambda: next(ids))
    changes = feed(tr, scene(0, 1, "cat") + scene(1, 2, "cup"))
    assert [(kind, e.label) for kind, e in changes] == [(START, "cat"), (START, "cup")]


def test_the_record_has_exactly_these_fields() -> None:
    tr = tracker(hold_s=0.0)
    ((kind, event),) = feed(tr, [(0.0, "cat", 0.8)])
    from live_classify.sinks.events.rules import Change
    line = record(Change(kind, event))
    assert list(line) == ["event", "id", "camera", "label", "score", "start", "end", "best_time", "clip", "thumbnail",
                          "kind"]
    assert (line["event"], line["end"], line["clip"], line["thumbnail"]) == ("start", None, None, None)


def test_an_event_on_two_clocks_its_source_times_for_the_clip_its_wall_times_for_the_world() -> None:
    """Source time t (the recording's timeline) and wall time (Unix seconds) apart: each field from its own."""
    tr = tracker(hold_s=0.5, gap_s=0.5, threshold=0.5)

    def at(t: float, label: str, score: float) -> list:  # noqa: ANN401
        return tr.observe(Seen(t, WALL0 + 100 + 2 * t, label, score))

    assert at(1.0, "cat", 0.5) == [], "at the threshold: present, holding"
    (start,) = at(1.25, "cat", 0.7) + at(1.5, "cat", 0.7)
    assert start.kind == START and start.event == Event("e1", "door", "cat", WALL0 + 102, None, 0.7, WALL0 + 102.5,
                                                        source_start=1.0, source_end=None, source_best=1.25)
    assert at(1.75, "cat", 0.9) == [] and at(2.0, "cat", 0.9) == [] and at(2.25, "dog", 0.99) == []
    (end,) = at(2.5, "dog", 0.99)
    assert end.kind == END and end.event == Event("e1", "door", "cat", WALL0 + 102, WALL0 + 104, 0.9, WALL0 + 103.5,
                                                  source_start=1.0, source_end=2.0, source_best=1.75)


def test_an_end_and_another_label_present_in_the_same_frame_are_both_kept() -> None:
    ids = (f"e{n}" for n in itertools.count(1))
    tr = Tracker("door", EventConfig(("cat", "cup"), hold_s=0.5, gap_s=1.0), make_id=lambda: next(ids))
    changes = feed(tr, scene(0, 2, "cat") + scene(2, 5, "cup"))
    assert [(kind, e.label, e.end) for kind, e in changes] == [
        (START, "cat", None), (START, "cup", None), (END, "cat", WALL0 + 1.9)]


def test_a_record_rounds_times_to_the_millisecond_and_the_score_to_six_places() -> None:
    from live_classify.sinks.events.rules import Change
    event = Event("e1", "door", "cat", WALL0 + 0.12345, WALL0 + 5.98765, 0.123456789, WALL0 + 1.00449)
    assert record(Change(END, event)) == {
        "event": "end", "id": "e1", "camera": "door", "label": "cat", "score": 0.123457, "start": WALL0 + 0.123,
        "end": WALL0 + 5.988, "best_time": WALL0 + 1.004, "clip": None, "thumbnail": None, "kind": "class"}
