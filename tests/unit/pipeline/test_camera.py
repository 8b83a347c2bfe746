"""A camera and its scheduler in-process (the threads and queues), with a real source and the real
engine slowed down on purpose."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import count_frames, make_video
from engines import Recorder, Run, Scripted, wait_until
from mjpeg_server import MjpegServer, read_time
from recordings import recording_counts

from live_classify import log
from live_classify.config import HealthConfig
from live_classify.engine.classifier import Classification, Classifier
from live_classify.engine.postprocess import Smoother, top_k
from live_classify.pipeline.frames import Flow
from live_classify.pipeline.smoothing import smoothing
from live_classify.pipeline.status import CameraState
from live_classify.sinks.base import Update
from live_classify.sinks.record.recording import Recording
from live_classify.sources.capture import VideoSource, parse_video_source


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

    def classify_batch(self, images: list[np.ndarray], pad_to: int | None = None) -> list[Classification]:
        """One delay per inference run, as a real engine's batch costs about one run."""
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("the accelerator went away")
        time.sleep(self.delay_s)
        results = self.real.classify_batch(images, pad_to)
        for image in images:
            sent = read_time(image)
            if sent > 0:
                self.source_latencies_ms.append((time.time() - sent) * 1e3)
        return results




def run_for(run: Run, seconds: float) -> int:
    shown = 0
    deadline = time.monotonic() + seconds
    for _ in run.frames():
        shown += 1
        if time.monotonic() > deadline:
            break
    run.join()
    return shown


def test_a_slow_classifier_on_a_live_camera_drops_frames_instead_of_lagging(camera: MjpegServer,
                                                                            classifier: Classifier) -> None:
    slow = Slowed(classifier, delay_s=0.15)  # ~6 fps of inference against a 30 fps camera
    source = VideoSource(parse_video_source(camera.url))
    run = Run(source, slow, Flow.LATEST).start()
    shown = run_for(run, 6)
    stats = run.stats
    assert run.error is None
    assert shown >= 2 * stats.classified, "the video is not held to the rate of inference"  # ~5x here, unloaded
    assert stats.dropped > stats.classified, "frames are dropped, not queued"
    # Latency from the moment the camera sent the frame (stamped in its pixels): flat at about one
    # inference plus a frame or two, from the first seconds to the last (~250 ms idle). A queue that
    # keeps every frame would be seconds behind by the end (24 of 30 frames a second left over);
    # the margins are for a machine under load (8+ on 2 cores), where a frame waits for a core.
    latencies = slow.source_latencies_ms
    assert len(latencies) >= 15
    first, last = np.median(latencies[2:10]), np.median(latencies[-8:])
    assert last < 1000, latencies
    assert last < first + 400, latencies


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_slow_classifier_on_a_file_still_sees_every_frame_in_order(workers: int, video_file: Path,
                                                                     classifier: Classifier) -> None:
    slow = Slowed(classifier, delay_s=0.02)
    run = Run(VideoSource(parse_video_source(str(video_file))), slow, Flow.EVERY, workers=workers)
    shown = list(run.start().frames())
    run.join()
    assert [s.frame.index for s in shown] == list(range(60))
    assert all(s.prediction.frame is s.frame for s in shown), "each frame carries its own prediction"
    assert run.stats.classified == 60 and run.stats.dropped == 0
    capture = cv2.VideoCapture(str(video_file))  # the same file, one frame at a time, no threads
    one_by_one = [classifier.classify(capture.read()[1]).top for _ in range(60)]
    assert [s.prediction.result.top for s in shown] == one_by_one


def test_smoothing_is_applied_in_frame_order_across_workers(video_file: Path, classifier: Classifier) -> None:
    """The smoothed answers are the reference moving average of each frame's own answer, in order."""
    run = Run(VideoSource(parse_video_source(str(video_file))), classifier, Flow.EVERY, workers=2,
              smoothed=smoothing(classifier, 0.2))
    got = [s.prediction.result.top for s in run.start().frames()]
    run.join()
    capture = cv2.VideoCapture(str(video_file))
    own = [classifier.classify(capture.read()[1]) for _ in range(60)]
    smoother = Smoother(0.2)
    want = [top_k(smoother(r.probabilities), classifier.spec.labels, classifier.top) for r in own]
    assert [t.class_ids for t in got] == [t.class_ids for t in want]
    np.testing.assert_allclose([t.scores for t in got], [t.scores for t in want], atol=1e-5)
    unsmoothed = [r.top.label for r in own].index("espresso")
    switch = [t.label for t in got].index("espresso")
    assert switch > unsmoothed, "with smoothing the label follows the cut a few frames late"
    assert all(t.label == "espresso" for t in got[switch:])


def test_every_frame_of_a_long_file_arrives_once_and_in_order(tmp_path: Path, classifier: Classifier) -> None:
    """More than 100 frames, several workers: none lost, none repeated, none out of turn."""
    clip = make_video(tmp_path / "long.mp4", 150, size=(160, 120))
    frames = count_frames(clip)
    assert frames == 150
    run = Run(VideoSource(parse_video_source(str(clip))), classifier, Flow.EVERY, workers=2)
    shown = list(run.start().frames())
    run.join()
    assert run.error is None
    assert [s.frame.index for s in shown] == list(range(frames))
    assert all(s.prediction.frame is s.frame for s in shown)
    assert (run.stats.captured, run.stats.classified, run.stats.dropped) == (frames, frames, 0)


def test_a_paced_file_that_ends_still_classifies_its_last_frame(tmp_path: Path, classifier: Classifier) -> None:
    """Newest frame wins, inference slower than the frames: at the end the frame waiting for inference
    is classified, not replaced by the end; every frame is either classified or counted as dropped."""
    clip = make_video(tmp_path / "short.mp4", 20)
    slow = Slowed(classifier, delay_s=0.05)  # 20 fps of inference against 50 fps of frames
    run = Run(VideoSource(parse_video_source(str(clip))), slow, Flow.LATEST, pace_fps=50).start()
    predictions = [p for shown in run.frames() for p in shown.new_predictions]
    run.join()
    predictions += run.camera.leftover_predictions()
    stats = run.stats
    assert stats.captured == 20 and stats.dropped > 0
    assert stats.classified + stats.dropped == stats.captured, (stats.classified, stats.dropped)
    assert predictions[-1].frame.index == 19, "the last frame was never classified"


@pytest.mark.parametrize("workers", [None, 2])
def test_a_failing_engine_stops_the_camera_with_a_message_not_a_hang(workers: int | None, camera: MjpegServer,
                                                                     video_file: Path, classifier: Classifier) -> None:
    broken = Slowed(classifier, delay_s=0, fail_after=5)
    source = VideoSource(parse_video_source(str(video_file) if workers else camera.url))
    run = Run(source, broken, Flow.EVERY if workers else Flow.LATEST, workers=workers).start()
    started = time.monotonic()
    for _ in run.frames():
        assert time.monotonic() - started < 20, "the main loop never learned of the failure"
    run.join()
    assert run.error == "inference failed: the accelerator went away"
    assert time.monotonic() - started < 10


def test_reconnect_waits_grow_but_never_past_five_seconds(classifier: Classifier, monkeypatch) -> None:
    """Eight failing reopens of a lost camera: the waits double from 0.5 s and stop at 5 s (no real sleeping)."""
    source = Scripted(0)
    source.end()  # lost at the first read; reopen() always fails
    lines: list[str] = []
    run = Run(source, classifier, Flow.LATEST, max_reconnects=8, log=lines.append)
    waits: list[float] = []
    monkeypatch.setattr(run.camera._stop, "wait", lambda seconds=None: waits.append(seconds) or False)
    run.camera.start()
    run.camera._thread.join(5)
    assert waits == [0.5, 1, 2, 4, 5, 5, 5, 5]
    assert [line.split("reconnecting in ")[1].split(" s")[0] for line in lines if "reconnecting in" in line] == \
        ["0.5", "1", "2", "4", "5", "5", "5", "5"]
    assert run.camera.error == "cam0: lost (ended), and 8 reconnection attempts failed"
    assert run.camera.snapshot().state is CameraState.LOST and run.camera.snapshot().reconnecting


class BackAfter(Scripted):
    """A camera that is away for ``tries`` reopenings (a firmware update), then answers again."""

    def __init__(self, tries: int) -> None:
        super().__init__(0)
        self.left = tries

    def reopen(self) -> bool:
        self.left -= 1
        return self.left < 0


def waited(run: Run, monkeypatch: pytest.MonkeyPatch, stop_after: int) -> list[float]:
    """The seconds the camera's thread waits between reopenings, none really slept; the camera is stopped
    after ``stop_after`` of them."""
    waits: list[float] = []

    def wait(seconds: float | None = None) -> bool:
        waits.append(seconds or 0.0)
        if len(waits) > stop_after:
            run.camera.stop()
        return len(waits) > stop_after

    monkeypatch.setattr(run.camera._stop, "wait", wait)  # noqa: SLF001 - the camera's own sleep
    return waits


def test_with_no_limit_a_lost_camera_is_retried_until_it_is_back(classifier: Classifier, monkeypatch) -> None:
    """Issue 35: offline is not the end. With no --reconnect a camera away for 30 tries (minutes at
    5 s each) is retried, each wait capped at 5 s, and goes on once back; nothing is an error."""
    source = BackAfter(30)
    source.send(0)
    source.end()  # lost
    source.send(1)  # back, after 30 failed reopenings
    source.end()
    lines: list[str] = []
    run = Run(source, classifier, Flow.LATEST, max_reconnects=None, log=lines.append)
    waits = waited(run, monkeypatch, stop_after=31)  # the run stopped at the second loss
    run.camera.start()
    run.camera._thread.join(5)
    assert waits[:31] == [0.5, 1, 2, 4] + [5] * 27
    assert "(attempt 31)" in lines[30] and "reconnected" in lines[31]
    assert run.camera.stats.captured == 2 and run.camera.error is None


class ConnectsThenGarbage(Scripted):
    """A camera that answers every reopening and then sends nothing that reads as a frame."""

    def reopen(self) -> bool:
        return True


def test_a_camera_that_connects_and_sends_nothing_readable_fails_one_streak(classifier: Classifier,
                                                                            monkeypatch) -> None:
    """Issue 33: each reopening that succeeded started the count again (attempt 1 of 10, 0.5 s) and such a
    camera was never given up. Only a frame read ends a streak: then the next loss starts afresh."""
    source = ConnectsThenGarbage(0)
    source.send(0)
    source.end()  # lost
    source.end()  # reopened, then nothing readable
    source.send(1)  # a frame: the streak is over
    for _ in range(3):
        source.end()
    lines: list[str] = []
    run = Run(source, classifier, Flow.LATEST, max_reconnects=2, log=lines.append)
    waits: list[float] = []
    monkeypatch.setattr(run.camera._stop, "wait", lambda seconds=None: waits.append(seconds) or False)
    run.camera.start()
    run.camera._thread.join(5)
    assert waits == [0.5, 1, 0.5, 1]
    assert [line.split("(attempt ")[1] for line in lines if "(attempt " in line] == ["1/2)", "2/2)", "1/2)", "2/2)"]
    assert run.camera.error == "cam0: lost (ended), and 2 reconnection attempts failed"
    assert run.camera.stats.captured == 2 and run.camera.stats.reconnects == 4


def test_a_main_loop_that_falls_behind_shows_the_newest_frame_and_the_recording_counts_the_rest(
        tmp_path: Path) -> None:
    """Frames come in bursts while the main loop is busy: each poll gives the newest frame (the
    picture is never older than its label), and the recording's summary accounts for every frame
    captured: recorded + dropped + skipped == captured, at a stop too."""
    source, sent = Scripted(0), 0
    run = Run(source, Recorder(), Flow.LATEST, log=lambda _: None).start()
    recording = Recording(tmp_path / "r.avi", None, drop=True, captured=lambda: run.stats.captured)
    shown = []
    for burst in (5, 1, 7, 3, 2):  # frames that came while the main loop was drawing the last one
        for _ in range(burst):
            source.send(sent)
            sent += 1
        wait_until(lambda sent=sent: run.stats.captured == sent)
        item = run.camera.poll(5)
        shown.append(item.frame.index)
        recording.write(Update(item, item.frame.t_capture, lambda: np.zeros((48, 64, 3), np.uint8)))
    assert shown == [4, 5, 12, 15, 17]
    for index in range(sent, sent + 3):  # captured, never shown: the run stops first
        source.send(index)
    wait_until(lambda: run.stats.captured == sent + 3)
    run.join(1)
    recording.close()
    counts = recording_counts(recording.summary())
    assert counts["skipped"] == 21 - 5 and counts["recorded"] + counts["dropped"] == 5, recording.summary()
    assert sum(counts.values()) == run.stats.captured == 21




class SlowOnOdd(Recorder):
    """An engine that takes 0.2 s on each odd frame: the second worker's lane falls behind the first's."""

    def sibling(self) -> SlowOnOdd:
        return self

    def classify_batch(self, images: list[np.ndarray], pad_to: int | None = None) -> list[str]:
        if int(images[0][0, 0, 1]) % 2:
            time.sleep(0.2)
        return super().classify_batch(images, pad_to)


def test_a_worker_that_ends_first_does_not_end_the_others_lanes() -> None:
    """The first worker meets the end of the file while the second still has frames: every frame is
    still classified and shown, in order."""
    run = Run(Scripted(0, live=False, frames=5), SlowOnOdd(), Flow.EVERY, workers=2, log=lambda _: None).start()
    shown, deadline = [], time.monotonic() + 10
    while not run.camera.ended and time.monotonic() < deadline:
        if (item := run.camera.poll(0.1)) is not None:
            shown.append(item.frame.index)
    run.join(2)
    assert shown == [0, 1, 2, 3, 4] and run.stats.classified == 5


class Broken(Scripted):
    """A source whose read fails with a bug (not a lost camera)."""

    def read(self) -> np.ndarray | None:
        raise ValueError("a bug in the reading")


@pytest.mark.parametrize("workers", [None, 2])
def test_a_failing_thread_says_its_traceback_under_verbose(workers: int | None, video_file: Path,
                                                          classifier: Classifier,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The capture thread, the batcher and the worker pool: one line without --verbose, and with it
    where the failure came from."""
    log.configure(verbose=True)
    try:
        engine = Run(VideoSource(parse_video_source(str(video_file))), Slowed(classifier, 0, fail_after=2),
                     Flow.EVERY, workers=workers).start()
        capture = Run(Broken(0), classifier, Flow.LATEST).start()
        for run in (engine, capture):
            for _ in run.frames():
                pass
            run.join()
    finally:
        log.configure()
    said = capsys.readouterr().err
    assert engine.error == "inference failed: the accelerator went away"
    assert capture.camera.error == "capture failed: a bug in the reading"
    assert said.count("Traceback (most recent call last)") >= 2, said  # each worker of a pool fails alike
    assert 'raise RuntimeError("the accelerator went away")' in said and 'raise ValueError("a bug' in said, said


def test_reconnect_0_gives_a_lost_camera_up_at_once(classifier: Classifier, monkeypatch) -> None:
    """Issue 35: no limit is ``None`` (``--reconnect`` not given), and ``--reconnect 0`` still means no
    try at all: a camera lost is an error at once, not retried for the run."""
    source = Scripted(0)
    source.send(0)
    source.end()  # lost; reopen() would fail anyway
    run = Run(source, classifier, Flow.LATEST, max_reconnects=0, log=lambda line: None)
    waits = waited(run, monkeypatch, stop_after=3)  # a camera retried anyway is stopped
    run.camera.start()
    run.camera._thread.join(5)
    assert waits == []
    assert run.camera.error == "cam0: lost (ended), and 0 reconnection attempts failed"
    assert run.camera.snapshot().state is CameraState.LOST


def test_a_camera_that_sends_nothing_on_an_open_stream_is_offline() -> None:
    """Issue 35: offline is "no frame arrives, or reconnecting": a stream still open that sends nothing
    (STALLED, before ``--read-timeout`` drops it) is offline once that held for ``--health-after``."""
    source = Scripted(0)
    source.send(0)  # one frame, then nothing: read() waits on
    run = Run(source, Recorder(), Flow.LATEST, stall_s=0.2, health=HealthConfig(after_s=0.3)).start()
    try:
        wait_until(lambda: run.stats.captured == 1)
        wait_until(lambda: run.camera.snapshot().state is CameraState.STALLED)
        wait_until(lambda: run.camera.snapshot().health == "offline")
        assert run.camera.snapshot().state is CameraState.STALLED, "offline before any reconnection"
    finally:
        source.end()
        run.join()


def test_a_camera_retried_for_ever_is_offline_while_it_reconnects() -> None:
    """Issue 35: a lost live camera is retried for the whole run (no ``--reconnect``), and all that
    time it is ``offline`` once that held for ``--health-after``: reconnecting is no frame coming."""
    source = Scripted(0)
    source.send(0)
    source.end()  # lost after one frame; every reopening fails
    run = Run(source, Recorder(), Flow.LATEST, max_reconnects=None, log=lambda line: None,
              health=HealthConfig(after_s=0.3)).start()
    try:
        wait_until(lambda: run.camera.snapshot().state is CameraState.RECONNECTING)
        wait_until(lambda: run.camera.snapshot().health == "offline")
        assert run.camera.snapshot().state is CameraState.RECONNECTING, "offline while still retried"
    finally:
        run.join()
