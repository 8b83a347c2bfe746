"""Every output of a run, built in one place: :func:`outputs`.

The shared ones (collected frames, JSON lines, the window or grid, the web view, systemd's
notifications) see every camera's frames; each camera's own (its recording, its MQTT topics)
see only that camera's (wrapped in :class:`~live_classify.sinks.base.OneCamera` when there are
several). A new output is one new module under ``sinks/`` and one line in :func:`outputs`.
"""
from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from live_classify.app.cameras import Cameras, Member
from live_classify.config import CollectConfig, EventConfig, OutputConfig, RecordConfig, SourceConfig
from live_classify.engine.classifier import Classifier
from live_classify.errors import LiveClassifyError, UsageError
from live_classify.log import info
from live_classify.pipeline.frames import Flow
from live_classify.sinks.base import OneCamera, Sink
from live_classify.sinks.collect import Collecting, Collector, Quota
from live_classify.sinks.display.grid import Grid
from live_classify.sinks.display.window import Window, prepare_snapshot_dir
from live_classify.sinks.display.windows import Windows
from live_classify.sinks.events.index import Index
from live_classify.sinks.events.sink import Events
from live_classify.sinks.events.webhooks import Webhooks
from live_classify.sinks.files import check_writable
from live_classify.sinks.jsonl import JsonLines
from live_classify.sinks.jsonl_file import Rotation
from live_classify.sinks.mqtt import MqttSink
from live_classify.sinks.notify import Notifier
from live_classify.sinks.record import recording as record
from live_classify.sinks.record.clip_names import ClipNames
from live_classify.sinks.record.clips import RING_SLACK_S, ClipPlan
from live_classify.sinks.record.mp4 import EncoderSettings
from live_classify.sinks.record.recording import Recording
from live_classify.sinks.record.segments import SegmentPlan
from live_classify.sinks.web.view import Feed, Options, WebView


def outputs(out: OutputConfig, encoding: EncoderSettings | None, cameras: Cameras, collector: Collector | None,
            quota: Quota | None, window: Window | None, reloadable: bool = False) -> list[Sink]:
    """The run's sinks, in the order they see each frame: the collector first (it saves raw
    frames), then whatever draws the overlay. A new output is one more line here. ``reloadable``:
    cameras may come and go, so each camera's own outputs see only its frames even while alone."""
    jsonl_target = jsonl_wanted(out, window is not None)
    members, several = cameras.members, len(cameras.members) > 1 or reloadable
    live = all(m.camera.flow is Flow.LATEST for m in members)
    events = out.events
    index = _index(out)
    sinks: list[Sink | None] = [
        Collecting(collector, quota, window, info) if collector else None,
        JsonLines(jsonl_target, members[0].config.spec.name, drop=live, min_confidence=out.min_confidence,
                  sources={m.name: m.config.spec.name for m in members},
                  thresholds={m.name: m.config.min_confidence for m in members},
                  rotation=Rotation(out.jsonl_rotate, out.jsonl_keep)) if jsonl_target else None,
        *[sink for m in members for sink in camera_sinks(out, encoding, m, several, mqtt=False, index=index)],
        window,
        web_view(out, cameras),
        Notifier(out.notify, cameras.status) if out.notify else None,
        *[sink for m in members for sink in camera_sinks(out, encoding, m, several, recording=False)],
        Webhooks(events.webhooks, events.webhook_token, media=media_url(out)) if events and events.webhooks else None,
        index,
    ]
    built = [sink for sink in sinks if sink is not None]
    return [events_sink(events, cameras, built, out), *built] if events else built


def web_view(out: OutputConfig, cameras: Cameras) -> WebView | None:
    """``--serve``: every camera's feed, served on the socket bound already."""
    serve, members = out.serve, cameras.members
    if serve is None:
        return None
    return WebView(serve.sock, [Feed(m.name, m.config.spec.name, m.camera.snapshot) for m in members],
                   Options(members[0].config.spec.name, cameras.provider, serve.token, serve.fps, out.min_confidence,
                           serve.clients, serve.password, indexed_directory(out), serve.hosts))


def camera_sinks(out: OutputConfig, encoding: EncoderSettings | None, m: Member, several: bool, *,
                 recording: bool = True, mqtt: bool = True, index: Index | None = None) -> list[Sink]:
    """A camera's own outputs: its recording, its MQTT topics (wrapped to see only its frames)."""
    own = (lambda sink: OneCamera(m.name, sink)) if several else (lambda sink: sink)
    hold_s = m.config.events.hold_s if m.config.events else 0.0  # its own rules' (the pre-roll ring's length)
    sinks: list[Sink] = [own(_recording(encoding, m, index, hold_s))] if recording and m.config.record else []
    if mqtt and out.mqtt:
        labels = m.config.events.labels if m.config.events else ()
        sinks.append(own(MqttSink(out.mqtt, m.name, m.config.spec.name, m.camera.snapshot, m.config.min_confidence,
                                  events=labels)))
    return sinks


def events_sink(events: EventConfig, cameras: Cameras, listeners: list[Sink], out: OutputConfig) -> Events:
    """``--event``: each camera's trackers, on its source's clock; first among the sinks, so that
    at the end it ends the events going on while the outputs that tell of them are open (and
    each camera that records clips names them first)."""
    check_events(events, cameras.classifier)
    members = cameras.members
    live = [m.name for m in members if m.config.spec.live]
    roots = clip_roots(members)
    own = {m.name: m.config.events for m in members}
    return Events(events, {m.name: m.clock for m in members}, listeners, live, ClipNames(roots) if roots else None,
                  own)


def clip_roots(members: list[Member]) -> dict[str, Path]:
    """Each camera that records a clip per event, and its ``--record DIR/``."""
    return {m.name: m.config.record.path for m in members if m.config.record and m.config.record.clips}


def check_events(events: EventConfig | None, classifier: Classifier) -> None:
    """Every event label is a class of the model."""
    labels = classifier.spec.labels
    for label in events.labels if events else ():
        if labels is not None and label not in labels:
            raise UsageError(f"--event {label}: the model has no class of that name (see --model, --labels)")


def indexed_directory(out: OutputConfig) -> Path | None:
    """``DIR`` of ``--record DIR/`` when it has something for ``DIR/index.db`` (and /history): segments,
    or events (a recording of one file per camera, with no events, stays as it was: those files alone)."""
    rec = out.record
    if rec is None or not record.is_directory(rec.path) or (rec.segment_s is None and out.events is None):
        return None
    return rec.path


def media_url(out: OutputConfig) -> str | None:
    """Where the receivers of webhooks find the clips (``/media/`` under it): ``--public-url``, else
    the web view's own address when it serves the clips (a wildcard address: this machine's name)."""
    if out.events and out.events.public_url:
        return out.events.public_url
    if out.serve is None or indexed_directory(out) is None:
        return None
    host, port = out.serve.sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = socket.getfqdn()
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _index(out: OutputConfig) -> Index | None:
    """The index of ``indexed_directory``, if there is one."""
    root = indexed_directory(out)
    return Index(root) if root else None


def _recording(encoding: EncoderSettings | None, member: Member, index: Index | None, hold_s: float) -> Recording:
    """A camera's recording: a file's rate is in its header; a live source's is measured (streams
    claim what they like), and it counts the frames it never got."""
    rec, camera = member.config.record, member.camera
    assert rec is not None
    live = camera.flow is Flow.LATEST
    segments = SegmentPlan.of(rec.segment_s, list(rec.retain), member.name)
    fps = None if live else camera.source.claimed_fps
    return Recording(recording_path(rec.path, member.name, segments is not None), fps, drop=live,
                     settings=encoding or rec.encoding, segments=segments,
                     captured=captured_of(member), index=index, clips=clip_plan(rec, member.name, hold_s),
                     continuous=rec.continuous)


def clip_plan(rec: RecordConfig, camera: str, hold_s: float) -> ClipPlan | None:
    """``--record-mode events|both``: the camera's clips; its ring spans the pre-roll and the
    hold (a start is known that late), and a keyframe's interval."""
    if not rec.clips:
        return None
    limits = dict(rec.retain_events)
    size = limits.get("size")
    return ClipPlan(rec.path, camera, rec.pre_roll_s, rec.post_roll_s, rec.pre_roll_s + hold_s + RING_SLACK_S,
                    retain_bytes=None if size is None else int(size), retain_age_s=limits.get("age"),
                    max_s=rec.event_max_s)


def captured_of(member: Member) -> Callable[[], int] | None:
    """A live source's count of captured frames, for its recording to count those it never got."""
    camera = member.camera
    return (lambda: camera.stats.captured) if camera.flow is Flow.LATEST else None


def recording_path(path: Path, name: str, segmented: bool) -> Path:
    """``--record FILE`` as it is; ``--record DIR/``: ``DIR/<name>.mp4``, or, with segments, DIR
    itself (the camera's folder goes under it)."""
    return path / f"{name}.mp4" if record.is_directory(path) and not segmented else path


def check_outputs(out: OutputConfig, sources: Sequence[SourceConfig]) -> EncoderSettings | None:
    """Paths that cannot be written fail now, not after the first minute of video; the MP4
    encoder is chosen here, once per recording target (one line says which)."""
    if out.jsonl and out.jsonl != "-":
        check_writable(Path(out.jsonl), "JSON lines file")
    checked: dict[Path, EncoderSettings] = {}
    files: dict[Path, str] = {}
    for src in sources:
        rec = src.record
        if rec is None:
            continue
        if rec.path not in checked:
            checked[rec.path] = record.check(rec.path, rec.overwrite, rec.encoding, clips_only=not rec.continuous)
        path = recording_path(rec.path, src.name, rec.segment_s is not None)
        if path in files and not record.is_directory(path):
            raise LiveClassifyError(f"--record {rec.path}: cameras {files[path]} and {src.name} would write one file")
        files[path] = src.name
        if record.is_directory(rec.path) and rec.segment_s is None and rec.continuous and path.exists() \
                and not rec.overwrite:
            raise LiveClassifyError(f"--record {rec.path}/: {path.name} exists (pass --overwrite to replace it)")
    mp4 = [settings for path, settings in checked.items() if path.suffix.lower() != ".avi"]
    return next(iter(mp4 or checked.values()), None)


def jsonl_wanted(out: OutputConfig, window: bool) -> str | None:
    """Where the JSON lines go: ``--jsonl``, or stdout when nothing else would show a result (a
    window, a recording, the web view of ``--serve``, a collection)."""
    shown = window or out.record or out.serve or (out.collect and out.collect.label)
    if not shown and not out.jsonl:
        info("headless with no --record or --jsonl: writing JSON lines to stdout")
        return "-"
    return out.jsonl


def window_wanted(out: OutputConfig) -> bool:
    """A window unless headless (asked, or no display: the command line decided that); the
    snapshot folder only a window uses is checked now."""
    if not out.headless:
        prepare_snapshot_dir(out.snapshot_dir)
    return not out.headless


def window_for(out: OutputConfig, cameras: Cameras) -> Window:
    """One camera's window; several cameras' grid of tiles, or one window each with ``--windows``."""
    names = [m.name for m in cameras.members]
    if len(names) == 1:
        return Window(out.snapshot_dir)
    kind = Windows if out.windows else Grid
    return kind(names, out.snapshot_dir, why_waiting=cameras.why_waiting)


def collector_for(collect: CollectConfig | None) -> tuple[Collector | None, Quota | None]:
    """Frames for your own classes: bound to keys 1-9 (--classes), or one label headless (--collect)."""
    if collect is None:
        return None, None
    if collect.label:
        collector = Collector(collect.folder, [collect.label])
        return collector, Quota(collector, collect.label, collect.count, collect.interval_s)
    return Collector(collect.folder, list(collect.classes)), None
