"""What a person watches while training runs: a line per epoch, the table, why it stopped, the
validation results, a threshold for "unknown", and the curves.

Kept apart from the training itself so that the numbers a person reads are formatted in one place.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

BAR_WIDTH = 30
KEEP_CORRECT = 0.95  # the suggested --min-confidence keeps this share of the correct validation answers


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    loss: float  # mean training cross-entropy over the epoch's mini-batches (without the L2 term)
    train_acc: float
    val_loss: float | None
    val_acc: float | None


class StopRule(Protocol):
    """The early-stopping settings the stop line spells out (``TrainOptions`` has them, read-only)."""

    @property
    def epochs(self) -> int: ...

    @property
    def patience(self) -> int: ...

    @property
    def min_gain(self) -> float: ...


def epoch_line(stats: EpochStats, epochs: int, start_loss: float, best: bool) -> str:
    """One line per epoch: a bar as long as the loss (full: the untrained head's ln(C)), so
    training is seen shrinking as it runs, then the accuracies."""
    filled = round(BAR_WIDTH * min(1.0, stats.loss / start_loss))
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    val = f"  val {stats.val_acc:6.1%}" if stats.val_acc is not None else ""
    mark = "  <- best" if best else ""
    return (f"epoch {stats.epoch:>{len(str(epochs))}}/{epochs} [{bar}] loss {stats.loss:.4f}"
            f"  train {stats.train_acc:6.1%}{val}{mark}")


def history_table(history: list[EpochStats], best_epoch: int) -> str:
    """Every epoch; losses to 4 significant digits, so a 1% gain shows even when the loss is tiny."""
    rows = [" epoch       loss  train acc   val loss  val acc", " -----  ---------  ---------  ---------  -------"]
    for s in history:
        val_loss = f"{s.val_loss:9.4g}" if s.val_loss is not None else "        -"
        val_acc = f"{s.val_acc:7.1%}" if s.val_acc is not None else "      -"
        mark = "  *" if s.epoch == best_epoch else ""
        rows.append(f" {s.epoch:5d}  {s.loss:9.4g}  {s.train_acc:9.1%}  {val_loss}  {val_acc}{mark}")
    return "\n".join(rows)


def stop_line(history: list[EpochStats], best_epoch: int, options: StopRule) -> str:
    """Why training stopped and which epoch is kept, with the rule spelled out so the table agrees."""
    best = history[best_epoch - 1]
    if best.val_loss is None:
        return f"ran all {len(history)} epochs (no validation set); keeping the last"
    rule = f"validation loss not {options.min_gain:.0%} below its best, {best.val_loss:.4g} at epoch {best_epoch}"
    if len(history) < options.epochs:
        return (f"early stop at epoch {history[-1].epoch}: {options.patience} epochs with the {rule}; "
                f"keeping epoch {best_epoch}")
    if best_epoch == history[-1].epoch:
        return f"ran all {options.epochs} epochs; keeping the last (validation loss {best.val_loss:.4g})"
    return f"ran all {options.epochs} epochs; keeping epoch {best_epoch} (since then: the {rule})"


def suggest_min_confidence(probabilities: np.ndarray, targets: np.ndarray, keep: float = KEEP_CORRECT) -> float | None:
    """A ``--min-confidence`` for this model: the highest threshold (in steps of 0.01, at most 0.99)
    that at least ``keep`` of the correct validation answers reach. None if none is correct."""
    top = probabilities.max(axis=1)
    correct = top[probabilities.argmax(axis=1) == targets]
    if not correct.size:
        return None
    low = float(np.quantile(correct, 1 - keep, method="lower"))  # a score that keep of them reach
    return min(0.99, math.floor(low * 100) / 100)


def threshold_line(threshold: float | None, probabilities: np.ndarray, targets: np.ndarray) -> str:
    """The suggested threshold and what it would do to the validation answers."""
    if threshold is None:
        return "no --min-confidence to suggest: no validation answer was correct"
    top = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == targets
    kept, wrong_out = int((top[right] >= threshold).sum()), int((top[~right] < threshold).sum())
    return (f"suggested --min-confidence {threshold:.2f}: the highest that keeps at least {KEEP_CORRECT:.0%} "
            f"of the correct validation answers ({kept} of {int(right.sum())} kept; "
            f"{wrong_out} of {int((~right).sum())} wrong ones would say \"unknown\"); "
            "lower it if too many live frames say \"unknown\"")


def confusion_matrix(targets: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """``m[true, predicted]`` counts."""
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (targets, predictions), 1)
    return matrix


def confusion_table(matrix: np.ndarray, labels: Sequence[str]) -> str:
    """Per-class accuracy and the confusion matrix (rows: true class, columns: predicted), with
    the classes numbered so long names do not blow up the columns."""
    width = max(5, len(str(matrix.max())) + 1)
    corner = "true \\ predicted"
    first = max(len(corner), *(len(f"[{i}] {label}") for i, label in enumerate(labels)))
    head = f"  {corner:<{first}}" + "".join(f"{f'[{i}]':>{width}}" for i in range(len(labels)))
    rows = [head + "   accuracy"]
    for i, label in enumerate(labels):
        total = int(matrix[i].sum())
        acc = f"{matrix[i, i] / total:7.1%} of {total}" if total else "      - (none held out)"
        cells = "".join(f"{int(n):>{width}}" for n in matrix[i])
        rows.append(f"  {f'[{i}] {label}':<{first}}{cells}   {acc}")
    return "\n".join(rows)


def save_plot(history: list[EpochStats], path: Path) -> bool:
    """The loss and accuracy curves as a PNG, if matplotlib is installed (it is optional)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = [s.epoch for s in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [s.loss for s in history], label="train")
    if history[0].val_loss is not None:
        ax_loss.plot(epochs, [s.val_loss for s in history], label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.plot(epochs, [s.train_acc for s in history], label="train")
    if history[0].val_acc is not None:
        ax_acc.plot(epochs, [s.val_acc for s in history], label="validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
