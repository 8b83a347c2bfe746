"""The Triton backend in-process, without a server: URLs, buffers, the failures' few words, what
``open`` checks and says, and the exact calls made on tritonclient (a fake client module)."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from live_classify.engine import triton_backend
from live_classify.engine.backend import BackendUnavailable
from live_classify.engine.triton_backend import _CHANNEL_ARGS, TritonBackend, _Connection
from live_classify.engine.triton_target import URL_FORM, TritonTarget, backend_url
from live_classify.errors import BadValue, LiveClassifyError

SPEC = SimpleNamespace(input_name="input", output_name="logits", preprocessing=SimpleNamespace(height=4, width=6))
GRPC_TARGET = TritonTarget("gRPC", "box", 8001, "m")


def test_an_ipv6_host_is_bracketed_and_the_description_names_host_and_port() -> None:
    assert TritonTarget("gRPC", "::1", 9001, "m").address == "[::1]:9001"
    assert TritonTarget("HTTP", "10.0.0.5", 8000, "m").describe() == "Triton at 10.0.0.5:8000"


@pytest.mark.parametrize("url, target", [
    ("TRITON://Box/m", TritonTarget("gRPC", "box", 8001, "m")),
    ("triton+http://box:9/m/", TritonTarget("HTTP", "box", 9, "m")),
    ("triton+grpc://box/m", TritonTarget("gRPC", "box", 8001, "m")),
    ("triton://box/XnetX", TritonTarget("gRPC", "box", 8001, "XnetX")),  # only slashes are stripped
])
def test_a_url_gives_protocol_host_port_and_model(url: str, target: TritonTarget) -> None:
    assert backend_url(url) == target


@pytest.mark.parametrize("url", ["http://box/m", "triton://box/", "triton:///m", "triton://box/a/b",
                                 "triton://box/m?v=1", "triton://u@box/m"])
def test_a_bad_url_says_the_expected_form(url: str) -> None:
    with pytest.raises(BadValue) as raised:
        backend_url(url)
    assert str(raised.value) == f"expected {URL_FORM}, not {url!r}"


def test_a_bad_port_says_why() -> None:
    with pytest.raises(BadValue) as raised:
        backend_url("triton://box:99999/m")
    assert str(raised.value).startswith("bad URL 'triton://box:99999/m': Port out of range")


class FakeConnection:
    """What TritonBackend asks of a connection; answers [n, 5] scores, or fails as told."""

    failures = (OSError,)

    def __init__(self, target: TritonTarget = GRPC_TARGET, timeout: float = 2.0, *, ready: bool = True,
                 fail_at: str = "") -> None:
        self.target, self.timeout, self.ready, self.fail_at = target, timeout, ready, fail_at
        self.inferred: list[tuple[str, str, np.ndarray]] = []

    def _maybe_fail(self, step: str) -> None:
        if self.fail_at == step:
            raise OSError(111, "Connection refused")

    def model_ready(self) -> bool:
        self._maybe_fail("ready")
        return self.ready

    def server_model(self) -> str:
        self._maybe_fail("model")
        return "the server's model"

    def infer(self, input_name: str, output_name: str, batch: np.ndarray) -> np.ndarray:
        self._maybe_fail("infer")
        self.inferred.append((input_name, output_name, batch))
        return np.ones((len(batch), 5), np.float32)

    def reason(self, error: BaseException) -> str:
        return f"reason: {error.strerror}"


def test_buffers_have_the_models_input_shape_and_are_kept_per_size() -> None:
    backend = TritonBackend(FakeConnection(), SPEC, 8, 5)  # type: ignore[arg-type]
    first = backend.batch_buffer(2)
    assert first.shape == (2, 3, 4, 6) and first.dtype == np.float32 and not first.any()
    assert backend.batch_buffer(2) is first and backend.batch_buffer(8).shape == (8, 3, 4, 6)
    for n in (0, 9):
        with pytest.raises(ValueError, match=f"^batch of {n}: the server takes 1 to 8 images$"):
            backend.batch_buffer(n)
    unlimited = TritonBackend(FakeConnection(), SPEC, None, 5)  # type: ignore[arg-type]
    assert unlimited.batch_buffer(100).shape == (100, 3, 4, 6)
    with pytest.raises(ValueError, match="^batch of 0: the server takes 1 to any number of images$"):
        unlimited.batch_buffer(0)


def test_infer_sends_the_buffer_and_a_failure_is_the_backend_being_away() -> None:
    connection = FakeConnection()
    backend = TritonBackend(connection, SPEC, None, 5)  # type: ignore[arg-type]
    assert backend.infer(3).shape == (3, 5)
    assert [(i, o, b is backend.batch_buffer(3)) for i, o, b in connection.inferred] == [("input", "logits", True)]
    connection.fail_at = "infer"
    with pytest.raises(BackendUnavailable) as raised:
        backend.run(np.zeros((1, 3, 4, 6), np.float32))
    assert str(raised.value) == "Triton at box:8001 does not answer: reason: Connection refused"


def test_names_and_sibling() -> None:
    connection = FakeConnection()
    backend = TritonBackend(connection, SPEC, 4, 5)  # type: ignore[arg-type]
    assert TritonBackend.normalize_on_device is False
    assert (backend.provider, backend.short_name) == ("Triton at box:8001 (gRPC)", "Triton")
    assert backend.describe() == backend.describe(False) == "inference on Triton at box:8001 (model m, gRPC)"
    twin = backend.sibling()
    assert ((twin.connection, twin.spec, twin.max_batch, twin.classes, twin.target)
            == (connection, SPEC, 4, 5, GRPC_TARGET))
    assert twin.batch_buffer(1) is not backend.batch_buffer(1)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> dict:
    """TritonBackend.open over a FakeConnection whose behaviour the test sets in ``opened["options"]``."""
    seen: dict = {"options": {}}

    def connect(target: TritonTarget, timeout: float) -> FakeConnection:
        seen["connection"] = FakeConnection(target, timeout, **seen["options"])
        return seen["connection"]

    def check(server: object, spec: object, name: str) -> int:
        seen["checked"] = (server, spec, name)
        return 4

    monkeypatch.setattr(triton_backend, "_Connection", connect)
    monkeypatch.setattr(triton_backend, "check_compatible", check)
    return seen


def test_open_checks_the_model_and_learns_the_classes_from_one_batch(opened: dict) -> None:
    backend = TritonBackend.open(GRPC_TARGET, SPEC, 2.5)  # type: ignore[arg-type]
    assert opened["connection"].timeout == 2.5 and backend.connection is opened["connection"]
    assert opened["checked"] == ("the server's model", SPEC, "Triton at box:8001: model 'm'")
    assert (backend.max_batch, backend.classes) == (4, 5)
    assert [(i, o, b.shape) for i, o, b in opened["connection"].inferred] == [("input", "logits", (1, 3, 4, 6))]


@pytest.mark.parametrize("options, message", [
    ({"ready": False}, "Triton at box:8001 (gRPC) has no model 'm' ready (the MODEL of --backend)"),
    ({"fail_at": "ready"}, "cannot reach Triton at box:8001 (gRPC): reason: Connection refused"),
    ({"fail_at": "model"}, "cannot reach Triton at box:8001 (gRPC): reason: Connection refused"),
    ({"fail_at": "infer"}, "Triton at box:8001 (gRPC) cannot classify: reason: Connection refused"),
])
def test_each_problem_at_open_is_one_line(opened: dict, options: dict, message: str) -> None:
    opened["options"] = options
    with pytest.raises(LiveClassifyError) as raised:
        TritonBackend.open(GRPC_TARGET, SPEC, 2.0)  # type: ignore[arg-type]
    assert str(raised.value) == message


class Recorded:
    """A stand-in for tritonclient.grpc / tritonclient.http that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.protocol = ""  # the one asked for
        module = self

        class Client:
            def __init__(self, *args, **kwargs) -> None:
                module.calls.append(("client", args, kwargs, threading.current_thread().name))

            def is_model_ready(self, *args, **kwargs) -> int:
                module.calls.append(("is_model_ready", args, kwargs))
                return 1

            def get_model_metadata(self, *args, **kwargs) -> dict:
                module.calls.append(("get_model_metadata", args, kwargs))
                return {"inputs": [{"name": "input", "datatype": "FP32", "shape": ["-1", "3", "4", "6"]}],
                        "outputs": [{"name": "logits", "datatype": "FP32", "shape": ["-1", "5"]}]}

            def get_model_config(self, *args, **kwargs) -> dict:
                module.calls.append(("get_model_config", args, kwargs))
                return {"config": {"max_batch_size": 8}} if "as_json" in kwargs else {"max_batch_size": 8}

            def infer(self, *args, **kwargs) -> SimpleNamespace:
                module.calls.append(("infer", args, kwargs))
                return SimpleNamespace(
                    as_numpy=lambda name: np.arange(10, dtype=np.float32) if name == "logits" else None)

        class InferInput:
            def __init__(self, *args) -> None:
                module.calls.append(("InferInput", args))

            def set_data_from_numpy(self, batch: np.ndarray, **kwargs) -> None:
                module.calls.append(("set_data", batch.shape, kwargs))

        def requested(*args, **kwargs) -> str:
            module.calls.append(("InferRequestedOutput", args, kwargs))
            return "wanted"

        self.InferenceServerClient, self.InferInput, self.InferRequestedOutput = Client, InferInput, requested


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    module = Recorded()

    def client_module(protocol: str) -> Recorded:
        module.protocol = protocol
        return module

    monkeypatch.setattr(triton_backend, "_client_module", client_module)
    return module


def test_grpc_shares_one_client_with_fast_reconnects_and_bounds_each_call(client: Recorded) -> None:
    connection = _Connection(GRPC_TARGET, 2.0)
    assert client.protocol == "gRPC"
    assert client.calls == [("client", ("box:8001",), {"channel_args": _CHANNEL_ARGS}, "MainThread")]
    assert ("grpc.max_reconnect_backoff_ms", 1000) in _CHANNEL_ARGS
    other = []
    thread = threading.Thread(target=lambda: other.append(connection.client))
    thread.start()
    thread.join()
    assert other == [connection.client] and len(client.calls) == 1
    assert connection.model_ready() is True
    model = connection.server_model()
    names = ([t.name for t in model.inputs], [t.name for t in model.outputs])
    assert (model.max_batch_size, *names) == (8, ["input"], ["logits"])
    assert client.calls[1:] == [("is_model_ready", ("m",), {"client_timeout": 2.0}),
                                ("get_model_metadata", ("m",), {"as_json": True, "client_timeout": 2.0}),
                                ("get_model_config", ("m",), {"as_json": True, "client_timeout": 2.0})]
    assert connection.failures == (InferenceServerException, OSError)


def test_grpc_infer_sends_one_fp32_tensor_and_gives_n_rows(client: Recorded) -> None:
    connection = _Connection(GRPC_TARGET, 2.0)
    scores = connection.infer("input", "logits", np.zeros((2, 3, 4, 6), np.float32))
    assert scores.shape == (2, 5) and scores[1, 0] == 5.0
    assert client.calls[1:] == [("InferInput", ("input", [2, 3, 4, 6], "FP32")), ("set_data", (2, 3, 4, 6), {}),
                                ("InferRequestedOutput", ("logits",), {}),
                                ("infer", ("m", [AnInput()]), {"outputs": ["wanted"], "client_timeout": 2.0})]


class AnInput:
    """Equal to any InferInput the fake module made."""

    def __eq__(self, other: object) -> bool:
        return type(other).__name__ == "InferInput"


def test_http_has_a_client_per_thread_with_the_timeouts_and_binary_data(client: Recorded) -> None:
    connection = _Connection(TritonTarget("HTTP", "box", 8000, "m"), 3.0)
    assert client.protocol == "HTTP"
    assert client.calls == [] and len(connection.failures) == 3 and connection.failures[2].__name__ == "HTTPParseError"
    mine = connection.client
    assert connection.client is mine
    thread = threading.Thread(target=lambda: connection.client, name="other")
    thread.start()
    thread.join()
    timeouts = {"connection_timeout": 3.0, "network_timeout": 3.0}
    assert client.calls == [("client", ("box:8000",), timeouts, "MainThread"),
                            ("client", ("box:8000",), timeouts, "other")]
    del client.calls[:]
    connection.server_model()
    connection.infer("input", "logits", np.zeros((2, 3, 4, 6), np.float32))
    assert client.calls[:2] == [("get_model_metadata", ("m",), {}), ("get_model_config", ("m",), {})]
    assert client.calls[3:5] == [("set_data", (2, 3, 4, 6), {"binary_data": True}),
                                 ("InferRequestedOutput", ("logits",), {"binary_data": True})]
    assert client.calls[5][2] == {"outputs": ["wanted"]}


@pytest.mark.parametrize("error, reason", [
    (TimeoutError(), "no answer within 2.5 s (--backend-timeout)"),
    (InferenceServerException("Deadline Exceeded", status="StatusCode.DEADLINE_EXCEEDED"),
     "no answer within 2.5 s (--backend-timeout)"),
    (ConnectionRefusedError(111, "Connection refused"), "Connection refused"),
    (OSError("no strerror\nsecond line"), "no strerror"),
    (InferenceServerException("failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: "
                              "Connection refused]", status="StatusCode.UNAVAILABLE"), "Connection refused"),
    (InferenceServerException("  model 'm' is not ready\nmore", status="StatusCode.INTERNAL"),
     "model 'm' is not ready"),
    (InferenceServerException("", status="StatusCode.INTERNAL"), "[StatusCode.INTERNAL]"),
    (InferenceServerException("a: b: c"), "a: b: c"),
    (InferenceServerException("Socket closed", status="StatusCode.UNAVAILABLE"), "Socket closed"),
    (InferenceServerException("last error: UNAVAILABLE: DNS resolution failed for triton-box-X]",
                              status="StatusCode.UNAVAILABLE"), "DNS resolution failed for triton-box-X"),
    (ValueError("bad answer\nmore"), "bad answer"),  # e.g. geventhttpclient's HTTPParseError: no message()
], ids=["timeout", "deadline", "refused", "oserror", "unavailable", "internal", "empty", "nostatus", "closed",
        "hostname", "other"])
def test_a_failure_in_a_few_words(client: Recorded, error: BaseException, reason: str) -> None:
    assert _Connection(GRPC_TARGET, 2.5).reason(error) == reason


def test_a_missing_client_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise ImportError(name)

    monkeypatch.setattr(triton_backend.importlib, "import_module", missing)
    with pytest.raises(LiveClassifyError) as raised:
        triton_backend._client_module("HTTP")
    assert str(raised.value) == "--backend over HTTP needs tritonclient.http: pip install 'live-classify[triton]'"
    with pytest.raises(LiveClassifyError, match="^--backend over gRPC needs tritonclient.grpc: "):
        triton_backend._client_module("gRPC")
