"""The threads and queues in-process, with a real source and the real engine slowed down on purpose."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from live_classify.engine.classifier import Classification, Classifier
from live_classify.pipeline import Flow, Pipeline
from live_classify.sources import VideoSource, parse_video_source
from mjpeg_server import MjpegServer, read_time


class Slowed:
    """The real classifier plus a fixed delay per frame; records each frame's send-to-result latency."""

    def __init__(self, real: Classifier, delay_s: float, fail_after: int | None = None) -> None:
        self.real = real
        self.delay_s = delay_s
        self.fail_after = fail_after
        self.calls = 0
        self.source_latencies_ms: list[float] = []

    def sibling(self) -> Slowed:
        return Slowed(self.real.sibling(), self.delay_s, self.fail_after)

    def classify(self, image: np.ndarray) -> Classification:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("the accelerator went away")
        time.sleep(self.delay_s)
        result = self.real.classify(image)
        sent = read_time(image)
        if sent > 0:
            self.source_latencies_ms.append((time.time() - sent) * 1e3)
        return result


def run_for(pipeline: Pipeline, seconds: float) -> int:
    shown = 0
    deadline = time.monotonic() + seconds
    for _ in pipeline.frames():
        shown += 1
        if time.monotonic() > deadline:
            break
    pipeline.join()
    return shown


def test_a_slow_classifier_on_a_live_camera_drops_frames_instead_of_lagging(camera: MjpegServer,
                                                                            classifier: Classifier) -> None:
    slow = Slowed(classifier, delay_s=0.15)  # ~6 fps of inference against a 30 fps camera
    source = VideoSource(parse_video_source(camera.url))
    pipeline = Pipeline(source, slow, flow=Flow.LATEST).start()
    shown = run_for(pipeline, 6)
    stats = pipeline.stats
    assert pipeline.error is None
    assert shown >= 120, "the video keeps the camera's rate"
    assert stats.dropped > stats.classified, "frames are dropped, not queued"
    # Latency from the moment the camera sent the frame (stamped in its pixels): flat at about one
    # inference plus a frame or two, from the first seconds to the last.
    latencies = slow.source_latencies_ms
    assert len(latencies) >= 20
    first, last = np.median(latencies[2:10]), np.median(latencies[-8:])
    assert last < 150 + 250, latencies
    assert last < first + 100, latencies


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_slow_classifier_on_a_file_still_sees_every_frame_in_order(workers: int, video_file: Path,
                                                                     classifier: Classifier) -> None:
    slow = Slowed(classifier, delay_s=0.02)
    pipeline = Pipeline(VideoSource(parse_video_source(str(video_file))), slow, flow=Flow.EVERY, workers=workers)
    shown = list(pipeline.start().frames())
    pipeline.join()
    assert [s.frame.index for s in shown] == list(range(60))
    assert all(s.prediction.frame is s.frame for s in shown), "each frame carries its own prediction"
    assert pipeline.stats.classified == 60 and pipeline.stats.dropped == 0
    capture = cv2.VideoCapture(str(video_file))  # the same file, one frame at a time, no threads
    one_by_one = [classifier.classify(capture.read()[1]).top for _ in range(60)]
    assert [s.prediction.result.top for s in shown] == one_by_one


def test_smoothing_is_applied_in_frame_order_across_workers(video_file: Path, classifier: Classifier) -> None:
    pipeline = Pipeline(VideoSource(parse_video_source(str(video_file))), classifier, flow=Flow.EVERY,
                        workers=2, smoothing=0.2)
    labels = [s.prediction.result.top.label for s in pipeline.start().frames()]
    pipeline.join()
    switch = labels.index("espresso")
    assert 31 <= switch <= 40, labels  # the label follows the cut a few frames late, once
    assert all(label == "espresso" for label in labels[switch:])


def test_a_failing_thread_stops_the_pipeline_with_a_message_not_a_hang(camera: MjpegServer,
                                                                       classifier: Classifier) -> None:
    broken = Slowed(classifier, delay_s=0, fail_after=5)
    pipeline = Pipeline(VideoSource(parse_video_source(camera.url)), broken, flow=Flow.LATEST).start()
    started = time.monotonic()
    for _ in pipeline.frames():
        assert time.monotonic() - started < 20, "the main loop never learned of the failure"
    pipeline.join()
    assert pipeline.error == "inference failed: the accelerator went away"
    assert time.monotonic() - started < 10
