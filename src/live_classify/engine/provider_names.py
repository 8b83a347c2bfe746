"""onnxruntime's execution providers by name, and ``--provider``'s choices: plain names, so that the
command line and the stream read them without loading onnxruntime."""
from __future__ import annotations

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

#: ``--provider`` choices and the providers each one tries, best first.
CHOICES: dict[str, tuple[str, ...]] = {
    "auto": (TENSORRT, CUDA, CPU),
    "tensorrt": (TENSORRT,),
    "cuda": (CUDA,),
    "cpu": (CPU,),
}
SHORT_NAMES = {TENSORRT: "TensorRT", CUDA: "CUDA", CPU: "CPU"}
