"""The numpy softmax head on the backbone's features, and its training loop with early stopping."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from live_classify.engine.postprocess import softmax
from live_classify.train.report import EpochStats


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
    """The head's training settings; the command line sets only ``epochs``."""

    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 1e-3
    l2: float = 1e-2
    patience: int = 8  # epochs without a better validation loss before stopping
    min_gain: float = 0.01  # "better": at least this fraction below the best validation loss so far


OnEpoch = Callable[[EpochStats, bool], None]  # an epoch's numbers, and whether it is the best so far


@dataclass(frozen=True)
class _Standardization:
    """Per-unit ``(x - mean) / std`` of the training features: one learning rate then fits every
    backbone. Folded back into the weights at the end, so the exported head takes raw features."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> _Standardization:
        std = x.std(axis=0)
        # A unit that never varies in training (the backbone clips some to 0) must not be blown up
        # by 1/std when it does vary on a new image: floor its scale at the typical one.
        return cls(x.mean(axis=0), np.maximum(std, std.mean()))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def fold(self, weights: np.ndarray, bias: np.ndarray) -> Head:
        """The head on raw features that scores exactly as ``weights, bias`` on standardized ones."""
        return Head((weights / self.std[:, None]).astype(np.float32),
                    (bias - (self.mean / self.std) @ weights).astype(np.float32))


class _Adam:
    """Adam on the head's parameters, updated in place."""

    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def __init__(self, params: Sequence[np.ndarray], learning_rate: float) -> None:
        self.params = params
        self.learning_rate = learning_rate
        self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        self.step = 0

    def update(self, grads: Sequence[np.ndarray]) -> None:
        self.step += 1
        for param, g, (m, v) in zip(self.params, grads, self.moments, strict=True):
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1**self.step)
            v_hat = v / (1 - self.beta2**self.step)
            param -= (self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)).astype(np.float32)


@dataclass(frozen=True)
class _Best:
    """The epoch kept so far: its validation loss (inf without a validation set) and its parameters."""

    val_loss: float
    weights: np.ndarray
    bias: np.ndarray
    epoch: int


def _cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(targets)), targets].mean())


def _accuracy(head: Head, x: np.ndarray, y: np.ndarray) -> float:
    return float((head.predict(x) == y).mean())


def _batch_gradients(head: Head, x: np.ndarray, y: np.ndarray,
                     l2: float) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    """The batch's mean cross-entropy (without the L2 term) and the gradients of the regularized loss."""
    logits = head.logits(x)
    loss = _cross_entropy(logits, y)
    grad = softmax(logits)
    grad[np.arange(len(y)), y] -= 1
    grad /= len(y)
    return loss, (x.T @ grad + l2 * head.weights, grad.sum(axis=0))


def _train_epoch(head: Head, x: np.ndarray, y: np.ndarray, adam: _Adam, options: TrainOptions,
                 rng: np.random.Generator) -> float:
    """One pass over shuffled mini-batches; the mean training loss of its batches."""
    order = rng.permutation(len(x))
    losses = []
    for start in range(0, len(order), options.batch_size):
        idx = order[start : start + options.batch_size]
        loss, grads = _batch_gradients(head, x[idx], y[idx], options.l2)
        losses.append(loss)
        adam.update(grads)
    return float(np.mean(losses))


def _epoch_stats(epoch: int, loss: float, head: Head, train: tuple[np.ndarray, np.ndarray],
                 val: tuple[np.ndarray, np.ndarray]) -> EpochStats:
    """The epoch's numbers; the validation ones are None without a validation set."""
    has_val = len(val[0]) > 0
    val_loss = _cross_entropy(head.logits(val[0]), val[1]) if has_val else None
    return EpochStats(epoch, loss, _accuracy(head, *train), val_loss, _accuracy(head, *val) if has_val else None)


def train_head(
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, classes: int,
    options: TrainOptions, rng: np.random.Generator, on_epoch: OnEpoch | None = None,
) -> tuple[Head, list[EpochStats], int]:
    """Adam on the L2-regularized cross-entropy of standardized features.

    Returns the head of the best epoch (standardization folded in), the history and that epoch.
    An epoch is better when its validation loss is ``min_gain`` (1%) below the best so far: a
    relative rule, so tiny losses late in training are judged like large early ones. Without a
    validation set the last epoch wins.
    """
    scale = _Standardization.of(x_train)
    train, val = (scale(x_train), y_train), (scale(x_val), y_val)
    has_val = len(x_val) > 0
    # Zero start: the first loss is exactly ln(C).
    head = Head(np.zeros((x_train.shape[1], classes), np.float32), np.zeros(classes, np.float32))
    adam = _Adam((head.weights, head.bias), options.learning_rate)
    history: list[EpochStats] = []
    best = _Best(np.inf, head.weights.copy(), head.bias.copy(), 0)
    for epoch in range(1, options.epochs + 1):
        stats = _epoch_stats(epoch, _train_epoch(head, *train, adam, options, rng), head, train, val)
        history.append(stats)
        improved = stats.val_loss is None or stats.val_loss < best.val_loss * (1 - options.min_gain)
        if improved:
            val_loss = stats.val_loss if stats.val_loss is not None else np.inf  # None: no validation set
            best = _Best(val_loss, head.weights.copy(), head.bias.copy(), epoch)
        if on_epoch:
            on_epoch(stats, improved and has_val)
        if has_val and epoch - best.epoch >= options.patience:
            break
    return scale.fold(best.weights, best.bias), history, best.epoch
