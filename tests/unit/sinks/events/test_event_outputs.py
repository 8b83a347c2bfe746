"""The events sink and the outputs that tell of events, as units: trackers per camera, a failing
listener dropped alone, webhooks off the main loop with a bounded backlog, the index's rows, the
MQTT messages."""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from live_classify.config import EventConfig
from live_classify.engine.classifier import Classification, StageTimes
from live_classify.engine.postprocess import TopK
from live_classify.errors import BadValue
from live_classify.pipeline.frames import Frame, Prediction, Shown
from live_classify.sinks.base import Update
from live_classify.sinks.display import overlay
from live_classify.sinks.events import mqtt_topics
from live_classify.sinks.events.index import Index
from live_classify.sinks.events.moment import STILL
from live_classify.sinks.events.rules import END, START, Change, Event
from live_classify.sinks.events.sink import Events
from live_classify.sinks.events.webhook_address import webhook_url
from live_classify.sinks.events.webhooks import BACKOFF_S, TIMEOUT_S, Delivery, Webhooks

IMAGE = np.zeros((2, 2, 3), np.uint8)
RULES = EventConfig(("cat",), threshold=0.5, hold_s=0.5, gap_s=1.0)


def seen(camera: str, index: int, label: str, score: float = 0.9, fps: float = 10.0) -> Prediction:
    frame = Frame(index, index / fps, 1_700_000_000 + index / fps, IMAGE, camera)
    top = TopK((1,), (label,), (score,))
    return Prediction(frame, Classification(top, StageTimes(1.0, 1.0, 1.0), np.zeros(2)), 0.0)


class Listener:
    def __init__(self, fail: bool = False) -> None:
        self.error: str | None = None
        self.changes: list[Change] = []
        self.fail = fail

    def write_event(self, change: Change) -> None:
        if self.fail:
            raise OSError("disk full")
        self.changes.append(change)


def events(*listeners: Listener, cameras: tuple[str, ...] = ("door",)) -> Events:
    clocks = {camera: (lambda frame: frame.index / 10.0) for camera in cameras}
    return Events(RULES, clocks, listeners)  # type: ignore[arg-type]


def test_each_camera_has_its_own_tracker() -> None:
    heard = Listener()
    sink = events(heard, cameras=("door", "yard"))
    sink.write_predictions([seen("door", i, "cat") for i in range(6)] + [seen("yard", i, "dog") for i in range(6)])
    sink.write_predictions([seen("yard", i, "cat") for i in range(6, 10)])
    assert [(c.kind, c.event.camera) for c in heard.changes] == [(START, "door")]
    sink.write_predictions([seen("yard", 10, "cat"), seen("yard", 11, "cat")])
    assert [(c.kind, c.event.camera) for c in heard.changes] == [(START, "door"), (START, "yard")]
    sink.close()
    assert [c.kind for c in heard.changes[2:]] == [END, END]


def kept(camera: str, index: int, prediction: Prediction) -> Update:
    """A still frame (``--gate motion``): not classified, ``prediction`` kept on it."""
    frame = Frame(index, index / 10, 1_700_000_000 + index / 10, IMAGE, camera, still=True)
    return Update(Shown(frame, prediction, [], exclusive=True, kept=True), index / 10, lambda: IMAGE)


def test_the_gate_s_still_frames_hold_and_end_events_on_the_kept_answer() -> None:
    """One classified frame of the cat, then still frames keeping it: the hold (0.5 s) is timed on
    them and the event goes on; a refresh that sees the dog, then still frames keeping the dog: the
    gap (1 s) after the cat's last (kept) frame ends it."""
    heard = Listener()
    sink = events(heard)
    cat = seen("door", 0, "cat")
    sink.write(Update(Shown(cat.frame, cat, [cat], exclusive=True), 0.0, lambda: IMAGE))
    for i in range(1, 20):
        sink.write(kept("door", i, cat))
    assert [(c.kind, c.event.start) for c in heard.changes] == [(START, 1_700_000_000)]
    dog = seen("door", 20, "dog")
    sink.write(Update(Shown(dog.frame, dog, [dog], exclusive=True), 2.0, lambda: IMAGE))
    for i in range(21, 29):
        sink.write(kept("door", i, dog))
    assert [c.kind for c in heard.changes] == [START]
    sink.write(kept("door", 29, dog))
    assert [(c.kind, c.event.end) for c in heard.changes] == [(START, None), (END, 1_700_000_001.9)]


def test_an_answer_that_arrives_on_a_kept_frame_is_seen_at_its_own_frame_too() -> None:
    """A live camera: the answer to frame 0 (the cat's scene) comes back while frame 3, still, is shown
    (``Camera.poll`` drains it and keeps it on that frame: new predictions and ``kept`` together). The
    answer is evidence at frame 0's time as well as at the kept frame's: the event starts at frame 0."""
    heard = Listener()
    sink = events(heard)
    cat = seen("door", 0, "cat")
    first = kept("door", 3, cat)
    sink.write(replace(first, shown=replace(first.shown, new_predictions=[cat], exclusive=False)))
    for i in range(4, 12):
        sink.write(kept("door", i, cat))
    assert [(c.kind, c.event.start) for c in heard.changes] == [(START, 1_700_000_000)], \
        "the answer's own frame was not seen: the event starts at the still frame it arrived on"


def test_a_kept_frame_is_not_evidence_until_marked_so() -> None:
    heard = Listener()
    sink = events(heard)
    cat = seen("door", 0, "cat")
    for i in range(6):  # the same prediction drawn on later frames, not kept: a live camera's older answer
        frame = Frame(i, i / 10, 1_700_000_000 + i / 10, IMAGE, "door")
        sink.write(Update(Shown(frame, cat, [], exclusive=False), i / 10, lambda: IMAGE))
    assert heard.changes == []
    for i in range(6, 12):  # still frames, but the answer to the new scene is on its way: the cat is the old scene's
        frame = Frame(i, i / 10, 1_700_000_000 + i / 10, IMAGE, "door", still=True)
        sink.write(Update(Shown(frame, cat, [], exclusive=False, kept=False), i / 10, lambda: IMAGE))
    assert heard.changes == []


def test_a_listener_that_fails_is_marked_and_the_others_still_hear() -> None:
    broken, heard = Listener(fail=True), Listener()
    sink = events(broken, heard)
    sink.write_predictions([seen("door", i, "cat") for i in range(6)])
    assert broken.error == "disk full" and [c.kind for c in heard.changes] == [START]


def test_a_live_camera_s_event_ends_while_no_frame_comes() -> None:
    heard = Listener()
    sink = Events(RULES, {"door": lambda frame: frame.t_capture}, [heard], live=["door"])  # type: ignore[list-item]
    now = time.monotonic()
    sink.write_predictions([Prediction(Frame(i, now - 3 + i / 10, 0.0, IMAGE, "door"),
                                       seen("door", i, "cat").result, 0.0) for i in range(6)])
    sink.idle(lambda camera: None)
    assert [c.kind for c in heard.changes] == [START, END]


def change(kind: str = START, label: str = "tiger cat") -> Change:
    return Change(kind, Event("e1", "door", label, 1.0, None if kind == START else 2.0, 0.9, 1.5))


def test_webhooks_never_wait_on_the_main_loop_and_drop_the_oldest_beyond_the_backlog() -> None:
    entered, release, sent = threading.Event(), threading.Event(), []

    def stuck(url: str, delivery: Delivery, token: str | None, timeout: float) -> None:
        entered.set()
        release.wait(5)
        sent.append(json.loads(delivery.body)["id"])

    hooks = Webhooks(("http://127.0.0.1:9/hook",), "t0ken", backlog=2, send=stuck)
    t0 = time.monotonic()
    for n in range(5):
        hooks.write_event(Change(START, Event(f"e{n}", "door", "cat", 1.0, None, 0.9, 1.0)))
        assert n > 0 or entered.wait(10)  # e0 is being sent (and hangs); the rest wait
    assert time.monotonic() - t0 < 5  # the receiver hangs; the main loop does not
    release.set()
    hooks.close()
    receiver = hooks.receivers[0]
    assert sent == ["e0", "e3", "e4"] and receiver.dropped == 2
    assert "(2 dropped: it was down or too slow)" in (hooks.summary() or "")


def test_a_failed_post_is_retried_and_down_and_back_are_one_line_each(caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.INFO)
    tries: list[str | None] = []

    def flaky(url: str, delivery: Delivery, token: str | None, timeout: float) -> None:
        tries.append(token)
        if len(tries) <= 2:
            raise ConnectionRefusedError(111, "Connection refused")

    hooks = Webhooks(("http://user:pw@127.0.0.1:9/hook",), "t0ken", send=flaky)
    hooks.write_event(change())
    deadline = time.monotonic() + 30
    while hooks.receivers[0].sent == 0 and time.monotonic() < deadline:  # backoff: 0.5 s, then 1 s
        time.sleep(0.05)
    hooks.close()
    err = caplog.text
    assert tries == ["t0ken"] * 3 and hooks.receivers[0].sent == 1
    assert err.count("is down (Connection refused)") == 1 and err.count("is back") == 1
    assert "pw" not in err and "t0ken" not in err


def test_every_try_of_one_start_or_end_carries_the_same_key_and_waits_longer_than_the_first_retry() -> None:
    tries: list[tuple[str, str, float]] = []

    def slow_then_fine(url: str, delivery: Delivery, token: str | None, timeout: float) -> None:
        tries.append((delivery.event_id, delivery.key, timeout))
        if len(tries) == 1:
            raise TimeoutError("timed out")

    hooks = Webhooks(("http://127.0.0.1:9/hook",), None, send=slow_then_fine)
    hooks.write_event(change(START))
    hooks.write_event(change(END))
    deadline = time.monotonic() + 30
    while hooks.receivers[0].sent < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    hooks.close()
    assert [(i, k) for i, k, _ in tries] == [("e1", "e1-start"), ("e1", "e1-start"), ("e1", "e1-end")]
    assert all(t == TIMEOUT_S for _, _, t in tries) and TIMEOUT_S > 4 * BACKOFF_S[0]


def test_at_the_end_what_is_not_sent_in_time_is_counted_as_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver that hangs: the first POST never ends, 31 wait behind it. All 32 are counted."""
    import live_classify.sinks.events.webhooks as webhooks

    monkeypatch.setattr(webhooks, "CLOSE_WAIT_S", 0.5)
    waits: list[float] = []

    def hangs(url: str, delivery: Delivery, token: str | None, timeout: float) -> None:
        waits.append(timeout)
        time.sleep(timeout)
        raise TimeoutError("timed out")

    hooks = Webhooks(("http://127.0.0.1:9/hook",), None, send=hangs)
    for n in range(32):
        hooks.write_event(Change(START, Event(f"e{n}", "door", "cat", 1.0, None, 0.9, 1.0)))
    t0 = time.monotonic()
    hooks.close()
    assert time.monotonic() - t0 < TIMEOUT_S  # the close waits for its deadline, not for the hung POST
    assert hooks.receivers[0].dropped == 32 and "(32 dropped: it was down or too slow)" in (hooks.summary() or "")


def test_clip_and_thumbnail_are_absolute_urls_under_the_web_view() -> None:
    bodies: list[dict] = []
    hooks = Webhooks(("http://127.0.0.1:9/hook",), None, media="http://box.lan:8080",
                     send=lambda url, delivery, token, timeout: bodies.append(json.loads(delivery.body)))
    event = Event("e1", "door", "cat", 1.0, None, 0.9, 1.0, clip="door/events/2024-01-01/10-00-00-tiger cat.mp4",
                  thumbnail="door/events/2024-01-01/10-00-00-tiger cat.jpg")
    hooks.write_event(Change(START, event))
    hooks.write_event(Change(START, replace(event, id="e2", clip=None, thumbnail=None)))
    hooks.close()
    assert bodies[0]["clip"] == "http://box.lan:8080/media/door/events/2024-01-01/10-00-00-tiger%20cat.mp4"
    assert bodies[0]["thumbnail"].endswith("/media/door/events/2024-01-01/10-00-00-tiger%20cat.jpg")
    assert (bodies[1]["clip"], bodies[1]["thumbnail"]) == (None, None)


def test_a_thumbnail_is_its_frame_as_classified_not_as_the_overlay_drew_on_it_afterwards() -> None:
    """On a file's frames the run's overlay (its rates, the shown prediction) is drawn in place
    after the events sink saw them: the thumbnail is the raw frame with its own prediction alone."""
    listener = Listener()
    sink = events(listener)
    grey = np.full((480, 640, 3), 200, np.uint8)
    run_overlay = overlay.Status(capture_fps=25.0, inference_fps=24.0, display_fps=25.0, dropped=0, provider="CPU")
    for index in range(8):
        prediction = seen("door", index, "cat")
        prediction = replace(prediction, frame=replace(prediction.frame, pixels=grey.copy()))
        sink.write_predictions([prediction])
        overlay.draw(prediction.frame.image, seen("door", index, "dog"), run_overlay)  # as the annotator does
    moment = next(change for change in listener.changes if change.kind == START).moment
    assert moment is not None
    assert np.array_equal(moment.picture(), overlay.draw(grey.copy(), moment.prediction, STILL, rates=False))


def test_the_index_writes_events_seconds_and_segments(tmp_path: Path) -> None:
    index = Index(tmp_path)
    index.write_predictions([seen("door", i, "cat", score=0.5 + i / 100) for i in range(25)])
    index.write_event(change(START))
    index.write_event(change(END))
    index.segment_closed("door", tmp_path / "door" / "2024-01-01" / "10-00-00.mp4", 1.0, 11.0, 1234)
    index.segment_closed("door", tmp_path / "door" / "2024-01-01" / "10-00-10.mp4", 11.0, 21.0, 99)
    index.segments_deleted([tmp_path / "door" / "2024-01-01" / "10-00-00.mp4"])
    index.close()
    with sqlite3.connect(tmp_path / "index.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute('SELECT id, label, start, "end", score FROM events').fetchall() == [
            ("e1", "tiger cat", 1.0, 2.0, 0.9)]
        assert db.execute("SELECT second, label, score FROM seconds ORDER BY second").fetchall() == [
            (1_700_000_000, "cat", 0.59), (1_700_000_001, "cat", 0.69), (1_700_000_002, "cat", 0.74)]
        assert db.execute('SELECT path, start, "end", bytes FROM segments').fetchall() == [
            ("door/2024-01-01/10-00-10.mp4", 11.0, 21.0, 99)]


def test_mqtt_messages_events_not_retained_states_retained_topic_safe() -> None:
    start = mqtt_topics.event_messages("p/door", change(START))
    assert [(topic, retain, qos) for topic, _, retain, qos in start] == [
        ("p/door/events", False, 1), ("p/door/tiger_cat", True, 1)]
    assert json.loads(start[0][1])["event"] == "start" and start[1][1] == "ON"
    assert mqtt_topics.event_messages("p/door", change(END))[1][1] == "OFF"
    setup = mqtt_topics.setup_messages("home/cams", "Front Door", ("tiger cat",), discovery=True)
    topics = [topic for topic, *_ in setup]
    assert topics == ["home/cams/Front Door/tiger_cat",
                      "homeassistant/binary_sensor/home_cams/front_door_tiger_cat/config",
                      "homeassistant/sensor/home_cams/front_door_top/config",
                      "homeassistant/camera/home_cams/front_door_snapshot/config"]
    assert all(retain for _, _, retain, _ in setup)
    assert mqtt_topics.setup_messages("p", "door", ("cat",), discovery=False) == [("p/door/cat", "OFF", True, 1)]


def test_a_webhook_url_must_be_http_with_a_host_and_its_password_is_never_shown() -> None:
    assert webhook_url("https://hooks.example/x?a=1") == "https://hooks.example/x?a=1"
    for bad in ("ftp://host/x", "http:///x", "hooks.example/x", "http://user:secret@host:99999/x"):
        with pytest.raises(BadValue) as caught:
            webhook_url(bad)
        assert "secret" not in str(caught.value)


def test_the_seconds_go_with_the_segments_retention_deletes(tmp_path: Path) -> None:
    """The per-second table would keep a row per camera per second forever: it is pruned to the
    oldest segment left whenever retention deletes one (issue 33)."""
    index = Index(tmp_path)
    index.write_predictions([seen("door", i, "cat") for i in range(0, 300, 10)])  # seconds ..000 to ..029
    index.write_predictions([seen("yard", i, "cat") for i in range(0, 300, 10)])
    day = tmp_path / "door" / "2023-11-14"
    index.segment_closed("door", day / "22-13-20.mp4", 1_700_000_000.0, 1_700_000_010.0, 10)
    index.segment_closed("door", day / "22-13-30.mp4", 1_700_000_010.0, 1_700_000_020.0, 10)
    index.segments_deleted([day / "22-13-20.mp4"])
    index.close()
    with sqlite3.connect(tmp_path / "index.db") as db:
        door = [s for (s,) in db.execute("SELECT second FROM seconds WHERE camera = 'door' ORDER BY second")]
        yard = db.execute("SELECT count(*) FROM seconds WHERE camera = 'yard'").fetchone()[0]
    assert door == list(range(1_700_000_010, 1_700_000_030)) and yard == 30  # another camera's are its own


def test_the_seconds_are_kept_back_to_the_oldest_segment_left_not_the_newest(tmp_path: Path) -> None:
    """Retention deletes the oldest of three segments: the seconds of the two left (..010 to ..029)
    are all kept; only those before the oldest one left go."""
    index = Index(tmp_path)
    index.write_predictions([seen("door", i, "cat") for i in range(0, 300, 10)])  # seconds ..000 to ..029
    day = tmp_path / "door" / "2023-11-14"
    for start in (0, 10, 20):
        index.segment_closed("door", day / f"22-13-{20 + start}.mp4", 1_700_000_000.0 + start,
                             1_700_000_010.0 + start, 10)
    index.segments_deleted([day / "22-13-20.mp4"])
    index.close()
    with sqlite3.connect(tmp_path / "index.db") as db:
        door = [s for (s,) in db.execute("SELECT second FROM seconds WHERE camera = 'door' ORDER BY second")]
    assert door == list(range(1_700_000_010, 1_700_000_030))


def test_each_camera_s_seconds_are_pruned_to_its_own_oldest_segment_not_another_camera_s(tmp_path: Path) -> None:
    """Two cameras recording: the yard's oldest segment is older than what retention leaves of the
    door's; the door's seconds before its own oldest segment go all the same (none of the yard's)."""
    index = Index(tmp_path)
    index.write_predictions([seen("door", i, "cat") for i in range(0, 300, 10)])  # seconds ..000 to ..029
    index.write_predictions([seen("yard", i, "cat") for i in range(0, 300, 10)])
    door, yard = tmp_path / "door" / "2023-11-14", tmp_path / "yard" / "2023-11-14"
    index.segment_closed("yard", yard / "22-13-20.mp4", 1_700_000_000.0, 1_700_000_030.0, 10)
    index.segment_closed("door", door / "22-13-20.mp4", 1_700_000_000.0, 1_700_000_015.0, 10)
    index.segment_closed("door", door / "22-13-35.mp4", 1_700_000_015.0, 1_700_000_030.0, 10)
    index.segments_deleted([door / "22-13-20.mp4"])
    index.close()
    with sqlite3.connect(tmp_path / "index.db") as db:
        kept = dict(db.execute("SELECT camera, MIN(second) FROM seconds GROUP BY camera").fetchall())
        counts = dict(db.execute("SELECT camera, count(*) FROM seconds GROUP BY camera").fetchall())
    assert kept == {"door": 1_700_000_015, "yard": 1_700_000_000} and counts == {"door": 15, "yard": 30}
