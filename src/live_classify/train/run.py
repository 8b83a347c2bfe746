"""The whole training run, one stage per function: check the request, load and split the dataset,
extract features, fit the head, validate it, export one ONNX file. What ``live-classify-train`` does."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live_classify.engine.model import default_model_path
from live_classify.errors import LiveClassifyError
from live_classify.train import PROG, Warn
from live_classify.train import warn as warn_stderr
from live_classify.train.dataset import Dataset, load_dataset, split_stratified, training_set
from live_classify.train.export import export_model
from live_classify.train.features import FeatureExtractor
from live_classify.train.head import Head, TrainOptions, train_head
from live_classify.train.progress import Progress
from live_classify.train.report import (
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

Echo = Callable[[str], None]
DEFAULT_OPTIONS = TrainOptions()  # frozen: one instance serves every call


@dataclass
class TrainResult:
    """What a run produced, for a caller (the tests) that wants the numbers rather than the printout."""

    head: Head
    labels: tuple[str, ...]
    history: list[EpochStats]
    best_epoch: int
    val_accuracy: float | None
    confusion: np.ndarray | None
    min_confidence: float | None  # the suggested --min-confidence, from the validation set
    seconds: float


@dataclass(frozen=True)
class _Split:
    """Indices into the dataset: the images trained on and those held out for validation."""

    train: np.ndarray
    val: np.ndarray


@dataclass(frozen=True)
class _Features:
    """The head's inputs: training features (augmented copies included), held-out ones, targets."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass(frozen=True)
class _Validation:
    """The kept head on the held-out images; all None without a validation set."""

    accuracy: float | None = None
    confusion: np.ndarray | None = None
    threshold: float | None = None  # the suggested --min-confidence


def _check_request(out: Path, val_fraction: float, overwrite: bool) -> None:
    """What can be refused before any image is read."""
    if not 0 <= val_fraction < 1:
        raise LiveClassifyError(f"validation fraction must be in [0, 1), not {val_fraction}")
    if out.suffix.lower() != ".onnx":
        raise LiveClassifyError(f"the output must be an .onnx file, not {out}")
    if out.exists() and not overwrite:  # the same rule as --record: a model is never lost by accident
        raise LiveClassifyError(f"--out {out}: the file exists (pass --overwrite to replace it)")


def _split(dataset: Dataset, val_fraction: float, augmentations: int, seed: int, rng: np.random.Generator,
           echo: Echo) -> _Split:
    """Hold out a stratified share of each class and say what the dataset holds."""
    train_idx, val_idx = split_stratified(dataset.targets, val_fraction, rng, dataset.labels)
    counts = np.bincount(dataset.targets, minlength=len(dataset.labels))
    echo(f"{len(dataset.labels)} classes, {len(dataset.images)} images: "
         + ", ".join(f"{label} ({n})" for label, n in zip(dataset.labels, counts, strict=True)))
    echo(f"{len(train_idx)} for training (each with {augmentations} augmented copies: crop, flip, brightness), "
         f"{len(val_idx)} held out for validation, seed {seed}")
    return _Split(train_idx, val_idx)


def _extract(source: Path, dataset: Dataset, split: _Split, augmentations: int, rng: np.random.Generator,
             echo: Echo) -> _Features:
    """The backbone's features of the training images, their augmented copies and the held-out images."""
    extractor = FeatureExtractor(source)
    train_images, y_train = training_set(dataset, split.train, augmentations, rng)
    t1 = time.perf_counter()
    progress = Progress("features", len(train_images) + len(split.val), "images")
    x_train = extractor(train_images, progress.update)
    x_val = (extractor([dataset.images[i] for i in split.val], lambda n: progress.update(len(train_images) + n))
             if len(split.val) else np.zeros((0, x_train.shape[1]), np.float32))
    progress.finish()
    echo(f"features: {len(x_train) + len(x_val)} x {x_train.shape[1]} from {source.name} on the CPU "
         f"({extractor.preprocessing.describe()}) in {time.perf_counter() - t1:.1f} s")
    return _Features(x_train, y_train, x_val, dataset.targets[split.val])


def _fit(features: _Features, classes: int, options: TrainOptions, rng: np.random.Generator,
         echo: Echo) -> tuple[Head, list[EpochStats], int]:
    """Train the head, a line per epoch, then why it stopped and the table of epochs."""
    start_loss = float(np.log(classes))
    progress = Progress("training", options.epochs, "epochs at most")

    def on_epoch(stats: EpochStats, best: bool) -> None:
        progress.clear()
        echo(epoch_line(stats, options.epochs, start_loss, best))
        progress.update(stats.epoch)

    echo(f"training a softmax head: Adam, lr {options.learning_rate:g}, L2 {options.l2:g}, batch {options.batch_size}, "
         f"initial loss ln({classes}) = {np.log(classes):.4f}")
    head, history, best_epoch = train_head(features.x_train, features.y_train, features.x_val, features.y_val,
                                           classes, options, rng, on_epoch)
    progress.finish()
    echo(stop_line(history, best_epoch, options))
    echo("")
    echo(history_table(history, best_epoch))
    return head, history, best_epoch


def _validate(head: Head, features: _Features, labels: tuple[str, ...], best_epoch: int, echo: Echo) -> _Validation:
    """The kept head's accuracy per class on the held-out images, and a suggested --min-confidence."""
    if not len(features.y_val):
        return _Validation()
    probabilities = head.probabilities(features.x_val)
    predictions = probabilities.argmax(axis=1)
    accuracy = float((predictions == features.y_val).mean())
    confusion = confusion_matrix(features.y_val, predictions, len(labels))
    echo("")
    echo(f"validation accuracy (epoch {best_epoch}): {accuracy:.1%} of {len(features.y_val)} held-out images")
    echo(confusion_table(confusion, labels))
    threshold = suggest_min_confidence(probabilities, features.y_val)
    echo(threshold_line(threshold, probabilities, features.y_val))
    return _Validation(accuracy, confusion, threshold)


def _plot(history: list[EpochStats], plot: Path, echo: Echo, warn: Warn) -> None:
    if save_plot(history, plot):
        echo(f"curves: {plot}")
    else:
        warn(f"matplotlib is not installed: no plot written to {plot}")


def _description(data_dir: Path, source: Path, dataset: Dataset, split: _Split, augmentations: int, seed: int,
                 best_epoch: int, validation: _Validation) -> str:
    """How the model was made, for its metadata: data, seed, kept epoch, validation, backbone."""
    acc_text = (f", validation accuracy {validation.accuracy:.1%} on {len(split.val)} images"
                if validation.accuracy is not None else "")
    acc_text += (f", suggested --min-confidence {validation.threshold:.2f}"
                 if validation.threshold is not None else "")
    return (f"softmax head trained by {PROG} on {len(split.train)} images (+{augmentations} augmented copies each) "
            f"of {len(dataset.labels)} classes from {data_dir.name}/, seed {seed}, epoch {best_epoch}{acc_text}; "
            f"backbone and preprocessing: {source.name}")


def train(data_dir: Path, out: Path, *, model: Path | None = None, options: TrainOptions = DEFAULT_OPTIONS,
          val_fraction: float = 0.2, augmentations: int = 4, seed: int = 0, plot: Path | None = None,
          overwrite: bool = False, echo: Echo = print, warn: Warn = warn_stderr) -> TrainResult:
    """Load, extract, train, report, export: what ``live-classify-train`` does."""
    t0 = time.perf_counter()
    _check_request(out, val_fraction, overwrite)
    source = model or default_model_path()
    dataset = load_dataset(data_dir, warn)
    rng = np.random.default_rng(seed)
    split = _split(dataset, val_fraction, augmentations, seed, rng, echo)
    features = _extract(source, dataset, split, augmentations, rng, echo)
    head, history, best_epoch = _fit(features, len(dataset.labels), options, rng, echo)
    validation = _validate(head, features, dataset.labels, best_epoch, echo)
    if plot is not None:
        _plot(history, plot, echo, warn)
    export_model(source, out, head, dataset.labels, out.stem,
                 _description(data_dir, source, dataset, split, augmentations, seed, best_epoch, validation))
    seconds = time.perf_counter() - t0
    echo("")
    echo(f"wrote {out} ({len(dataset.labels)} classes) in {seconds:.1f} s; "
         f"try it: live-classify --model {out} --camera 0")
    return TrainResult(head, dataset.labels, history, best_epoch, validation.accuracy, validation.confusion,
                       validation.threshold, seconds)
