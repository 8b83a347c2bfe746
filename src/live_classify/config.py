"""What a video run was asked to do, as frozen values: ``cli.py`` builds them from the flags, and
nothing past the command line reads ``argparse.Namespace``."""
from __future__ import annotations

import argparse
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from live_classify.sinks.record.mp4 import EncoderSettings
from live_classify.sinks.notify import NotifyConfig
from live_classify.sinks.mqtt import BrokerUrl
from live_classify.sources.capture import CameraSettings, SourceSpec


@dataclass(frozen=True)
class SourceConfig:
    """The source and how frames flow from it."""

    spec: SourceSpec
    name: str = "cam0"  # on its frames, JSON lines, recordings and MQTT topics
    camera: CameraSettings = CameraSettings()
    open_timeout: float = 10.0
    read_timeout: float = 5.0
    rtsp_transport: str | None = None
    realtime: bool = False  # a file played at its own rate, newest frame wins
    reconnect: int = 10  # tries before a lost live source is an error
    threads: int = 0  # CPU inference threads asked for (0: the program decides)
    smooth: float = 1.0  # weight of the newest frame's probabilities (1: no smoothing)


@dataclass(frozen=True)
class RecordConfig:
    """``--record`` and what goes with it."""

    path: Path
    overwrite: bool = False
    encoding: EncoderSettings = EncoderSettings()
    segment_s: float | None = None
    retain: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class CollectConfig:
    """Frames for your own classes: keys 1-9 (``classes``) or headless (``label``)."""

    folder: Path
    classes: tuple[str, ...] = ()
    label: str | None = None
    count: int = 20
    interval_s: float = 1.0


@dataclass(frozen=True)
class ServeConfig:
    """``--serve``: the socket already bound (a port in use failed before the camera opened)."""

    sock: socket.socket
    token: str | None = None  # required on every request but /healthz
    fps: float | None = None  # at most this many JPEGs a second (None: every shown frame)
    clients: int | None = None  # streams and event feeds at once (None: web.serve_places decides)


@dataclass(frozen=True)
class MqttConfig:
    """``--mqtt``: the broker, and which classifications are published."""

    broker: BrokerUrl
    qos: int = 1
    every_s: float | None = None  # at most one prediction message per this many seconds
    on_change: bool = False  # only when the top label changes
    required: bool = False  # a broker that cannot be reached at the start fails the run
    ca: Path | None = None  # mqtts://: the CA bundle that verifies the broker (None: the system's CAs)
    discovery: bool = False  # --mqtt-discovery: Home Assistant's discovery configs, retained under homeassistant/


@dataclass(frozen=True)
class EventConfig:
    """``--event``: the labels watched, what makes an event of them, and the webhooks told."""

    labels: tuple[str, ...]
    threshold: float = 0.5
    hold_s: float = 1.0
    gap_s: float = 3.0
    webhooks: tuple[str, ...] = ()
    webhook_token: str | None = None  # sent as Authorization: Bearer, never printed


@dataclass(frozen=True)
class OutputConfig:
    """Where the results go."""

    record: RecordConfig | None = None
    jsonl: str | None = None  # a file, or "-" for stdout
    min_confidence: float | None = None
    headless: bool = False
    snapshot_dir: Path = Path(".")
    windows: bool = False  # several cameras: one window each instead of one grid
    collect: CollectConfig | None = None
    serve: ServeConfig | None = None
    notify: NotifyConfig | None = None  # run by systemd (NOTIFY_SOCKET set)
    mqtt: MqttConfig | None = None
    events: EventConfig | None = None
    given: frozenset[str] = frozenset()  # the flags typed on the command line, for warnings about unused ones


@dataclass(frozen=True)
class BatchConfig:
    """Several cameras: how their frames are batched for the one model."""

    max_batch: int | None = None  # None: as many as there are cameras
    wait_s: float = 0.0  # after the first frame of a batch, wait this long for the other cameras'


@dataclass(frozen=True)
class RunConfig:
    """One video run: one source, or several sharing the model."""

    sources: tuple[SourceConfig, ...]
    outputs: OutputConfig
    batch: BatchConfig = BatchConfig()

    @property
    def source(self) -> SourceConfig:
        """The first (with one source, the) source."""
        return self.sources[0]


def run_config(args: argparse.Namespace, specs: list[SourceSpec], names: list[str],
               serve: ServeConfig | None = None) -> RunConfig:
    """The flags of a camera, stream or video-file run (or several), checked already by the
    parser; ``serve``: the web server's socket, bound already."""
    sources = tuple(SourceConfig(
        spec=spec, name=name, camera=CameraSettings(args.width, args.height, args.fps, args.fourcc),
        open_timeout=args.open_timeout, read_timeout=args.read_timeout, rtsp_transport=args.rtsp_transport,
        realtime=args.realtime, reconnect=args.reconnect, threads=args.threads, smooth=args.smooth,
    ) for spec, name in zip(specs, names))
    record = RecordConfig(
        args.record, args.overwrite, EncoderSettings(encoder=args.encoder, crf=args.crf, bitrate=args.bitrate),
        args.segment, tuple(args.retain or ()),
    ) if args.record else None
    collect = CollectConfig(
        args.collect_dir, tuple(args.classes or ()), args.collect, args.count, args.interval,
    ) if args.collect or args.classes else None
    outputs = OutputConfig(
        record=record, jsonl=args.jsonl, min_confidence=args.min_confidence, headless=args.headless,
        snapshot_dir=args.snapshot_dir, windows=args.windows, collect=collect, given=frozenset(getattr(args, "given", ())),
        serve=serve, notify=NotifyConfig.of(os.environ, args.read_timeout),
        mqtt=MqttConfig(args.mqtt, args.mqtt_qos, args.mqtt_every, args.mqtt_on_change,
                        args.mqtt_required, args.mqtt_ca, args.mqtt_discovery) if args.mqtt else None,
        events=EventConfig(tuple(dict.fromkeys(args.event)), args.event_threshold, args.event_hold, args.event_gap,
                           tuple(args.webhook or ()), args.webhook_token) if args.event else None,
    )
    return RunConfig(sources, outputs, BatchConfig(args.max_batch, args.batch_wait / 1e3))
