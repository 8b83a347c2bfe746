"""The main loop for cameras, streams and video files: pipeline in, window/recording/JSON out.

Every way out — q/Esc, the window closed, end of stream, Ctrl+C, SIGTERM, SIGHUP, a failed
thread — goes through the same ``finally``: the recording is closed (and was playable all along),
the JSON lines are flushed, and a summary is printed.
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np

from live_classify.config import CollectConfig, OutputConfig, RunConfig, SourceConfig
from live_classify.engine.classifier import Classifier
from live_classify.engine.providers import CPU
from live_classify.log import error, info as log, warning
from live_classify.cli.modes import headless_problems
from live_classify.stream.frames import Flow, Frame, Shown
from live_classify.stream.pipeline import Pipeline
from live_classify.sinks.display import overlay
from live_classify.sinks.record import recording as record
from live_classify.sinks.base import Sink, Sinks, Update
from live_classify.sinks.collect import Collecting, Collector, Quota
from live_classify.sinks.files import check_writable
from live_classify.sinks.jsonl import JsonLines
from live_classify.sinks.notify import Notifier
from live_classify.sinks.record.mp4 import EncoderSettings
from live_classify.sinks.mqtt import MqttSink
from live_classify.sinks.record.recording import Recording
from live_classify.sinks.record.segments import SegmentPlan
from live_classify.sinks.web.view import WebView
from live_classify.sinks.display.window import Window, display_problem, prepare_snapshot_dir
from live_classify.sources.capture import SourceSpec, VideoSource


STALE_S = 1.0  # no new frame for this long: the window says so instead of showing the last rates


def run_video(config: RunConfig, open_classifier: Callable[..., Classifier]) -> int:
    """Classify a camera, stream or video file until it ends or the user stops; returns the exit code."""
    src, out = config.source, config.outputs
    encoding = check_outputs(out)  # before anything is opened or written
    collector, quota = collector_for(out.collect)
    show_window = window_wanted(out)
    source = VideoSource(src.spec, src.camera, src.open_timeout, src.read_timeout, src.rtsp_transport)
    log(f"opened {source.describe()}")
    try:
        classifier, pipeline = _start(src, source, open_classifier)
    except BaseException:
        source.release()
        raise
    window = Window(out.snapshot_dir) if show_window else None
    sinks = Sinks(_outputs(out, encoding, src, source, pipeline, collector, quota, window), warning)
    annotator = Annotator(pipeline, classifier.backend.short_name, out.min_confidence, window, collector)
    clock = source_clock(src.spec, source.claimed_fps)
    with stop_on_signals(pipeline) as signals:  # a signal while finishing up must not cut the finishing short
        try:
            pipeline.start()
            _main_loop(pipeline, sinks, annotator, clock)
        finally:
            pipeline.join(timeout=src.read_timeout + 2)
            sinks.write_late(pipeline.leftover_predictions())
            sinks.close()
            _summary(pipeline, classifier, sinks, window)
    failure = pipeline.error or sinks.failure
    if quota and not (quota.done or failure or signals or (window and window.quit)):  # the source ended first
        failure = quota.shortfall(src.spec.name)
    if failure:
        error(failure)
        return 1
    return 0


def check_outputs(out: OutputConfig) -> EncoderSettings | None:
    """Paths that cannot be written fail now, not after the first minute of video; the MP4 encoder
    is chosen here, once (one line says which)."""
    if out.jsonl and out.jsonl != "-":
        check_writable(Path(out.jsonl), "JSON lines file")
    if out.record is None:
        return None
    return record.check(out.record.path, out.record.overwrite, out.record.encoding)


def _start(src: SourceConfig, source: VideoSource,
           open_classifier: Callable[..., Classifier]) -> tuple[Classifier, Pipeline]:
    """The engine and the pipeline for this source: every frame of a file, the newest of a live one."""
    flow = Flow.of(src.spec.live, src.realtime)
    cores = os.cpu_count() or 1
    # Every frame of a file: throughput counts, so one single-threaded engine per core, sharing
    # the session, beats one engine whose threads meet at a barrier after every layer while
    # decoding and drawing take turns on the same cores. Live: one engine on all cores, for the
    # shortest latency. onnxruntime's spin-waiting only steals those cores from capture.
    parallel = flow is Flow.EVERY and not src.threads and cores > 1
    classifier = open_classifier(threads=1 if parallel else None, spin=False)
    workers = cores if parallel and classifier.backend.provider == CPU else 1
    pace = None if src.spec.live or not src.realtime else source.claimed_fps or 30.0
    pipeline = Pipeline(source, classifier, flow=flow, workers=workers, smoothing=src.smooth,
                        pace_fps=pace, max_reconnects=src.reconnect, log=log, name=src.name)
    return classifier, pipeline


def _outputs(out: OutputConfig, encoding: EncoderSettings | None, src: SourceConfig, source: VideoSource,
             pipeline: Pipeline, collector: Collector | None, quota: Quota | None, window: Window | None) -> list[Sink]:
    """The run's sinks, in the order they see each frame: the collector first (it saves raw frames),
    then whatever draws the overlay. A new output is one more line here."""
    live = pipeline.flow is Flow.LATEST
    jsonl_target = jsonl_wanted(out, window is not None)
    # A file's rate is in its header; a live source's is measured (streams claim what they like).
    fps = None if live else source.claimed_fps
    rec, spec = out.record, src.spec
    sinks: list[Sink | None] = [
        Collecting(collector, quota, window, log) if collector else None,
        JsonLines(jsonl_target, spec.name, drop=live, min_confidence=out.min_confidence) if jsonl_target else None,
        Recording(rec.path, fps, drop=live, settings=encoding or rec.encoding,
                  segments=SegmentPlan.of(rec.segment_s, list(rec.retain), src.name),
                  captured=captured_of(pipeline)) if rec else None,
        window,
        WebView.of(out.serve, spec.name, pipeline, out.min_confidence) if out.serve else None,
        Notifier(out.notify, pipeline) if out.notify else None,
        MqttSink(out.mqtt, src.name, spec.name, pipeline, out.min_confidence) if out.mqtt else None,
    ]
    return [sink for sink in sinks if sink is not None]


def captured_of(pipeline: Pipeline) -> Callable[[], int] | None:
    """A live source's count of captured frames, for its recording to count those it never got."""
    return (lambda: pipeline.stats.captured) if pipeline.flow is Flow.LATEST else None


def jsonl_wanted(out: OutputConfig, window: bool) -> str | None:
    """Where the JSON lines go: ``--jsonl``, or stdout when nothing else would show a result (a
    window, a recording, the web view of ``--serve``, a collection)."""
    shown = window or out.record or out.serve or (out.collect and out.collect.label)
    if not shown and not out.jsonl:
        log("headless with no --record or --jsonl: writing JSON lines to stdout")
        return "-"
    return out.jsonl


def window_wanted(out: OutputConfig) -> bool:
    """A window unless --headless or there is no display; what only a window uses is checked now."""
    show = not out.headless
    if show and (problem := display_problem()):
        log(f"{problem}: running headless")
        show = False
    if show:
        prepare_snapshot_dir(out.snapshot_dir)
    else:
        for unused in headless_problems(out.given):
            warning(unused)
    return show


def collector_for(collect: CollectConfig | None) -> tuple[Collector | None, Quota | None]:
    """Frames for your own classes: bound to keys 1-9 (--classes), or one label headless (--collect)."""
    if collect is None:
        return None, None
    if collect.label:
        collector = Collector(collect.folder, [collect.label])
        return collector, Quota(collector, collect.label, collect.count, collect.interval_s)
    return Collector(collect.folder, list(collect.classes)), None


def _main_loop(pipeline: Pipeline, sinks: Sinks, annotator: Annotator, clock: Callable[[Frame], float]) -> None:
    """Each shown frame to every sink, until the source ends, a sink asks to stop, or one fails."""
    last: Shown | None = None

    def idle() -> None:
        """No frame is coming (a stall, a reconnect): the sinks stay alive; the window says why it is frozen."""
        sinks.idle(lambda: annotator.stale(last) if last is not None else None)
        if sinks.stop_requested:
            pipeline.stop()

    for shown in pipeline.frames(idle):
        sinks.write(Update(shown, clock(shown.frame), partial(annotator.draw, shown)))
        if sinks.stop_requested:
            return
        last = shown


def source_clock(spec: SourceSpec, claimed_fps: float | None) -> Callable[[Frame], float]:
    """Seconds on the source's own clock: a file's time from its frame rate, else the capture time."""
    if spec.live:
        return lambda frame: frame.t_capture
    fps = claimed_fps or 25.0
    if not claimed_fps:
        log(f"{spec.name} does not say its frame rate: its time is counted at {fps:g} fps")
    return lambda frame: frame.index / fps


class Annotator:
    """Draws the overlay on a shown frame: the prediction, the rates, and the state of the run."""

    def __init__(self, pipeline: Pipeline, provider: str, min_confidence: float | None,
                 window: Window | None, collector: Collector | None) -> None:
        self.pipeline = pipeline
        self.provider = provider
        self.min_confidence = min_confidence
        self.window = window
        self.collector = collector

    def draw(self, shown: Shown, quiet_s: float | None = None) -> np.ndarray:
        """The frame with the overlay; ``quiet_s``: no new frame for that long (the rates are not live)."""
        pipeline, stats = self.pipeline, self.pipeline.stats
        reconnecting = quiet_s is not None and pipeline.reconnecting
        age = None
        if shown.prediction is not None:
            age = (shown.frame.t_capture - shown.prediction.frame.t_capture) * 1e3
        status = overlay.Status(
            capture_fps=stats.capture_rate.rate, inference_fps=stats.inference_rate.rate,
            display_fps=stats.display_rate.rate, dropped=stats.dropped, provider=self.provider,
            age_ms=age, paused=bool(self.window and self.window.paused), reconnecting=reconnecting,
            lost_for_s=quiet_s, lost_because=pipeline.lost_because if reconnecting else None,
            collected=self.collector.summary() if self.collector else None, min_confidence=self.min_confidence,
            backend_down=pipeline.backend_down,
        )
        canvas = shown.frame.image if shown.exclusive and quiet_s is None else shown.frame.image.copy()
        return overlay.draw(canvas, shown.prediction, status)

    def stale(self, last: Shown) -> np.ndarray | None:
        """The last frame again, saying why no new one comes (live, after ``STALE_S``); else None."""
        quiet = time.monotonic() - self.pipeline.last_capture
        if self.pipeline.flow is Flow.LATEST and (self.pipeline.reconnecting or quiet > STALE_S):
            return self.draw(last, quiet_s=quiet)
        return None


@contextlib.contextmanager
def stop_on_signals(pipeline: Pipeline) -> Iterator[list[int]]:
    """First Ctrl+C/SIGTERM/SIGHUP: a clean stop. A second one: exit at once — the recording is
    Motion-JPEG, playable as it stands, and every JSON line is already flushed. Yields the list of
    signals received, so the caller can tell a stop the user asked for."""
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    received: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        if len(received) > 1:
            os._exit(128 + signum)
        log(f"{signal.Signals(signum).name}: stopping (again to quit at once)")
        pipeline.stop()

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _summary(pipeline: Pipeline, classifier: Classifier, sinks: Sinks, window: Window | None) -> None:
    """What the run did, on stderr; frames "shown" only where a window showed them."""
    s = pipeline.stats
    elapsed = max(1e-9, time.monotonic() - s.started)
    on_screen = f"{window.frames_shown} shown, " if window else ""
    log(f"{s.captured} frames captured, {s.classified} classified, {s.dropped} dropped, {on_screen}"
        f"{s.reconnects} reconnects in {elapsed:.1f} s")
    log(f"capture {s.captured / elapsed:.1f} fps, inference {s.classified / elapsed:.1f} fps; {s.latency_summary()}; "
        f"{classifier.backend.provider}")
    for line in sinks.summaries():
        log(line)
