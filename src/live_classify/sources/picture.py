"""A frame's pixels as an MJPEG camera sent them: a JPEG, decoded in full once, when something first
needs the picture.

Decoding a 720p JPEG costs about 4 ms of CPU, more than everything else a still frame needs. The
motion gate looks at a small grey picture only, which libjpeg decodes at an eighth, a quarter or a
half of the size for a fraction of that (its DCT scaling: 1.3 ms at an eighth). A frame the gate
finds still, that no window or recording shows, is then never decoded in full.
"""
from __future__ import annotations

import math
import threading

import cv2
import numpy as np

# Start-of-frame markers (baseline, progressive, lossless, arithmetic): they carry the picture's size.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn: markers without a length
_REDUCED = ((8, cv2.IMREAD_REDUCED_GRAYSCALE_8), (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
            (2, cv2.IMREAD_REDUCED_GRAYSCALE_2))


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """A JPEG's (height, width) from its frame header, without decoding; None if it is no JPEG."""
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill bytes before a marker
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        if marker in _SOF and at + 9 <= len(data):
            height, width = int.from_bytes(data[at + 5:at + 7], "big"), int.from_bytes(data[at + 7:at + 9], "big")
            return (height, width) if height and width else None
        if marker in (0xD9, 0xDA):  # the end, or the scan before any frame header
            return None
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return None


class Picture:
    """One JPEG frame, decoded in full at most once (by whichever thread first asks, under a lock)."""

    def __init__(self, jpeg: np.ndarray, height: int, width: int) -> None:
        self.jpeg = jpeg  # 1-D uint8: the bytes as the camera sent them
        self.height, self.width = height, width
        self._pixels: np.ndarray | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, packet: np.ndarray) -> Picture | None:
        """The picture in ``packet`` (a JPEG's bytes), or None when it is not one (a damaged frame)."""
        size = jpeg_size(packet[:65536].tobytes())  # the header comes first: tables, then the frame's size
        return cls(packet.reshape(-1), *size) if size else None

    @property
    def decoded_yet(self) -> bool:
        return self._pixels is not None

    def decoded(self) -> np.ndarray:
        """The full BGR picture (black where the JPEG was too damaged to decode: the frame keeps its size)."""
        with self._lock:
            if self._pixels is None:
                image: np.ndarray | None = cv2.imdecode(self.jpeg, cv2.IMREAD_COLOR)
                ok = image is not None and image.shape[:2] == (self.height, self.width)
                self._pixels = image if image is not None and ok else np.zeros((self.height, self.width, 3), np.uint8)
            return self._pixels

    def grey(self, height: int) -> np.ndarray:
        """The picture with at least ``height`` rows, as cheaply as it comes: the full one once decoded,
        else grey at the smallest scale that keeps that many rows."""
        if self._pixels is not None:
            return self._pixels
        for factor, flag in _REDUCED:
            if math.ceil(self.height / factor) >= height:
                small: np.ndarray | None = cv2.imdecode(self.jpeg, flag)
                return small if small is not None else self.decoded()
        return self.decoded()


def pixels(frame: np.ndarray | Picture) -> np.ndarray:
    """A source's frame as BGR pixels, whichever way it came (a JPEG is decoded here)."""
    return frame.decoded() if isinstance(frame, Picture) else frame
