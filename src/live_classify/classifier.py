"""The engine: stages 2–4 for one frame (preprocess → bound inference → postprocess), timed.

The same object serves photos, video files and live cameras: the threads of the live pipeline
only move frames to it and results away from it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from live_classify.binding import BoundSession
from live_classify.errors import LiveClassifyError
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

    def __init__(self, spec: ModelSpec, opened: OpenedSession, top: int = 5, device_id: int = 0) -> None:
        pre = spec.preprocessing
        self.opened = opened
        self.device_id = device_id
        try:
            self.bound = BoundSession(opened.session, spec.input_name, spec.output_name,
                                      (1, 3, pre.height, pre.width), opened.device, device_id)
        except Exception as error:  # noqa: BLE001 - onnxruntime's own error types, raised by its first run
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise LiveClassifyError(f"the model fails on a 1x3x{pre.height}x{pre.width} input: {first}") from None
        self.spec = with_class_count(spec, int(np.prod(self.bound.scores_shape[1:])))
        self.preprocess = Preprocessor(pre, self.bound.input)
        self.bound.warm_up()
        self.top = top

    @classmethod
    def open(cls, model: Path, provider: str = "auto", overrides: Overrides = Overrides(),
             options: ProviderOptions = ProviderOptions(), top: int = 5) -> Classifier:
        """Load ``model`` on the best provider ``provider`` allows, ready to classify."""
        check_model_file(model)
        opened = open_session(model, provider, options)
        spec = read_spec(model, opened.session, overrides)
        return cls(spec, opened, top, options.device_id)

    def sibling(self) -> Classifier:
        """Another engine on the same session (weights loaded once), with buffers of its own."""
        return Classifier(self.spec, self.opened, self.top, self.device_id)

    def classify(self, bgr: np.ndarray) -> Classification:
        """Stages 2–4 for one HxWx3 uint8 BGR frame."""
        t0 = time.perf_counter()
        self.preprocess(bgr)
        t1 = time.perf_counter()
        scores = self.bound.run()
        t2 = time.perf_counter()
        probabilities = to_probabilities(scores, self.spec.outputs_logits)
        result = top_k(probabilities, self.spec.labels, self.top)
        t3 = time.perf_counter()
        return Classification(result, StageTimes((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3), probabilities)

    def smoothed(self, result: Classification, smoother: Smoother) -> Classification:
        """The same frame's result with its probabilities averaged over the frames before it."""
        probabilities = smoother(result.probabilities)
        return replace(result, top=top_k(probabilities, self.spec.labels, self.top), probabilities=probabilities)
