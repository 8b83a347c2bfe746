"""Teach the classifier your own classes: a new softmax head on the bundled backbone's features.

A folder with one subfolder per class (``data/mug/*.jpg``, ``data/keys/*.jpg`` ...) becomes one
ONNX file that the ``live-classify`` command runs unchanged: the backbone's pooled ``features``
are extracted once (with the product's own preprocessing, so training sees exactly what inference
will see), a linear softmax head is trained on them in numpy, and the head is appended to the
backbone graph as ``MatMul + Add`` producing ``logits``. Training a head on frozen features takes
seconds on a CPU and works with a few dozen photos per class; fine-tuning the backbone would not.

    python -m live_classify.train DATA_DIR --out mine.onnx
    live-classify --model mine.onnx --camera 0

One module per job, each importing only what it needs (the collector imports ``check_label``
without loading onnxruntime's training side):

- ``dataset``  the class folders, their labels, the stratified split, augmentation
- ``features`` the backbone as a feature extractor, with the product's preprocessing
- ``head``     the numpy softmax head and its training loop (Adam, early stopping)
- ``export``   the backbone with the new head as one ONNX file, labels in its metadata
- ``report``   what a person reads while it runs: epochs, the stop rule, validation, a threshold
- ``run``      the whole run, stage by stage: ``train()``
- ``cli``      the ``live-classify-train`` command line
"""
from __future__ import annotations

import sys
from collections.abc import Callable

PROG = "live-classify-train"

Warn = Callable[[str], None]


def warn(message: str) -> None:
    """The command's warning line on stderr: something was skipped, the run goes on."""
    print(f"{PROG}: warning: {message}", file=sys.stderr)
