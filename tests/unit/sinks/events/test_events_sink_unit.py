"""The events sink's bookkeeping as a unit: an output that failed is told nothing more, only starts
are counted in the summary, a reload's new rules end what goes on, only a live camera's events
end while no frame comes, a reload touches only the cameras it changes, the clip names come first,
and a thumbnail drawn again is the same picture."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from live_classify.config import EventConfig
from live_classify.engine.classifier import Classification, StageTimes
from live_classify.engine.postprocess import TopK
from live_classify.pipeline.frames import Frame, Prediction
from live_classify.sinks.events.moment import Moment
from live_classify.sinks.events.rules import END, START, Change
from live_classify.sinks.events.sink import Events
from live_classify.sinks.record.clip_names import ClipNames

IMAGE = np.zeros((2, 2, 3), np.uint8)
RULES = EventConfig(("cat",), threshold=0.5, hold_s=0.5, gap_s=1.0)


def seen(index: int, label: str = "cat", camera: str = "door") -> Prediction:
    frame = Frame(index, index / 10, 1_700_000_000 + index / 10, IMAGE, camera)
    return Prediction(frame, Classification(TopK((1,), (label,), (0.9,)), StageTimes(1, 1, 1), np.zeros(2)), 0.0)


class FailsOnce:
    """An output whose first ``write_event`` fails (a full disk); later ones would work."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.calls = 0
        self.changes: list[Change] = []

    def write_event(self, change: Change) -> None:
        self.calls += 1
        if self.calls == 1:
            raise OSError("disk full")
        self.changes.append(change)


def sink_of(*listeners: FailsOnce, live: tuple[str, ...] = ()) -> Events:
    return Events(RULES, {"door": lambda frame: frame.index / 10}, listeners, live=live)  # type: ignore[arg-type]


def test_an_output_that_failed_is_told_nothing_more_and_only_starts_are_counted() -> None:
    broken = FailsOnce()
    sink = sink_of(broken)
    sink.write_predictions([seen(i) for i in range(6)])  # a start: the output fails
    sink.write_predictions([seen(i, "dog") for i in range(6, 30)])  # the end
    assert broken.error == "disk full" and broken.calls == 1 and broken.changes == []
    assert sink.summary() == "1 event: 1 cat"


def test_new_rules_for_a_camera_end_its_event_going_on_first() -> None:
    heard = FailsOnce()
    heard.calls = 1  # this one works
    sink = sink_of(heard)
    sink.write_predictions([seen(i) for i in range(6)])
    sink.set_rules("door", replace(RULES, threshold=0.8))
    assert [(c.kind, c.event.end) for c in heard.changes] == [(START, None), (END, 1_700_000_000.5)]


def test_while_no_frame_comes_a_file_s_event_goes_on_and_a_live_camera_s_ends() -> None:
    """A file's clock is its frames' times: no frame, no time passes; a live camera's is the
    monotonic clock (here seconds after its last frame, as after a stall)."""
    for live, kinds in (((), [START]), (("door",), [START, END])):
        heard = FailsOnce()
        heard.calls = 1
        sink = sink_of(heard, live=live)
        sink.write_predictions([seen(i) for i in range(6)])
        sink.idle(lambda camera: None)
        assert [c.kind for c in heard.changes] == kinds


def test_a_thumbnail_drawn_twice_is_the_same_picture_and_its_frame_stays_untouched() -> None:
    """A clip's thumbnail is drawn at its start and again at its end (and for each --event-max part):
    each time the frame as kept with one overlay, never an overlay drawn over the last one."""
    image = np.full((240, 320, 3), 200, np.uint8)
    moment = Moment(image.copy(), replace(seen(0), frame=replace(seen(0).frame, pixels=image.copy())))
    first = moment.picture()
    assert np.array_equal(moment.image, image) and np.array_equal(moment.picture(), first)
    assert not np.array_equal(first, image)  # the prediction is drawn on it


def test_a_reload_ends_a_removed_camera_s_event_and_leaves_an_unchanged_camera_s_going_on() -> None:
    heard = FailsOnce()
    heard.calls = 1
    clocks = {"door": lambda frame: frame.index / 10, "yard": lambda frame: frame.index / 10}
    sink = Events(RULES, clocks, [heard])  # type: ignore[list-item]
    sink.write_predictions([seen(i, camera=camera) for camera in ("door", "yard") for i in range(6)])
    sink.reconfigure(RULES, {"door": clocks["door"]}, (), {}, None)
    assert [(c.kind, c.event.camera) for c in heard.changes] == [(START, "door"), (START, "yard"), (END, "yard")]
    sink.write_predictions([seen(6, camera="door")])
    sink.close()
    assert [(c.kind, c.event.camera) for c in heard.changes[3:]] == [(END, "door")]
    assert heard.changes[3].event.id == heard.changes[0].event.id  # the same event, never restarted


def test_every_output_hears_the_event_with_its_clip_s_name() -> None:
    """``--record-mode events``: the names are given before anyone hears of the event."""
    heard = FailsOnce()
    heard.calls = 1
    named = Events(RULES, {"door": lambda frame: frame.index / 10}, [heard],  # type: ignore[list-item]
                   names=lambda change: replace(change, event=replace(change.event, clip="door/events/x.mp4")))
    named.write_predictions([seen(i) for i in range(6)])
    assert [c.event.clip for c in heard.changes] == ["door/events/x.mp4"]


def test_a_reload_moves_a_camera_onto_the_wall_clock_or_off_it() -> None:
    """A camera whose source a reload makes live (a file replaced by a stream, or a camera added):
    its event ends while no frame comes, as a live camera's does; made a file again, it goes on."""
    clock = {"door": lambda frame: frame.index / 10}
    for before, after, kinds in (((), ("door",), [START, END]), (("door",), (), [START])):
        heard = FailsOnce()
        heard.calls = 1
        sink = sink_of(heard, live=before)
        sink.reconfigure(RULES, clock, after, {}, None)
        sink.write_predictions([seen(i) for i in range(6)])
        sink.idle(lambda camera: None)
        assert [c.kind for c in heard.changes] == kinds, (before, after)


def test_a_camera_s_problem_is_counted_as_a_problem_not_as_an_event_of_a_label() -> None:
    """The door goes offline (a health event), then a cat is seen: one class event, one problem."""
    sink = Events(RULES, {"door": lambda frame: frame.index / 10}, [], problems=lambda: {"door": "offline"})
    sink.idle(lambda: None)  # the health events' first look: the door's problem starts
    sink.write_predictions([seen(i) for i in range(6)])
    sink.close()
    assert sink.summary() == "1 event: 1 cat; camera problems raised: 1 offline"


def test_without_any_event_rule_the_summary_still_says_the_problems_raised() -> None:
    """No ``--event`` (rules None): the events sink is there for the cameras' health alone, and the
    run's end still says what was raised (mutation round issue35-health-8, N6)."""
    sink = Events(None, {"door": lambda frame: frame.index / 10}, [], problems=lambda: {"door": "dark"})
    sink.idle(lambda: None)
    sink.close()
    assert sink.summary() == "camera problems raised: 1 dark"


def test_a_camera_with_no_events_given_rules_by_a_reload_has_its_events_from_then_on() -> None:
    """``[[camera]] event = []`` for the door at the start (no events of it), then a reload gives it
    ``cat``: a cat seen at the door after the reload is an event, as at a fresh start with those rules."""
    heard = FailsOnce()
    heard.calls = 1
    clocks = {"door": lambda frame: frame.index / 10, "yard": lambda frame: frame.index / 10}
    sink = Events(RULES, clocks, [heard], own={"door": None, "yard": RULES})  # type: ignore[list-item]
    sink.write_predictions([seen(i, camera="door") for i in range(6)])
    assert heard.changes == []  # no events of the door yet
    sink.reconfigure(RULES, clocks, (), {"door": RULES, "yard": RULES}, None)
    sink.write_predictions([seen(i, camera="door") for i in range(6, 12)])
    sink.close()
    assert [(c.kind, c.event.camera) for c in heard.changes] == [(START, "door"), (END, "door")]


def test_the_run_s_end_ends_a_camera_s_problem_going_on_for_every_output() -> None:
    """The door is dark when the run ends: every output hears the problem end (the JSON lines'
    ``end`` line, MQTT's ``ok``, the index's end time), as a class event going on ends."""
    heard = FailsOnce()
    heard.calls = 1  # this one works
    sink = Events(None, {"door": lambda frame: frame.index / 10}, [heard],  # type: ignore[list-item]
                  problems=lambda: {"door": "dark"})
    sink.idle(lambda camera: None)  # the first look: the door's problem starts
    sink.close()
    assert [(c.kind, c.event.label, c.event.end is not None) for c in heard.changes] == [
        (START, "dark", False), (END, "dark", True)]


def test_a_camera_a_reload_adds_without_events_of_its_own_has_none() -> None:
    """The run's ``cat`` for the door; a reload adds the yard with ``[[camera]] event = []``: a cat
    seen in the yard is no event (as at a fresh start), the door's still are."""
    heard = FailsOnce()
    heard.calls = 1
    door = {"door": lambda frame: frame.index / 10}
    sink = Events(RULES, door, [heard], own={"door": RULES})  # type: ignore[list-item]
    sink.write_predictions([seen(i, camera="door") for i in range(6)])
    both = {**door, "yard": lambda frame: frame.index / 10}
    sink.reconfigure(RULES, both, (), {"door": RULES, "yard": None}, None)
    sink.write_predictions([seen(i, camera="yard") for i in range(6)])
    sink.close()
    assert [(c.kind, c.event.camera) for c in heard.changes] == [(START, "door"), (END, "door")]


def test_a_camera_s_problem_is_named_no_clip_while_its_label_s_event_is(tmp_path: Path) -> None:
    """``--record-mode events``: a cat's event is given its clip's and thumbnail's names; the door's
    problem (a health event) has no footage of its own, and its JSON lines, index row and webhook
    say ``null`` (mutation round issue35-health-5, R7: a clip named, cut from 0, never ending)."""
    heard = FailsOnce()
    heard.calls = 1  # this one works
    sink = Events(RULES, {"door": lambda frame: frame.index / 10}, [heard],  # type: ignore[list-item]
                  names=ClipNames({"door": tmp_path}), problems=lambda: {"door": "dark"})
    sink.idle(lambda camera: None)  # the first look: the door's problem starts
    sink.write_predictions([seen(i) for i in range(6)])
    sink.close()
    named = {(c.kind, c.event.label): (c.event.clip, c.event.thumbnail) for c in heard.changes}
    assert named[(START, "dark")] == named[(END, "dark")] == (None, None)
    clip, thumbnail = named[(START, "cat")]
    assert clip is not None and clip.startswith("door/events/") and clip.endswith("-cat.mp4") and thumbnail
