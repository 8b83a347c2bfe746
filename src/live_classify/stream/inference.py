"""Calling the classifier from an inference thread: a remote backend that is away is a state to
wait out, not a failure of the run."""
from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from live_classify.engine.backend import BackendUnavailable
from live_classify.engine.classifier import Classification, Classifier

Log = Callable[[str], None]


class Inference:
    """The classifier as the inference threads call it: a remote backend that is away
    (:class:`BackendUnavailable`) is a state to wait out with backoff, not a failure."""

    def __init__(self, classifier: Classifier, log: Log, stop: threading.Event) -> None:
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
