"""``--mqtt``: the predictions to an MQTT broker, where dashboards, alerts and home automation read them.

Topics, under the URL's prefix and the camera's topic-safe name:
``PREFIX/CAMERA/prediction`` (one JSON line's object per published classification) and
``PREFIX/CAMERA/status`` (retained: ``online`` with the counters every few seconds, ``offline`` with
the last counters on a clean stop and, as the last will, ``offline`` with the source when the process
dies); with ``--event``, the events and their states (``events/mqtt_topics.py``).

The main loop only queues: a :class:`BackgroundWriter` hands the messages to paho, whose own
network thread sends them and reconnects with backoff. While the broker is away the messages wait
in a bounded backlog; beyond it the oldest are dropped and counted. The sink is not essential:
when the broker cannot be reached the run goes on, unless ``--mqtt-required``.

``mqtts://`` is MQTT over TLS: the broker's certificate is verified against ``--mqtt-ca`` (or the
system's CAs) and its host name, and a certificate refused says why in one line.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from live_classify import log
from live_classify.config import MqttConfig
from live_classify.engine.postprocess import UNKNOWN, is_unknown
from live_classify.errors import LiveClassifyError
from live_classify.pipeline.frames import Prediction
from live_classify.pipeline.status import CameraStatus
from live_classify.sinks.base import BackgroundWriter, Redraw, Update
from live_classify.sinks.events import mqtt_topics as event_topics
from live_classify.sinks.events.mqtt_topics import Message
from live_classify.sinks.events.rules import START, Change
from live_classify.sinks.jsonl import line_record
from live_classify.sinks.mqtt_broker import KEEPALIVE_S, connect_problem, disconnect_reason

STATUS_EVERY_S = 5.0
CONNECT_TIMEOUT_S = 5.0
BACKLOG = 1000  # messages waiting while the broker is away (by default); beyond it the oldest are dropped
RECONNECT_DELAY_S = (1, 30)  # paho's backoff: from 1 s, doubling, to 30 s
SNAPSHOT_QUALITY = 80


def jpeg(picture: np.ndarray) -> bytes:
    """A snapshot as Home Assistant's MQTT camera takes it."""
    done, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, SNAPSHOT_QUALITY])
    return data.tobytes() if done else b""


class MqttSink:
    """The sink: predictions and status to the broker, off the main loop."""

    name = "MQTT"
    essential = False
    stop_requested = False
    error: str | None = None
    _why: str | None = None  # why the broker refused or could not be reached

    def __init__(self, config: MqttConfig, camera: str, source_name: str,
                 status: Callable[[], CameraStatus] | None = None,
                 min_confidence: float | None = None, backlog: int = BACKLOG, events: tuple[str, ...] = (),
                 problems: tuple[str, ...] = ()) -> None:
        """``backlog``: the messages that wait while the broker is away (beyond it the oldest are dropped);
        ``events``: the event labels (their states, and with ``--mqtt-discovery`` Home Assistant's configs);
        ``problems``: the health problems watched (likewise)."""
        import paho.mqtt.client as mqtt  # imported only when publishing

        self.config = config
        self.source_name = source_name
        self.min_confidence = min_confidence
        self.status = status  # the camera now, for the retained status
        self.camera = camera
        self.topic = f"{config.broker.prefix}/{camera}"
        self.labels, self.problems = events, problems
        self.backlog = backlog
        self.published = 0
        self.skipped = 0  # not published by choice: --mqtt-every, --mqtt-on-change
        self._last_label: str | None = None
        self._next_prediction = 0.0
        self._next_status = 0.0
        self._online = threading.Event()
        self._sending = threading.Event()  # the writer takes messages: the broker is there, or the run ends
        self._answered = threading.Event()  # the first connection attempt ended, either way
        self._closing = False
        self._was_online = False
        self._writer: BackgroundWriter[Message] = BackgroundWriter(
            "mqtt", self._publish, drop=True, backlog=backlog, gate=self._sending)
        self._no_connection = mqtt.MQTT_ERR_NO_CONN
        self.client = self._client(mqtt)
        self._shown_label: str | None = None  # the label the page shows, as last published
        self._next_snapshot = 0.0  # the first frame's, then every SNAPSHOT_EVERY_S and at each event's start
        for message in event_topics.setup_messages(config.broker.prefix, camera, events, config.discovery,
                                                   dict(config.device_classes), problems):
            self._writer.submit(message)
        self._discovered = self._configs(events)  # Home Assistant's retained configs it published
        self._connect()

    @property
    def dropped(self) -> int:
        """Messages lost because the broker was away longer than the backlog lasts."""
        return self._writer.dropped

    def reconfigure(self, min_confidence: float | None, labels: tuple[str, ...],
                    problems: tuple[str, ...] = ()) -> None:
        """A reload's threshold and event labels, on the same connection: a new label's state (and
        Home Assistant's configs) published, a removed label's config cleared."""
        self.min_confidence = min_confidence
        added = tuple(label for label in labels if label not in self.labels)
        for message in event_topics.initial_states(self.topic, added):
            self._writer.submit(message)
        if self.config.discovery and (labels, problems) != (self.labels, self.problems):
            self.problems = problems
            self.forget(labels)
            for message in event_topics.discovery_messages(self.config.broker.prefix, self.camera, labels,
                                                           dict(self.config.device_classes), problems):
                self._writer.submit(message)
            self._discovered = self._configs(labels)
        self.labels, self.problems = labels, problems

    def forget(self, keep: tuple[str, ...] | None = None) -> None:
        """Home Assistant's configs this camera published, but those of ``keep`` (its labels from
        now on; None: the camera is gone), cleared with empty retained messages: its entities go."""
        for topic in sorted(self._discovered - (self._configs(keep) if keep is not None else set())):
            self._writer.submit((topic, "", True, self.config.qos))
        self._discovered = self._configs(keep) if keep is not None else set()

    def _configs(self, labels: tuple[str, ...]) -> set[str]:
        """The discovery topics of this camera with these event labels (none without discovery)."""
        if not self.config.discovery:
            return set()
        classes = dict(self.config.device_classes)
        return {topic for topic, *_ in event_topics.discovery_messages(self.config.broker.prefix, self.camera, labels,
                                                                        classes, self.problems)}

    def write(self, update: Update) -> None:
        for prediction in update.shown.new_predictions:
            self._label_shown(prediction)
            if self._wanted(prediction):
                record = line_record(prediction, self.source_name, self.min_confidence)
                self._writer.submit((f"{self.topic}/prediction", json.dumps(record, ensure_ascii=False), False,
                                     self.config.qos))
        if (now := time.monotonic()) >= self._next_snapshot:  # a copy: the JPEG is encoded on the writer's thread
            self._next_snapshot = now + event_topics.SNAPSHOT_EVERY_S
            self._writer.submit((event_topics.snapshot_topic(self.topic), update.canvas.copy(), True, self.config.qos))
        self._status_due()

    def write_event(self, change: Change) -> None:
        for message in event_topics.event_messages(self.topic, change):
            self._writer.submit(message)
        if change.kind == START:
            self._next_snapshot = 0.0  # the next frame's picture: what the event is about

    def _label_shown(self, prediction: Prediction) -> None:
        """The label as the page shows it (``unknown`` below --min-confidence), retained when it changes."""
        top = prediction.result.top
        label = UNKNOWN if is_unknown(top, self.min_confidence) else str(top.labels[0]) if len(top.labels) else None
        if label is not None and label != self._shown_label:
            self._shown_label = label
            self._writer.submit((event_topics.label_topic(self.topic), label, True, self.config.qos))

    def idle(self, redraw: Redraw) -> None:
        self._status_due()

    def close(self) -> None:
        """The last messages and ``offline``, then a clean disconnect (which the last will then does not follow)."""
        self._writer.submit((f"{self.topic}/status", self._status("offline"), True, self.config.qos))
        self._closing = True
        self._sending.set()  # while the broker is away, what waits is counted as dropped
        self._writer.finish(timeout=CONNECT_TIMEOUT_S)
        self.client.disconnect()
        self.client.loop_stop()

    def summary(self) -> str | None:
        dropped = f" ({self.dropped} dropped: the broker was away)" if self.dropped else ""
        return f"published {self.published} MQTT messages to {self.config.broker}{dropped}"

    def _wanted(self, prediction: Prediction) -> bool:
        """--mqtt-every and --mqtt-on-change: whether this classification is published."""
        label = str(prediction.result.top.labels[0]) if len(prediction.result.top.labels) else None
        now = time.monotonic()
        if (self.config.on_change and label == self._last_label) or now < self._next_prediction:
            self.skipped += 1
            return False
        self._last_label = label
        self._next_prediction = now + (self.config.every_s or 0.0)
        return True

    def _status_due(self) -> None:
        if (now := time.monotonic()) >= self._next_status:
            self._next_status = now + STATUS_EVERY_S
            self._writer.submit((f"{self.topic}/status", self._status("online"), True, self.config.qos))

    def _status(self, state: str) -> str:
        """The retained status: online/offline, with the counters."""
        status: dict[str, object] = {"state": state, "time": round(time.time(), 3), "source": self.source_name,
                                     "published": self.published, "dropped": self.dropped, "skipped": self.skipped}
        if self.status is not None:
            camera = self.status()
            status |= {"reconnecting": camera.reconnecting, "captured": camera.captured,
                       "classified": camera.classified, "capture_fps": round(camera.capture_fps, 2),
                       "inference_fps": round(camera.inference_fps, 2)}
        return json.dumps(status)

    def _will(self) -> str:
        """The last will, published long after it was written: ``offline``, the source, nothing that changes."""
        return json.dumps({"state": "offline", "source": self.source_name})

    def _publish(self, message: Message) -> None:
        """In the writer's thread: to paho (waiting for a broker just lost); at the end, what cannot go is counted."""
        while not self._online.is_set():
            if self._closing:
                self._writer.dropped += 1
                return
            self._online.wait(0.2)
        topic, payload, retain, qos = message
        if isinstance(payload, np.ndarray):
            payload = jpeg(payload)
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        # The connection dropped just now: paho keeps a QoS 1-2 message for the next connection,
        # a QoS 0 one is lost (counted); so is one beyond paho's own queue.
        if info.rc != 0 and not (info.rc == self._no_connection and qos > 0):
            self._writer.dropped += 1
            return
        self.published += 1
        if self._closing and retain:  # the offline status: see it out before disconnecting
            info.wait_for_publish(timeout=2.0)

    def _client(self, mqtt):  # noqa: ANN001, ANN202 - paho's module, imported lazily
        """paho's client: credentials, the offline last will, the reconnect backoff, our callbacks."""
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        broker = self.config.broker
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        client.will_set(f"{self.topic}/status", self._will(), qos=self.config.qos, retain=True)
        client.reconnect_delay_set(*RECONNECT_DELAY_S)
        client.max_queued_messages_set(self.backlog)
        if broker.tls:
            client.tls_set(ca_certs=str(self.config.ca) if self.config.ca else None)
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        return client

    def _connect(self) -> None:
        """Start paho's thread; the first answer awaited with --mqtt-required only, else said from a thread
        of its own: a dead broker must not hold the start, nor a reload on the main loop, for seconds."""
        self.client.connect_async(self.config.broker.host, self.config.broker.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()
        if self.config.required:
            self._say_first_answer()
        else:
            threading.Thread(target=self._say_first_answer, name="mqtt-first-answer", daemon=True).start()

    def _say_first_answer(self) -> None:
        """The first attempt's outcome: unreachable is a warning, or an error with --mqtt-required."""
        broker = self.config.broker
        self._answered.wait(CONNECT_TIMEOUT_S + 1)
        if self._online.is_set():
            log.info(f"publishing to MQTT broker {broker} under {self.topic}/")
            return
        why = self._why or f"cannot reach MQTT broker {broker}: no answer"
        if self.config.required:
            self.client.loop_stop()
            raise LiveClassifyError(why)
        log.warning(f"{why}; the run goes on, retrying in the background")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            self._why = f"MQTT broker {self.config.broker} refused the connection: {reason_code}"
        else:
            self._online.set()
            self._sending.set()
            if self._was_online:
                log.info(f"MQTT broker {self.config.broker} is back")
            self._was_online = True
            self._next_status = 0.0  # the broker may have lost the retained status: say online soon
        self._answered.set()

    def _on_connect_fail(self, client, userdata) -> None:  # noqa: ANN001
        # paho calls this inside its ``except OSError``, without the error: exc_info() has it.
        self._why = self._why or connect_problem(sys.exc_info()[1], self.config.broker, self.config.ca)
        self._answered.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        why = disconnect_reason(flags, reason_code)
        if self._online.is_set() and not self._closing:
            log.warning(f"lost the MQTT broker {self.config.broker} ({why}): reconnecting, "
                        f"up to {self.backlog} messages wait")
        self._online.clear()
        self._sending.clear()
        if self._closing:  # set by close() meanwhile: let the writer finish
            self._sending.set()
        if reason_code.is_failure and not self._was_online:
            self._why = self._why or f"cannot reach MQTT broker {self.config.broker}: {why}"
        self._answered.set()
