"""The MQTT messages of events and Home Assistant's discovery, field by field: what Home Assistant
reads from each config must point at the topics the sink really publishes, with the payloads it
really sends."""
from __future__ import annotations

import json

import pytest

from live_classify.errors import BadValue
from live_classify.sinks.events import mqtt_topics
from live_classify.sinks.events.mqtt_topics import device_class, discovery_messages, slug


def configs(labels: tuple[str, ...] = ("tiger cat",), classes: dict[str, str] | None = None,
            problems: tuple[str, ...] = ()) -> dict[str, dict]:
    return {topic: json.loads(payload) for topic, payload, _, _ in  # type: ignore[arg-type]
            discovery_messages("home/cams", "Front Door", labels, classes or {}, problems)}


def test_a_label_or_camera_as_a_topic_level_has_no_outer_underscores() -> None:
    assert [slug(text) for text in ("tiger cat", "Front Door", "cat (tabby)!", "__x__", "!!!")] == [
        "tiger_cat", "front_door", "cat_tabby", "x", "_"]


def test_a_device_class_is_one_of_home_assistant_s_and_the_label_may_hold_an_equals_sign() -> None:
    assert device_class("tiger cat=occupancy") == ("tiger cat", "occupancy")
    assert device_class("a=b=motion") == ("a=b", "motion")
    for bad in ("tiger cat=kitchen", "=motion", "motion", "cat=Motion"):
        with pytest.raises(BadValue, match="one of Home Assistant's"):
            device_class(bad)


def test_the_binary_sensor_reads_the_state_topic_the_sink_publishes_with_its_payloads() -> None:
    found = configs(("tiger cat", "mug"), {"tiger cat": "occupancy"})
    cat = found["homeassistant/binary_sensor/home_cams/front_door_tiger_cat/config"]
    mug = found["homeassistant/binary_sensor/home_cams/front_door_mug/config"]
    published = {topic: payload for topic, payload, _, _ in mqtt_topics.initial_states("home/cams/Front Door",
                                                                                        ("tiger cat",))}
    assert cat["state_topic"] in published and published[cat["state_topic"]] == cat["payload_off"] == "OFF"
    assert (cat["name"], cat["unique_id"], cat["payload_on"]) == ("tiger cat", "home_cams_front_door_tiger_cat", "ON")
    assert cat["device_class"] == "occupancy" and "device_class" not in mug  # a mug is no occupancy


def test_every_entity_is_available_while_the_camera_s_status_says_online_and_shares_one_device() -> None:
    # The health problems' sensors too: without the camera's device, Home Assistant lists them apart
    # from the camera they are about, and never says them unavailable (mutation round 7 of issue 35).
    found = configs(("tiger cat",), problems=("offline", "dark"))
    assert len(found) == 5
    assert "homeassistant/binary_sensor/home_cams/front_door_health_dark/config" in found
    for config in found.values():
        assert (config["availability_topic"], config["availability_template"]) == (
            "home/cams/Front Door/status", "{{ value_json.state }}")
        assert (config["payload_available"], config["payload_not_available"]) == ("online", "offline")
        assert config["device"]["identifiers"] == ["home_cams_front_door"] and config["device"]["name"] == "Front Door"
    other = configs()  # another camera under the same prefix is another device
    assert json.loads(discovery_messages("home/cams", "yard", ("tiger cat",), {})[0][1])["device"]["identifiers"] == [
        "home_cams_yard"] != next(iter(other.values()))["device"]["identifiers"]


def test_the_top_label_sensor_reads_the_label_the_page_shows_and_the_camera_its_snapshot() -> None:
    found = configs()
    sensor = found["homeassistant/sensor/home_cams/front_door_top/config"]
    camera = found["homeassistant/camera/home_cams/front_door_snapshot/config"]
    assert sensor["state_topic"] == mqtt_topics.label_topic("home/cams/Front Door") == "home/cams/Front Door/label"
    assert sensor["json_attributes_topic"] == "home/cams/Front Door/prediction"
    assert camera["topic"] == mqtt_topics.snapshot_topic("home/cams/Front Door") == "home/cams/Front Door/snapshot"


def test_every_entity_of_a_camera_has_an_id_of_its_own_health_problems_and_labels_alike() -> None:
    """Home Assistant keeps one entity per ``unique_id``: two configs sharing one are one sensor, the
    second config rejected (a camera both dark and frozen could never show both)."""
    found = [json.loads(payload) for _, payload, _, _ in discovery_messages(  # type: ignore[arg-type]
        "home/cams", "Front Door", ("tiger cat", "mug"), {}, ("offline", "dark", "frozen"))]
    ids = [config["unique_id"] for config in found]
    assert len(ids) == 7 and len(set(ids)) == len(ids), ids
    dark = next(config for config in found if config["name"] == "camera dark")
    assert dark["unique_id"] == "home_cams_front_door_health_dark"
