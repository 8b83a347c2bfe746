"""The taught classes on disk, beside the recordings: ``DIR/classes/<label>/`` holds each example
frame as a JPEG (``<camera>-<unix ms>.jpg``) and ``features.npz`` (their features, and the model
file they were computed with). One folder per class of images is also what ``live-classify-train``
reads as a dataset, so a full head can be trained on the taught classes as they are."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FOLDER = "classes"
FEATURES = "features.npz"
MAX_LABEL = 64  # characters: a label is a name on an overlay, not a sentence


class BadLabel(ValueError):
    """A label that cannot name a class (the message says why)."""


def check_label(label: str) -> str:
    """``label`` stripped, or BadLabel: empty, too long, control characters, or not a folder name."""
    label = label.strip()
    if not label:
        raise BadLabel("the label is empty")
    if len(label) > MAX_LABEL:
        raise BadLabel(f"the label is {len(label)} characters long; at most {MAX_LABEL}")
    if any(unicodedata.category(ch).startswith("C") for ch in label):
        raise BadLabel("the label holds a control character")
    if "/" in label or "\\" in label or label.startswith("."):
        raise BadLabel("the label cannot hold / or \\ nor start with a dot (it names a folder)")
    return label


def example_name(camera: str, time: float) -> str:
    """The file of camera ``camera``'s frame at ``time`` (unix seconds): a name that sorts by time."""
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', camera)}-{round(time * 1000)}.jpg"


def fingerprint(model: Path) -> str:
    """What identifies the model the features came from: the SHA-256 of its file."""
    digest = hashlib.sha256()
    with model.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Examples:
    """One class's examples: their file names (in its folder), their features, the model's fingerprint."""

    names: tuple[str, ...]
    features: np.ndarray  # [n, D] float32, raw (the matcher normalises)
    model: str


class ClassStore:
    """``DIR/classes``: read and written by one teacher at a time (its lock)."""

    def __init__(self, recordings: Path) -> None:
        self.root = recordings / FOLDER

    def labels(self) -> list[str]:
        """Every taught label (a folder with its features), sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / FEATURES).is_file())

    def folder(self, label: str) -> Path:
        return self.root / label

    def load(self, label: str) -> Examples:
        with np.load(self.folder(label) / FEATURES) as saved:
            return Examples(tuple(str(n) for n in saved["names"]), saved["features"].astype(np.float32),
                            str(saved["model"]))

    def save(self, label: str, examples: Examples, jpegs: dict[str, bytes]) -> None:
        """The new example frames written, then the features (replaced at once: a crash leaves the old)."""
        folder = self.folder(label)
        folder.mkdir(parents=True, exist_ok=True)
        for name, jpeg in jpegs.items():
            (folder / name).write_bytes(jpeg)
        partial = folder / f".{FEATURES}.tmp"
        with partial.open("wb") as file:
            np.savez(file, names=np.array(examples.names), features=examples.features, model=examples.model)
        os.replace(partial, folder / FEATURES)

    def remove(self, label: str) -> bool:
        """The class and its examples gone; False if it was never taught."""
        if label not in self.labels():
            return False
        shutil.rmtree(self.folder(label))
        return True
