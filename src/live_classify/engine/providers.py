"""Open an onnxruntime session on the provider the user asked for, and say honestly which one runs.

onnxruntime-gpu falls back to the CPU silently when CUDA or TensorRT libraries are missing, after
printing a wall of errors (some from C++ to fd 2, some from Python to stdout). We try each GPU
provider in turn with that noise captured, keep only the reason ("libcublasLt.so.13: cannot open
shared object file"), and check ``session.get_providers()`` ourselves.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import onnxruntime as ort

from live_classify import log
from live_classify.engine.provider_names import CHOICES, CPU, CUDA, SHORT_NAMES, TENSORRT
from live_classify.errors import LiveClassifyError, first_line


@dataclass(frozen=True)
class ProviderOptions:
    """Knobs for the GPU providers; the defaults start fast and keep TensorRT engines between runs."""

    device_id: int = 0
    # CUDA: replay the model as one CUDA graph instead of ~200 kernel launches (2.5x at batch 1 on an
    # H200). None: on where the model allows it, quietly off (and said) where it does not.
    cuda_graph: bool | None = None
    tensorrt_fp16: bool = True
    tensorrt_cache: Path = field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "live-classify" / "tensorrt"
    )
    threads: int = 0  # 0: onnxruntime's default (one per physical core)
    # onnxruntime's CPU workers spin-wait between runs by default: fastest for back-to-back runs,
    # but the spinning steals a core from the capture thread in the live pipeline.
    spin: bool = True
    # Where ``(x - mean) / std`` runs: "device" sends uint8 pixels to the GPU and normalizes there,
    # "host" does it in numpy, "auto" picks "device" on a GPU and "host" on the CPU.
    normalize: str = "auto"

    def normalizes_on_device(self, device: str) -> bool:
        """Whether normalization runs on the device, for a session whose buffers live on ``device``."""
        return self.normalize == "device" or (self.normalize == "auto" and device != "cpu")


@dataclass(frozen=True)
class OpenedSession:
    """A session and the story of how its provider was chosen."""

    session: ort.InferenceSession
    provider: str
    skipped: dict[str, str]  # provider -> why it was not taken
    cuda_graph: bool = False  # the session replays CUDA graphs
    graph_off: str = ""  # why a CUDA graph could not be used, when one was not asked for explicitly

    @property
    def device(self) -> str:
        """Where I/O-binding buffers live: 'cuda' for the GPU providers, else 'cpu'."""
        return "cpu" if self.provider == CPU else "cuda"

    @property
    def short_name(self) -> str:
        """'TensorRT', 'CUDA' or 'CPU'."""
        return SHORT_NAMES.get(self.provider, self.provider.removesuffix("ExecutionProvider"))

    def describe(self) -> str:
        """One line: what runs, and why a GPU provider that was tried does not."""
        line = f"running on {self.short_name} ({self.provider})" + (" with CUDA graphs" if self.cuda_graph else "")
        if self.graph_off:
            line += f"; CUDA graph off: {self.graph_off}"
        if self.skipped:
            why = "; ".join(f"{SHORT_NAMES[p]} unavailable: {r}" for p, r in self.skipped.items())
            line += f" — {why}"
        return line

    def brief(self) -> str:
        """The same line, short: which providers did not start, not why (``describe()`` says why)."""
        if not self.skipped:
            return self.describe()
        others = " and ".join(SHORT_NAMES.get(p, p) for p in self.skipped)
        return f"{self.describe().split(' — ', 1)[0]}; {others} not available (--verbose says why)"


def open_session(model: Path, choice: str, options: ProviderOptions) -> OpenedSession:
    """Create the session on the best provider ``choice`` allows; fail if a named GPU can't start."""
    if choice not in CHOICES:
        raise LiveClassifyError(f"unknown provider {choice!r}: choose one of {', '.join(CHOICES)}")
    ort.set_default_logger_severity(3)  # errors only; we report provider problems ourselves
    available = set(ort.get_available_providers())
    skipped: dict[str, str] = {}
    for provider in CHOICES[choice]:
        if provider not in available:
            skipped[provider] = "not in this onnxruntime build (install onnxruntime-gpu)"
            continue
        session, noise = _try_provider(model, provider, options)
        graph_off = ""
        if session is None and provider == CUDA and options.cuda_graph is None and "graph" in noise.lower():
            graph_off = _reason(noise)  # the model cannot be captured: the same provider without the graph
            session, noise = _try_provider(model, provider, replace(options, cuda_graph=False))
        if session is not None and session.get_providers()[0] == provider:
            graph = provider == CUDA and options.cuda_graph is not False and not graph_off
            return OpenedSession(session, provider, skipped, graph, graph_off)
        skipped[provider] = _reason(noise)
    if choice == "auto":  # unreachable in practice: the CPU provider is in every build
        raise LiveClassifyError("no onnxruntime provider could start: " + "; ".join(skipped.values()))
    name = SHORT_NAMES[CHOICES[choice][0]]
    raise LiveClassifyError(f"--provider {choice}: {name} cannot start: {skipped[CHOICES[choice][0]]}")


def _try_provider(
    model: Path, provider: str, options: ProviderOptions
) -> tuple[ort.InferenceSession | None, str]:
    """One attempt at a session on ``provider`` (CPU as its only fallback), its noise captured."""
    session_options = ort.SessionOptions()
    session_options.log_severity_level = 3
    session_options.intra_op_num_threads = options.threads
    if not options.spin:
        session_options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers: list[tuple[str, dict[str, object]] | str] = [(provider, _provider_options(provider, options))]
    if provider != CPU:
        providers.append(CPU)
    failed: Exception | None = None
    with _captured_output() as noise:
        if provider != CPU:
            _preload_gpu_libraries()
        try:
            session = ort.InferenceSession(str(model), session_options, providers=providers)
        except Exception as error:  # noqa: BLE001 - onnxruntime raises bare RuntimeError/Fail types
            session, failed = None, error
            if provider != CPU:
                print(error, file=sys.stderr)  # the noise that says why this provider was not taken
    if failed is not None and provider == CPU:  # said outside the capture, which would swallow it
        log.debug_traceback(f"cannot load model {model}", failed)
        raise LiveClassifyError(f"cannot load model {model}: {first_line(failed)}") from None
    return session, noise.getvalue()


@functools.cache
def _preload_gpu_libraries() -> None:
    """Once per process, however many GPU providers are tried: load CUDA/cuDNN from the nvidia-*
    Python packages where they are installed that way."""
    if hasattr(ort, "preload_dlls"):
        ort.preload_dlls()


def _provider_options(provider: str, options: ProviderOptions) -> dict[str, object]:
    """Sensible options: cuDNN's heuristic algorithm search (fast start), TensorRT fp16 + engine cache."""
    if provider == CUDA:
        return {
            "device_id": options.device_id,
            "cudnn_conv_algo_search": "HEURISTIC",
            "enable_cuda_graph": "0" if options.cuda_graph is False else "1",
        }
    if provider == TENSORRT:
        return {
            "device_id": options.device_id,
            "trt_fp16_enable": "1" if options.tensorrt_fp16 else "0",
            "trt_engine_cache_enable": "1",
            "trt_engine_cache_path": str(options.tensorrt_cache),
            "trt_timing_cache_enable": "1",
            "trt_timing_cache_path": str(options.tensorrt_cache),
        }
    return {}


@contextlib.contextmanager
def _captured_output() -> Iterator[io.StringIO]:
    """Capture stdout and stderr at the file-descriptor level too, where onnxruntime's C++ writes.

    The yielded buffer holds everything printed once the ``with`` block has ended.
    """
    noise = io.StringIO()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            for fd in saved:
                os.dup2(sink.fileno(), fd)
            with contextlib.redirect_stdout(noise), contextlib.redirect_stderr(noise):
                yield noise
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            noise.write(sink.read().decode(errors="replace"))


def _reason(noise: str) -> str:
    """The most useful line of onnxruntime's noise: which library failed to load, or the last error."""
    missing = re.search(r"with error: ([^\n]+?)(?:\x1b\[m)?$", noise, re.MULTILINE)
    if missing:
        return missing.group(1).strip()
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in noise.splitlines()]
    lines = [line for line in lines if line and not set(line) <= {"*"}]
    return lines[-1][:200] if lines else "the provider did not start (no reason given)"
