"""Page-locked host buffers, so that each frame's copy to the GPU goes straight to the device.

A copy from ordinary (pageable) memory is staged by the CUDA driver through a pinned bounce
buffer; from page-locked memory it is one DMA transfer. onnxruntime's Python API cannot allocate
pinned memory for the CUDA provider, so we page-lock our own numpy buffers with
``cudaHostRegister`` from the CUDA runtime that the CUDA provider has already loaded (never
another copy of it). Where that is not possible, the buffer stays pageable: correct, a bit slower.
"""
from __future__ import annotations

import ctypes
import functools
import os
import weakref

import numpy as np

_CUDA_RUNTIMES = ("libcudart.so.13", "libcudart.so.12", "cudart64_13.dll", "cudart64_12.dll")
_PORTABLE = 1  # cudaHostRegisterPortable: pinned for every CUDA context, not only the current one


@functools.cache
def _cuda_runtime() -> ctypes.CDLL | None:
    """The CUDA runtime already in this process (loaded by the CUDA provider), or None."""
    mode = getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL
    for name in _CUDA_RUNTIMES:
        try:
            return ctypes.CDLL(name, mode=mode)
        except OSError:
            continue
    return None


def page_lock(array: np.ndarray) -> bool:
    """Page-lock ``array``'s memory for as long as the array lives; False where it cannot be done."""
    runtime = _cuda_runtime()
    if runtime is None or not array.flags.c_contiguous or array.nbytes == 0:
        return False
    pointer = ctypes.c_void_p(array.ctypes.data)
    if runtime.cudaHostRegister(pointer, ctypes.c_size_t(array.nbytes), ctypes.c_uint(_PORTABLE)) != 0:
        runtime.cudaGetLastError()  # clear the sticky error so later CUDA calls are not blamed
        return False
    weakref.finalize(array, runtime.cudaHostUnregister, pointer)
    return True
