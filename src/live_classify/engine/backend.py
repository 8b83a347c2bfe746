"""Stage 3 behind one small interface: a batch of tensors in, class scores out, wherever it runs.

A backend knows tensors, not frames. The classifier preprocesses each frame into a row of the
backend's batch buffer, asks for ``infer(n)``, and postprocesses the scores. The onnxruntime
backend (``onnx_backend.py``) runs the model here, on TensorRT, CUDA or the CPU; the Triton one
(``triton_backend.py``) sends the batch to an inference server, and may fail for a while: then
``infer`` raises :class:`BackendUnavailable`, and retrying is the caller's choice.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np


class BackendUnavailable(Exception):
    """A remote backend cannot answer now (a server down, or no answer within the timeout), but
    may again later: the run waits it out (live frames are dropped, a file's frames wait)."""


class Backend(Protocol):
    """What the classifier needs from whatever runs the model."""

    # Read-only: each backend says them as attributes or as properties.
    @property
    def provider(self) -> str:
        """What runs it, e.g. "CUDAExecutionProvider"."""

    @property
    def short_name(self) -> str:
        """E.g. "CUDA", for the overlay."""

    @property
    def max_batch(self) -> int | None:
        """The largest batch it takes (None: any)."""

    @property
    def classes(self) -> int:
        """Scores per frame."""

    @property
    def normalize_on_device(self) -> bool:
        """The batch buffer holds uint8 NHWC pixels, not the model's float input."""

    def batch_buffer(self, n: int) -> np.ndarray:
        """The host buffer preprocessing writes a batch of ``n`` into (reused for every batch of ``n``)."""

    def infer(self, n: int) -> np.ndarray:
        """``[n, classes]`` scores for the current contents of ``batch_buffer(n)``; raises
        :class:`BackendUnavailable` when a remote backend cannot answer now."""

    def features(self, n: int) -> np.ndarray | None:
        """``[n, D]`` features of the last ``infer(n)`` (the model's ``features`` output), or None when
        the backend has none: then no taught class can claim a frame."""

    def describe(self, verbose: bool = True) -> str:
        """One line: what runs the model and, where a better choice was not taken, why (briefly
        unless ``verbose``)."""

    def sibling(self) -> Backend:
        """Another backend on the same loaded model, with buffers of its own (one per thread)."""
