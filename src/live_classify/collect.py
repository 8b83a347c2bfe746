"""Collect training frames for your own classes: keys 1–9 in the live window, or headless.

The frames are saved raw (without the overlay) as PNGs in ``DIR/<class>/``, the layout that
``live-classify-train`` reads.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np

from live_classify.errors import LiveClassifyError
from live_classify.train import check_label


class Collector:
    """Saves frames under their class; counts what each class has, on disk included."""

    def __init__(self, root: Path, classes: list[str]) -> None:
        if not classes:
            raise LiveClassifyError("no classes to collect")
        if len(classes) > 9:
            raise LiveClassifyError(f"at most 9 classes can be bound to keys 1-9, not {len(classes)}")
        self.classes = [check_label(name) for name in classes]
        for name in self.classes:
            if "/" in name or "\\" in name or name in (".", ".."):
                raise LiveClassifyError(f"class name {name!r} cannot be a folder name: no slashes, not '.' or '..'")
        self.root = root
        for name in self.classes:
            folder = root / name
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise LiveClassifyError(f"cannot create {folder}: {error.strerror}") from None
        self.counts = {name: sum(1 for _ in (root / name).glob("*.png")) for name in self.classes}

    def save(self, image: np.ndarray, name: str) -> Path:
        """One raw frame as a PNG, written under a temporary name and renamed: never half a file."""
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() // 1_000_000 % 1000:03d}-{self.counts[name]:05d}"
        path = self.root / name / f"{stamp}.png"
        partial = path.with_name(f".{path.name}.partial.png")
        if not cv2.imwrite(str(partial), image):
            raise LiveClassifyError(f"cannot save a frame in {path.parent}")
        os.replace(partial, path)
        self.counts[name] += 1
        return path

    def summary(self) -> str:
        """'1 door_open: 12 | 2 door_closed: 8', for the overlay and the log."""
        return " | ".join(f"{key} {name}: {self.counts[name]}" for key, name in enumerate(self.classes, start=1))
