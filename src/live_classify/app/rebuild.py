"""A reload's shared outputs: the JSON lines and the MQTT topics rebuilt where their settings
changed; the web view rebuilt on its new address or settings (the old one closed), else told of
the cameras that came and went; the grid's tiles; the events' cameras and rules. All of it on the
main loop, between two frames; what is slow (a closing server) closes in a thread of its own."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from live_classify.app.cameras import Cameras
from live_classify.app.outputs import (
    camera_sinks,
    clip_roots,
    events_sink,
    indexed_directory,
    jsonl_wanted,
    web_view,
)
from live_classify.config import EncoderSettings, RunConfig, SourceConfig
from live_classify.engine.classifier import Classifier
from live_classify.log import warning
from live_classify.sinks.base import OneCamera, Sinks
from live_classify.sinks.collect import Collector
from live_classify.sinks.display.grid import Grid
from live_classify.sinks.display.window import Window
from live_classify.sinks.events.sink import Events
from live_classify.sinks.jsonl import JsonLines
from live_classify.sinks.mqtt import MqttSink
from live_classify.sinks.record.clip_names import ClipNames
from live_classify.sinks.web.view import Feed, WebView
from live_classify.sources.capture import Source


@dataclass
class Plan:
    """A reload, ready to apply: the new configuration, and what changes."""

    config: RunConfig
    removed: list[str]  # cameras to end (those whose keys changed too)
    added: list[tuple[SourceConfig, Source]]  # cameras to start, their sources opened already
    thresholds: dict[str, float | None]  # untouched cameras whose min-confidence alone changed
    rerecord: list[str]  # cameras whose recording settings changed: their recording anew (else it goes on)
    encoding: EncoderSettings | None  # the new recordings' encoder, chosen
    classifier: Classifier | None  # a new model, loaded already
    jsonl: bool  # the JSON lines go elsewhere now
    mqtt: bool  # the MQTT settings changed
    serve: bool  # the web view's address, token, rate or places changed (its new socket bound already)


@dataclass
class Context:
    """What the run's outputs were built with, for those a reload builds."""

    window: Window | None
    collector: Collector | None
    configuration: Callable[[], dict[str, object]] | None = None  # --config: /api/status's running configuration


def rebuild_shared(plan: Plan, cameras: Cameras, sinks: Sinks, context: Context, before: RunConfig) -> None:
    """Every shared output brought to the new configuration and cameras (``before``: the old one)."""
    _rebuild_shared(plan, cameras, sinks, context)
    _retrack(plan, cameras, sinks, {src.name: src for src in before.sources})
    _rebuild_web(plan, cameras, sinks, context)
    if isinstance(context.window, Grid):
        context.window.set_cameras([m.name for m in cameras.members])
    elif context.window is not None and plan.added and len(cameras.members) > 1:
        warning("reload: one window shows one camera; the others show in a grid after a restart")
    events = next((s for s in sinks.active if isinstance(s, Events)), None)
    if events is not None:
        events.listeners = [s for s in sinks.active if hasattr(s, "write_event") and s is not events]


def _rebuild_shared(plan: Plan, cameras: Cameras, sinks: Sinks, context: Context) -> None:
    """The JSON lines (their cameras, thresholds, target) and every camera's MQTT topics, where changed."""
    out, members = plan.config.outputs, cameras.members
    jsonl = next((s for s in sinks.active if isinstance(s, JsonLines)), None)
    if plan.jsonl:
        target = jsonl_wanted(out, context.window is not None)
        new = JsonLines(target, members[0].config.spec.name, drop=jsonl.drop if jsonl else True,
                        min_confidence=out.min_confidence) if target else None
        sinks.remove([jsonl] if jsonl else [])
        sinks.add([new] if new else [])
        jsonl = new
    if jsonl is not None:
        jsonl.sources = {m.name: m.config.spec.name for m in members}
        jsonl.thresholds = {m.name: m.config.min_confidence for m in members}
    added = {src.name for src, _ in plan.added}
    if plan.mqtt:
        sinks.remove([s for s in sinks.active if isinstance(s, OneCamera) and isinstance(s.sink, MqttSink)
                      and s.camera not in added])
        sinks.add([s for m in members if m.name not in added for s in camera_sinks(out, None, m, True,
                                                                                   recording=False)])
    for sink in sinks.active:
        if isinstance(sink, OneCamera) and isinstance(sink.sink, MqttSink) and sink.camera in plan.thresholds:
            sink.sink.min_confidence = plan.thresholds[sink.camera]


def _retrack(plan: Plan, cameras: Cameras, sinks: Sinks, before: dict[str, SourceConfig]) -> None:
    """Each camera's event rules: a camera added, restarted, or whose rules changed starts anew (its
    events going on end first); one removed ends its events; the others' go on untouched."""
    events, rules = next((s for s in sinks.active if isinstance(s, Events)), None), plan.config.outputs.events
    if events is None and rules is not None:  # the first events of the run: first among the sinks
        events = events_sink(rules, cameras, [], plan.config.outputs)
        sinks.active.insert(0, events)
        sinks.all.insert(0, events)
    if events is None:
        return
    events.rules = rules or events.rules
    names = {m.name for m in cameras.members}
    for camera in [c for c in events.trackers if c not in names]:
        events.set_rules(camera, None)
        del events.trackers[camera]
    for m in cameras.members:
        events.clocks[m.name] = m.clock
        events.live.discard(m.name)
        events.live.update([m.name] if m.config.spec.live else [])
        old = before.get(m.name)
        if old is None or m.name in plan.removed or old.events != m.config.events or m.name not in events.trackers:
            events.set_rules(m.name, m.config.events)
    roots = clip_roots(cameras.members)  # a camera added, or now recording clips, has its clips named
    if isinstance(events.names, ClipNames):
        events.names.roots = roots  # in place: an event going on keeps the clip its start named
    elif roots:
        events.names = ClipNames(roots)


def _rebuild_web(plan: Plan, cameras: Cameras, sinks: Sinks, context: Context) -> None:
    """A changed ``--serve``: the old server closed (in a thread), the new one serving every camera.
    Else the running one's feeds follow the cameras: a new one's tile and status appear, a removed
    one's go, a restarted one's status is read from its new capture."""
    web = next((s for s in sinks.active if isinstance(s, WebView)), None)
    if plan.serve:
        sinks.remove([web] if web else [])
        if (web := web_view(plan.config.outputs, cameras)) is not None:
            web.configuration = context.configuration
            sinks.add([web])
        return
    if web is None:
        return
    out = plan.config.outputs
    web.options = replace(web.options, min_confidence=out.min_confidence, recordings=indexed_directory(out))
    members = {m.name: m for m in cameras.members}
    for feed in list(web.feeds):
        if feed.name not in members:
            web.remove_feed(feed.name)
        else:
            feed.status = members[feed.name].camera.snapshot
    for name, m in members.items():
        if name not in {feed.name for feed in web.feeds}:
            web.add_feed(Feed(name, m.config.spec.name, m.camera.snapshot))


def sinks_of(sinks: Sinks, name: str) -> list[OneCamera]:
    """A camera's own outputs (its recording, its MQTT topics)."""
    return [s for s in sinks.active if isinstance(s, OneCamera) and s.camera == name]
