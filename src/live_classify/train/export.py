"""Writing the trained model: the backbone's graph with the new head, one self-describing ONNX file."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from live_classify.errors import LiveClassifyError
from live_classify.train.features import FEATURES
from live_classify.train.head import Head


def export_model(source: Path, out: Path, head: Head, labels: Sequence[str], name: str, description: str) -> None:
    """Write ``source``'s graph with its ``logits`` replaced by ``features @ W + b``: one file that
    carries the new labels and the source's preprocessing metadata, so ``live-classify --model``
    needs nothing else. ``features`` stays an output."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise LiveClassifyError(
            "exporting the trained model needs the onnx package: pip install 'live-classify[train]'") from None
    model = onnx.load(str(source))
    graph = model.graph
    old = [node for node in graph.node if "logits" in node.output]
    if [o.name for o in graph.output].count(FEATURES) != 1 or len(old) != 1:
        raise LiveClassifyError(f"{source} must have one 'logits' node and a 'features' output to take a new head")
    old_inputs = set(old[0].input)
    graph.node.remove(old[0])
    still_used = {name for node in graph.node for name in node.input}
    for init in [i for i in graph.initializer if i.name in old_inputs and i.name not in still_used]:
        graph.initializer.remove(init)
    graph.initializer.extend([numpy_helper.from_array(head.weights.astype(np.float32), "head.weight"),
                              numpy_helper.from_array(head.bias.astype(np.float32), "head.bias")])
    graph.node.extend([helper.make_node("MatMul", [FEATURES, "head.weight"], ["head.matmul"], name="head_matmul"),
                       helper.make_node("Add", ["head.matmul", "head.bias"], ["logits"], name="head_add")])
    for value in [v for v in graph.value_info if v.name == "logits"]:
        graph.value_info.remove(value)
    logits = next(o for o in graph.output if o.name == "logits")
    logits.type.tensor_type.shape.dim[1].Clear()
    logits.type.tensor_type.shape.dim[1].dim_value = len(labels)
    del logits.metadata_props[:]
    meta = {p.key: p.value for p in model.metadata_props}
    meta.update(name=name, source=description, labels=json.dumps(list(labels), ensure_ascii=False), output="logits")
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
