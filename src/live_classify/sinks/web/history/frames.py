"""``/api/history/thumbnail.jpg``: one frame of the recording at a moment, as a small JPEG — what
the event list shows for an event that has no thumbnail file of its own. Decoded with PyAV from
the keyframe before the moment (a second at most, as the recording places them)."""
from __future__ import annotations

from pathlib import Path

import av
import cv2

from live_classify.sinks.record.frame_at import frame_at

WIDTH = 240  # pixels: a thumbnail, not a frame to study
JPEG_QUALITY = 75


def thumbnail(path: Path, offset: float) -> bytes | None:
    """The JPEG of the frame shown ``offset`` seconds into the file (its last, past its end);
    None if the file holds no frame."""
    try:
        image = frame_at(path, offset)
    except av.FFmpegError as error:  # cut short, or gone since the index named it
        raise OSError(f"cannot read {path.name}: {error}") from None
    if image is None:
        return None
    height = round(image.shape[0] * WIDTH / image.shape[1])
    small = cv2.resize(image, (WIDTH, height), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()
