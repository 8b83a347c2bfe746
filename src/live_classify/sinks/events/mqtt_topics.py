"""Events over MQTT, and Home Assistant's discovery of them: the messages, built here; ``MqttSink``
sends them with the rest.

Under a camera's topic ``PREFIX/CAMERA``: ``events`` (each start and end, QoS 1, never retained: a
subscriber that comes later must not take an old start for a new one) and a retained ``ON``/``OFF``
state per event label, at ``PREFIX/CAMERA/<label>`` with the label made topic-safe (``tiger cat``:
``tiger_cat``). With ``--mqtt-discovery``, retained configs under ``homeassistant/``: a binary
sensor per camera and event label, a sensor of the camera's top label, each available while the
camera's status topic says ``online``.
"""
from __future__ import annotations

import json
import re

from live_classify import __version__
from live_classify.sinks.events.rules import START, Change, record

EVENTS_QOS = 1
DISCOVERY_PREFIX = "homeassistant"

Message = tuple[str, str, bool, int]  # topic, payload, retained, QoS


def slug(text: str) -> str:
    """A name as a topic level and a Home Assistant id have it: lowercase letters, digits and ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "_"


def event_messages(topic: str, change: Change) -> list[Message]:
    """A start or an end: the event itself, and the label's retained state."""
    state = "ON" if change.kind == START else "OFF"
    return [(f"{topic}/events", json.dumps(record(change), ensure_ascii=False), False, EVENTS_QOS),
            (f"{topic}/{slug(change.event.label)}", state, True, EVENTS_QOS)]


def initial_states(topic: str, labels: tuple[str, ...]) -> list[Message]:
    """``OFF`` for every event label at the start: no event goes on yet (an ``ON`` left retained
    by a run that was killed is put right)."""
    return [(f"{topic}/{slug(label)}", "OFF", True, EVENTS_QOS) for label in labels]


def setup_messages(prefix: str, camera: str, labels: tuple[str, ...], discovery: bool) -> list[Message]:
    """What a camera's MQTT sink publishes first: the states, then (``--mqtt-discovery``) the configs."""
    topic = f"{prefix}/{camera}"
    return initial_states(topic, labels) + (discovery_messages(prefix, camera, labels) if discovery else [])


def discovery_messages(prefix: str, camera: str, labels: tuple[str, ...]) -> list[Message]:
    """Home Assistant's retained configs for one camera: its device, a binary sensor per event
    label, a sensor of its top label."""
    node, cam, topic = slug(prefix), slug(camera), f"{prefix}/{camera}"
    common = {
        "availability_topic": f"{topic}/status", "availability_template": "{{ value_json.state }}",
        "payload_available": "online", "payload_not_available": "offline",
        "device": {"identifiers": [f"{node}_{cam}"], "name": camera, "manufacturer": "live-classify",
                   "model": "live-classify camera", "sw_version": __version__},
    }
    configs = [(f"{DISCOVERY_PREFIX}/binary_sensor/{node}/{cam}_{slug(label)}/config", {
        "name": label, "unique_id": f"{node}_{cam}_{slug(label)}", "state_topic": f"{topic}/{slug(label)}",
        "payload_on": "ON", "payload_off": "OFF", "device_class": "occupancy", **common}) for label in labels]
    configs.append((f"{DISCOVERY_PREFIX}/sensor/{node}/{cam}_top/config", {
        "name": "top label", "unique_id": f"{node}_{cam}_top", "state_topic": f"{topic}/prediction",
        "value_template": "{{ value_json.top[0].label }}", "json_attributes_topic": f"{topic}/prediction",
        "json_attributes_template": "{{ {'score': value_json.top[0].score} | tojson }}", **common}))
    return [(where, json.dumps(config, ensure_ascii=False), True, EVENTS_QOS) for where, config in configs]
