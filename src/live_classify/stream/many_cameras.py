"""Several cameras in one process: a capture thread each, one batched engine for all, one main loop.

Each camera keeps what a single camera has — its reconnects, its counters, its overlay, its
recording and MQTT topics — and shares the model, the JSON lines, the window and systemd's
watchdog. A camera lost for good ends alone (one line); the run ends when the last one has, or
when the user stops it. Every way out goes through the same ``finally`` as a single camera's run.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from live_classify.sources.absent import check_one_opened, open_or_absent
from live_classify.stream.batching import Batcher
from live_classify.config import OutputConfig, RunConfig, SourceConfig
from live_classify.engine.classifier import Classifier
from live_classify.engine.providers import CPU, CUDA, TENSORRT
from live_classify.errors import LiveClassifyError
from live_classify.stream.run import (
    Annotator, captured_of, check_outputs, collector_for, jsonl_wanted, source_clock, stop_on_signals, window_wanted,
)
from live_classify.log import error, info as log, warning
from live_classify.stream.frames import Flow, Frame, Shown
from live_classify.stream.pipeline import Pipeline, Wake
from live_classify.sinks.base import OneCamera, Sink, Sinks, Update
from live_classify.sinks.collect import Collecting, Collector, Quota
from live_classify.sinks.display.grid import Grid
from live_classify.sinks.display.windows import Windows
from live_classify.sinks.jsonl import JsonLines
from live_classify.sinks.record.mp4 import EncoderSettings
from live_classify.sinks.mqtt import MqttSink
from live_classify.sinks.notify import Notifier
from live_classify.sinks.record.recording import Recording
from live_classify.sinks.record.segments import SegmentPlan
from live_classify.sinks.web.view import Feed, WebView
from live_classify.sources.capture import Source

REDRAW_S = 0.5  # how often a stalled camera's tile is redrawn with its "no frame for N s"


@dataclass
class Camera:
    """One camera of the run and what belongs to it alone."""

    config: SourceConfig
    source: Source  # a VideoSource, or an AbsentSource while it cannot be reached
    pipeline: Pipeline
    clock: Callable[[Frame], float]
    annotator: Annotator | None = None
    last: Shown | None = None
    gone: bool = False  # its frames have ended (the source ended, or was lost for good)
    next_redraw: float = 0.0

    @property
    def name(self) -> str:
        return self.config.name


class Cameras:
    """All the cameras, and the batcher that serves them: stopped together, counted together."""

    def __init__(self, cameras: list[Camera], batcher: Batcher, wake: Wake) -> None:
        self.cameras = cameras
        self.batcher = batcher
        self.wake = wake
        self.classifier = batcher.classifier
        self.stats = Totals([c.pipeline for c in cameras])
        self.stopping = False  # the run is ending: cameras no longer end one by one

    @property
    def running(self) -> list[Camera]:
        return [c for c in self.cameras if not c.gone]

    @property
    def last_capture(self) -> float:
        return max(c.pipeline.last_capture for c in self.cameras)

    @property
    def reconnecting(self) -> bool:
        return all(c.pipeline.reconnecting for c in self.running) and bool(self.running)

    @property
    def failures(self) -> list[str]:
        return [c.pipeline.error for c in self.cameras if c.pipeline.error]

    def start(self) -> None:
        for camera in self.cameras:
            camera.pipeline.start()
        self.batcher.start()

    def stop(self) -> None:
        """Every camera and the batcher; safe from a signal handler."""
        self.stopping = True
        for camera in self.cameras:
            camera.pipeline.stop()
        self.batcher.stop()
        self.wake.set()

    def join(self, timeout: float) -> None:
        self.stop()
        deadline = time.monotonic() + timeout
        self.batcher.join(timeout)
        for camera in self.cameras:
            camera.pipeline.join(max(0.0, deadline - time.monotonic()))


class Totals:
    """The counters of all cameras added up, read the way one pipeline's are (systemd's status)."""

    def __init__(self, pipelines: list[Pipeline]) -> None:
        self._pipelines = pipelines

    def __getattr__(self, counter: str) -> int:
        if counter not in ("captured", "classified", "dropped", "reconnects"):
            raise AttributeError(counter)
        return sum(getattr(p.stats, counter) for p in self._pipelines)

    @property
    def capture_rate(self) -> _Rate:
        return _Rate(sum(p.stats.capture_rate.rate for p in self._pipelines))

    @property
    def inference_rate(self) -> _Rate:
        return _Rate(sum(p.stats.inference_rate.rate for p in self._pipelines))


@dataclass(frozen=True)
class _Rate:
    rate: float


def run_cameras(config: RunConfig, open_classifier: Callable[..., Classifier]) -> int:
    """Classify several cameras, streams or files with one model until all end or the user stops."""
    out = config.outputs
    encoding = check_outputs(out)  # before anything is opened or written
    collector, quota = collector_for(out.collect)
    show_window = window_wanted(out)
    classifier = open_classifier(threads=None, spin=False)
    cameras = _open(config, classifier, encoding)
    window = _window(out, [c.name for c in cameras.cameras]) if show_window else None
    for camera in cameras.cameras:
        camera.annotator = Annotator(camera.pipeline, classifier.backend.short_name, out.min_confidence, window,
                                     collector)
    sinks = Sinks(_outputs(out, encoding, cameras, collector, quota, window), warning)
    with stop_on_signals(cameras) as signals:  # a signal while finishing up must not cut the finishing short
        try:
            cameras.start()
            _main_loop(cameras, sinks, window)
        finally:
            cameras.join(timeout=max(c.config.read_timeout for c in cameras.cameras) + 2)
            for camera in cameras.cameras:
                sinks.write_late(camera.pipeline.leftover_predictions())
            sinks.close()
            _summary(cameras, sinks, window)
    failure = cameras.batcher.error or sinks.failure or "; ".join(cameras.failures) or None
    if quota and not (quota.done or failure or signals or (window and window.quit)):
        failure = quota.shortfall("the cameras")
    if failure:
        error(failure)
        return 1
    return 0


def _open(config: RunConfig, classifier: Classifier, encoding: EncoderSettings | None) -> Cameras:
    """Each source opened (one that cannot be is an error: the command line named it), and one
    batcher for them all: fixed-size batches on a GPU, where each new size costs a new plan."""
    wake = Wake()
    cameras: list[Camera] = []
    try:
        for src in config.sources:
            source = open_or_absent(src)
            pace = None if src.spec.live or not src.realtime else source.claimed_fps or 30.0
            pipeline = Pipeline(source, classifier, flow=Flow.of(src.spec.live, src.realtime), smoothing=src.smooth,
                                pace_fps=pace, max_reconnects=src.reconnect, log=log, name=src.name, wake=wake)
            cameras.append(Camera(src, source, pipeline, source_clock(src.spec, source.claimed_fps)))
        _check_recordings(config.outputs, cameras)
        check_one_opened([c.source for c in cameras])
    except BaseException:
        for camera in cameras:
            camera.source.release()
        raise
    on_cpu = classifier.backend.provider == CPU
    max_batch = config.batch.max_batch or (1 if on_cpu else len(cameras))
    batcher = Batcher(classifier, [c.pipeline for c in cameras], wake, max_batch=max_batch,
                      wait_s=config.batch.wait_s, pad=classifier.backend.provider in (CUDA, TENSORRT), log=log)
    why = " (on the CPU a bigger batch costs more per frame; --max-batch to change)" if on_cpu and max_batch == 1 else ""
    log(f"{len(cameras)} cameras, one model: batches of up to {max_batch}{why}"
        + (f", waiting up to {config.batch.wait_s * 1e3:g} ms for the others" if config.batch.wait_s else ""))
    return Cameras(cameras, batcher, wake)


def _recording_path(root: Path, camera: Camera, segmented: bool) -> Path:
    """``--record DIR/``: ``DIR/<name>.mp4``, or, with segments, DIR itself (the camera's folder goes under it)."""
    return root if segmented else root / f"{camera.name}.mp4"


def _check_recordings(out: OutputConfig, cameras: list[Camera]) -> None:
    """One recording per camera under ``--record DIR/``: one already there is not replaced unasked."""
    rec = out.record
    if rec is None or rec.segment_s is not None:
        return
    for camera in cameras:
        path = _recording_path(rec.path, camera, False)
        if path.exists() and not rec.overwrite:
            raise LiveClassifyError(f"--record {rec.path}/: {path.name} exists (pass --overwrite to replace it)")


def _window(out: OutputConfig, names: list[str]) -> Grid:
    """The window for several cameras: a grid of tiles, or one window each with ``--windows``."""
    return Windows(names, out.snapshot_dir) if out.windows else Grid(names, out.snapshot_dir)


def _outputs(out: OutputConfig, encoding: EncoderSettings | None, cameras: Cameras, collector: Collector | None,
             quota: Quota | None, window: Grid | None) -> list[Sink]:
    """The shared outputs (collector, JSON lines, window, web view, systemd), then each camera's own."""
    jsonl_target = jsonl_wanted(out, window is not None)
    every = [c for c in cameras.cameras if c.pipeline.flow is Flow.EVERY]
    first = cameras.cameras[0]
    sinks: list[Sink | None] = [
        Collecting(collector, quota, window, log) if collector else None,
        JsonLines(jsonl_target, first.config.spec.name, drop=not every, min_confidence=out.min_confidence,
                  sources={c.name: c.config.spec.name for c in cameras.cameras}) if jsonl_target else None,
        window,
        WebView.several(out.serve, [Feed(c.name, c.config.spec.name, c.pipeline, partial(_stale, c))
                                    for c in cameras.cameras], out.min_confidence) if out.serve else None,
        Notifier(out.notify, cameras) if out.notify else None,  # type: ignore[arg-type]  # counts like one pipeline
    ]
    for camera in cameras.cameras:
        sinks += [OneCamera(camera.name, sink) for sink in _camera_outputs(out, encoding, camera)]
    return [sink for sink in sinks if sink is not None]


def _stale(camera: Camera) -> np.ndarray | None:
    """The camera's last frame saying why no new one comes (a stall, a reconnect), or None while frames flow."""
    return camera.annotator.stale(camera.last) if camera.annotator and camera.last else None


def _camera_outputs(out: OutputConfig, encoding: EncoderSettings | None, camera: Camera) -> list[Sink]:
    """A camera's own outputs: its recording, its MQTT topics."""
    sinks: list[Sink] = []
    live = camera.pipeline.flow is Flow.LATEST
    if rec := out.record:
        segments = SegmentPlan.of(rec.segment_s, list(rec.retain), camera.name)
        fps = None if live else camera.source.claimed_fps
        sinks.append(Recording(_recording_path(rec.path, camera, segments is not None), fps, drop=live,
                               settings=encoding or rec.encoding, segments=segments,
                               captured=captured_of(camera.pipeline)))
    if out.mqtt:
        sinks.append(MqttSink(out.mqtt, camera.name, camera.config.spec.name, camera.pipeline, out.min_confidence))
    return sinks


def _main_loop(cameras: Cameras, sinks: Sinks, window: Grid | None) -> None:
    """Each camera's shown frames to the sinks, in turn, until every camera has ended, a sink
    asks to stop, or one fails."""
    while cameras.running:
        cameras.wake.display.clear()  # before looking: a frame that comes after the look sets it again
        shown_any = False
        for camera in cameras.running:
            shown = camera.pipeline.poll(0)
            if shown is not None:
                shown_any = True
                assert camera.annotator is not None
                sinks.write(Update(shown, camera.clock(shown.frame), partial(camera.annotator.draw, shown)))
                camera.last = shown
            elif camera.pipeline.ended:
                _gone(camera, cameras)
                if window is not None:
                    window.end(camera.name)  # its last tile stays, greyed
        if sinks.stop_requested:
            cameras.stop()
            return
        if not shown_any and not cameras.wake.display.wait(0.1):
            sinks.idle(lambda: None)
        _redraw_stalled(cameras, window)


def _gone(camera: Camera, cameras: Cameras) -> None:
    """A camera's frames have ended: said in one line; the others go on."""
    camera.gone = True
    go_on = "; the others go on" if cameras.running else ""
    if camera.pipeline.error:
        error(f"{camera.pipeline.error}{go_on}")
    elif not (cameras.stopping or cameras.batcher.error):
        log(f"{camera.name}: ended{go_on}")


def _redraw_stalled(cameras: Cameras, window: Grid | None) -> None:
    """A stalled or reconnecting camera's tile says so, twice a second (one never reached yet too)."""
    if window is None:
        return
    now = time.monotonic()
    for camera in cameras.running:
        if now < camera.next_redraw or camera.annotator is None:
            continue
        camera.next_redraw = now + REDRAW_S
        if camera.last is None:  # no frame yet: the tile says why
            window.waiting(camera.name, _not_yet(camera.pipeline))
        elif (canvas := camera.annotator.stale(camera.last)) is not None:
            window.tile(camera.name, canvas)


def _not_yet(pipeline: Pipeline) -> str | None:
    """Why a camera has sent no frame yet, for its tile: it cannot be reached (and is retried)."""
    return f"reconnecting: {pipeline.lost_because}" if pipeline.reconnecting else None


def _summary(cameras: Cameras, sinks: Sinks, window: Grid | None) -> None:
    """Each camera's counts, then the totals, on stderr."""
    elapsed = max(1e-9, time.monotonic() - min(c.pipeline.stats.started for c in cameras.cameras))
    for camera in cameras.cameras:
        s = camera.pipeline.stats
        log(f"{camera.name}: {s.captured} captured, {s.classified} classified ({s.classified / elapsed:.1f} fps), "
            f"{s.dropped} dropped, {s.reconnects} reconnects; {s.latency_summary()}")
    t, batcher = cameras.stats, cameras.batcher
    on_screen = f"{window.frames_shown} shown, " if window is not None else ""
    log(f"all {len(cameras.cameras)} cameras: {t.captured} captured, {t.classified} classified, {t.dropped} dropped, "
        f"{on_screen}{t.reconnects} reconnects in {elapsed:.1f} s; {batcher.batches} inference runs, "
        f"{batcher.mean_batch:.1f} frames each on average; {cameras.classifier.backend.provider}")
    for line in sinks.summaries():
        log(line)
