"""Frames of a recorded MP4 at moments: what a thumbnail shows, what a class is taught from. It seeks
to the keyframe at or before a moment and decodes from there (a second at most, as the recordings
place keyframes), so the cost does not grow with the file: a thumbnail of a long event's best frame
stays quick. Several moments of one file share its opening (tens of milliseconds for a fragmented
MP4) and, when they are close, its decoding."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

RESEEK_S = 2.0  # a next moment further than this past the frame decoded: seek to it rather than decode on


def frame_at(path: Path, offset_s: float) -> np.ndarray | None:
    """The BGR frame shown ``offset_s`` seconds into ``path`` (its last, past its end); None if the
    file holds no frame. Raises ``av.FFmpegError`` or ``OSError`` for a file that cannot be read."""
    return frames_at(path, [offset_s])[0]


def frames_at(path: Path, offsets_s: Sequence[float]) -> list[np.ndarray | None]:
    """The frame shown at each of ``offsets_s`` (as :func:`frame_at`), the file opened once."""
    order = sorted(range(len(offsets_s)), key=lambda i: offsets_s[i])
    found: list[np.ndarray | None] = [None] * len(offsets_s)
    with av.open(str(path)) as video:
        stream = video.streams.video[0]
        pending = list(order)
        while pending:
            shown = _decode_to(video, stream, [offsets_s[i] for i in pending])
            for taken, image in zip(list(pending), shown, strict=False):
                found[taken] = image
            pending = pending[len(shown):]
            if not shown:  # the file holds no frame
                break
    return found


def _decode_to(video: av.container.InputContainer, stream: av.video.stream.VideoStream,
               offsets: list[float]) -> list[np.ndarray | None]:
    """The frames at the first offsets (sorted) from a seek to the first one on, up to where the next
    one is far enough to seek to; at the file's end, its last frame for all the rest."""
    if stream.time_base is not None:
        video.seek(max(0, int(offsets[0] / stream.time_base)), stream=stream, backward=True)
    images: list[np.ndarray | None] = []
    shown = None
    for frame in video.decode(stream):
        if shown is not None and frame.time is not None:
            while len(images) < len(offsets) and frame.time > offsets[len(images)] + 1e-3:
                images.append(shown.to_ndarray(format="bgr24"))  # the frame before this one is shown then
            if len(images) == len(offsets) or (images and offsets[len(images)] - frame.time > RESEEK_S):
                return images
        shown = frame
    if shown is None:
        return images
    last = shown.to_ndarray(format="bgr24")
    return images + [last] * (len(offsets) - len(images))
