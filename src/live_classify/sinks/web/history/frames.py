"""``/api/history/thumbnail.jpg``: one frame of the recording at a moment, as a small JPEG — what
the event list shows for an event that has no thumbnail file of its own. Decoded with PyAV from
the keyframe before the moment (a second at most, as the recording places them)."""
from __future__ import annotations

from pathlib import Path

import av
import cv2

WIDTH = 240  # pixels: a thumbnail, not a frame to study
JPEG_QUALITY = 75


def thumbnail(path: Path, offset: float) -> bytes | None:
    """The JPEG of the frame shown ``offset`` seconds into the file (its last, past its end);
    None if the file holds no frame."""
    shown = None
    try:
        with av.open(str(path)) as video:
            stream = video.streams.video[0]
            if stream.time_base is not None:
                video.seek(max(0, int(offset / stream.time_base)), stream=stream, backward=True)
            for frame in video.decode(stream):
                if shown is not None and frame.time is not None and frame.time > offset:
                    break
                shown = frame
    except av.FFmpegError as error:  # cut short, or gone since the index named it
        raise OSError(f"cannot read {path.name}: {error}") from None
    if shown is None:
        return None
    image = shown.to_ndarray(format="bgr24")
    height = round(image.shape[0] * WIDTH / image.shape[1])
    small = cv2.resize(image, (WIDTH, height), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()
