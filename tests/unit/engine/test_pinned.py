"""Page-locking host buffers through the CUDA runtime, with the runtime faked (no GPU needed)."""
from __future__ import annotations

import ctypes
import gc
import os

import numpy as np
import pytest

from live_classify.engine import pinned


class Runtime:
    """Records the CUDA runtime calls; ``cudaHostRegister`` answers ``status``."""

    def __init__(self, status: int = 0) -> None:
        self.status = status
        self.calls: list[tuple[str, tuple[int, ...]]] = []

    def cudaHostRegister(self, pointer, size, flags) -> int:  # noqa: ANN001, N802
        self.calls.append(("register", (pointer.value, size.value, flags.value)))
        return self.status

    def cudaGetLastError(self) -> int:  # noqa: N802
        self.calls.append(("clear", ()))
        return 0

    def cudaHostUnregister(self, pointer) -> int:  # noqa: ANN001, N802
        self.calls.append(("unregister", (pointer.value,)))
        return 0


def test_a_buffer_is_registered_portable_and_unregistered_when_it_dies(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Runtime()
    monkeypatch.setattr(pinned, "_cuda_runtime", lambda: runtime)
    array = np.zeros((2, 3, 4), np.float32)
    address = array.ctypes.data
    assert pinned.page_lock(array) is True
    assert runtime.calls == [("register", (address, 96, 1))]
    del array
    gc.collect()
    assert runtime.calls[-1] == ("unregister", (address,))


def test_a_refused_registration_clears_cudas_error_and_says_no(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Runtime(status=1)
    monkeypatch.setattr(pinned, "_cuda_runtime", lambda: runtime)
    array = np.zeros(8, np.uint8)
    assert pinned.page_lock(array) is False
    del array
    gc.collect()
    assert [name for name, _ in runtime.calls] == ["register", "clear"], "nothing to unregister"


@pytest.mark.parametrize("array", [np.zeros((4, 4), np.float32)[:, ::2], np.zeros(0, np.float32)],
                         ids=["not contiguous", "empty"])
def test_what_cannot_be_registered_is_left_pageable(monkeypatch: pytest.MonkeyPatch, array: np.ndarray) -> None:
    runtime = Runtime()
    monkeypatch.setattr(pinned, "_cuda_runtime", lambda: runtime)
    assert pinned.page_lock(array) is False and runtime.calls == []


def test_without_a_cuda_runtime_nothing_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pinned, "_cuda_runtime", lambda: None)
    assert pinned.page_lock(np.zeros(8, np.float32)) is False


def test_the_runtime_is_the_one_already_loaded_newest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never a second copy of CUDA: only a library already in the process (RTLD_NOLOAD)."""
    asked: list[tuple[str, int]] = []

    def cdll(name: str, mode: int) -> str:
        asked.append((name, mode))
        if name != "libcudart.so.12":
            raise OSError(f"{name}: not loaded")
        return "runtime 12"

    monkeypatch.setattr(pinned.ctypes, "CDLL", cdll)
    pinned._cuda_runtime.cache_clear()
    try:
        assert pinned._cuda_runtime() == "runtime 12"
        mode = getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL
        assert asked == [("libcudart.so.13", mode), ("libcudart.so.12", mode)]
        pinned._cuda_runtime.cache_clear()
        monkeypatch.setattr(pinned.ctypes, "CDLL", lambda name, mode: (_ for _ in ()).throw(OSError(name)))
        assert pinned._cuda_runtime() is None
    finally:
        pinned._cuda_runtime.cache_clear()
