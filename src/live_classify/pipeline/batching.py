"""Any number of cameras, one model: the newest frame of each camera, classified together as one batch.

Each :class:`~live_classify.pipeline.camera.Camera` captures, reconnects and counts on its own; one
:class:`Batcher` thread serves them all (one camera is the case N = 1):

* it takes at most one frame per camera per batch — the newest for a live camera (older ones were
  replaced in its one-slot inbox and counted as dropped), the next in order for a file — so no
  frame is classified twice and no camera gets two turns while another waits;
* a batch starts as soon as one frame waits; it waits up to ``--batch-wait`` for the other cameras'
  frames and never longer, so one slow or stalled camera does not hold the others back;
* when the engine cannot keep up, ``--max-batch`` below the number of cameras takes them in turn,
  starting after the last camera served, so each live camera is classified at a similar rate.

While the engine works on one batch the next one fills up by itself: under load the batches
grow, when idle each frame goes alone at once. No extra latency is spent on waiting by default.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from live_classify.engine.classifier import Classifier
from live_classify.log import debug_traceback, info
from live_classify.pipeline.camera import Camera
from live_classify.pipeline.frames import Frame, Log
from live_classify.pipeline.inference import Inference
from live_classify.pipeline.queues import Wake


class Batcher:
    """The inference thread of a run: one batch at a time, for every camera."""

    def __init__(self, classifier: Classifier, cameras: Sequence[Camera], wake: Wake, *,
                 max_batch: int, wait_s: float = 0.0, pad: bool = False, log: Log = info) -> None:
        """``wake``: the event every camera sets when a frame waits (given to them at their
        creation). ``pad``: always run batches of ``max_batch`` (one shape for a GPU to plan)."""
        self.classifier = classifier
        self.cameras = list(cameras)
        self.max_batch = max(1, max_batch)
        self.wait_s = wait_s
        self.pad_to = self.max_batch if pad else None
        self.batches = 0
        self.batched_frames = 0
        self.error: str | None = None
        self._wake = wake.inference
        self._stop = threading.Event()
        self._inference = Inference(classifier, self._stop, log)
        self._next = 0  # the camera whose turn comes first in the next batch
        self._swap: tuple[Classifier, Callable[[Classifier], None]] | None = None  # a model to take up
        self._thread = threading.Thread(target=self._run, name="inference", daemon=True)

    def start(self) -> Batcher:
        self._thread.start()
        return self

    def swap(self, classifier: Classifier, rebind: Callable[[Classifier], None]) -> None:
        """A new model, loaded already: taken up between two batches (the batch in flight ends on
        the old one), when ``rebind`` (on this thread) first fits the cameras' smoothing to it."""
        self._swap = (classifier, rebind)
        self._wake.set()

    def set_cameras(self, cameras: Sequence[Camera]) -> None:
        """The cameras served from the next batch on (a reload added or removed some): a new list,
        assigned at once, which each batch reads once — the batch being taken keeps the old one."""
        self.cameras = list(cameras)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float) -> None:
        self.stop()
        self._thread.join(timeout)

    @property
    def mean_batch(self) -> float:
        return self.batched_frames / self.batches if self.batches else 0.0

    def summary(self) -> str:
        """For the summary of several cameras: how the batches went."""
        return f"{self.batches} inference runs, {self.mean_batch:.1f} frames each on average"

    def take(self) -> list[tuple[Camera, Frame]]:
        """The next batch: one frame from each camera that has one, up to ``max_batch``, waiting
        at most ``wait_s`` after the first for the others. Empty when nothing came for 0.1 s."""
        batch: list[tuple[Camera, Frame]] = []
        deadline: float | None = None
        cameras = self.cameras  # read once: a reload assigns a new list
        while not self._stop.is_set():
            self._wake.clear()  # cleared before looking: a frame put after the look sets it again
            self._collect(batch, cameras)
            open_ = [c for c in cameras if not c.inference_done]
            if len(batch) >= min(self.max_batch, len(open_)) and batch:
                break
            now = time.monotonic()
            if batch and deadline is None:
                deadline = now + self.wait_s
            if deadline is not None and now >= deadline:
                break
            if not self._wake.wait(0.1 if deadline is None else deadline - now) and deadline is None:
                break  # nothing for a while: let the caller check whether to go on
        if batch:
            last = cameras.index(batch[-1][0])
            self._next = (last + 1) % len(cameras)
        return batch

    def _collect(self, batch: list[tuple[Camera, Frame]], cameras: Sequence[Camera]) -> None:
        """Add the waiting frames of the cameras not in ``batch`` yet, in turn from ``_next``."""
        taken = {id(c) for c, _ in batch}
        count = len(cameras)
        for k in range(count):
            if len(batch) >= self.max_batch:
                return
            camera = cameras[(self._next + k) % count]
            if id(camera) in taken:
                continue
            frame = camera.next_for_inference()
            if frame is not None:
                batch.append((camera, frame))

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not all(c.inference_done for c in self.cameras):
                if self._swap is not None:
                    self._take_up(*self._swap)
                batch = self.take()
                if batch:
                    self._classify(batch)
        except Exception as error:  # noqa: BLE001 - every camera stops; the main loop says why
            debug_traceback("the inference thread failed", error)
            self.error = f"inference failed: {error}"
            for camera in self.cameras:
                camera.stop()

    def _take_up(self, classifier: Classifier, rebind: Callable[[Classifier], None]) -> None:
        """Between two batches: the next one is classified by the new model."""
        self._swap = None
        rebind(classifier)
        self.classifier = self._inference.classifier = classifier

    def _classify(self, batch: list[tuple[Camera, Frame]]) -> None:
        """One inference run for the batch; each prediction to its camera."""
        predictions = self._inference.serve(batch, self.pad_to)
        if predictions is None:
            return
        self.batches += 1
        self.batched_frames += len(batch)
        for (camera, _), prediction in zip(batch, predictions, strict=True):
            camera.deliver(prediction)
