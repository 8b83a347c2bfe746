"""The flags of a video run as the frozen values of ``config.py``: the one place that reads
``argparse.Namespace`` for a run."""
from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from live_classify.cli.health_flags import health_config
from live_classify.config import (
    BatchConfig,
    CameraSettings,
    CollectConfig,
    EncoderSettings,
    EventConfig,
    GateConfig,
    MqttConfig,
    NotifyConfig,
    OutputConfig,
    RecordConfig,
    RunConfig,
    ServeConfig,
    SourceConfig,
    SourceSpec,
    WebhookConfig,
)
from live_classify.sinks.web.users import serve_users


def run_config(args: argparse.Namespace, specs: list[SourceSpec], names: list[str],
               serve: ServeConfig | None = None, cameras: Sequence[argparse.Namespace] | None = None) -> RunConfig:
    """The flags of a camera, stream or video-file run (or several), checked already by the
    parser; ``serve``: the web server's socket, bound already; ``cameras``: each camera's own flags
    (a configuration file's ``[[camera]]`` keys over the top level's), else ``args`` for every one."""
    sources = tuple(source_config(own, spec, name)
                    for own, spec, name in zip(cameras or [args] * len(specs), specs, names, strict=True))
    collect = CollectConfig(
        args.collect_dir, tuple(args.classes or ()), args.collect, args.count, args.interval,
    ) if args.collect or args.classes else None
    run_record = record_config(args) or next((src.record for src in sources if src.record), None)
    outputs = OutputConfig(
        record=run_record, jsonl=args.jsonl, jsonl_rotate=args.jsonl_rotate, jsonl_keep=args.jsonl_keep,
        min_confidence=args.min_confidence, headless=args.headless,
        snapshot_dir=args.snapshot_dir, windows=args.windows, collect=collect,
        given=frozenset(getattr(args, "given", ())),
        serve=serve, notify=NotifyConfig.of(os.environ, args.read_timeout),
        mqtt=MqttConfig(args.mqtt, args.mqtt_qos, args.mqtt_every, args.mqtt_on_change,
                        args.mqtt_required, args.mqtt_ca, args.mqtt_discovery,
                        tuple(args.mqtt_device_class or ())) if args.mqtt else None,
        events=_events(args, sources), webhooks=webhooks(args), users=serve_users(args.serve_users) if serve else None,
    )
    return RunConfig(sources, outputs, BatchConfig(args.max_batch, args.batch_wait / 1e3), model_file(args),
                     args.watch_model)


def event_rules(args: argparse.Namespace) -> EventConfig | None:
    """``--event`` and its rules, as a camera's flags (the top level's, or its [[camera]]'s) say."""
    return EventConfig(tuple(dict.fromkeys(args.event)), args.event_threshold, args.event_hold,
                       args.event_gap) if args.event else None


def _events(args: argparse.Namespace, sources: Sequence[SourceConfig]) -> EventConfig | None:
    """The run's events: every label any camera watches (each camera keeps its own rules), and the
    top level's rules for what has no camera of its own."""
    own = [label for src in sources if src.events for label in src.events.labels]
    labels = tuple(dict.fromkeys([*(args.event or ()), *own]))
    return EventConfig(labels, args.event_threshold, args.event_hold, args.event_gap) if labels else None


def webhooks(args: argparse.Namespace) -> WebhookConfig | None:
    """``--webhook``: told of the labels' events and of the cameras' health problems."""
    return WebhookConfig(tuple(args.webhook), args.webhook_token, args.public_url) if args.webhook else None


def model_file(args: argparse.Namespace) -> Path:
    """The model the run loads: ``--model``, else the bundled one."""
    from live_classify.engine.model import default_model_path

    return args.model or default_model_path()


def source_config(args: argparse.Namespace, spec: SourceSpec, name: str) -> SourceConfig:
    """One camera's source, and its own outputs, from its flags."""
    return SourceConfig(
        spec=spec, name=name, camera=CameraSettings(args.width, args.height, args.fps, args.fourcc),
        open_timeout=args.open_timeout, read_timeout=args.read_timeout, rtsp_transport=args.rtsp_transport,
        realtime=args.realtime, reconnect=args.reconnect, threads=args.threads, smooth=args.smooth,
        record=record_config(args), min_confidence=args.min_confidence, events=event_rules(args),
        gate=gate_config(args), health=health_config(args, spec),
    )


def gate_config(args: argparse.Namespace) -> GateConfig | None:
    """``--gate motion`` and its settings, as a camera's flags say; None: every frame classified."""
    return GateConfig(args.gate_refresh, args.gate_threshold, args.gate_area,
                      tuple(args.gate_mask or ())) if args.gate == "motion" else None


def record_config(args: argparse.Namespace) -> RecordConfig | None:
    """``--record`` and what goes with it, if given."""
    return RecordConfig(
        args.record, args.overwrite, EncoderSettings(encoder=args.encoder, crf=args.crf, bitrate=args.bitrate),
        args.segment, tuple(args.retain or ()), args.record_mode, args.pre_roll, args.post_roll,
        tuple(args.retain_events or ()), args.event_max,
    ) if args.record else None
