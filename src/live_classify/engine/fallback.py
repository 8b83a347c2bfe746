"""``--backend-fallback local``: the server while it answers, the local model while it does not.

Preprocessing writes into the local backend's buffer (bound to its session); the same array is
sent to the server, so switching costs nothing. While the server is down each batch runs here,
and the server is tried again after a backoff (0.5 s, 1 s, 2 s ... up to 5 s), so a dead server
costs at most one timeout every few seconds, not one per frame. One line says each switch.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from live_classify.engine.backend import Backend, BackendUnavailable
from live_classify.engine.triton_backend import TritonBackend
from live_classify.errors import LiveClassifyError

FIRST_RETRY_S, LAST_RETRY_S = 0.5, 5.0


class FallbackBackend:
    """A remote backend with a local one standing in while the remote cannot answer."""

    normalize_on_device = False

    def __init__(self, remote: TritonBackend, local: Backend, log: Callable[[str], None]) -> None:
        if local.normalize_on_device:
            raise ValueError("the local backend must take the model's float input, as the server does")
        if local.classes != remote.classes:
            raise LiveClassifyError(f"the server's model outputs {remote.classes} classes, "
                                    f"the local one {local.classes}")
        self.remote = remote
        self.local = local
        self.log = log
        self.classes = remote.classes
        limits = [limit for limit in (remote.max_batch, local.max_batch) if limit]
        self.max_batch = min(limits) if limits else None
        self._retry_s = 0.0  # 0: the server answers
        self._next_try = 0.0

    @property
    def provider(self) -> str:
        return self.remote.provider

    @property
    def short_name(self) -> str:
        return self.remote.short_name

    @property
    def falling_back(self) -> bool:
        """Whether the local model stands in now."""
        return self._retry_s > 0

    def batch_buffer(self, n: int) -> np.ndarray:
        return self.local.batch_buffer(n)

    def infer(self, n: int) -> np.ndarray:
        if not self.falling_back or time.monotonic() >= self._next_try:
            try:
                scores = self.remote.run(self.local.batch_buffer(n))
            except BackendUnavailable as error:
                self._server_down(error)
            else:
                self._server_back()
                return scores
        return self.local.infer(n)

    def _server_down(self, error: BackendUnavailable) -> None:
        if not self.falling_back:
            self.log(f"{error}: classifying on {self.local.short_name} here until it answers again")
        self._retry_s = min(LAST_RETRY_S, self._retry_s * 2) if self.falling_back else FIRST_RETRY_S
        self._next_try = time.monotonic() + self._retry_s

    def _server_back(self) -> None:
        if self.falling_back:
            self.log(f"{self.remote.target.describe()} answers again: classifying there")
            self._retry_s = 0.0

    def features(self, n: int) -> np.ndarray | None:
        return None  # the server sends scores alone (the local model only stands in): taught classes need a local one

    def describe(self, verbose: bool = True) -> str:
        return f"{self.remote.describe(verbose)}; while it is unreachable, here: {self.local.describe(verbose)}"

    def sibling(self) -> FallbackBackend:
        return FallbackBackend(self.remote.sibling(), self.local.sibling(), self.log)
