"""Teach the classifier your own classes: a new softmax head on the bundled backbone's features.

A folder with one subfolder per class (``data/mug/*.jpg``, ``data/keys/*.jpg`` ...) becomes one
ONNX file that the ``live-classify`` command runs unchanged: the backbone's pooled ``features``
are extracted once (with the product's own preprocessing, so training sees exactly what inference
will see), a linear softmax head is trained on them in numpy, and the head is appended to the
backbone graph as ``MatMul + Add`` producing ``logits``. Training a head on frozen features takes
seconds on a CPU and works with a few dozen photos per class; fine-tuning the backbone would not.

    python -m live_classify.train DATA_DIR --out mine.onnx
    live-classify --model mine.onnx --camera 0
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from live_classify.argtypes import OneLineParser, holdout_fraction, non_negative_int, positive_int
from live_classify.errors import LiveClassifyError, exit_code
from live_classify.images import is_image_path, read_image
from live_classify.engine.model import Preprocessing, default_model_path, describe_model
from live_classify.engine.postprocess import softmax
from live_classify.engine.preprocess import Preprocessor
from live_classify.train_report import (
    EpochStats,
    confusion_matrix,
    confusion_table,
    epoch_line,
    history_table,
    save_plot,
    stop_line,
    suggest_min_confidence,
    threshold_line,
)

PROG = "live-classify-train"
FEATURES = "features"  # the backbone's pooled output the head is trained on

Warn = Callable[[str], None]


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


# --- the dataset --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """Decoded images and their class indices; ``labels[i]`` names class ``i``."""

    labels: tuple[str, ...]
    images: list[np.ndarray]  # HxWx3 uint8 BGR
    targets: np.ndarray  # int64 [N]
    paths: list[Path]


def check_label(name: str) -> str:
    """A class name must survive a labels file (one per line) and a one-line overlay: no control
    characters (newline, tab, ...) and no blank name. Spaces and any script are fine."""
    if not name.strip():
        raise LiveClassifyError(f"class folder name {name!r} is blank: it cannot be a label")
    bad = [ch for ch in name if unicodedata.category(ch).startswith("C")]
    if bad:
        raise LiveClassifyError(f"class folder name {name!r} contains a control or unprintable character "
                                f"({bad[0]!r}): rename the folder")
    return name


def load_dataset(root: Path, warn: Warn = _warn) -> Dataset:
    """Read ``root/<class>/<image>``; unreadable images are skipped with a warning, but every class
    must keep at least one, or the class would silently vanish from the model."""
    if not root.exists():
        raise LiveClassifyError(f"dataset folder not found: {root}")
    if not root.is_dir():
        raise LiveClassifyError(f"dataset path is not a folder: {root}")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(class_dirs) < 2:
        found = ", ".join(p.name for p in class_dirs) or "none"
        raise LiveClassifyError(f"{root} needs at least 2 class subfolders (one per class), found {len(class_dirs)}: {found}")
    labels = tuple(check_label(p.name) for p in class_dirs)
    images: list[np.ndarray] = []
    targets: list[int] = []
    paths: list[Path] = []
    for index, folder in enumerate(class_dirs):
        files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_path(p))
        if not files:
            raise LiveClassifyError(f"class folder {folder} has no images")
        kept = 0
        for path in files:
            try:
                images.append(read_image(path))
            except LiveClassifyError as error:
                warn(f"skipping {error}")
                continue
            targets.append(index)
            paths.append(path)
            kept += 1
        if not kept:
            raise LiveClassifyError(f"class folder {folder} has no readable images ({len(files)} could not be decoded)")
    return Dataset(labels, images, np.asarray(targets, np.int64), paths)


def split_stratified(targets: np.ndarray, fraction: float, rng: np.random.Generator,
                     labels: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hold out ``fraction`` of each class (at least one image), so every class is validated and
    a small class is not left out of training by chance."""
    train: list[int] = []
    val: list[int] = []
    for cls in np.unique(targets):
        members = rng.permutation(np.flatnonzero(targets == cls))
        n_val = 0 if fraction == 0 else max(1, round(len(members) * fraction))
        if fraction > 0 and len(members) - n_val < 1:
            name = labels[int(cls)] if labels else str(int(cls))
            raise LiveClassifyError(f"class {name!r} has {len(members)} image(s): at least 2 are needed to hold one "
                                    "out for validation (add images or pass --val-fraction 0)")
        val.extend(members[:n_val].tolist())
        train.extend(members[n_val:].tolist())
    return np.asarray(sorted(train), np.int64), np.asarray(sorted(val), np.int64)


# --- features -----------------------------------------------------------------------------------


def augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random variant: a crop of 70-100% of each side, a horizontal flip half the time and a
    brightness change of +-25%, what a hand-held camera varies between frames."""
    h, w = image.shape[:2]
    ch, cw = max(8, int(h * rng.uniform(0.7, 1.0))), max(8, int(w * rng.uniform(0.7, 1.0)))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    out = image[top : top + ch, left : left + cw]
    if rng.random() < 0.5:
        out = out[:, ::-1]
    gain = rng.uniform(0.75, 1.25)
    return cv2.convertScaleAbs(np.ascontiguousarray(out), alpha=gain, beta=0)


class FeatureExtractor:
    """The backbone on the CPU: BGR images in, pooled ``features`` out, preprocessed exactly as
    the live classifier preprocesses a frame (the same :class:`Preprocessor`, the model's metadata)."""

    def __init__(self, model: Path, batch: int = 16) -> None:
        spec = describe_model(model)
        self.model = model
        self.session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        if FEATURES not in [o.name for o in self.session.get_outputs()]:
            raise LiveClassifyError(f"{model} has no {FEATURES!r} output to train a head on")
        self.input_name = spec.input_name
        self.preprocessing: Preprocessing = spec.preprocessing
        self.batch = batch
        self._buffer = np.zeros((1, 3, spec.preprocessing.height, spec.preprocessing.width), np.float32)
        self._preprocess = Preprocessor(spec.preprocessing, self._buffer)

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``[N, D]`` float32 features of ``images``, run in batches."""
        pre = self.preprocessing
        chunks = []
        for start in range(0, len(images), self.batch):
            part = images[start : start + self.batch]
            tensor = np.empty((len(part), 3, pre.height, pre.width), np.float32)
            for i, image in enumerate(part):
                tensor[i] = self._preprocess(image)[0]
            chunks.append(self.session.run([FEATURES], {self.input_name: tensor})[0])
        return np.concatenate(chunks).astype(np.float32, copy=False)


# --- the head -----------------------------------------------------------------------------------


@dataclass
class Head:
    """A linear softmax classifier on the features: ``logits = x @ weights + bias``."""

    weights: np.ndarray  # [D, C] float32
    bias: np.ndarray  # [C] float32

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features @ self.weights + self.bias

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.logits(features).argmax(axis=1)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features))


@dataclass(frozen=True)
class TrainOptions:
    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 1e-3
    l2: float = 1e-2
    patience: int = 8  # epochs without a better validation loss before stopping
    min_gain: float = 0.01  # "better": at least this fraction below the best validation loss so far


def _cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(targets)), targets].mean())


def _accuracy(head: Head, x: np.ndarray, y: np.ndarray) -> float:
    return float((head.predict(x) == y).mean())


def train_head(
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, classes: int,
    options: TrainOptions, rng: np.random.Generator, on_epoch: Callable[[EpochStats, bool], None] | None = None,
) -> tuple[Head, list[EpochStats], int]:
    """Adam on the L2-regularized cross-entropy of standardized features.

    Standardizing makes one learning rate fit every backbone; it is folded back into the weights
    at the end, so the exported head takes the raw features. Returns the head of the best epoch, the
    history and that epoch. An epoch is better when its validation loss is ``min_gain`` (1%) below
    the best so far: a relative rule, so tiny losses late in training are judged like large early
    ones. Without a validation set the last epoch wins.
    """
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    # A unit that never varies in training (the backbone clips some to 0) must not be blown up
    # by 1/std when it does vary on a new image: floor its scale at the typical one.
    std = np.maximum(std, std.mean())
    xs, xv = (x_train - mean) / std, (x_val - mean) / std
    dim = x_train.shape[1]
    w = np.zeros((dim, classes), np.float32)  # zero start: the first loss is exactly ln(C)
    b = np.zeros(classes, np.float32)
    moments = [np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)]
    beta1, beta2, step = 0.9, 0.999, 0
    history: list[EpochStats] = []
    best = (np.inf, w.copy(), b.copy(), 0)
    for epoch in range(1, options.epochs + 1):
        order = rng.permutation(len(xs))
        losses = []
        for start in range(0, len(order), options.batch_size):
            idx = order[start : start + options.batch_size]
            logits = xs[idx] @ w + b
            losses.append(_cross_entropy(logits, y_train[idx]))
            grad = softmax(logits)
            grad[np.arange(len(idx)), y_train[idx]] -= 1
            grad /= len(idx)
            grads = (xs[idx].T @ grad + options.l2 * w, grad.sum(axis=0))
            step += 1
            for param, g, m, v in ((w, grads[0], moments[0], moments[1]), (b, grads[1], moments[2], moments[3])):
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                m_hat = m / (1 - beta1**step)
                v_hat = v / (1 - beta2**step)
                param -= (options.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)
        head = Head(w, b)
        has_val = len(xv) > 0
        val_loss = _cross_entropy(head.logits(xv), y_val) if has_val else None
        stats = EpochStats(epoch, float(np.mean(losses)), _accuracy(head, xs, y_train),
                           val_loss, _accuracy(head, xv, y_val) if has_val else None)
        history.append(stats)
        improved = val_loss is None or val_loss < best[0] * (1 - options.min_gain)
        if improved:
            best = (val_loss if val_loss is not None else np.inf, w.copy(), b.copy(), epoch)
        if on_epoch:
            on_epoch(stats, improved and has_val)
        if has_val and epoch - best[3] >= options.patience:
            break
    _, w_best, b_best, best_epoch = best
    folded_w = (w_best / std[:, None]).astype(np.float32)
    folded_b = (b_best - (mean / std) @ w_best).astype(np.float32)
    return Head(folded_w, folded_b), history, best_epoch


# --- export -------------------------------------------------------------------------------------


def export_model(source: Path, out: Path, head: Head, labels: Sequence[str], name: str, description: str) -> None:
    """Write ``source``'s graph with its ``logits`` replaced by ``features @ W + b``: one file that
    carries the new labels and the source's preprocessing metadata, so ``live-classify --model``
    needs nothing else. ``features`` stays an output."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise LiveClassifyError("exporting the trained model needs the onnx package: pip install 'live-classify[train]'") from None
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


# --- the whole run ------------------------------------------------------------------------------


@dataclass
class TrainResult:
    head: Head
    labels: tuple[str, ...]
    history: list[EpochStats]
    best_epoch: int
    val_accuracy: float | None
    confusion: np.ndarray | None
    min_confidence: float | None  # the suggested --min-confidence, from the validation set
    seconds: float


def train(data_dir: Path, out: Path, *, model: Path | None = None, options: TrainOptions = TrainOptions(),
          val_fraction: float = 0.2, augmentations: int = 4, seed: int = 0, plot: Path | None = None,
          overwrite: bool = False, echo: Callable[[str], None] = print, warn: Warn = _warn) -> TrainResult:
    """Load, extract, train, report, export: what ``live-classify-train`` does."""
    t0 = time.perf_counter()
    if not 0 <= val_fraction < 1:
        raise LiveClassifyError(f"validation fraction must be in [0, 1), not {val_fraction}")
    if out.suffix.lower() != ".onnx":
        raise LiveClassifyError(f"the output must be an .onnx file, not {out}")
    if out.exists() and not overwrite:  # the same rule as --record: a model is never lost by accident
        raise LiveClassifyError(f"--out {out}: the file exists (pass --overwrite to replace it)")
    source = model or default_model_path()
    dataset = load_dataset(data_dir, warn)
    rng = np.random.default_rng(seed)
    train_idx, val_idx = split_stratified(dataset.targets, val_fraction, rng, dataset.labels)
    counts = np.bincount(dataset.targets, minlength=len(dataset.labels))
    echo(f"{len(dataset.labels)} classes, {len(dataset.images)} images: "
         + ", ".join(f"{label} ({n})" for label, n in zip(dataset.labels, counts)))
    echo(f"{len(train_idx)} for training (each with {augmentations} augmented copies: crop, flip, brightness), "
         f"{len(val_idx)} held out for validation, seed {seed}")

    extractor = FeatureExtractor(source)
    train_images = [dataset.images[i] for i in train_idx]
    train_images += [augment(image, rng) for image in train_images for _ in range(augmentations)]
    y_train = np.concatenate([dataset.targets[train_idx], np.repeat(dataset.targets[train_idx], augmentations)])
    t1 = time.perf_counter()
    x_train = extractor(train_images)
    x_val = extractor([dataset.images[i] for i in val_idx]) if len(val_idx) else np.zeros((0, x_train.shape[1]), np.float32)
    y_val = dataset.targets[val_idx]
    echo(f"features: {len(x_train) + len(x_val)} x {x_train.shape[1]} from {source.name} on the CPU "
         f"({extractor.preprocessing.describe()}) in {time.perf_counter() - t1:.1f} s")

    def on_epoch(stats: EpochStats, best: bool) -> None:
        echo(epoch_line(stats, options.epochs, float(np.log(len(dataset.labels))), best))

    echo(f"training a softmax head: Adam, lr {options.learning_rate:g}, L2 {options.l2:g}, batch {options.batch_size}, "
         f"initial loss ln({len(dataset.labels)}) = {np.log(len(dataset.labels)):.4f}")
    head, history, best_epoch = train_head(x_train, y_train, x_val, y_val, len(dataset.labels), options, rng, on_epoch)
    echo(stop_line(history, best_epoch, options))
    echo("")
    echo(history_table(history, best_epoch))

    val_acc = confusion = threshold = None
    if len(val_idx):
        probabilities = head.probabilities(x_val)
        predictions = probabilities.argmax(axis=1)
        val_acc = float((predictions == y_val).mean())
        confusion = confusion_matrix(y_val, predictions, len(dataset.labels))
        echo("")
        echo(f"validation accuracy (epoch {best_epoch}): {val_acc:.1%} of {len(val_idx)} held-out images")
        echo(confusion_table(confusion, dataset.labels))
        threshold = suggest_min_confidence(probabilities, y_val)
        echo(threshold_line(threshold, probabilities, y_val))
    if plot is not None:
        if save_plot(history, plot):
            echo(f"curves: {plot}")
        else:
            warn(f"matplotlib is not installed: no plot written to {plot}")

    acc_text = f", validation accuracy {val_acc:.1%} on {len(val_idx)} images" if val_acc is not None else ""
    acc_text += f", suggested --min-confidence {threshold:.2f}" if threshold is not None else ""
    description = (f"softmax head trained by {PROG} on {len(train_idx)} images (+{augmentations} augmented copies each) "
                   f"of {len(dataset.labels)} classes from {data_dir.name}/, seed {seed}, epoch {best_epoch}{acc_text}; "
                   f"backbone and preprocessing: {source.name}")
    export_model(source, out, head, dataset.labels, out.stem, description)
    seconds = time.perf_counter() - t0
    echo("")
    echo(f"wrote {out} ({len(dataset.labels)} classes) in {seconds:.1f} s; try it: live-classify --model {out} --camera 0")
    return TrainResult(head, dataset.labels, history, best_epoch, val_acc, confusion, threshold, seconds)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, description="Train a classifier for your own classes on the bundled backbone and export one ONNX file.")
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="a folder with one subfolder of images per class")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.onnx", help="the model to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument("--epochs", type=positive_int, default=TrainOptions.epochs, help="at most this many epochs (60)")
    parser.add_argument("--val-fraction", type=holdout_fraction, default=0.2, metavar="F",
                        help="fraction of each class held out for validation and early stopping (0.2; 0: none)")
    parser.add_argument("--augment", type=non_negative_int, default=4, metavar="K",
                        help="augmented copies of each training image (4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the augmentation and the training (0)")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="save the curves (needs matplotlib)")
    parser.add_argument("--model", type=Path, metavar="PATH", help="the backbone (default: the bundled EfficientNet-Lite0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def run() -> int:
        train(args.data_dir, args.out, model=args.model, options=TrainOptions(epochs=args.epochs),
              val_fraction=args.val_fraction, augmentations=args.augment, seed=args.seed, plot=args.plot,
              overwrite=args.overwrite)
        return 0

    return exit_code(PROG, run)


if __name__ == "__main__":
    raise SystemExit(main())
