"""The frozen backbone as a feature extractor: what the head is trained on."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from live_classify.engine.model import Preprocessing, describe_model
from live_classify.engine.preprocess import Preprocessor
from live_classify.errors import LiveClassifyError

FEATURES = "features"  # the backbone's pooled output the head is trained on


class FeatureExtractor:
    """The backbone on the CPU: BGR images in, pooled ``features`` out, preprocessed exactly as
    the live classifier preprocesses a frame (the same :class:`Preprocessor`, the model's metadata)."""

    def __init__(self, model: Path, batch: int = 16) -> None:
        spec = describe_model(model)
        self.model = model
        self.session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        if FEATURES not in [o.name for o in self.session.get_outputs()]:
            raise LiveClassifyError(f"{model} has no {FEATURES!r} output to train a head on")
        self.input_name = spec.input_name
        self.preprocessing: Preprocessing = spec.preprocessing
        self.batch = batch
        self._buffer = np.zeros((1, 3, spec.preprocessing.height, spec.preprocessing.width), np.float32)
        self._preprocess = Preprocessor(spec.preprocessing, self._buffer)

    def __call__(self, images: Sequence[np.ndarray], done: Callable[[int], None] | None = None) -> np.ndarray:
        """``[N, D]`` float32 features of ``images``, run in batches; ``done(n)`` after each batch
        (``n`` images so far)."""
        pre = self.preprocessing
        chunks = []
        for start in range(0, len(images), self.batch):
            part = images[start : start + self.batch]
            tensor = np.empty((len(part), 3, pre.height, pre.width), np.float32)
            for i, image in enumerate(part):
                tensor[i] = self._preprocess(image)[0]
            chunks.append(self.session.run([FEATURES], {self.input_name: tensor})[0])
            if done is not None:
                done(start + len(part))
        return np.concatenate(chunks).astype(np.float32, copy=False)
