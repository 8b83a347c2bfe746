"""What a source's name alone says: a stream (by its URL's scheme) or photos (a directory, an image
file, a glob). Read before anything opens, by the command line too: no OpenCV here."""
from __future__ import annotations

import glob
from pathlib import Path
from urllib.parse import urlsplit

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


def is_stream(value: str) -> bool:
    try:
        return urlsplit(value).scheme.lower() in STREAM_SCHEMES
    except ValueError:
        return False


IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pbm"})


def is_image_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def looks_like_images(source: str) -> bool:
    """True for a directory, an image file, or a glob: what the photo mode handles."""
    path = Path(source)
    return path.is_dir() or is_image_path(path) or (not path.exists() and glob.has_magic(source))
