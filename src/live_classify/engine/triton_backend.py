"""Stage 3 on a Triton Inference Server: the batch goes to the server, the scores come back.

Everything else stays on the box: capture, preprocessing, overlay, recording. The labels and
preprocessing come from the local ONNX file (``--model``), so at the start the server's model is
checked against it (``triton_signature.py``): a server that runs another model would give answers
that look right and are not. Each batch is one request (no shared memory: the server may be
another machine); a server that is down or does not answer within the timeout makes ``infer``
raise :class:`BackendUnavailable`, and the caller decides when to try again.

``tritonclient`` is an optional extra (``pip install 'live-classify[triton]'``), imported only here
and only when ``--backend`` names a server.
"""
from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

import numpy as np

from live_classify.engine.backend import BackendUnavailable
from live_classify.engine.model import ModelSpec
from live_classify.engine.triton_signature import ServerModel, check_compatible
from live_classify.engine.triton_target import GRPC, HTTP, TritonTarget
from live_classify.errors import LiveClassifyError, first_line

INSTALL_HINT = "pip install 'live-classify[triton]'"
# gRPC retries a lost connection after up to 120 s by default: a server that is back must be
# found again within a second. Our requests are batches of images, larger than gRPC's 4 MB default.
_CHANNEL_ARGS = [
    ("grpc.max_send_message_length", 2**31 - 1), ("grpc.max_receive_message_length", 2**31 - 1),
    ("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


class TritonBackend:
    """The model on a Triton server, behind the same shape as the local backend (``backend.Backend``)."""

    normalize_on_device = False  # the server gets the model's own float input

    def __init__(self, connection: _Connection, spec: ModelSpec, max_batch: int | None, classes: int) -> None:
        self.connection = connection
        self.target = connection.target
        self.spec = spec
        self.max_batch = max_batch
        self.classes = classes
        self._buffers: dict[int, np.ndarray] = {}

    @classmethod
    def open(cls, target: TritonTarget, spec: ModelSpec, timeout: float) -> TritonBackend:
        """Connect, check the server's model against ``spec``, and run one batch: any problem is one line."""
        connection = _Connection(target, timeout)
        where = f"{target.describe()} ({target.protocol})"
        try:
            if not connection.model_ready():
                raise LiveClassifyError(f"{where} has no model {target.model!r} ready (the MODEL of --backend)")
            server = connection.server_model()
        except connection.failures as error:
            raise LiveClassifyError(f"cannot reach {where}: {connection.reason(error)}") from None
        max_batch = check_compatible(server, spec, f"{target.describe()}: model {target.model!r}")
        backend = cls(connection, spec, max_batch, classes=0)
        try:  # one batch end to end, which also says how many classes the server's model has
            backend.classes = connection.infer(spec.input_name, spec.output_name, backend.batch_buffer(1)).shape[1]
        except connection.failures as error:
            raise LiveClassifyError(f"{where} cannot classify: {connection.reason(error)}") from None
        return backend

    @property
    def provider(self) -> str:
        return f"{self.target.describe()} ({self.target.protocol})"

    @property
    def short_name(self) -> str:
        return "Triton"

    def batch_buffer(self, n: int) -> np.ndarray:
        if n not in self._buffers:
            if n < 1 or (self.max_batch is not None and n > self.max_batch):
                raise ValueError(f"batch of {n}: the server takes 1 to {self.max_batch or 'any number of'} images")
            pre = self.spec.preprocessing
            self._buffers[n] = np.zeros((n, 3, pre.height, pre.width), np.float32)
        return self._buffers[n]

    def infer(self, n: int) -> np.ndarray:
        return self.run(self.batch_buffer(n))

    def run(self, batch: np.ndarray) -> np.ndarray:
        """``[n, classes]`` scores for ``batch`` (any float32 ``[n,3,H,W]`` array), in one request."""
        try:
            return self.connection.infer(self.spec.input_name, self.spec.output_name, batch)
        except self.connection.failures as error:
            reason = self.connection.reason(error)
            raise BackendUnavailable(f"{self.target.describe()} does not answer: {reason}") from None

    def features(self, n: int) -> np.ndarray | None:
        return None  # the server sends the scores alone: taught classes need a local model

    def describe(self, verbose: bool = True) -> str:
        return f"inference on {self.target.describe()} (model {self.target.model}, {self.target.protocol})"

    def sibling(self) -> TritonBackend:
        return TritonBackend(self.connection, self.spec, self.max_batch, self.classes)


class _Connection:
    """One server, over gRPC or HTTP, every call bounded by the timeout.

    The gRPC client is thread-safe and shared; the HTTP one (gevent underneath) only works on the
    thread that made it, so each thread gets its own.
    """

    def __init__(self, target: TritonTarget, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self.module = _client_module(target.protocol)
        utils = importlib.import_module("tritonclient.utils")
        self.failures: tuple[type[BaseException], ...] = (utils.InferenceServerException, OSError)
        if target.protocol == HTTP:  # a server gone in the middle of an answer: "connection closed."
            self.failures += (importlib.import_module("geventhttpclient.response").HTTPParseError,)
        self._local = threading.local()
        self._shared = self._new_client() if target.protocol == GRPC else None

    @property
    def client(self) -> Any:
        if self._shared is not None:
            return self._shared
        if not hasattr(self._local, "client"):
            self._local.client = self._new_client()
        return self._local.client

    def _new_client(self) -> Any:
        if self.target.protocol == GRPC:
            return self.module.InferenceServerClient(self.target.address, channel_args=_CHANNEL_ARGS)
        return self.module.InferenceServerClient(self.target.address, connection_timeout=self.timeout,
                                                 network_timeout=self.timeout)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.target.protocol == GRPC:
            kwargs["client_timeout"] = self.timeout
        return getattr(self.client, method)(*args, **kwargs)

    def model_ready(self) -> bool:
        return bool(self._call("is_model_ready", self.target.model))

    def server_model(self) -> ServerModel:
        """The model's inputs, outputs and batch size, as the server declares them."""
        json = {"as_json": True} if self.target.protocol == GRPC else {}
        metadata = self._call("get_model_metadata", self.target.model, **json)
        config = self._call("get_model_config", self.target.model, **json)
        return ServerModel.of(metadata, config.get("config", config))

    def infer(self, input_name: str, output_name: str, batch: np.ndarray) -> np.ndarray:
        tensor = self.module.InferInput(input_name, list(batch.shape), "FP32")
        binary = {} if self.target.protocol == GRPC else {"binary_data": True}
        tensor.set_data_from_numpy(batch, **binary)
        wanted = self.module.InferRequestedOutput(output_name, **binary)
        result = self._call("infer", self.target.model, [tensor], outputs=[wanted])
        return result.as_numpy(output_name).reshape(len(batch), -1)

    def reason(self, error: BaseException) -> str:
        """A failure in a few words: the timeout, the socket's complaint, or the server's first line."""
        status = str(getattr(error, "status", lambda: "")() or "")
        if isinstance(error, TimeoutError) or status.endswith("DEADLINE_EXCEEDED"):
            return f"no answer within {self.timeout:g} s (--backend-timeout)"
        if isinstance(error, OSError):
            return error.strerror or first_line(error)
        message_of = getattr(error, "message", None)  # tritonclient's InferenceServerException.message()
        text = str(message_of() or "") if callable(message_of) else ""
        message = text.strip().splitlines()[0] if text.strip() else first_line(error)
        # gRPC: "failed to connect to all addresses; last error: UNKNOWN: ipv4:...: Connection refused"
        return message.rsplit(": ", 1)[-1].rstrip("]") if status.endswith("UNAVAILABLE") else message


def _client_module(protocol: str) -> ModuleType:
    """tritonclient's gRPC or HTTP client, or one line saying how to install it."""
    name = "tritonclient.grpc" if protocol == GRPC else "tritonclient.http"
    try:
        return importlib.import_module(name)
    except ImportError:
        raise LiveClassifyError(f"--backend over {protocol} needs {name}: {INSTALL_HINT}") from None
