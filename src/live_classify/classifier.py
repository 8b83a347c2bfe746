"""The engine: stages 2–4 for one frame (preprocess → bound inference → postprocess), timed.

The same object serves photos, video files and live cameras: the threads of the live pipeline
only move frames to it and results away from it.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from live_classify.binding import BoundSession
from live_classify.errors import LiveClassifyError, first_line
from live_classify.model import ModelSpec, Overrides, check_model_file, read_spec, with_class_count
from live_classify.postprocess import Smoother, TopK, to_probabilities, top_k
from live_classify.preprocess import Preprocessor
from live_classify.providers import OpenedSession, ProviderOptions, open_session


@dataclass(frozen=True)
class StageTimes:
    """Milliseconds spent in each stage of the engine for one frame."""

    preprocess_ms: float
    inference_ms: float
    postprocess_ms: float


@dataclass(frozen=True)
class Classification:
    """The result for one frame."""

    top: TopK
    times: StageTimes
    probabilities: np.ndarray  # all classes, this frame's own (smoothing over frames comes later)


class Classifier:
    """Classifies BGR frames with one model on one provider, through I/O binding.

    One object serves one thread at a time: its buffers are bound to the session. More threads
    on the same session (which onnxruntime allows) each take a :meth:`sibling`.
    """

    def __init__(self, spec: ModelSpec, opened: OpenedSession, top: int = 5,
                 options: ProviderOptions = ProviderOptions()) -> None:
        pre = spec.preprocessing
        self.opened = opened
        self.options = options
        try:
            self.bound = BoundSession(opened.session, spec.input_name, spec.output_name, pre, opened.device,
                                      options.device_id, options.normalizes_on_device(opened.device),
                                      opened.cuda_graph)
        except Exception as error:  # noqa: BLE001 - onnxruntime's own error types, raised by its first run
            raise LiveClassifyError(f"the model fails on a 1x3x{pre.height}x{pre.width} input: {first_line(error)}") from None
        self.spec = with_class_count(spec, self.bound.classes)
        self._preprocessors: dict[int, Preprocessor] = {}
        self.bound.warm_up()
        self.top = top

    @classmethod
    def open(cls, model: Path, provider: str = "auto", overrides: Overrides = Overrides(),
             options: ProviderOptions = ProviderOptions(), top: int = 5) -> Classifier:
        """Load ``model`` on the best provider ``provider`` allows, ready to classify."""
        check_model_file(model)
        opened = open_session(model, provider, options)
        spec = read_spec(model, opened.session, overrides)
        return cls(spec, opened, top, options)

    def sibling(self) -> Classifier:
        """Another engine on the same session (weights loaded once), with buffers of its own."""
        return Classifier(self.spec, self.opened, self.top, self.options)

    def preprocess(self, bgr: np.ndarray, row: int = 0, batch: int = 1) -> np.ndarray:
        """Stage 2 alone: ``bgr`` into row ``row`` of the bound buffer for a batch of ``batch``."""
        if batch not in self._preprocessors:
            self._preprocessors[batch] = Preprocessor(self.spec.preprocessing, self.bound.buffers(batch).host)
        return self._preprocessors[batch](bgr, row)

    def classify(self, bgr: np.ndarray) -> Classification:
        """Stages 2–4 for one HxWx3 uint8 BGR frame."""
        return self.classify_batch([bgr])[0]

    def classify_batch(self, frames: Sequence[np.ndarray]) -> list[Classification]:
        """Stages 2–4 for several frames in one inference run (each result carries the batch's times)."""
        n = len(frames)
        t0 = time.perf_counter()
        for row, bgr in enumerate(frames):
            self.preprocess(bgr, row, n)
        t1 = time.perf_counter()
        scores = self.bound.run(n)
        t2 = time.perf_counter()
        probabilities = [to_probabilities(row, self.spec.outputs_logits) for row in scores]
        tops = [top_k(p, self.spec.labels, self.top) for p in probabilities]
        t3 = time.perf_counter()
        times = StageTimes((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)
        return [Classification(top, times, p) for top, p in zip(tops, probabilities)]

    def smoothed(self, result: Classification, smoother: Smoother) -> Classification:
        """The same frame's result with its probabilities averaged over the frames before it."""
        probabilities = smoother(result.probabilities)
        return replace(result, top=top_k(probabilities, self.spec.labels, self.top), probabilities=probabilities)
