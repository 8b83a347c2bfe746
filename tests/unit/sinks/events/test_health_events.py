"""A camera's health problems as events (``HealthEvents``): a problem starts an event, a change of
problem ends one and starts the next, a camera gone or the run's end ends it; and their MQTT
messages and Home Assistant configs."""
from __future__ import annotations

import json
import time

from live_classify.sinks.events.health import HealthEvents
from live_classify.sinks.events.mqtt_topics import discovery_messages, event_messages, setup_messages
from live_classify.sinks.events.rules import END, HEALTH, START, record


def test_a_problem_starts_changes_and_ends_as_events() -> None:
    health = HealthEvents(None)
    assert health.changes({"door": None, "yard": None}, 1.0) == []
    started = health.changes({"door": "dark", "yard": None}, 2.0)
    assert [(c.kind, c.event.camera, c.event.label, c.event.kind) for c in started] == [
        (START, "door", "dark", HEALTH)]
    assert health.changes({"door": "dark", "yard": None}, 3.0) == []  # told once
    moved = health.changes({"door": "offline", "yard": None}, 4.0)
    assert [(c.kind, c.event.label, c.event.end) for c in moved] == [(END, "dark", 4.0), (START, "offline", None)]
    assert moved[0].event.id == started[0].event.id and moved[1].event.id != started[0].event.id
    assert [(c.kind, c.event.label) for c in health.changes({"yard": None}, 5.0)] == [(END, "offline")]  # door gone
    assert health.summary() == "camera problems raised: 1 dark, 1 offline"


def test_the_summary_counts_each_time_a_problem_was_raised_on_every_camera() -> None:
    # The end-of-run line counts problems raised, not kinds of problem: a door covered twice and a yard
    # covered once is 3 dark (counting each kind once said "1 dark": mutation round 7 of issue 35).
    health = HealthEvents(None)
    for wall, problems in enumerate(({"door": "dark", "yard": None}, {"door": None, "yard": "dark"},
                                     {"door": "dark", "yard": "dark"}, {"door": "offline", "yard": None})):
        health.changes(problems, float(wall))
    assert health.summary() == "camera problems raised: 3 dark, 1 offline"


def test_the_runs_end_ends_every_problem_and_a_record_names_it() -> None:
    health = HealthEvents(lambda: {"door": "frozen"})
    assert [c.kind for c in health.poll(now=10.0)] == [START]
    assert health.poll(now=10.1) == []  # looked at twice a second at most
    (ended,) = health.finish()
    told = record(ended)
    assert (told["event"], told["kind"], told["problem"], told["label"], told["camera"]) == (
        "end", "health", "frozen", "frozen", "door")


def test_a_problem_s_start_and_end_are_told_in_wall_clock_time() -> None:
    # The poll runs on time.monotonic (seconds since boot); what it tells is on the wall clock, as a
    # class event is: a JSON line, a webhook, the index and /history read Unix seconds (mutation
    # round issue35-health-5, R6: the monotonic time told as the start, a problem filed in 1970).
    problem: dict[str, str | None] = {"door": "dark"}
    health = HealthEvents(lambda: problem)
    before = time.time()
    (start,) = health.poll()
    problem["door"] = None
    (end,) = health.poll(now=time.monotonic() + 1.0)  # past the next look
    after = time.time()
    assert before <= start.event.start == start.event.best_time <= after
    assert (end.kind, end.event.id) == (END, start.event.id)
    assert end.event.end is not None and start.event.start <= end.event.end <= after


def test_mqtt_says_the_problem_at_the_cameras_health_topic() -> None:
    (start,) = HealthEvents(None).changes({"door": "dark"}, 1.0)
    (events, state) = event_messages("lc/door", start)
    assert events[0] == "lc/door/events" and json.loads(events[1])["problem"] == "dark"
    assert state == ("lc/door/health", "dark", True, 1)
    assert ("lc/door/health", "ok", True, 1) in setup_messages("lc", "door", (), False, problems=("dark",))
    assert not [m for m in setup_messages("lc", "door", (), False) if m[0].endswith("/health")]  # not watched


def test_discovery_has_a_problem_sensor_per_camera_and_problem() -> None:
    configs = {topic: json.loads(text) for topic, text, *_ in discovery_messages("lc", "door", (), {},
                                                                                ("offline", "dark"))}
    dark = configs["homeassistant/binary_sensor/lc/door_health_dark/config"]
    assert (dark["device_class"], dark["state_topic"]) == ("problem", "lc/door/health")
    assert dark["value_template"] == "{{ 'ON' if value == 'dark' else 'OFF' }}"
    assert "homeassistant/binary_sensor/lc/door_health_offline/config" in configs
    assert not [t for t in configs if "health_moved" in t]


def test_each_problem_sensor_has_a_unique_id_of_its_own() -> None:
    # Home Assistant keeps one entity per unique_id: two sensors that share one are one sensor, and
    # the camera's other problems never show. One id per camera and problem, none shared with a label's.
    configs = [json.loads(text) for topic, text, *_ in discovery_messages("lc", "door", ("cat",), {},
                                                                       ("offline", "dark", "moved"))]
    ids = [c["unique_id"] for c in configs]
    assert len(set(ids)) == len(ids) == 6, ids  # cat, top, snapshot and the three problems
    assert {c["unique_id"] for c in configs if c.get("device_class") == "problem"} == {
        "lc_door_health_offline", "lc_door_health_dark", "lc_door_health_moved"}


def test_the_health_topic_reads_ok_again_once_the_problem_clears() -> None:
    # What a broker keeps at PREFIX/CAMERA/health (its last retained message) through a problem's
    # life: ok at the start, the problem while it shows, ok again when it clears, as a subscriber
    # joining at each moment reads it (mutation round issue33-events-8: the end retained as OFF).
    health, retained = HealthEvents(None), {}

    def publish(messages: list) -> str:
        retained.update({topic: payload for topic, payload, keep, _ in messages if keep})
        return retained["lc/door/health"]

    assert publish(setup_messages("lc", "door", (), False, problems=("dark", "offline"))) == "ok"
    told = [publish([message for change in health.changes({"door": problem}, wall)
                     for message in event_messages("lc/door", change)])
            for problem, wall in (("dark", 1.0), ("offline", 2.0), (None, 3.0))]
    assert told == ["dark", "offline", "ok"]
