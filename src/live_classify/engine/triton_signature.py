"""Does the server run our model? Its declared inputs and outputs against the local ONNX file's.

The labels and the preprocessing come from the local file, the scores from the server: if the
two are different models the answers look plausible and are wrong, so every difference the
server's metadata can show — names, data types, shapes, batch size — is one line and exit 1.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from live_classify.engine.model import ModelSpec
from live_classify.errors import LiveClassifyError

Shape = tuple[int | None, ...]  # None: any size
#: onnxruntime's element type names -> Triton's
TRITON_TYPES = {"tensor(float)": "FP32", "tensor(float16)": "FP16", "tensor(double)": "FP64"}


@dataclass(frozen=True)
class ServerTensor:
    name: str
    datatype: str  # Triton's name, e.g. "FP32"
    shape: Shape  # the whole request's shape, batch dimension included


@dataclass(frozen=True)
class ServerModel:
    """A model as the server declares it (its metadata and its configuration's max batch size)."""

    inputs: tuple[ServerTensor, ...]
    outputs: tuple[ServerTensor, ...]
    max_batch_size: int  # 0: the server does not batch; the shapes then say the batch size, if any

    @classmethod
    def of(cls, metadata: Mapping[str, Any], config: Mapping[str, Any]) -> ServerModel:
        """From tritonclient's JSON answers (gRPC gives numbers as strings, and leaves zeros out)."""
        return cls(_tensors(metadata.get("inputs", ())), _tensors(metadata.get("outputs", ())),
                   int(config.get("max_batch_size", 0)))


def check_compatible(server: ServerModel, spec: ModelSpec, where: str) -> int | None:
    """Raise at the first difference between the server's model and ``spec``; return the largest
    batch both take (None: any)."""
    pre = spec.preprocessing
    batch = spec.input_shape[0] if spec.input_shape else None
    local = _Local(spec.path.name, "input", spec.input_name, "FP32", (batch, 3, pre.height, pre.width))
    names = [tensor.name for tensor in server.inputs]
    if names != [spec.input_name]:
        raise LiveClassifyError(f"{where} has inputs {names}; the local model {local.file} has {[spec.input_name]}")
    local.check(server.inputs[0], where)
    outputs = {tensor.name: tensor for tensor in server.outputs}
    if spec.output_name not in outputs:
        raise LiveClassifyError(f"{where} has outputs {list(outputs)}, not the local model's {spec.output_name!r} "
                                f"({local.file})")
    scores_type = TRITON_TYPES.get(spec.output_type, spec.output_type)
    output = _Local(local.file, "output", spec.output_name, scores_type, spec.output_shape)
    output.check(outputs[spec.output_name], where)
    return _max_batch(server, batch)


@dataclass(frozen=True)
class _Local:
    """One tensor of the local model, as it will be sent or received."""

    file: str
    role: str  # "input" or "output"
    name: str
    datatype: str
    shape: Shape

    def check(self, tensor: ServerTensor, where: str) -> None:
        if tensor.datatype != self.datatype:
            raise LiveClassifyError(f"{where} has {self.role} {self.name!r} as {tensor.datatype}; "
                                    f"the local model {self.file} has {self.datatype}")
        if not _fits(self.shape, tensor.shape):
            raise LiveClassifyError(f"{where} has {self.role} {self.name!r} as {_show(tensor.shape)}; "
                                    f"the local model {self.file} has {_show(self.shape)}")


def _max_batch(server: ServerModel, local_batch: int | None) -> int | None:
    """The server's max batch size (or its fixed batch dimension), within the local model's own."""
    server_batch = server.max_batch_size or (server.inputs[0].shape[0] if server.inputs[0].shape else None)
    limits = [limit for limit in (server_batch, local_batch) if limit]
    return min(limits) if limits else None


def _tensors(entries: Sequence[Mapping[str, Any]]) -> tuple[ServerTensor, ...]:
    return tuple(ServerTensor(entry["name"], entry["datatype"], tuple(_dim(d) for d in entry.get("shape", ())))
                 for entry in entries)


def _dim(value: object) -> int | None:
    number = int(str(value))
    return number if number > 0 else None


def _fits(local: Shape, server: Shape) -> bool:
    """Same rank, and equal wherever both sides fix a size."""
    return len(local) == len(server) and all(
        a is None or b is None or a == b for a, b in zip(local, server, strict=True))


def _show(shape: Shape) -> str:
    """E.g. 'Nx3x224x224' (N: any size)."""
    return "x".join("N" if dim is None else str(dim) for dim in shape) or "a scalar"
