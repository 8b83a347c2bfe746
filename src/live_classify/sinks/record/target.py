"""``--record``'s value read: a .mp4 or .avi file, or a directory of segments (a bad one is a
:class:`BadValue`). No encoder here: the command line reads it without loading PyAV."""
from __future__ import annotations

import os
from pathlib import Path

from live_classify.errors import BadValue

SUFFIXES = (".mp4", ".avi")  # the command line refuses any other
WHY_SUFFIXES = "H.264 MP4, or Motion-JPEG AVI; both survive a crash"


def target(text: str) -> Path:
    """``--record``: a .mp4 or .avi file, or a directory for segments (``DIR/`` or an existing one)."""
    path, slash = Path(text), text.endswith(("/", os.sep))
    video_suffix = path.suffix.lower() in SUFFIXES
    if slash and video_suffix:
        raise BadValue(f"{text}: a directory named like a video file; name it without {path.suffix}")
    if not (video_suffix or slash or path.is_dir()):
        raise BadValue(f"{text}: use a .mp4 or .avi file ({WHY_SUFFIXES}), or DIR/ with --segment")
    return path


def is_directory(path: Path) -> bool:
    """A recording into a directory (of segments); :func:`target` let only directories through without a suffix."""
    return path.suffix.lower() not in SUFFIXES or path.is_dir()
