"""The engine: stages 2–4 for frames (preprocess → the backend's inference → postprocess), timed.

The same object serves photos, video files and live cameras: the threads of the live pipeline
only move frames to it and results away from it.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from live_classify.engine.backend import Backend
from live_classify.engine.model import ModelSpec, Overrides, describe_model, with_class_count
from live_classify.engine.onnx_backend import OnnxBackend
from live_classify.engine.postprocess import Smoother, to_probabilities, top_k
from live_classify.engine.preprocess import Preprocessor
from live_classify.engine.providers import ProviderOptions
from live_classify.engine.results import Classification, StageTimes
from live_classify.engine.taught import Taught, with_taught


class Classifier:
    """Classifies BGR frames with one model on one backend.

    One object serves one thread at a time: its buffers are bound to the backend. More threads
    on the same loaded model each take a :meth:`sibling`.
    """

    def __init__(self, spec: ModelSpec, backend: Backend, top: int = 5, taught: Taught | None = None) -> None:
        """``taught``: the classes taught from examples (``taught.py``), shared with siblings and successors."""
        self.spec = with_class_count(spec, backend.classes)
        assert self.spec.labels is not None  # with_class_count names every class the model outputs
        self.labels: tuple[str, ...] = self.spec.labels
        self.backend = backend
        self.top = top
        self.taught = taught or Taught()
        self._preprocessors: dict[int, Preprocessor] = {}

    @classmethod
    def open(cls, model: Path, provider: str = "auto", overrides: Overrides = Overrides(),
             options: ProviderOptions = ProviderOptions(), top: int = 5) -> Classifier:
        """Load ``model`` with onnxruntime on the best provider ``provider`` allows, ready to classify."""
        spec = describe_model(model, overrides)
        return cls(spec, OnnxBackend.open(model, spec, provider, options), top)

    def sibling(self) -> Classifier:
        """Another engine on the same loaded model, with buffers of its own."""
        return Classifier(self.spec, self.backend.sibling(), self.top, self.taught)

    def succeeds(self, old: Classifier) -> None:
        """A new model replaces ``old``: the classes taught to ``old`` stay taught (the same backbone gives
        the same features; another one's features, of another size, match nothing)."""
        self.taught = old.taught

    def preprocess(self, bgr: np.ndarray, row: int = 0, batch: int = 1) -> np.ndarray:
        """Stage 2 alone: ``bgr`` into row ``row`` of the bound buffer for a batch of ``batch``."""
        if batch not in self._preprocessors:
            self._preprocessors[batch] = Preprocessor(self.spec.preprocessing, self.backend.batch_buffer(batch))
        return self._preprocessors[batch](bgr, row)

    def classify(self, bgr: np.ndarray) -> Classification:
        """Stages 2–4 for one HxWx3 uint8 BGR frame."""
        return self.classify_batch([bgr])[0]

    def classify_batch(self, frames: Sequence[np.ndarray], pad_to: int | None = None) -> list[Classification]:
        """Stages 2–4 for several frames in one inference run (each result carries the batch's times).

        ``pad_to``: run a batch of that size whatever the number of frames (the spare rows hold
        stale pixels, their scores are ignored): on a GPU one fixed shape is planned once, while
        every new batch size costs a new plan (measured on the H200: a varying batch collapsed)."""
        n = max(len(frames), pad_to or 0)
        t0 = time.perf_counter()
        for row, bgr in enumerate(frames):
            self.preprocess(bgr, row, n)
        t1 = time.perf_counter()
        scores = self.backend.infer(n)[:len(frames)]
        t2 = time.perf_counter()
        probabilities = [to_probabilities(row, self.spec.outputs_logits) for row in scores]
        tops = [top_k(p, self.labels, self.top) for p in probabilities]
        taught = self._taught(n, len(frames))
        tops = [top if found is None else with_taught(top, *found) for top, found in zip(tops, taught, strict=True)]
        t3 = time.perf_counter()
        times = StageTimes((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)
        return [Classification(top, times, p, found)
                for top, p, found in zip(tops, probabilities, taught, strict=True)]

    def _taught(self, n: int, count: int) -> list[tuple[str, float] | None]:
        """The taught class (and similarity) that claims each of the batch's first ``count`` frames, if
        any: the features are fetched only while something is taught (one matcher read for the batch)."""
        matcher = self.taught.matcher
        features = self.backend.features(n) if matcher.classes else None
        return [None] * count if features is None else matcher.match(features[:count])

    def smoothed(self, result: Classification, smoother: Smoother) -> Classification:
        """The same frame's result with its probabilities averaged over the frames before it."""
        probabilities = smoother(result.probabilities)
        top = top_k(probabilities, self.labels, self.top)
        return replace(result, top=top if result.taught is None else with_taught(top, *result.taught),
                       probabilities=probabilities)
