"""A picture fitted into another size with its aspect kept: a grid's tile, and a recording whose
camera came back at another size (its file keeps the size it started with)."""
from __future__ import annotations

import cv2
import numpy as np


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled to fit ``width`` x ``height`` with its aspect kept, centred on black."""
    scale = min(width / image.shape[1], height / image.shape[0])
    size = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    out = np.zeros((height, width, 3), np.uint8)
    left, top = (width - size[0]) // 2, (height - size[1]) // 2
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out[top : top + size[1], left : left + size[0]] = cv2.resize(image, size, interpolation=interpolation)
    return out
