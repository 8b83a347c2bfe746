"""Stage 1 for still images: a photo, a directory or a glob becomes BGR frames."""
from __future__ import annotations

import glob
from pathlib import Path

import cv2
import numpy as np

from live_classify.errors import LiveClassifyError
from live_classify.sources.names import IMAGE_SUFFIXES, is_image_path


def expand_images(source: str) -> list[Path]:
    """The image files that ``source`` names: one file, the images in a directory, or a glob."""
    path = Path(source)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and is_image_path(p))
        if not found:
            raise LiveClassifyError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in directory {source}")
        return found
    if path.exists():
        return [path]
    if glob.has_magic(source):
        found = sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file())
        if not found:
            raise LiveClassifyError(f"no files match {source}")
        return found
    raise LiveClassifyError(f"source not found: {source}")


def read_image(path: Path) -> np.ndarray:
    """Decode any image OpenCV reads into HxWx3 uint8 BGR (gray, alpha and 16-bit are converted)."""
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as error:
        raise LiveClassifyError(f"cannot read image {path}: {error.strerror or error}") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise LiveClassifyError(f"cannot decode image {path}: not an image OpenCV can read, or damaged")
    return image
