"""The training data: one folder per class, its label checked, a stratified split, augmentation."""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from live_classify.errors import LiveClassifyError
from live_classify.sources.photos import is_image_path, read_image
from live_classify.train import Warn
from live_classify.train import warn as warn_stderr


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


def _class_folders(root: Path) -> list[Path]:
    """The class subfolders of ``root`` (hidden ones ignored); at least two, or there is nothing to tell apart."""
    if not root.exists():
        raise LiveClassifyError(f"dataset folder not found: {root}")
    if not root.is_dir():
        raise LiveClassifyError(f"dataset path is not a folder: {root}")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(class_dirs) < 2:
        found = ", ".join(p.name for p in class_dirs) or "none"
        raise LiveClassifyError(
            f"{root} needs at least 2 class subfolders (one per class), found {len(class_dirs)}: {found}")
    return class_dirs


def _read_class(folder: Path, warn: Warn) -> tuple[list[np.ndarray], list[Path]]:
    """The readable images of one class folder; an unreadable one is skipped with a warning, but
    the class must keep at least one, or it would silently vanish from the model."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_path(p))
    if not files:
        raise LiveClassifyError(f"class folder {folder} has no images")
    images: list[np.ndarray] = []
    paths: list[Path] = []
    for path in files:
        try:
            images.append(read_image(path))
        except LiveClassifyError as error:
            warn(f"skipping {error}")
            continue
        paths.append(path)
    if not images:
        raise LiveClassifyError(f"class folder {folder} has no readable images ({len(files)} could not be decoded)")
    return images, paths


def load_dataset(root: Path, warn: Warn = warn_stderr) -> Dataset:
    """Read ``root/<class>/<image>``: every label checked before any image is decoded."""
    class_dirs = _class_folders(root)
    labels = tuple(check_label(p.name) for p in class_dirs)
    images: list[np.ndarray] = []
    targets: list[int] = []
    paths: list[Path] = []
    for index, folder in enumerate(class_dirs):
        class_images, class_paths = _read_class(folder, warn)
        images += class_images
        paths += class_paths
        targets += [index] * len(class_images)
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


def training_set(dataset: Dataset, train_idx: np.ndarray, augmentations: int,
                 rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """The training images followed by ``augmentations`` variants of each, and their targets."""
    images = [dataset.images[i] for i in train_idx]
    images += [augment(image, rng) for image in images for _ in range(augmentations)]
    targets = np.concatenate([dataset.targets[train_idx], np.repeat(dataset.targets[train_idx], augmentations)])
    return images, targets
