"""The onnxruntime backend: a session on the best provider allowed, its buffers bound once."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from live_classify import log
from live_classify.engine.binding import BoundSession
from live_classify.engine.model import ModelSpec
from live_classify.engine.providers import OpenedSession, ProviderOptions, open_session
from live_classify.errors import LiveClassifyError, first_line


class OnnxBackend:
    """One model on one onnxruntime provider, run through I/O binding (see ``binding.py``)."""

    def __init__(self, opened: OpenedSession, spec: ModelSpec, options: ProviderOptions) -> None:
        pre = spec.preprocessing
        self.opened = opened
        self.spec = spec
        self.options = options
        try:
            self.bound = BoundSession(opened.session, spec.input_name, spec.output_name, pre, opened.device,
                                      options.device_id, options.normalizes_on_device(opened.device), opened.cuda_graph)
        except Exception as error:  # noqa: BLE001 - onnxruntime's own error types, raised by its first run
            log.debug_traceback("the model's first run", error)
            raise LiveClassifyError(
                f"the model fails on a 1x3x{pre.height}x{pre.width} input: {first_line(error)}") from None
        self.bound.warm_up()

    @classmethod
    def open(cls, model: Path, spec: ModelSpec, provider: str, options: ProviderOptions) -> OnnxBackend:
        """Load ``model`` on the best provider that ``provider`` allows."""
        return cls(open_session(model, provider, options), spec, options)

    @property
    def provider(self) -> str:
        return self.opened.provider

    @property
    def short_name(self) -> str:
        return self.opened.short_name

    @property
    def max_batch(self) -> int | None:
        return self.bound.max_batch

    @property
    def classes(self) -> int:
        return self.bound.classes

    @property
    def normalize_on_device(self) -> bool:
        return self.bound.normalize_on_device

    def batch_buffer(self, n: int) -> np.ndarray:
        return self.bound.buffers(n).host

    def infer(self, n: int) -> np.ndarray:
        return self.bound.run(n)

    def features(self, n: int) -> np.ndarray | None:
        return self.bound.features(n)

    def describe(self, verbose: bool = True) -> str:
        return self.opened.describe() if verbose else self.opened.brief()

    def sibling(self) -> OnnxBackend:
        return OnnxBackend(self.opened, self.spec, self.options)
