"""The MQTT sink against a fake paho client, in this process: what it configures, what it publishes
(topic, payload, QoS, retain) in which order, what it drops and counts, what it says when the broker
refuses, goes or comes back; and the URL, CA and certificate messages word for word."""
from __future__ import annotations

import errno
import json
import ssl
import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import paho.mqtt.client as paho
import pytest
from paho.mqtt.client import DisconnectFlags
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode
from statuses import camera_status
from updates import update

from live_classify.config import MqttConfig
from live_classify.errors import BadValue, LiveClassifyError
from live_classify.sinks import mqtt
from live_classify.sinks.events.rules import END, START, Change, Event
from live_classify.sinks.mqtt import MqttSink
from live_classify.sinks.mqtt_broker import broker_url, ca_file, certificate_problem, connect_problem

SUCCESS = ReasonCode(PacketTypes.CONNACK, "Success")
REFUSED = ReasonCode(PacketTypes.CONNACK, "Not authorized")
CLOSED = ReasonCode(PacketTypes.DISCONNECT, "Unspecified error")


class Info:
    def __init__(self, rc: int) -> None:
        self.rc, self.waited = rc, []

    def wait_for_publish(self, timeout: float) -> None:
        self.waited.append(timeout)


class FakeClient:
    """paho's client as the sink uses it; ``answer`` is what its network thread does on loop_start."""

    answer = "connect"
    rc = 0
    made: list[FakeClient] = []

    def __init__(self, version: object) -> None:
        self.version, self.calls, self.published, self.infos, self.raw = version, [], [], [], []
        FakeClient.made.append(self)

    def __getattr__(self, name: str):  # noqa: ANN204 - username_pw_set, will_set, ...: recorded
        if name.startswith("on_") or name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))

    def loop_start(self) -> None:
        self.calls.append(("loop_start", (), {}))
        if self.answer == "connect":
            self.on_connect(self, None, None, SUCCESS, None)
        elif self.answer == "refuse":
            self.on_connect(self, None, None, REFUSED, None)
        elif self.answer == "fail":
            try:
                raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
            except OSError:
                self.on_connect_fail(self, None)
        elif self.answer == "close":
            self.on_disconnect(self, None, DisconnectFlags(False), CLOSED, None)
        elif self.answer == "close-normally":
            reason = ReasonCode(PacketTypes.DISCONNECT, "Normal disconnection")
            self.on_disconnect(self, None, DisconnectFlags(False), reason, None)
        elif self.answer == "untrusted":
            try:
                raise verify_error(18)
            except OSError:
                self.on_connect_fail(self, None)

    def publish(self, topic: str, payload: str, qos: int, retain: bool) -> Info:
        self.raw.append(payload)
        try:
            body = json.loads(payload)
        except ValueError:  # the plain label, a JPEG snapshot
            body = payload
        self.published.append((topic, body, qos, retain))
        info = Info(self.rc)
        self.infos.append(info)
        return info


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    said: list[tuple[str, str]] = []
    clock = SimpleNamespace(now=100.0)
    FakeClient.made, FakeClient.answer, FakeClient.rc = [], "connect", 0
    monkeypatch.setattr(paho, "Client", FakeClient)
    monkeypatch.setattr(mqtt, "log", SimpleNamespace(info=lambda m: said.append(("info", m)),
                                                    warning=lambda m: said.append(("warning", m))))
    monkeypatch.setattr(mqtt, "time", SimpleNamespace(monotonic=lambda: clock.now, time=lambda: 1_700_000_000.12345))
    return SimpleNamespace(said=said, clock=clock)


def sink_for(url: str = "mqtt://broker.lan/home", **config: object) -> MqttSink:
    backlog = config.pop("backlog", 1000)
    status = config.pop("status", None)
    min_confidence = config.pop("min_confidence", None)
    sink = MqttSink(MqttConfig(broker_url(url), **config), "door", "rtsp://cam/1", status,  # type: ignore[arg-type]
                    min_confidence, backlog=backlog)  # type: ignore[arg-type]
    first_answer_said()
    return sink


def first_answer_said() -> None:
    """Wait for the line that says how the first connection went (a thread's, unless required)."""
    for thread in threading.enumerate():
        if thread.name == "mqtt-first-answer":
            thread.join(10)


def status(state: str, **counts: object) -> dict[str, object]:
    return {"state": state, "time": 1700000000.123, "source": "rtsp://cam/1", "published": 0, "dropped": 0,
            "skipped": 0, **counts}


def no_count(message: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in message.items() if key != "published"}


def test_the_client_is_configured_and_connected_as_documented(fake: SimpleNamespace, tmp_path: Path) -> None:
    sink = sink_for("mqtts://me:p%40ss@broker.lan:8884/home/", qos=2, ca=tmp_path / "ca.pem", backlog=7)
    client = FakeClient.made[0]
    assert client.version == paho.CallbackAPIVersion.VERSION2
    assert client.calls == [
        ("username_pw_set", ("me", "p@ss"), {}),
        ("will_set", ("home/door/status", json.dumps({"state": "offline", "source": "rtsp://cam/1"})),
         {"qos": 2, "retain": True}),
        ("reconnect_delay_set", (1, 30), {}),
        ("max_queued_messages_set", (7,), {}),
        ("tls_set", (), {"ca_certs": str(tmp_path / "ca.pem")}),
        ("connect_async", ("broker.lan", 8884), {"keepalive": 15}),
        ("loop_start", (), {})]
    assert client.connect_timeout == 5.0
    assert fake.said == [("info", "publishing to MQTT broker mqtts://me:***@broker.lan:8884/home/ under home/door/")]
    assert (sink.name, sink.essential, sink.stop_requested, sink.topic) == ("MQTT", False, False, "home/door")
    sink.close()


def test_without_credentials_or_tls_neither_is_set(fake: SimpleNamespace) -> None:
    sink_for("mqtts://broker.lan/home").close()
    sink_for().close()
    names = [[name for name, _, _ in client.calls] for client in FakeClient.made]
    assert "username_pw_set" not in names[0] and ("tls_set", (), {"ca_certs": None}) in FakeClient.made[0].calls
    assert "username_pw_set" not in names[1] and "tls_set" not in names[1]
    assert ("max_queued_messages_set", (1000,), {}) in FakeClient.made[1].calls
    assert ("will_set", ("home/door/status", '{"state": "offline", "source": "rtsp://cam/1"}'),
            {"qos": 1, "retain": True}) in FakeClient.made[1].calls


def test_predictions_and_statuses_go_in_order_with_their_qos_and_retain(fake: SimpleNamespace) -> None:
    sink = sink_for(qos=0)
    sink.write(update(0, 0.0))
    fake.clock.now = 104.99
    sink.write(update(1, 0.03))
    fake.clock.now = 105.0
    sink.idle(lambda camera: None)
    sink.close()
    client = FakeClient.made[0]
    first = json.loads(json.dumps(mqtt.line_record(update(0, 0.0).shown.new_predictions[0], "rtsp://cam/1", None)))
    label, snapshot = client.published[0], client.published[2]  # the first frame's, once each
    assert label == ("home/door/label", "tiger cat", 0, True) and snapshot[1][:3] == b"\xff\xd8\xff"
    assert (snapshot[0], snapshot[3]) == ("home/door/snapshot", True)
    del client.published[2], client.published[0], client.infos[2], client.infos[0]
    counts = [m.pop("published") for _, m, _, _ in client.published if "state" in m]  # made while the writer sends
    assert counts == sorted(counts) and counts[0] <= 3 and counts[-1] <= 6  # the label, prediction, snapshot may be out
    assert client.published == [
        ("home/door/prediction", first, 0, False),
        ("home/door/status", no_count(status("online")), 0, True),
        ("home/door/prediction", {**first, "frame": 1, "time": round(1_700_000_000.03, 3)}, 0, False),
        ("home/door/status", no_count(status("online")), 0, True),
        ("home/door/status", no_count(status("offline")), 0, True)]
    waited = [info.waited for info in client.infos]
    assert waited[0] == waited[2] == [] and waited[4] == [2.0]  # the offline status is seen out, a prediction never
    assert ("disconnect", (), {}) in client.calls and client.calls[-1] == ("loop_stop", (), {})
    assert (sink.published, sink.dropped, sink.skipped) == (7, 0, 0)
    assert sink.summary() == "published 7 MQTT messages to mqtt://broker.lan/home"


def test_every_and_on_change_skip_and_count(fake: SimpleNamespace) -> None:
    sink = sink_for(every_s=2.0, on_change=True, min_confidence=0.95)
    for index, now in enumerate([100.0, 101.99, 102.0, 104.5]):
        fake.clock.now = now
        sink.write(update(index, index / 30))
    sink.close()
    frames = [message["frame"] for topic, message, _, _ in FakeClient.made[0].published if topic.endswith("prediction")]
    assert frames == [0] and sink.skipped == 3  # the same label every time: on change, only the first
    assert FakeClient.made[0].published[1][1]["unknown"] is True  # 0.9 < --min-confidence 0.95
    assert FakeClient.made[0].published[0][:2] == ("home/door/label", "unknown")  # what the page shows, once
    sink = sink_for(every_s=2.0)
    for index, now in enumerate([100.0, 101.99, 102.0, 103.0, 104.0]):
        fake.clock.now = now
        sink.write(update(index, index / 30))
    sink.close()
    frames = [message["frame"] for topic, message, _, _ in FakeClient.made[1].published if topic.endswith("prediction")]
    assert frames == [0, 2, 4] and sink.skipped == 2


def test_the_status_has_the_cameras_counters(fake: SimpleNamespace) -> None:
    camera = camera_status(captured=31, classified=29, capture_fps=29.876, inference_fps=14.444, reconnecting=True)
    sink = sink_for(status=lambda: camera)
    sink.idle(lambda camera: None)
    sink.close()
    assert FakeClient.made[0].published[0][1]["published"] == 0
    extra = {"reconnecting": True, "captured": 31, "classified": 29, "capture_fps": 29.88, "inference_fps": 14.44}
    assert FakeClient.made[0].published[0] == ("home/door/status", status("online", **extra), 1, True)


@pytest.mark.parametrize("qos, rc, published", [(0, paho.MQTT_ERR_NO_CONN, 0), (1, paho.MQTT_ERR_NO_CONN, 2),
                                                (2, paho.MQTT_ERR_NO_CONN, 2), (1, paho.MQTT_ERR_QUEUE_SIZE, 0)])
def test_a_message_paho_does_not_keep_is_counted_as_dropped(fake: SimpleNamespace, qos: int, rc: int,
                                                             published: int) -> None:
    FakeClient.rc = rc
    sink = sink_for(qos=qos)
    sink.idle(lambda camera: None)
    sink.close()
    assert (sink.published, sink.dropped) == (published, 2 - published)
    assert FakeClient.made[0].infos[-1].waited == ([2.0] if published else [])  # a message not sent is not waited for
    if not published:
        assert sink.summary() == "published 0 MQTT messages to mqtt://broker.lan/home (2 dropped: the broker was away)"


def test_a_refusal_is_a_warning_or_with_required_an_error(fake: SimpleNamespace) -> None:
    FakeClient.answer = "refuse"
    sink = sink_for()
    assert fake.said == [("warning", "MQTT broker mqtt://broker.lan/home refused the connection: Not authorized; "
                                     "the run goes on, retrying in the background")]
    sink.idle(lambda camera: None)
    sink.close()  # never online: what waits is dropped
    assert (sink.published, sink.dropped) == (0, 2)
    with pytest.raises(LiveClassifyError, match="^MQTT broker mqtt://broker.lan/home refused the connection: "
                                                "Not authorized$"):
        sink_for(required=True)
    assert FakeClient.made[1].calls[-1] == ("loop_stop", (), {})


def test_no_broker_there_says_why(fake: SimpleNamespace) -> None:
    FakeClient.answer = "fail"
    refused = "^cannot reach MQTT broker mqtt://broker.lan/home: connection refused$"
    with pytest.raises(LiveClassifyError, match=refused):
        sink_for(required=True)


def test_a_broker_that_does_not_answer_holds_neither_the_start_nor_a_reload(
        fake: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeClient.answer = "nothing"
    monkeypatch.setattr(mqtt, "CONNECT_TIMEOUT_S", 0.5)  # the answer is awaited 1.5 s, in a thread of its own
    sink = MqttSink(MqttConfig(broker_url("mqtt://broker.lan/home")), "door", "rtsp://cam/1", None, None)
    assert fake.said == []  # the sink is made before the broker could have answered
    first_answer_said()
    assert fake.said == [("warning", "cannot reach MQTT broker mqtt://broker.lan/home: no answer; "
                                     "the run goes on, retrying in the background")]
    sink._closing = True
    sink._writer.finish(1.0)


def test_no_answer_at_all_is_said_so(fake: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeClient.answer = "nothing"
    monkeypatch.setattr(mqtt, "CONNECT_TIMEOUT_S", 0.0)
    sink = sink_for()
    assert fake.said == [("warning", "cannot reach MQTT broker mqtt://broker.lan/home: no answer; "
                                     "the run goes on, retrying in the background")]
    sink._closing = True
    sink._writer.finish(1.0)


def test_a_lost_broker_is_one_warning_and_its_return_one_line_and_a_status_at_once(fake: SimpleNamespace) -> None:
    sink = sink_for(backlog=9)
    client = FakeClient.made[0]
    sink.idle(lambda camera: None)  # the first status: next due at 105
    client.on_disconnect(client, None, DisconnectFlags(False), CLOSED, None)
    assert fake.said[-1] == ("warning", "lost the MQTT broker mqtt://broker.lan/home (connection closed: the broker "
                                        "stopped, or the network between is down): reconnecting, up to 9 messages wait")
    client.on_disconnect(client, None, DisconnectFlags(False), CLOSED, None)
    assert len([s for s in fake.said if s[0] == "warning"]) == 1  # offline already: said once
    client.on_connect(client, None, None, SUCCESS, None)
    assert fake.said[-1] == ("info", "MQTT broker mqtt://broker.lan/home is back")
    fake.clock.now = 100.5
    sink.idle(lambda camera: None)  # well before 105: the status goes at once all the same
    sink.close()
    statuses = [m for topic, m, _, _ in client.published if topic.endswith("/status")]
    assert [m["state"] for m in statuses] == ["online", "online", "offline"]
    client.on_disconnect(client, None, DisconnectFlags(False), CLOSED, None)  # after close: no warning
    assert len([s for s in fake.said if s[0] == "warning"]) == 1


def test_a_first_connection_closed_before_it_was_up_says_so(fake: SimpleNamespace) -> None:
    FakeClient.answer = "close"
    with pytest.raises(LiveClassifyError, match="^cannot reach MQTT broker mqtt://broker.lan/home: connection "
                                                "closed: the broker stopped, or the network between is down$"):
        sink_for(required=True)
    assert fake.said == []


@pytest.mark.parametrize("url, why", [
    ("mqtt://h:99999/p", "not a URL with a port from 1 to 65535"),
    ("http://h/p", "only mqtt:// and mqtts:// (TLS) are supported"),
    ("mqtt:///p", "no broker host"),
    ("mqtt://h/a\0b", "the topic prefix cannot hold + or # (MQTT's wildcards)"),
])
def test_more_bad_urls_say_why_and_how_it_should_look(url: str, why: str) -> None:
    with pytest.raises(BadValue) as refused:
        broker_url(url)
    assert str(refused.value) == (f"{why}: {url!r} (give mqtt[s]://[user:pass@]host[:port]/prefix, "
                                  "e.g. mqtt://broker.lan/home/cameras)")


def test_a_bad_url_never_shows_its_password() -> None:
    with pytest.raises(BadValue) as refused:
        broker_url("mqtt://me:s3cret@h")
    assert "s3cret" not in str(refused.value) and "'mqtt://me:***@h'" in str(refused.value)


def test_the_scheme_in_capitals_and_a_user_without_password() -> None:
    parsed = broker_url("MQTTS://me@h/x")
    assert (parsed.port, parsed.tls, parsed.username, parsed.password, parsed.url) == (8883, True, "me", None,
                                                                                     "MQTTS://me@h/x")
    parsed = broker_url("MQTT://h/x/y")
    parts = (parsed.port, parsed.tls, parsed.username, parsed.password, parsed.prefix)
    assert parts == (1883, False, None, None, "x/y")
    assert str(broker_url("mqtt://u:p@h/x")) == "mqtt://u:***@h/x"


def test_a_ca_file_that_is_not_pem_or_not_there(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    with pytest.raises(BadValue) as refused:
        ca_file(str(tmp_path / "bad.pem"))
    assert str(refused.value) == (f"no PEM certificate in {tmp_path / 'bad.pem'}: give the CA that signed the "
                                  "broker's certificate")
    with pytest.raises(BadValue) as refused:
        ca_file(str(tmp_path / "none.pem"))
    assert str(refused.value) == f"cannot read {tmp_path / 'none.pem'}: No such file or directory"


def verify_error(code: int, message: str = "OpenSSL's words") -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError()
    error.verify_code, error.verify_message = code, message
    return error


@pytest.mark.parametrize("code, why", [
    (18, "it is not signed by the CA in /etc/ca.pem"),
    (20, "it is not signed by the CA in /etc/ca.pem"),
    (9, "it is not valid yet (is this box's clock right?)"),
    (10, "it has expired"),
    (62, "it names another host, not broker.lan"),
    (64, "it names another host, not broker.lan"),
    (26, "OpenSSL's words"),
])
def test_a_certificate_refused_says_which_check(code: int, why: str) -> None:
    broker = broker_url("mqtts://broker.lan/x")
    assert certificate_problem(verify_error(code), broker, Path("/etc/ca.pem")) == \
        f"MQTT broker mqtts://broker.lan/x has a certificate this box does not trust: {why}"
    assert connect_problem(verify_error(code), broker, Path("/etc/ca.pem")) == \
        f"MQTT broker mqtts://broker.lan/x has a certificate this box does not trust: {why}"


def test_untrusted_without_a_ca_names_the_flag() -> None:
    assert certificate_problem(verify_error(19), broker_url("mqtts://h/x"), None) == (
        "MQTT broker mqtts://h/x has a certificate this box does not trust: it is not signed by this system's CAs "
        "(--mqtt-ca FILE names the broker's CA)")


def test_connection_problems_in_words() -> None:
    tls, plain = broker_url("mqtts://h/x"), broker_url("mqtt://h/x")
    wrong = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    wrong.reason = "WRONG_VERSION_NUMBER"
    assert connect_problem(wrong, tls, None) == ("no TLS connection to MQTT broker mqtts://h/x: wrong version number "
                                                 "(is the port a TLS listener?)")
    reset = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    assert connect_problem(reset, tls, None) == ("no TLS connection to MQTT broker mqtts://h/x: connection reset by "
                                                 "peer (is the port a TLS listener?)")
    assert connect_problem(reset, plain, None) == "cannot reach MQTT broker mqtt://h/x: connection reset by peer"
    assert connect_problem(None, plain, None) == "cannot reach MQTT broker mqtt://h/x: connection refused or timed out"
    assert connect_problem(OSError("no strerror"), plain, None) == \
        "cannot reach MQTT broker mqtt://h/x: connection refused or timed out"
    assert connect_problem(TimeoutError(errno.ETIMEDOUT, "Timed Out"), plain, None) == \
        "cannot reach MQTT broker mqtt://h/x: timed out"


def scored(index: int, label: str, score: float):  # noqa: ANN201
    """Frame ``index`` classified as ``label`` at ``score``."""
    from live_classify.engine.postprocess import TopK

    prediction = update(index, index / 30).shown.new_predictions[0]
    result = type(prediction.result)(TopK((1,), (label,), (score,)), prediction.result.times,
                                     prediction.result.probabilities)
    shown = update(index, index / 30).shown
    new = type(prediction)(prediction.frame, result, prediction.t_done)
    return type(update(0, 0.0))(type(shown)(shown.frame, new, [new], True), index / 30, lambda: shown.frame.image)


def labelled(index: int, label: str):  # noqa: ANN201
    return scored(index, label, 0.9)


def test_on_change_publishes_each_new_label(fake: SimpleNamespace) -> None:
    sink = sink_for(on_change=True)
    for index, label in enumerate(["cat", "cat", "dog", "dog", "cat"]):
        sink.write(labelled(index, label))
    sink.close()
    published = [(m["frame"], m["top"][0]["label"]) for t, m, _, _ in FakeClient.made[0].published
                 if t.endswith("/prediction")]
    assert published == [(0, "cat"), (2, "dog"), (4, "cat")] and sink.skipped == 2


def test_on_a_clock_that_starts_near_0_the_first_prediction_and_status_go_at_once(fake: SimpleNamespace) -> None:
    fake.clock.now = 0.5
    sink = sink_for(every_s=10.0)
    client = FakeClient.made[0]
    sink.write(update(0, 0.0))
    client.on_disconnect(client, None, DisconnectFlags(False), CLOSED, None)
    fake.clock.now = 0.6
    client.on_connect(client, None, None, SUCCESS, None)
    sink.idle(lambda camera: None)  # back: the status goes at once, though the last went 0.1 s ago
    sink.close()
    kinds = [topic.rsplit("/", 1)[1] + ":" + (str(m.get("state", m.get("frame"))) if isinstance(m, dict) else "")
             for topic, m, _, _ in client.published]
    assert kinds == ["label:", "prediction:0", "snapshot:", "status:online", "status:online", "status:offline"]


def test_non_ascii_goes_as_it_is(fake: SimpleNamespace) -> None:
    sink = MqttSink(MqttConfig(broker_url("mqtt://h/x")), "door", "caméra", backlog=10)
    sink.write(update(0, 0.0))
    sink.close()
    assert '"source": "caméra"' in FakeClient.made[0].raw[1]  # raw[0]: the label


def test_the_writer_is_a_thread_named_mqtt(fake: SimpleNamespace) -> None:
    sink = sink_for()
    try:
        assert "mqtt" in [t.name for t in threading.enumerate()]
    finally:
        sink.close()


def test_while_the_broker_is_away_the_main_loop_never_waits_and_the_oldest_are_dropped(fake: SimpleNamespace) -> None:
    FakeClient.answer = "refuse"
    sink = sink_for(backlog=3)
    done = threading.Event()

    def writes() -> None:
        for index in range(10):
            sink.write(update(index, index / 30))
        done.set()

    threading.Thread(target=writes, daemon=True).start()
    assert done.wait(20), "the main loop waited for a broker that is away"
    assert sink.dropped == 10  # 10 predictions, the first label, snapshot and status for 3 places, held at the gate
    sink.close()


def test_a_certificate_refused_at_connect_names_the_ca_given(fake: SimpleNamespace, tmp_path: Path) -> None:
    FakeClient.answer = "untrusted"
    with pytest.raises(LiveClassifyError) as error:
        sink_for("mqtts://broker.lan/home", ca=tmp_path / "ca.pem", required=True)
    assert str(error.value) == (f"MQTT broker mqtts://broker.lan/home has a certificate this box does not trust: "
                                f"it is not signed by the CA in {tmp_path / 'ca.pem'}")


def test_a_broker_that_ends_the_connection_says_why(fake: SimpleNamespace) -> None:
    sink = sink_for()
    client = FakeClient.made[0]
    reason = ReasonCode(PacketTypes.DISCONNECT, "Server shutting down")
    client.on_disconnect(client, None, DisconnectFlags(True), reason, None)
    assert fake.said[-1] == ("warning", "lost the MQTT broker mqtt://broker.lan/home (the broker ended the connection: "
                                        "Server shutting down): reconnecting, up to 1000 messages wait")
    sink.close()


def test_a_normal_disconnection_before_the_first_connection_is_no_reason(fake: SimpleNamespace) -> None:
    FakeClient.answer = "close-normally"
    with pytest.raises(LiveClassifyError, match="^cannot reach MQTT broker mqtt://broker.lan/home: no answer$"):
        sink_for(required=True)


def test_a_ca_file_that_loads_is_taken() -> None:
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    assert ca_file(bundle) == Path(bundle)


def test_a_tls_error_without_reason_or_strerror_is_said_in_its_own_words() -> None:
    error = ssl.SSLError("handshake oddity")
    assert connect_problem(error, broker_url("mqtts://h/x"), None) == \
        f"no TLS connection to MQTT broker mqtts://h/x: {str(error).lower()} (is the port a TLS listener?)"
    assert "handshake oddity" in str(error)


def test_a_prefix_keeps_every_character_but_its_outer_slashes() -> None:
    assert broker_url("mqtt://h//Xhome/camX//").prefix == "Xhome/camX"


def events_sink(labels: tuple[str, ...]) -> MqttSink:
    return MqttSink(MqttConfig(broker_url("mqtt://broker.lan/home"), discovery=True), "door", "rtsp://cam/1",
                    events=labels)


def test_a_reload_that_adds_a_label_leaves_an_event_going_on_alone_and_clears_a_removed_label(
        fake: SimpleNamespace) -> None:
    """``cat`` is ON when a reload watches ``cat`` and ``mug`` instead of ``cat`` and ``dog``: the
    new label's state is OFF, cat's stays ON (not set OFF again), dog's Home Assistant config is
    cleared (an empty retained message) and mug's published."""
    sink = events_sink(("cat", "dog"))
    sink.write_event(Change(START, Event("e1", "door", "cat", 1.0, None, 0.9, 1.0)))
    sink.reconfigure(None, ("cat", "mug"))
    sink.close()
    published = [(topic, body, retain) for topic, body, _, retain in FakeClient.made[0].published]
    after = published[published.index(("home/door/cat", "ON", True)) + 1:]
    assert [(t, b) for t, b, _ in after if t.startswith("home/door/") and not t.endswith("status")] == [
        ("home/door/mug", "OFF")]
    assert ("homeassistant/binary_sensor/home/door_dog/config", "", True) in after
    assert "homeassistant/binary_sensor/home/door_mug/config" in [t for t, _, _ in after]


def test_a_reload_that_changes_only_the_health_checks_moves_home_assistant_s_configs(fake: SimpleNamespace) -> None:
    """The same event labels, but the checks watched go from ``offline`` and ``frozen`` to ``offline``
    and ``dark``: Home Assistant gets dark's config, and frozen's is cleared (an empty retained message)."""
    sink = MqttSink(MqttConfig(broker_url("mqtt://broker.lan/home"), discovery=True), "door", "rtsp://cam/1",
                    events=("cat",), problems=("offline", "frozen"))
    sink.reconfigure(None, ("cat",), ("offline", "dark"))
    sink.close()
    published = [(topic, body, retain) for topic, body, _, retain in FakeClient.made[0].published]
    dark = [body for topic, body, _ in published if topic.endswith("/door_health_dark/config")]
    assert dark and dark[-1] != "", "the new health check's config never published"
    assert ("homeassistant/binary_sensor/home/door_health_frozen/config", "", True) in published, \
        "the removed health check's config not cleared"


def test_a_reload_that_stops_watching_a_problem_clears_its_home_assistant_sensor(fake: SimpleNamespace) -> None:
    """Issue 35: a reload from ``--health offline,dark,moved`` to ``offline,dark`` clears the ``moved``
    problem sensor's Home Assistant config (an empty retained message), and only that one."""
    sink = MqttSink(MqttConfig(broker_url("mqtt://broker.lan/home"), discovery=True), "door", "rtsp://cam/1",
                    problems=("offline", "dark", "moved"))
    sink.reconfigure(None, (), ("offline", "dark"))
    sink.close()
    cleared = [topic for topic, body, _, retain in FakeClient.made[0].published if body == "" and retain]
    assert cleared == ["homeassistant/binary_sensor/home/door_health_moved/config"]

def test_a_snapshot_at_an_event_s_start_not_at_its_end(fake: SimpleNamespace) -> None:
    sink = events_sink(("cat",))
    sink.write(update(0, 0.0))  # the first frame's snapshot
    event = Event("e1", "door", "cat", 1.0, None, 0.9, 1.0)
    for kind, index in ((START, 1), (END, 2)):
        fake.clock.now += 1
        sink.write_event(Change(kind, replace(event, end=None if kind == START else 2.0)))
        sink.write(update(index, index / 30))
    sink.close()
    snapshots = [topic for topic, *_ in FakeClient.made[0].published if topic == "home/door/snapshot"]
    assert len(snapshots) == 2  # the first frame's and the start's; the end's frame waits its turn


def test_the_label_topic_follows_the_page_even_when_the_prediction_is_not_published(fake: SimpleNamespace) -> None:
    """--mqtt-on-change and --mqtt-every limit the prediction messages, not Home Assistant's label:
    the cat falls under --min-confidence (the page says unknown) though its top label is the same,
    and a dog comes within --mqtt-every; the label topic says both, as the page does."""
    sink = sink_for(on_change=True, every_s=2.0, min_confidence=0.8)
    for index, (now, label, score) in enumerate([(100.0, "cat", 0.9), (100.5, "cat", 0.5), (101.0, "dog", 0.9)]):
        fake.clock.now = now
        sink.write(scored(index, label, score))
    sink.close()
    published = FakeClient.made[0].published
    labels = [body for topic, body, _, _ in published if topic == "home/door/label"]
    frames = [body["frame"] for topic, body, _, _ in published if topic == "home/door/prediction"]
    assert labels == ["cat", "unknown", "dog"] and frames == [0]


def test_the_snapshot_is_the_annotated_picture_the_page_shows_not_the_raw_frame(fake: SimpleNamespace) -> None:
    """Home Assistant's camera entity shows what the page shows: the frame with its label drawn (the
    canvas), not the camera's raw frame. Here the raw frame is black and the canvas white."""
    sink = sink_for()
    raw, canvas = np.zeros((240, 320, 3), np.uint8), np.full((240, 320, 3), 255, np.uint8)
    sink.write(update(0, 0.0, draw=lambda: canvas, image=raw))
    sink.close()
    client = FakeClient.made[0]
    (jpeg,) = [payload for (topic, *_), payload in zip(client.published, client.raw, strict=True)
               if topic == "home/door/snapshot"]
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (240, 320, 3) and picture.mean() > 250, "the snapshot is the canvas, not the raw frame"
