"""Events over MQTT, and Home Assistant's discovery of them: the messages, built here; ``MqttSink``
sends them with the rest.

Under a camera's topic ``PREFIX/CAMERA``: ``events`` (each start and end, QoS 1, never retained: a
subscriber that comes later must not take an old start for a new one) and a retained ``ON``/``OFF``
state per event label, at ``PREFIX/CAMERA/<label>`` with the label made topic-safe (``tiger cat``:
``tiger_cat``). ``PREFIX/CAMERA/label`` (retained, when it changes) is the answer as the page
shows it: the top label, or ``unknown`` below ``--min-confidence``; ``PREFIX/CAMERA/snapshot``
(retained) a JPEG of the annotated picture at each event's start and every ``SNAPSHOT_EVERY_S``.
``PREFIX/CAMERA/health`` (retained) is the camera's health problem, or ``ok``.
With ``--mqtt-discovery``, retained configs under ``homeassistant/``: a binary sensor per camera and
event label (its ``device_class`` only where ``--mqtt-device-class`` gives one: an espresso is no
occupancy), a sensor of the label the page shows, a camera of the snapshot, each available while
the camera's status topic says ``online``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping

import numpy as np

from live_classify import __version__
from live_classify.errors import BadValue
from live_classify.sinks.events.rules import HEALTH, START, Change, record

EVENTS_QOS = 1
OK = "ok"  # a camera's health, retained, while it shows no problem
DISCOVERY_PREFIX = "homeassistant"
SNAPSHOT_EVERY_S = 180.0  # the retained snapshot is refreshed at least this often (and at each event's start)
# Home Assistant's binary sensor device classes (its documentation's list).
DEVICE_CLASSES = ("battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door",
                  "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug",
                  "power", "presence", "problem", "running", "safety", "smoke", "sound", "tamper", "update",
                  "vibration", "window")

# topic, payload (text; bytes; or a picture, sent as a JPEG encoded off the main loop), retained, QoS
Message = tuple[str, "str | bytes | np.ndarray", bool, int]


def device_class(text: str) -> tuple[str, str]:
    """``--mqtt-device-class LABEL=CLASS``: (label, class), or a :class:`BadValue` naming the classes."""
    label, _, kind = text.rpartition("=")
    if not label.strip() or kind not in DEVICE_CLASSES:
        raise BadValue(f"not LABEL=CLASS with CLASS one of Home Assistant's {', '.join(DEVICE_CLASSES)}: {text!r}")
    return label.strip(), kind


def slug(text: str) -> str:
    """A name as a topic level and a Home Assistant id have it: lowercase letters, digits and ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "_"


def event_messages(topic: str, change: Change) -> list[Message]:
    """A start or an end: the event itself, and the label's retained state (a health event's: the
    camera's problem at ``PREFIX/CAMERA/health``, ``ok`` when it ends)."""
    told = (f"{topic}/events", json.dumps(record(change), ensure_ascii=False), False, EVENTS_QOS)
    if change.event.kind == HEALTH:
        return [told, (health_topic(topic), change.event.label if change.kind == START else OK, True, EVENTS_QOS)]
    state = "ON" if change.kind == START else "OFF"
    return [told, (f"{topic}/{slug(change.event.label)}", state, True, EVENTS_QOS)]


def health_topic(topic: str) -> str:
    """Where a camera's health is retained: its problem (offline, frozen, dark, blurred, moved) or ``ok``."""
    return f"{topic}/health"


def initial_states(topic: str, labels: tuple[str, ...]) -> list[Message]:
    """``OFF`` for every event label at the start: no event goes on yet (an ``ON`` left retained
    by a run that was killed is put right)."""
    return [(f"{topic}/{slug(label)}", "OFF", True, EVENTS_QOS) for label in labels]


def setup_messages(prefix: str, camera: str, labels: tuple[str, ...], discovery: bool,
                   device_classes: Mapping[str, str] | None = None, problems: tuple[str, ...] = ()) -> list[Message]:
    """What a camera's MQTT sink publishes first: the states (its health ``ok`` when it is watched),
    then (``--mqtt-discovery``) the configs."""
    topic = f"{prefix}/{camera}"
    health = [(health_topic(topic), OK, True, EVENTS_QOS)] if problems else []
    return initial_states(topic, labels) + health + (
        discovery_messages(prefix, camera, labels, device_classes or {}, problems) if discovery else [])


def discovery_messages(prefix: str, camera: str, labels: tuple[str, ...],
                       device_classes: Mapping[str, str], problems: tuple[str, ...] = ()) -> list[Message]:
    """Home Assistant's retained configs for one camera: its device, a binary sensor per event
    label and per health problem watched (``device_class: problem``, on while the camera shows
    it), a sensor of the label the page shows, a camera of its snapshot."""
    node, cam, topic = slug(prefix), slug(camera), f"{prefix}/{camera}"
    common = {
        "availability_topic": f"{topic}/status", "availability_template": "{{ value_json.state }}",
        "payload_available": "online", "payload_not_available": "offline",
        "device": {"identifiers": [f"{node}_{cam}"], "name": camera, "manufacturer": "live-classify",
                   "model": "live-classify camera", "sw_version": __version__},
    }
    configs = [(f"{DISCOVERY_PREFIX}/binary_sensor/{node}/{cam}_{slug(label)}/config", {
        "name": label, "unique_id": f"{node}_{cam}_{slug(label)}", "state_topic": f"{topic}/{slug(label)}",
        "payload_on": "ON", "payload_off": "OFF",
        **({"device_class": device_classes[label]} if label in device_classes else {}), **common}) for label in labels]
    configs.append((f"{DISCOVERY_PREFIX}/sensor/{node}/{cam}_top/config", {
        "name": "top label", "unique_id": f"{node}_{cam}_top", "state_topic": label_topic(topic),
        "json_attributes_topic": f"{topic}/prediction",
        "json_attributes_template": "{{ {'score': value_json.top[0].score} | tojson }}", **common}))
    configs.append((f"{DISCOVERY_PREFIX}/camera/{node}/{cam}_snapshot/config", {
        "name": "snapshot", "unique_id": f"{node}_{cam}_snapshot", "topic": snapshot_topic(topic), **common}))
    configs += [(f"{DISCOVERY_PREFIX}/binary_sensor/{node}/{cam}_health_{problem}/config", {
        "name": f"camera {problem}", "unique_id": f"{node}_{cam}_health_{problem}", "state_topic": health_topic(topic),
        "value_template": f"{{{{ 'ON' if value == '{problem}' else 'OFF' }}}}", "device_class": "problem",
        **common}) for problem in problems]
    return [(where, json.dumps(config, ensure_ascii=False), True, EVENTS_QOS) for where, config in configs]


def label_topic(topic: str) -> str:
    """Where the label the page shows is retained (``unknown`` below ``--min-confidence``)."""
    return f"{topic}/label"


def snapshot_topic(topic: str) -> str:
    """Where the camera's latest snapshot (a JPEG) is retained."""
    return f"{topic}/snapshot"
