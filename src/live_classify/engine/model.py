"""What a model needs from the outside: its file, its labels and its preprocessing.

The model describes itself: labels and preprocessing live in the ONNX file's ``metadata_props``
(see ``models/export_efficientnet_lite0.py``), so one file is enough to deploy. Flags override
them for foreign models that carry no such metadata.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import onnxruntime as ort

from live_classify import log
from live_classify.errors import LiveClassifyError, first_line

DEFAULT_MODEL_NAME = "efficientnet_lite0.onnx"

#: torchvision's ImageNet statistics in 0..255 units: what most foreign ImageNet ONNX files expect.
TORCHVISION_MEAN = (123.675, 116.28, 103.53)
TORCHVISION_STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class Preprocessing:
    """How a BGR frame becomes the model's input tensor."""

    height: int
    width: int
    crop_fraction: float  # the centered crop keeps this fraction of the shorter side
    color_order: str  # "RGB" or "BGR": the order the model was trained on
    mean: tuple[float, float, float]  # per channel, in the model's color order, 0..255 units
    std: tuple[float, float, float]

    def describe(self) -> str:
        """E.g. 'crop 0.875, 224x224, RGB, (x - 127) / 128'."""
        mean = _short(self.mean)
        std = _short(self.std)
        return f"crop {self.crop_fraction:.3g}, {self.width}x{self.height}, {self.color_order}, (x - {mean}) / {std}"


@dataclass(frozen=True)
class Overrides:
    """Flags that replace what the model's metadata says (None: keep the model's own)."""

    labels_file: Path | None = None
    size: tuple[int, int] | None = None  # (height, width)
    crop_fraction: float | None = None
    color_order: str | None = None
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class ModelSpec:
    """Everything the engine needs to know about one model file."""

    path: Path
    name: str
    input_name: str
    output_name: str
    labels: tuple[str, ...] | None  # None until the class count is known
    preprocessing: Preprocessing
    outputs_logits: bool | None  # None: not stated, decided from the scores themselves
    notices: tuple[str, ...] = ()  # things the user should know (defaults used for a foreign model)
    # The input and scores output as the file declares them (None: a dimension left open), so a
    # remote backend can check that the server runs the same model.
    input_shape: tuple[int | None, ...] = ()
    output_shape: tuple[int | None, ...] = ()
    output_type: str = "tensor(float)"


def default_model_path() -> Path:
    """The bundled model: package data after ``pip install .``, ``models/`` in a source checkout."""
    packaged = resources.files("live_classify") / "models" / DEFAULT_MODEL_NAME
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "models" / DEFAULT_MODEL_NAME
    if checkout.is_file():
        return checkout
    raise LiveClassifyError(f"the bundled model {DEFAULT_MODEL_NAME} is missing from this install; pass --model")


def check_model_file(path: Path) -> None:
    """Reject a missing or empty file before onnxruntime prints something cryptic about it."""
    if not path.exists():
        raise LiveClassifyError(f"model file not found: {path}")
    if not path.is_file():
        raise LiveClassifyError(f"model path is not a file: {path}")
    if path.stat().st_size == 0:
        raise LiveClassifyError(f"model file is empty: {path}")


def describe_model(path: Path, overrides: Overrides = Overrides()) -> ModelSpec:
    """Read a model file's input/output layout and metadata, then apply the overrides.

    Any backend can use the description, a remote one too: it comes from the file, read by
    onnxruntime's loader on the CPU with every optimization off (0.1 s for the bundled model),
    never from the session that will run the model.
    """
    check_model_file(path)
    session = _read_header(path)
    image_input = _image_input(session)
    meta = session.get_modelmeta().custom_metadata_map
    notices: list[str] = []
    preprocessing = _preprocessing_from(meta, image_input.shape, notices)
    preprocessing = _apply(preprocessing, overrides)
    fixed = _dims(image_input.shape)[2:]
    if None not in fixed and (preprocessing.height, preprocessing.width) != fixed:
        raise LiveClassifyError(f"the model's input is fixed at {fixed[0]}x{fixed[1]}: "
                                f"an input size of {preprocessing.height}x{preprocessing.width} does not fit it")
    labels = _read_labels_file(overrides.labels_file) if overrides.labels_file else _labels_from(meta)
    outputs = {output.name: output for output in session.get_outputs()}
    scores = outputs.get("logits") or next(iter(outputs.values()))
    kind = meta.get("output")
    return ModelSpec(
        path=path,
        name=meta.get("name", path.stem),
        input_name=image_input.name,
        output_name=scores.name,
        labels=labels,
        preprocessing=preprocessing,
        outputs_logits=None if kind is None else kind == "logits",
        notices=tuple(notices),
        input_shape=_dims(image_input.shape),
        output_shape=_dims(scores.shape),
        output_type=scores.type,
    )


def with_class_count(spec: ModelSpec, classes: int) -> ModelSpec:
    """Check the labels against the class count the model really outputs (or name the classes)."""
    if spec.labels is None:
        note = "the model carries no labels: classes are shown as numbers (pass --labels FILE)"
        return replace(spec, labels=tuple(f"class {i}" for i in range(classes)), notices=spec.notices + (note,))
    if len(spec.labels) != classes:
        raise LiveClassifyError(f"{len(spec.labels)} labels given but the model outputs {classes} classes")
    return spec


def _read_header(path: Path) -> ort.InferenceSession:
    """The model loaded just far enough to read its inputs, outputs and metadata."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises bare RuntimeError/Fail types
        log.debug_traceback(f"cannot load model {path}", error)
        raise LiveClassifyError(f"cannot load model {path}: {first_line(error)}") from None


def _image_input(session: ort.InferenceSession) -> ort.NodeArg:
    """The model's one input, which must be a 4-D float NCHW image tensor with 3 channels."""
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise LiveClassifyError(f"the model has {len(inputs)} inputs: expected one image tensor [N,3,H,W]")
    node = inputs[0]
    shape = list(node.shape)
    if len(shape) != 4 or shape[1] != 3:
        raise LiveClassifyError(
            f"the model's input {node.name!r} has shape {shape}: expected a 4-D image tensor [N,3,H,W]"
        )
    if node.type != "tensor(float)":
        raise LiveClassifyError(f"the model's input {node.name!r} is {node.type}: expected tensor(float)")
    return node


def _preprocessing_from(meta: dict[str, str], shape: list[object], notices: list[str]) -> Preprocessing:
    """Preprocessing from the metadata; torchvision's ImageNet defaults where it says nothing."""
    height, width = (dim if isinstance(dim, int) and dim > 0 else None for dim in shape[2:])
    if "input_size" in meta:
        height = width = int(meta["input_size"])
    if height is None or width is None:
        height = width = 224
    missing = [key for key in ("crop_fraction", "color_order", "mean", "std") if key not in meta]
    if missing:
        notices.append(
            f"the model's metadata lacks {', '.join(missing)}: using ImageNet defaults "
            "(override with --crop-fraction, --color-order, --mean, --std)"
        )
    try:
        return Preprocessing(
            height=height,
            width=width,
            crop_fraction=float(meta.get("crop_fraction", 0.875)),
            color_order=meta.get("color_order", "RGB").upper(),
            mean=_triple(json.loads(meta["mean"])) if "mean" in meta else TORCHVISION_MEAN,
            std=_triple(json.loads(meta["std"])) if "std" in meta else TORCHVISION_STD,
        )
    except (ValueError, TypeError) as error:
        raise LiveClassifyError(f"the model's preprocessing metadata is malformed: {error}") from None


def _apply(pre: Preprocessing, overrides: Overrides) -> Preprocessing:
    """Replace the fields the user set on the command line."""
    if overrides.size is not None:
        pre = replace(pre, height=overrides.size[0], width=overrides.size[1])
    for name in ("crop_fraction", "color_order", "mean", "std"):
        value = getattr(overrides, name)
        if value is not None:
            pre = replace(pre, **{name: value})
    if pre.color_order not in ("RGB", "BGR"):
        raise LiveClassifyError(f"color order must be RGB or BGR, not {pre.color_order!r}")
    if not 0 < pre.crop_fraction <= 1:
        raise LiveClassifyError(f"crop fraction must be in (0, 1], not {pre.crop_fraction}")
    if any(s == 0 for s in pre.std):
        raise LiveClassifyError("std must not be zero")
    return pre


def _labels_from(meta: dict[str, str]) -> tuple[str, ...] | None:
    if "labels" not in meta:
        return None
    try:
        labels = json.loads(meta["labels"])
    except ValueError:
        raise LiveClassifyError("the model's 'labels' metadata is not a JSON list") from None
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise LiveClassifyError("the model's 'labels' metadata is not a JSON list of strings")
    return tuple(labels)


def _read_labels_file(path: Path) -> tuple[str, ...]:
    """One label per line; blank lines at the end are ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise LiveClassifyError(f"cannot read labels file {path}: {reason}") from None
    labels = tuple(line.strip() for line in text.rstrip().splitlines())
    if not labels:  # only blank lines: nothing is left once the trailing ones are gone
        raise LiveClassifyError(f"labels file is empty: {path}")
    return labels


def _dims(shape: list[object]) -> tuple[int | None, ...]:
    """A declared shape with its named or unknown dimensions as None."""
    return tuple(dim if isinstance(dim, int) and dim > 0 else None for dim in shape)


def _triple(values: Any) -> tuple[float, float, float]:
    """A JSON number or list of 3 as 3 floats; ValueError or TypeError for anything else."""
    if isinstance(values, (int, float)):
        values = [values] * 3
    numbers = tuple(float(v) for v in values)
    if len(numbers) != 3:
        raise ValueError(f"expected 3 values, got {len(numbers)}")
    return numbers[0], numbers[1], numbers[2]


def _short(values: tuple[float, float, float]) -> str:
    if len(set(values)) == 1:
        return f"{values[0]:g}"
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"
