"""A configuration as the run's components: :func:`specs` maps a :class:`RunConfig` to one frozen
spec per component, keyed ``("camera", "door")``, ``("record", "door")``, ``("mqtt", "door")``,
``("jsonl",)``, ``("web",)``, ``("events",)``, ``("index",)``, ``("teach",)``, ``("notify",)``, ``("webhooks",)``,
``("watch-model",)``...

The run is built from these (``components.py``) and a reload is their difference (``reconcile.py``):
an equal spec leaves its component alone, so each spec holds exactly what its component is made
of, no more (an untouched camera's recording must not be closed because another camera came).
The dict's order is the order in which the outputs see each frame.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, replace
from pathlib import Path

from live_classify.config import (
    EventConfig,
    GateConfig,
    HealthConfig,
    MqttConfig,
    NotifyConfig,
    OutputConfig,
    RecordConfig,
    RunConfig,
    ServeConfig,
    SourceConfig,
    WebUser,
)
from live_classify.sinks.jsonl_file import Rotation
from live_classify.sinks.record.target import is_directory

Key = tuple[str, ...]


@dataclass(frozen=True)
class CameraSpec:
    """A camera's capture, and what it draws with (its threshold): a ``live`` field changes in place."""

    source: SourceConfig  # without its outputs' keys (record, events): those are other components'
    live: tuple[tuple[str, object], ...] = ()  # (field, value) of SourceConfig changed without a restart
    every_picture: bool = True  # a window or a recording shows every frame (decoded as captured); in place too

    # The keys a running camera takes up between two frames, without a restart: each is named
    # here and applied in ``CameraPart.reconfigure`` (``Cameras.retune``).
    LIVE = ("min_confidence", "gate", "health")

    @classmethod
    def of(cls, src: SourceConfig, every_picture: bool = True) -> CameraSpec:
        kept = {name: None for name in cls.LIVE}
        return cls(replace(src, record=None, events=None, **kept),  # type: ignore[arg-type]
                   tuple((name, getattr(src, name)) for name in cls.LIVE), every_picture)

    def same_capture(self, other: CameraSpec) -> bool:
        """Whether ``other`` differs only in its live fields (no restart needed)."""
        return self.source == other.source

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def min_confidence(self) -> float | None:
        return dict(self.live).get("min_confidence")  # type: ignore[return-value]

    @property
    def gate(self) -> GateConfig | None:
        return dict(self.live).get("gate")  # type: ignore[return-value]

    @property
    def health(self) -> HealthConfig | None:
        return dict(self.live).get("health")  # type: ignore[return-value]


@dataclass(frozen=True)
class RecordSpec:
    """A camera's recording; ``indexed``: the index its segments and clips go to."""

    camera: str
    record: RecordConfig
    hold_s: float  # its event hold (the clips' pre-roll ring spans it); 0 without clips
    indexed: Path | None


@dataclass(frozen=True)
class JsonlSpec:
    """The JSON lines: where, and each camera's source and threshold."""

    target: str
    drop: bool  # every camera live: a slow reader loses lines rather than slowing the run
    first_source: str  # the source named on a frame of no camera
    sources: tuple[tuple[str, str], ...]  # camera: its source's name
    thresholds: tuple[tuple[str, float | None], ...]  # camera: its min-confidence
    min_confidence: float | None
    rotation: Rotation  # --jsonl-rotate, --jsonl-keep


@dataclass(frozen=True)
class MqttSpec:
    """A camera's MQTT topics: its predictions, status, event states and discovery."""

    mqtt: MqttConfig
    camera: str
    source_name: str
    min_confidence: float | None
    labels: tuple[str, ...]  # its event labels (their states; with discovery, their configs)
    problems: tuple[str, ...] = ()  # its health problems watched (likewise)


@dataclass(frozen=True)
class WebSpec:
    """``--serve``: the server (its socket, token, rate, places) and what it shows."""

    serve: ServeConfig
    feeds: tuple[tuple[str, str], ...]  # camera: its source's name
    min_confidence: float | None
    recordings: Path | None  # what /history serves
    users: tuple[WebUser, ...] | None = None  # --serve-users: who logs in (a reload changes them in place)


@dataclass(frozen=True)
class EventsSpec:
    """``--event``: the run's rules and each camera's own, and the cameras whose clips are named (with
    no ``--event``, ``rules`` None: the events of the cameras' health checks only)."""

    rules: EventConfig | None
    own: tuple[tuple[str, EventConfig | None], ...]  # camera: its rules (None: no events of it)
    live: tuple[str, ...]  # cameras on the wall clock: their events end on time with no frame
    roots: tuple[tuple[str, Path], ...]  # camera: its --record DIR/, where it records clips


@dataclass(frozen=True)
class IndexSpec:
    root: Path


@dataclass(frozen=True)
class TeachSpec:
    """Classes taught from moments of the recordings, kept in ``DIR/classes``, used by every camera."""

    root: Path
    model: Path | None  # the model file that computes their features (None: the bundled one)


@dataclass(frozen=True)
class NotifySpec:
    notify: NotifyConfig


@dataclass(frozen=True)
class WebhooksSpec:
    urls: tuple[str, ...]
    token: str | None
    media: str | None  # where receivers find the clips (``media_url``)


@dataclass(frozen=True)
class WatchSpec:
    """``--watch-model``: the model file, watched for a new one."""

    model: Path


@dataclass(frozen=True)
class WindowSpec:
    """The window or grid (made once, at the start) and the cameras it shows."""

    cameras: tuple[str, ...]


@dataclass(frozen=True)
class CollectSpec:
    """Frames collected for your own classes (made once, at the start)."""


Spec = (CameraSpec | RecordSpec | JsonlSpec | MqttSpec | WebSpec | EventsSpec | IndexSpec | NotifySpec
        | WebhooksSpec | WatchSpec | WindowSpec | CollectSpec | TeachSpec)


def specs(config: RunConfig, window: bool) -> dict[Key, Spec]:
    """Every component ``config`` asks for, in the order the outputs see a frame (the cameras
    first: they feed them). ``window``: the run shows one (the JSON lines then need not go to stdout)."""
    out, sources = config.outputs, config.sources
    found: dict[Key, Spec] = {("camera", src.name): CameraSpec.of(src, window or bool(src.record) or bool(out.collect))
                              for src in sources}
    if out.events or any(src.health for src in sources):
        found[("events",)] = events_spec(out.events, sources)
    if out.collect:
        found[("collect",)] = CollectSpec()
    if (target := jsonl_target(out, window)) is not None:
        found[("jsonl",)] = JsonlSpec(target, all(src.spec.live or src.realtime for src in sources),
                                      sources[0].spec.name, tuple((s.name, s.spec.name) for s in sources),
                                      tuple((s.name, s.min_confidence) for s in sources), out.min_confidence,
                                      Rotation(out.jsonl_rotate, out.jsonl_keep))
    indexed = indexed_directory(out)
    for src in sources:
        if src.record:  # what does not change its files does not change its spec (one file: events on)
            hold = src.events.hold_s if src.events and src.record.clips else 0.0
            told = indexed if src.record.segment_s is not None or src.record.clips else None
            found[("record", src.name)] = RecordSpec(src.name, src.record, hold, told)
    if window:
        found[("window",)] = WindowSpec(tuple(src.name for src in sources))
    if out.serve:
        found[("web",)] = WebSpec(out.serve, tuple((s.name, s.spec.name) for s in sources), out.min_confidence,
                                  indexed, out.users)
    if out.notify:
        found[("notify",)] = NotifySpec(out.notify)
    for src in sources if out.mqtt else ():
        labels = src.events.labels if src.events else ()
        assert out.mqtt is not None
        found[("mqtt", src.name)] = MqttSpec(out.mqtt, src.name, src.spec.name, src.min_confidence, labels,
                                             src.health.checks if src.health else ())
    if out.webhooks and ("events",) in found:  # class events, or the cameras' health problems
        found[("webhooks",)] = WebhooksSpec(out.webhooks.urls, out.webhooks.token, media_url(out))
    if indexed:
        found[("index",)] = IndexSpec(indexed)
        found[("teach",)] = TeachSpec(indexed, config.model)
    if config.watch_model and config.model:
        found[("watch-model",)] = WatchSpec(config.model)
    return found


def events_spec(rules: EventConfig | None, sources: tuple[SourceConfig, ...]) -> EventsSpec:
    """The events' cameras: each one's own rules, its clock, where it records clips."""
    return EventsSpec(rules, tuple((s.name, s.events) for s in sources), tuple(s.name for s in sources if s.spec.live),
                      tuple((s.name, s.record.path) for s in sources if s.record and s.record.clips))


def jsonl_target(out: OutputConfig, window: bool) -> str | None:
    """Where the JSON lines go: ``--jsonl``, or stdout when nothing else would show a result (a
    window, a recording, the web view of ``--serve``, a collection)."""
    shown = window or out.record or out.serve or (out.collect and out.collect.label)
    return "-" if not shown and not out.jsonl else out.jsonl


def indexed_directory(out: OutputConfig) -> Path | None:
    """``DIR`` of ``--record DIR/`` when it has something for ``DIR/index.db`` (and /history): segments,
    or events (a recording of one file per camera, with no events, stays as it was: those files alone)."""
    rec = out.record
    if rec is None or not is_directory(rec.path) or (rec.segment_s is None and out.events is None):
        return None
    return rec.path


def media_url(out: OutputConfig) -> str | None:
    """Where the receivers of webhooks find the clips (``/media/`` under it): ``--public-url``, else
    the web view's own address when it serves the clips (a wildcard address: this machine's name)."""
    if out.webhooks and out.webhooks.public_url:
        return out.webhooks.public_url
    if out.serve is None or indexed_directory(out) is None:
        return None
    host, port = out.serve.sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = socket.getfqdn()
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"
