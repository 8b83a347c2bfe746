"""Stage 3 behind one small interface: a batch of tensors in, class scores out, wherever it runs.

A backend knows tensors, not frames. The classifier preprocesses each frame into a row of the
backend's batch buffer, asks for ``infer(n)``, and postprocesses the scores. The onnxruntime
backend (``onnx_backend.py``) runs the model here, on TensorRT, CUDA or the CPU; a remote one
(an inference server) fills the same shape.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np


class BackendUnavailable(Exception):
    """A remote backend cannot answer now (server down, timeout): the run waits it out."""


class Backend(Protocol):
    """What the classifier needs from whatever runs the model."""

    provider: str  # what runs it, e.g. "CUDAExecutionProvider"
    short_name: str  # e.g. "CUDA", for the overlay
    max_batch: int | None  # None: any batch size
    classes: int
    normalize_on_device: bool  # the batch buffer holds uint8 NHWC pixels, not the model's float input

    def batch_buffer(self, n: int) -> np.ndarray:
        """The host buffer preprocessing writes a batch of ``n`` into (reused for every batch of ``n``)."""

    def infer(self, n: int) -> np.ndarray:
        """``[n, classes]`` scores for the current contents of ``batch_buffer(n)``."""

    def describe(self, verbose: bool = True) -> str:
        """One line: what runs the model and, where a better choice was not taken, why (briefly
        unless ``verbose``)."""

    def sibling(self) -> Backend:
        """Another backend on the same loaded model, with buffers of its own (one per thread)."""
