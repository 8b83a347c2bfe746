"""Choosing the provider and saying so, with onnxruntime's sessions faked where a GPU would be needed."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import onnxruntime as ort
import pytest

from live_classify.engine import providers
from live_classify.engine.providers import CPU, CUDA, TENSORRT, OpenedSession, ProviderOptions, open_session
from live_classify.errors import LiveClassifyError

MODEL = Path("model.onnx")  # never opened: _try_provider is faked


@pytest.mark.parametrize("normalize, device, on_device", [
    ("auto", "cuda", True), ("auto", "cpu", False), ("device", "cpu", True), ("device", "cuda", True),
    ("host", "cuda", False), ("host", "cpu", False),
])
def test_where_normalization_runs(normalize: str, device: str, on_device: bool) -> None:
    assert ProviderOptions(normalize=normalize).normalizes_on_device(device) is on_device


def test_tensorrt_engines_are_cached_under_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ProviderOptions().tensorrt_cache == tmp_path / "live-classify" / "tensorrt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert ProviderOptions().tensorrt_cache == Path.home() / ".cache" / "live-classify" / "tensorrt"


def test_what_runs_in_one_line_and_briefly() -> None:
    graphs = OpenedSession(None, CUDA, {}, cuda_graph=True)  # type: ignore[arg-type]
    assert (graphs.device, graphs.short_name) == ("cuda", "CUDA")
    assert graphs.describe() == graphs.brief() == "running on CUDA (CUDAExecutionProvider) with CUDA graphs"
    off = OpenedSession(None, CUDA, {TENSORRT: "libnvinfer.so.10: cannot open"}, graph_off="not capturable")  # type: ignore[arg-type]
    assert off.describe() == ("running on CUDA (CUDAExecutionProvider); CUDA graph off: not capturable"
                              " — TensorRT unavailable: libnvinfer.so.10: cannot open")
    assert off.brief() == ("running on CUDA (CUDAExecutionProvider); CUDA graph off: not capturable; "
                           "TensorRT not available (--verbose says why)")
    cpu = OpenedSession(None, CPU, {TENSORRT: "a — b", CUDA: "c"})  # type: ignore[arg-type]
    assert (cpu.device, cpu.short_name) == ("cpu", "CPU")
    assert cpu.describe() == "running on CPU (CPUExecutionProvider) — TensorRT unavailable: a — b; CUDA unavailable: c"
    assert cpu.brief() == "running on CPU (CPUExecutionProvider); TensorRT and CUDA not available (--verbose says why)"
    other = OpenedSession(None, "OpenVINOExecutionProvider", {})  # type: ignore[arg-type]
    assert (other.short_name, other.device) == ("OpenVINO", "cuda")


def test_each_gpu_provider_gets_its_options() -> None:
    options = ProviderOptions(device_id=3, tensorrt_fp16=False, tensorrt_cache=Path("/cache/trt"))
    assert providers._provider_options(CUDA, options) == {
        "device_id": 3, "cudnn_conv_algo_search": "HEURISTIC", "enable_cuda_graph": "1"}
    assert providers._provider_options(CUDA, ProviderOptions(cuda_graph=False))["enable_cuda_graph"] == "0"
    assert providers._provider_options(CUDA, ProviderOptions(cuda_graph=True))["enable_cuda_graph"] == "1"
    assert providers._provider_options(TENSORRT, options) == {
        "device_id": 3, "trt_fp16_enable": "0", "trt_engine_cache_enable": "1", "trt_engine_cache_path": "/cache/trt",
        "trt_timing_cache_enable": "1", "trt_timing_cache_path": "/cache/trt"}
    assert providers._provider_options(TENSORRT, ProviderOptions())["trt_fp16_enable"] == "1"
    assert providers._provider_options(CPU, options) == {}


@pytest.mark.parametrize("noise, reason", [
    ("[E:onnxruntime] Failed to load library libonnxruntime_providers_cuda.so with error: "
     "libcublasLt.so.13: cannot open shared object file: No such file or directory\x1b[m\nEP Error: fell back\n",
     "libcublasLt.so.13: cannot open shared object file: No such file or directory"),
    ("first\n\x1b[1;31m2026 [E] the last error \x1b[m\n  \n**********\n*\n", "2026 [E] the last error"),
    ("x" * 300 + "\n", "x" * 200),
    ("", "the provider did not start (no reason given)"),
    ("\n***\n", "the provider did not start (no reason given)"),
])
def test_the_reason_is_the_most_useful_line_of_the_noise(noise: str, reason: str) -> None:
    assert providers._reason(noise) == reason


class Session:
    """What onnxruntime gives back: a session on ``actual`` (a silent fallback when not the one asked)."""

    def __init__(self, actual: str) -> None:
        self.actual = actual

    def get_providers(self) -> list[str]:
        return [self.actual, CPU]


def fake(monkeypatch: pytest.MonkeyPatch, answers: dict[str, tuple[str | None, str]],
         available: tuple[str, ...] = (TENSORRT, CUDA, CPU)) -> list[tuple[str, ProviderOptions]]:
    """``answers``: provider -> (the provider the session really runs on, or None: no session; its noise)."""
    tried: list[tuple[str, ProviderOptions]] = []

    def attempt(model: Path, provider: str, options: ProviderOptions):  # noqa: ANN202
        tried.append((provider, options))
        actual, noise = answers[provider]
        return (Session(actual) if actual else None), noise

    monkeypatch.setattr(providers, "_try_provider", attempt)
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: list(available))
    return tried


def test_auto_takes_the_first_provider_that_really_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    tried = fake(monkeypatch, {TENSORRT: (None, "libnvinfer.so.10: cannot open\n"), CUDA: (CPU, "cuda fell back\n"),
                               CPU: (CPU, "")})
    opened = open_session(MODEL, "auto", ProviderOptions())
    assert (opened.provider, opened.cuda_graph, opened.graph_off) == (CPU, False, "")
    assert opened.skipped == {TENSORRT: "libnvinfer.so.10: cannot open", CUDA: "cuda fell back"}
    assert [provider for provider, _ in tried] == [TENSORRT, CUDA, CPU]


def test_a_provider_missing_from_the_build_is_not_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    tried = fake(monkeypatch, {CPU: (CPU, "")}, available=(CPU,))
    opened = open_session(MODEL, "auto", ProviderOptions())
    assert opened.skipped == {TENSORRT: "not in this onnxruntime build (install onnxruntime-gpu)",
                              CUDA: "not in this onnxruntime build (install onnxruntime-gpu)"}
    assert [provider for provider, _ in tried] == [CPU]


@pytest.mark.parametrize("cuda_graph, graph", [(None, True), (True, True), (False, False)])
def test_cuda_runs_with_graphs_unless_they_are_turned_off(monkeypatch: pytest.MonkeyPatch, cuda_graph: bool | None,
                                                          graph: bool) -> None:
    fake(monkeypatch, {CUDA: (CUDA, "")})
    assert open_session(MODEL, "cuda", ProviderOptions(cuda_graph=cuda_graph)).cuda_graph is graph


def test_tensorrt_never_claims_cuda_graphs_nor_retries_without_them(monkeypatch: pytest.MonkeyPatch) -> None:
    tried = fake(monkeypatch, {TENSORRT: (TENSORRT, "")})
    assert open_session(MODEL, "tensorrt", ProviderOptions()).cuda_graph is False
    tried = fake(monkeypatch, {TENSORRT: (None, "the graph capture failed\n"), CUDA: (CUDA, "")})
    opened = open_session(MODEL, "auto", ProviderOptions())
    assert [provider for provider, _ in tried] == [TENSORRT, CUDA]
    assert opened.skipped == {TENSORRT: "the graph capture failed"} and opened.graph_off == ""


@pytest.mark.parametrize("choice, message", [
    ("cuda", "--provider cuda: CUDA cannot start: no CUDA-capable device is detected"),
    ("tensorrt", "--provider tensorrt: TensorRT cannot start: libnvinfer.so.10: cannot open"),
    ("auto", "no onnxruntime provider could start: libnvinfer.so.10: cannot open; "
             "no CUDA-capable device is detected; the provider did not start (no reason given)"),
])
def test_a_provider_that_cannot_start_is_one_line(monkeypatch: pytest.MonkeyPatch, choice: str, message: str) -> None:
    fake(monkeypatch, {TENSORRT: (None, "libnvinfer.so.10: cannot open\n"),
                       CUDA: (CPU, "no CUDA-capable device is detected\n"), CPU: (None, "")})
    with pytest.raises(LiveClassifyError) as raised:
        open_session(MODEL, choice, ProviderOptions())
    assert str(raised.value) == message


def test_an_unknown_choice_names_the_choices() -> None:
    with pytest.raises(LiveClassifyError) as raised:
        open_session(MODEL, "opencl", ProviderOptions())
    assert str(raised.value) == "unknown provider 'opencl': choose one of auto, tensorrt, cuda, cpu"


class Recorder:
    """Stands in for ``ort.InferenceSession``: records what it was given, or fails as told."""

    calls: list[tuple[str, ort.SessionOptions, list[object]]] = []
    error: Exception | None = None

    def __init__(self, path: str, options: ort.SessionOptions, providers: list[object]) -> None:
        Recorder.calls.append((path, options, providers))
        print("noise from python")
        os.write(2, b"noise from C++\n")
        if Recorder.error is not None:
            raise Recorder.error


def test_one_attempt_asks_for_the_provider_then_the_cpu_and_keeps_the_noise(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    preloads: list[int] = []
    monkeypatch.setattr(providers, "_preload_gpu_libraries", lambda: preloads.append(1))
    monkeypatch.setattr(providers.ort, "InferenceSession", Recorder)
    Recorder.calls, Recorder.error = [], None
    options = ProviderOptions(device_id=1, threads=3, spin=False)
    session, noise = providers._try_provider(MODEL, CUDA, options)
    assert isinstance(session, Recorder) and preloads == [1]
    path, session_options, asked = Recorder.calls[-1]
    assert path == "model.onnx" and asked == [(CUDA, providers._provider_options(CUDA, options)), CPU]
    assert session_options.intra_op_num_threads == 3 and session_options.log_severity_level == 3
    assert session_options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert "noise from python" in noise and "noise from C++" in noise
    assert capfd.readouterr() == ("", ""), "the noise leaked"
    session, _ = providers._try_provider(MODEL, CPU, ProviderOptions())
    _, session_options, asked = Recorder.calls[-1]
    assert asked == [(CPU, {})] and preloads == [1], "no GPU libraries for the CPU"
    assert session_options.intra_op_num_threads == 0
    with pytest.raises(RuntimeError, match="does not have configuration"):  # spinning left as onnxruntime has it
        session_options.get_session_config_entry("session.intra_op.allow_spinning")


def test_a_failed_attempt_is_noise_on_a_gpu_and_an_error_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "_preload_gpu_libraries", lambda: None)
    monkeypatch.setattr(providers.ort, "InferenceSession", Recorder)
    Recorder.error = RuntimeError("CUDA failure 100: no CUDA-capable device\nat line 12")
    try:
        session, noise = providers._try_provider(MODEL, CUDA, ProviderOptions())
        assert session is None and "CUDA failure 100: no CUDA-capable device" in noise
        Recorder.error = RuntimeError("[ONNXRuntimeError] : 7 : INVALID_PROTOBUF\nmore")
        with pytest.raises(LiveClassifyError) as raised:
            providers._try_provider(MODEL, CPU, ProviderOptions())
        assert str(raised.value) == "cannot load model model.onnx: [ONNXRuntimeError] : 7 : INVALID_PROTOBUF"
    finally:
        Recorder.error = None


def test_captured_output_takes_both_streams_at_the_descriptor_and_gives_them_back(
        capfd: pytest.CaptureFixture[str]) -> None:
    with providers._captured_output() as noise:
        print("to stdout")
        print("to stderr", file=sys.stderr)
        os.write(1, b"fd 1\n")
        os.write(2, b"fd 2\n")
    print("after")
    assert sorted(noise.getvalue().splitlines()) == ["fd 1", "fd 2", "to stderr", "to stdout"]
    assert capfd.readouterr() == ("after\n", "")
