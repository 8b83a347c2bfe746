"""One frame of a recorded MP4 at a moment: what a thumbnail shows. It seeks to the keyframe at or
before the moment and decodes from there (a second at most, as the recordings place keyframes), so
the cost does not grow with the file: a thumbnail of a long event's best frame stays quick."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def frame_at(path: Path, offset_s: float) -> np.ndarray | None:
    """The BGR frame shown ``offset_s`` seconds into ``path`` (its last, past its end); None if the
    file holds no frame. Raises ``av.FFmpegError`` or ``OSError`` for a file that cannot be read."""
    shown = None
    with av.open(str(path)) as video:
        stream = video.streams.video[0]
        if stream.time_base is not None:
            video.seek(max(0, int(offset_s / stream.time_base)), stream=stream, backward=True)
        for frame in video.decode(stream):
            if shown is not None and frame.time is not None and frame.time > offset_s + 1e-3:
                break
            shown = frame
    return None if shown is None else shown.to_ndarray(format="bgr24")
