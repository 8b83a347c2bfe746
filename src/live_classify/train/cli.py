"""The ``live-classify-train`` command line: flags in, :func:`train` run, one line and exit 1 on a user error."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from live_classify.cli.argtypes import OneLineParser, holdout_fraction, non_negative_int, positive_int
from live_classify.errors import exit_code
from live_classify.train import PROG
from live_classify.train.head import TrainOptions
from live_classify.train.run import train


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Train a classifier for your own classes on the bundled backbone and export one ONNX file.")
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR",
                        help="a folder with one subfolder of images per class")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.onnx", help="the model to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument("--epochs", type=positive_int, default=TrainOptions.epochs,
                        help="at most this many epochs (60)")
    parser.add_argument("--val-fraction", type=holdout_fraction, default=0.2, metavar="F",
                        help="fraction of each class held out for validation and early stopping (0.2; 0: none)")
    parser.add_argument("--augment", type=non_negative_int, default=4, metavar="K",
                        help="augmented copies of each training image (4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the augmentation and the training (0)")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="save the curves (needs matplotlib)")
    parser.add_argument("--model", type=Path, metavar="PATH",
                        help="the backbone (default: the bundled EfficientNet-Lite0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``live-classify-train``: 0 when the model is written, 1 on a user error, 2 on a bad command line."""
    args = build_parser().parse_args(argv)

    def run() -> int:
        train(args.data_dir, args.out, model=args.model, options=TrainOptions(epochs=args.epochs),
              val_fraction=args.val_fraction, augmentations=args.augment, seed=args.seed, plot=args.plot,
              overwrite=args.overwrite)
        return 0

    return exit_code(PROG, run)
