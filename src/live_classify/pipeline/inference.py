"""Calling the classifier from a scheduler's thread: a remote backend that is away is a state to
wait out, not a failure of the run. The one place that decides what happens to frames meanwhile:
a live camera's are dropped (counted ``unserved``: a newer one will come), a file's wait."""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from live_classify.engine.backend import BackendUnavailable
from live_classify.engine.classifier import Classification, Classifier
from live_classify.log import info
from live_classify.pipeline.camera import Camera
from live_classify.pipeline.frames import Flow, Frame, Log, Prediction

Batch = Sequence[tuple[Camera, Frame]]


class Inference:
    """The classifier as the schedulers call it: a remote backend that is away
    (:class:`BackendUnavailable`) is a state to wait out with backoff, not a failure."""

    def __init__(self, classifier: Classifier, stop: threading.Event, log: Log = info) -> None:
        self.classifier = classifier
        self.down: str | None = None  # why the backend is away, while it is
        self._log = log
        self._stop = stop
        self._delay = 0.5

    def classify(self, images: list[np.ndarray], pad_to: int | None = None) -> list[Classification] | None:
        """Each image's result; None while the backend is away (after a pause that grows to 5 s)."""
        try:
            results = self.classifier.classify_batch(images, pad_to)
        except BackendUnavailable as error:
            if self.down is None:
                self._log(f"inference server unreachable ({error}): retrying; frames meanwhile are dropped")
            self.down = str(error)
            self._stop.wait(self._delay)
            self._delay = min(5.0, self._delay * 2)
            return None
        if self.down is not None:
            self._log("inference server back: classifying again")
        self.down, self._delay = None, 0.5
        return results

    def serve(self, batch: Batch, pad_to: int | None = None) -> list[Prediction] | None:
        """One inference run for ``batch``, each prediction for its frame; None when the server was
        away: a batch with a file's frame waits for it (none of a file is skipped), live ones are
        counted unserved."""
        images = [frame.image for _, frame in batch]
        results = self.classify(images, pad_to)
        while results is None and self._waits_for_server(batch):
            results = self.classify(images, pad_to)
        for camera, _ in batch:
            camera.backend_down = self.down
        if results is None:
            for camera, _ in batch:
                camera.stats.unserved += 1  # only live frames get here: a newer one will come
            return None
        done = time.monotonic()
        return [Prediction(frame, result, done) for (_, frame), result in zip(batch, results, strict=True)]

    def _waits_for_server(self, batch: Batch) -> bool:
        """A file's frames wait for the server to come back; live ones do not."""
        return not self._stop.is_set() and any(camera.flow is Flow.EVERY for camera, _ in batch)
