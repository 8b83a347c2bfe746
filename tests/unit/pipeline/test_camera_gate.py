"""The gate inside a camera and its scheduler, in-process: which frames reach the engine, which are
shown with the answer kept, what is counted; a file through the per-core lanes in order; the gate
changed in place (a reload's ``gate.set``)."""
from __future__ import annotations

import queue
import threading
import time

import cv2
import numpy as np
import pytest
from engines import Run, wait_until

from live_classify.config import GateConfig, SourceSpec
from live_classify.errors import UsageError
from live_classify.pipeline.frames import Flow, Frame, Shown
from live_classify.pipeline.gate import CameraGate, frame_luma
from live_classify.pipeline.pace import LOOKS_PER_S
from live_classify.pipeline.status import CameraState
from live_classify.sources.picture import Picture

W, H = 320, 240


def scene(seed: int) -> np.ndarray:
    coarse = np.random.default_rng(seed).integers(30, 220, (12, 16, 3), dtype=np.uint8)
    return cv2.resize(coarse, (W, H), interpolation=cv2.INTER_CUBIC)


class Pictures:
    """A source whose pictures the test sends (with a little sensor noise each); ``None`` ends it."""

    def __init__(self, live: bool = True) -> None:
        self.spec = SourceSpec("pictures", "camera" if live else "file", "pictures")
        self.claimed_fps = None
        self.lost_because = "ended"
        self.queue: queue.Queue = queue.Queue()
        self.rng = np.random.default_rng(0)

    def send(self, picture: np.ndarray | None) -> None:
        if self.spec.live:
            time.sleep(1 / LOOKS_PER_S)  # a camera at the checks' pace: each frame is looked at
        noisy = None if picture is None else np.clip(picture + self.rng.normal(0, 3, picture.shape), 0, 255)
        self.queue.put(None if noisy is None else noisy.astype(np.uint8))

    def read(self) -> np.ndarray | None:
        return self.queue.get()

    def reopen(self) -> bool:
        return False

    def release(self) -> None:
        pass


class Counting:
    """The engine: counts the images it was given; each answer names the run it came from."""

    def __init__(self) -> None:
        self.images = 0
        self.lock = threading.Lock()

    def classify_batch(self, images: list[np.ndarray], pad_to: int | None = None) -> list[str]:
        with self.lock:
            self.images += len(images)
            return [f"answer {self.images}"] * len(images)

    def sibling(self) -> Counting:
        return self


class Held(Counting):
    """The engine, holding each answer until ``answering`` is set (counted as soon as it is given)."""

    def __init__(self) -> None:
        super().__init__()
        self.answering = threading.Event()
        self.answering.set()

    def classify_batch(self, images: list[np.ndarray], pad_to: int | None = None) -> list[str]:
        answers = super().classify_batch(images, pad_to)
        self.answering.wait(10)
        return answers


def next_shown(run: Run) -> Shown:
    for _ in range(100):
        if (shown := run.camera.poll(0.1)) is not None:
            return shown
    raise AssertionError("no frame shown")


def live_step(run: Run, source: Pictures, picture: np.ndarray, classified: int) -> Shown:
    """Send one frame of a live camera, wait until the engine has seen ``classified`` images in
    all (and a new answer is on its way to the main loop); the frame as the main loop shows it."""
    engine: Counting = run.scheduler.classifier  # type: ignore[attr-defined]
    before = run.stats.classified
    source.send(picture)
    wait_until(lambda: engine.images == classified)
    if classified > before:
        wait_until(lambda: run.camera._results.qsize() > 0)  # noqa: SLF001 - delivered, not yet shown
    return next_shown(run)


def test_a_live_camera_s_still_frames_keep_the_answer_and_never_reach_the_engine() -> None:
    source, engine = Pictures(), Counting()
    run = Run(source, engine, Flow.LATEST, gate=GateConfig()).start()
    try:
        first = live_step(run, source, scene(1), classified=1)
        assert first.new_predictions and not first.kept
        for _ in range(4):  # still: the engine sees nothing more
            shown = live_step(run, source, scene(1), classified=1)
            assert shown.kept and shown.frame.still and shown.new_predictions == []
            assert shown.prediction is not None and shown.prediction.result == "answer 1"
        changed = live_step(run, source, scene(2), classified=2)  # a new scene: classified at once
        assert not changed.frame.still
        status = run.camera.snapshot()
        assert (status.gated, status.classified, status.captured) == (4, 2, 6)
        assert not status.still, "a camera that moved again is still said to be still (tile, overlay, /api/status)"
    finally:
        source.send(None)
        run.join()


def test_a_still_frame_is_not_kept_while_the_answer_to_the_new_scene_is_on_its_way() -> None:
    # The old scene's answer is shown until the new one's comes; meanwhile the new scene's still frames
    # must not say "label kept" (the overlay, the tile, events would take the old label for the new scene).
    source, engine = Pictures(), Held()
    run = Run(source, engine, Flow.LATEST, gate=GateConfig()).start()
    try:
        live_step(run, source, scene(1), classified=1)
        engine.answering.clear()
        source.send(scene(2))  # a new scene: to the engine, which has not answered yet
        wait_until(lambda: engine.images == 2)
        assert not next_shown(run).frame.still
        source.send(scene(2))
        waiting = next_shown(run)
        assert waiting.frame.still and waiting.prediction is not None and waiting.prediction.result == "answer 1"
        assert not waiting.kept and not run.camera.snapshot().still, "the label shown is not this scene's"
        engine.answering.set()
        wait_until(lambda: run.camera._results.qsize() > 0)  # noqa: SLF001 - delivered, not yet shown
        source.send(scene(2))
        answered = next_shown(run)
        assert answered.kept and answered.prediction is not None and answered.prediction.result == "answer 2"
        assert run.camera.snapshot().still
    finally:
        engine.answering.set()
        source.send(None)
        run.join()


def test_a_file_s_still_frames_pass_the_lanes_in_order_with_the_answer_before_them() -> None:
    source, engine = Pictures(live=False), Counting()
    for picture in [scene(1)] * 5 + [scene(2)] * 5 + [None]:
        source.send(picture)
    run = Run(source, engine, Flow.EVERY, workers=2, gate=GateConfig()).start()
    try:
        shown = list(run.frames())
    finally:
        run.join()
    assert [s.frame.index for s in shown] == list(range(10)), "every frame, in order"
    assert [len(s.new_predictions) for s in shown] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert [s.kept for s in shown] == [False, True, True, True, True, False, True, True, True, True]
    kept_from = [s.prediction.frame.index for s in shown if s.prediction is not None]
    assert kept_from == [0, 0, 0, 0, 0, 5, 5, 5, 5, 5]
    assert engine.images == 2 and run.camera.snapshot().gated == 8


def test_the_gate_is_changed_in_place_and_a_mask_beyond_the_frame_changes_nothing() -> None:
    source, engine = Pictures(), Counting()
    run = Run(source, engine, Flow.LATEST).start()  # no gate: every frame classified
    try:
        for n in (1, 2):
            live_step(run, source, scene(1), classified=n)
        assert run.camera.gate.set(GateConfig()) == []
        live_step(run, source, scene(1), classified=3)  # afresh: the first frame is classified
        assert live_step(run, source, scene(1), classified=3).kept
        with pytest.raises(UsageError, match="reaches beyond the 320x240 frame"):
            run.camera.gate.set(GateConfig(masks=((300, 0, 40, 10),)))
        assert live_step(run, source, scene(1), classified=3).kept, "the gate in place is kept"
        assert run.camera.gate.set(GateConfig(masks=((0, 0, W, H),))) == [
            "--gate-mask: the masks cover the whole 320x240 frame: only the refresh (--gate-refresh) will classify"]
        live_step(run, source, scene(1), classified=4)
        live_step(run, source, scene(2), classified=4)  # all masked: even a new scene waits for the refresh
        run.camera.gate.set(None)
        live_step(run, source, scene(2), classified=5)
        assert run.camera.gate.config is None and run.camera.snapshot().gated == 3
    finally:
        source.send(None)
        run.join()


class Jpegs(Pictures):
    """An MJPEG camera: each picture comes as its JPEG, decoded only when something needs it."""

    def read(self) -> Picture | None:  # type: ignore[override]
        picture = self.queue.get()
        return None if picture is None else Picture.of(cv2.imencode(".jpg", picture)[1])


def test_a_still_frame_that_nothing_shows_is_never_decoded_and_one_shown_or_classified_is() -> None:
    source, engine = Jpegs(), Counting()
    run = Run(source, engine, Flow.LATEST, gate=GateConfig()).start()
    try:
        run.camera.gate.show_every_picture(False)  # headless, no recording: JSON lines only
        first = live_step(run, source, scene(1), classified=1)
        assert isinstance(first.frame.pixels, Picture) and first.frame.pixels.decoded_yet  # classified
        still = live_step(run, source, scene(1), classified=1)
        assert still.frame.still and isinstance(still.frame.pixels, Picture)
        assert not still.frame.pixels.decoded_yet, "a still frame nothing shows was decoded"
        assert still.frame.size == (W, H)
        run.camera.gate.show_every_picture(True)  # a reload adds a recording: every picture decoded again
        shown = live_step(run, source, scene(1), classified=1)
        assert shown.frame.still and isinstance(shown.frame.pixels, Picture) and shown.frame.pixels.decoded_yet
        changed = live_step(run, source, scene(2), classified=2)  # and the gate saw the change in the small picture
        assert not changed.frame.still
    finally:
        source.send(None)
        run.join()


def test_a_file_s_refresh_is_counted_on_the_file_s_own_clock() -> None:
    # 25 frames of one still scene at 10 fps, read in far less than a second: with a 1 s refresh, frames
    # 0, 10 and 20 are classified (on the wall clock, read that fast, only the first would be).
    source, engine = Pictures(live=False), Counting()
    for picture in [scene(1)] * 25 + [None]:
        source.send(picture)
    run = Run(source, engine, Flow.EVERY, workers=1, gate=GateConfig(refresh_s=1.0),
              clock=lambda frame: frame.index / 10).start()
    try:
        shown = list(run.frames())
    finally:
        run.join()
    assert [s.frame.index for s in shown if s.new_predictions] == [0, 10, 20]
    assert run.camera.snapshot().gated == 22


@pytest.mark.parametrize("gate", [GateConfig(refresh_s=60.0), None])
def test_a_frame_to_classify_is_decoded_by_the_gate_not_on_the_engine_s_thread(gate: GateConfig | None) -> None:
    # The capture thread decodes what will be classified (4 ms a 720p JPEG): left to the engine's thread,
    # that one thread, which every camera shares, would decode each camera's frames in turn.
    camera_gate = CameraGate(gate)
    camera_gate.show_every_picture(False)  # headless, no recording: a still frame need not be decoded

    def marked(index: int, seed: int) -> Frame:
        picture = Picture.of(cv2.imencode(".jpg", scene(seed))[1])
        assert picture is not None
        return camera_gate.mark(Frame(index, float(index), 0.0, picture, "door"))

    first, again, changed = marked(0, 1), marked(1, 1), marked(2, 2)
    assert [first.still, again.still, changed.still] == [False, gate is not None, False]
    decoded = [isinstance(f.pixels, Picture) and f.pixels.decoded_yet for f in (first, again, changed)]
    assert decoded == [True, gate is None, True], "a frame to classify left undecoded for the engine's thread"


class CountedPicture(Picture):
    """A JPEG frame that counts its small decodings (libjpeg at an eighth: most of what a still frame costs)."""

    def __init__(self, jpeg: np.ndarray, height: int, width: int) -> None:
        super().__init__(jpeg, height, width)
        self.greys = 0

    def grey(self, height: int) -> np.ndarray:
        self.greys += 1
        return super().grey(height)


def test_the_health_checks_small_picture_is_the_gate_s_too_one_small_decoding_a_frame() -> None:
    # The capture thread hands the gate the small luma the health checks made: a still frame is
    # decoded once, at an eighth (1.3 ms at 720p); decoding it again for the gate doubled its cost.
    camera_gate = CameraGate(GateConfig(refresh_s=60.0))
    camera_gate.show_every_picture(False)
    verdicts = []
    for index, seed in enumerate([1, 1, 1, 2]):
        jpeg = cv2.imencode(".jpg", scene(seed))[1].reshape(-1)
        picture = CountedPicture(jpeg, H, W)
        frame = Frame(index, float(index), 0.0, picture, "door")
        marked = camera_gate.mark(frame, frame_luma(frame))  # as Camera._hand_over does, health on
        verdicts.append(marked.still)
        assert picture.greys == 1, f"frame {index}: {picture.greys} small decodings"
    assert verdicts == [False, True, True, False]


def test_an_mjpeg_camera_s_masks_are_placed_on_its_frame_not_on_the_smaller_picture_the_gate_decodes() -> None:
    # The gate looks at a JPEG decoded at half its size (120 rows of 240); the masks are in the frame's pixels.
    # The left half masked (a TV): a square appearing there is no motion, one on the right is.
    def square(x: int) -> np.ndarray:
        picture = scene(1).copy()
        picture[90:150, x:x + 60] = 255
        return picture

    def still(as_jpeg: bool) -> list[bool]:
        gate = CameraGate(GateConfig(masks=((0, 0, W // 2, H),)))
        gate.show_every_picture(False)
        seen = []
        for index, picture in enumerate([scene(1), scene(1), square(40), square(220)]):
            pixels = Picture.of(cv2.imencode(".jpg", picture)[1]) if as_jpeg else picture
            assert pixels is not None
            seen.append(gate.mark(Frame(index, float(index), 0.0, pixels, "door")).still)
        return seen

    assert still(as_jpeg=False) == [False, True, True, False]
    assert still(as_jpeg=True) == [False, True, True, False], "the masks of a JPEG were scaled to its smaller decoding"


def test_a_file_s_status_says_still_on_its_kept_frames_and_not_on_its_classified_ones() -> None:
    # A video file with --serve: the page's tile and /api/status say "still" from the camera's status,
    # read as each frame is shown.
    source, engine = Pictures(live=False), Counting()
    for picture in [scene(1)] * 3 + [scene(2)] * 3 + [None]:
        source.send(picture)
    run = Run(source, engine, Flow.EVERY, workers=1, gate=GateConfig()).start()
    try:
        said = [(shown.kept, run.camera.snapshot().still) for shown in run.frames()]
    finally:
        run.join()
    kept = [False, True, True, False, True, True]
    assert [k for k, _ in said] == kept
    assert [still for _, still in said] == kept, "a file's gated frames never said still in its status"


def test_a_camera_that_is_lost_is_no_longer_said_to_be_still() -> None:
    # The tile said "reconnecting · still: label kept" at once: a lost camera keeps no label it re-checks.
    source, engine = Pictures(), Counting()
    run = Run(source, engine, Flow.LATEST, gate=GateConfig()).start()
    try:
        live_step(run, source, scene(1), classified=1)
        assert live_step(run, source, scene(1), classified=1).kept
        assert run.camera.snapshot().still
        source.send(None)  # the stream is lost: retried
        wait_until(lambda: run.camera.snapshot().state is not CameraState.LIVE)
        assert not run.camera.snapshot().still
    finally:
        run.join()
