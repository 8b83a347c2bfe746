"""The per-core worker pool: one video file on a CPU, classified by as many single-threaded engines
as there are cores, sharing one loaded model.

Throughput counts for a file, and one engine whose threads meet at a barrier after every layer,
while decoding and drawing take turns on the same cores, does less than one single-threaded
engine per core. The camera deals its frames to the workers' lanes in turn and the main loop
collects the results in the same turn, so the order is kept without any sorting.
"""
from __future__ import annotations

import threading
import time

from live_classify.engine.classifier import Classifier
from live_classify.log import debug_traceback, info
from live_classify.pipeline.camera import Camera
from live_classify.pipeline.frames import Log
from live_classify.pipeline.inference import Inference


class WorkerPool:
    """A thread per lane of one camera, each with its own engine on the shared session."""

    def __init__(self, classifier: Classifier, camera: Camera, log: Log = info) -> None:
        """``camera``: made with as many lanes as there are to be workers."""
        self.camera = camera
        self.error: str | None = None
        self._stop = threading.Event()
        engines = [classifier, *(classifier.sibling() for _ in range(camera.lanes - 1))]
        self._engines = [Inference(engine, self._stop, log) for engine in engines]
        self._threads = [threading.Thread(target=self._run, args=(lane,), name="inference", daemon=True)
                         for lane in range(camera.lanes)]

    def start(self) -> WorkerPool:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def summary(self) -> str:
        return f"{len(self._threads)} workers"

    def _run(self, lane: int) -> None:
        try:
            self._serve(lane)
        except Exception as error:  # noqa: BLE001 - the camera stops; the main loop says why
            debug_traceback(f"inference worker {lane} failed", error)
            if self.error is None:
                self.error = f"inference failed: {error}"
            self.camera.stop()

    def _serve(self, lane: int) -> None:
        """Frames of this lane, in turn with the others, until the file ends or the run stops."""
        inference, camera = self._engines[lane], self.camera
        while not self._stop.is_set() and not camera.lane_done(lane):
            frame = camera.next_for_inference(lane, timeout=0.1)
            if frame is None:
                continue
            predictions = inference.serve([(camera, frame)])
            if predictions is not None:
                camera.deliver(predictions[0], lane)

