"""Write ``src/live_classify/engine/normalize.onnx``: stage 2's float work as a tiny ONNX graph.

With ``--normalize device`` the host only crops and resizes; the 224x224x3 uint8 image (150 KB,
not 600 KB of float32) goes to the device, and this graph turns it into the model's input there:

    image  uint8 [N, H, W, 3], BGR as OpenCV gives it
    channels int64 [3]        which source channel each output channel takes (2,1,0 for RGB)
    mean, inv_std float [1,3,1,1]
    -> tensor float [N, 3, H, W] = (Transpose(Cast(Gather(image, channels, axis=3))) - mean) * inv_std

The same float32 operations, in the same order, as the host path in ``preprocess.py``: the two
give bit-identical tensors. The graph has no weights and serves every model (its parameters are
inputs, bound once), so no second copy of a model file is needed. Needs ``onnx`` (dev-only):

    python models/make_normalize_graph.py
"""
from __future__ import annotations

import argparse
from pathlib import Path

import onnx
from onnx import TensorProto, helper

OUT = Path(__file__).resolve().parents[1] / "src" / "live_classify" / "engine" / "normalize.onnx"


def build() -> onnx.ModelProto:
    """The graph, opset 17 (every onnxruntime since 1.14 runs it, on the CPU and CUDA providers)."""
    image = helper.make_tensor_value_info("image", TensorProto.UINT8, ["N", "H", "W", 3])
    channels = helper.make_tensor_value_info("channels", TensorProto.INT64, [3])
    mean = helper.make_tensor_value_info("mean", TensorProto.FLOAT, [1, 3, 1, 1])
    inv_std = helper.make_tensor_value_info("inv_std", TensorProto.FLOAT, [1, 3, 1, 1])
    tensor = helper.make_tensor_value_info("tensor", TensorProto.FLOAT, ["N", 3, "H", "W"])
    nodes = [
        helper.make_node("Gather", ["image", "channels"], ["ordered"], axis=3),
        helper.make_node("Transpose", ["ordered"], ["planar"], perm=[0, 3, 1, 2]),
        helper.make_node("Cast", ["planar"], ["floats"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["floats", "mean"], ["centered"]),
        helper.make_node("Mul", ["centered", "inv_std"], ["tensor"]),
    ]
    graph = helper.make_graph(nodes, "normalize", [image, channels, mean, inv_std], [tensor])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="live-classify models/make_normalize_graph.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write it (default: {OUT})")
    args = parser.parse_args()
    args.out.write_bytes(build().SerializeToString())
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
