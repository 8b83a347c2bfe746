"""Tiny foreign ONNX classifiers, built in the test itself with the ``onnx`` package (a test extra)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def pooled_classifier(path: Path, classes: int = 4, *, softmax: bool = False, input_shape: list[object] | None = None,
                      metadata: dict[str, str] | None = None) -> Path:
    """image [N,3,H,W] → global average pool → linear → scores [N, classes] (optionally a softmax)."""
    weights = np.random.default_rng(1).standard_normal((3, classes)).astype(np.float32)
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["scores" if not softmax else "logits"]),
    ]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["scores"], axis=1))
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, input_shape or ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", classes])],
        [numpy_helper.from_array(weights, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, path)
    return path


def vector_model(path: Path) -> Path:
    """A model whose input is a flat vector, not an image."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "vector",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def failing_model(path: Path) -> Path:
    """A model that loads but fails at run time on any image that is not 8x8 (a fixed Reshape)."""
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["image", "shape"], ["scores"])], "failing",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 192])],
        [numpy_helper.from_array(np.array([1, 192], np.int64), "shape")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path
