"""Motion-JPEG in AVI: every frame a JPEG of its own, playable after any way the run ends."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from live_classify.errors import LiveClassifyError
from live_classify.log import Log, warning
from live_classify.sinks.files import disk_nearly_full, fsync_path
from live_classify.sinks.letterbox import letterbox


class MjpegWriter:
    """The annotated video as Motion-JPEG in AVI, at the source's real frame rate.

    Why MJPG/AVI: every frame is a self-contained JPEG appended to the file, so what is on disk
    stays playable after a hard kill or a power cut (the index at the end is optional for
    readers); a plain .mp4 from OpenCV is unreadable without its final ``moov`` box. The rate of a
    live source is measured over its first second, since streams often claim a rate they do not
    send (MJPEG over HTTP always says 25).
    """

    MEASURE_S = 1.0
    FALLBACK_FPS = 30.0  # when a run is too short to measure anything
    # OpenCV's writer reports no write errors: on a full disk it would silently drop every frame
    # while we count them as recorded. So the free space is checked each second, and recording
    # stops — closed, playable — while a few seconds of video still fit; classification goes on.
    FFMPEG_BUFFER = 256 * 2**10  # FFmpeg writes the file in chunks of this size

    def __init__(self, path: Path, fps: float | None, log: Log = warning) -> None:
        """``fps`` None: measure the rate from the frames' capture times."""
        self.path = path
        self.fps = fps
        self.log = log
        self.frames = 0
        self.stopped_because: str | None = None  # why recording stopped before the run did
        self._next_check = 0.0
        self._last_size = 0
        self._frames_at_last_growth = 0
        self._frame_bytes = 0  # one frame as JPEG, measured when the writer opens
        self._size: tuple[int, int] | None = None
        self._letterboxed: tuple[int, int] | None = None  # the other size last said
        self._writer: cv2.VideoWriter | None = None
        self._pending: list[tuple[np.ndarray, float]] = []

    def write(self, image: np.ndarray, t_capture: float) -> None:
        """Add one frame; frames of another size (a camera that came back different) are letterboxed."""
        if self.stopped_because:
            return
        if self._size is None:
            self._size = (image.shape[1], image.shape[0])
        image = self._fitted(image, self._size)
        if self._writer is None:
            self._pending.append((image, t_capture))
            if self.fps is None and t_capture - self._pending[0][1] < self.MEASURE_S:
                return
            self._open()
            return
        self._writer.write(image)
        self.frames += 1
        self._check_space()

    def _fitted(self, image: np.ndarray, target: tuple[int, int]) -> np.ndarray:
        """The frame at the file's size, ``target``: one of another size is letterboxed into it (its
        aspect kept, never stretched), said once for each change."""
        size = (image.shape[1], image.shape[0])
        if size == target:
            self._letterboxed = None
            return image
        if size != self._letterboxed:
            self._letterboxed = size
            self.log(f"{self.path}: the source's frames are now {size[0]}x{size[1]}: letterboxed into "
                     f"{target[0]}x{target[1]}, the recording's size")
        return letterbox(image, *target)

    def _check_space(self) -> None:
        """Once a second: push what the OS holds to the disk (a power cut then loses at most the
        second since, plus FFmpeg's own 256 KB buffer), and stop while RESERVE_SECONDS of video
        (at the rate seen) still fit."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + 1.0
        fsync_path(self.path)
        try:
            size = self.path.stat().st_size
        except OSError:
            size = self._last_size
        per_second = max(0, size - self._last_size)
        if size > self._last_size:
            self._last_size, self._frames_at_last_growth = size, self.frames
        if full := disk_nearly_full(self.path, per_second):
            self._stop(full)
        elif (self.frames - self._frames_at_last_growth) * self._frame_bytes > 3 * self.FFMPEG_BUFFER:
            # Far more than FFmpeg buffers went in, and nothing came out: the writes fail, and
            # the frames since the file last grew are not in it.
            self.frames = self._frames_at_last_growth
            self._stop("the file stopped growing (a file size limit?)")

    def _stop(self, why: str) -> None:
        """Close the recording — playable — and keep classifying."""
        self.close()
        self.stopped_because = why
        self.log(f"recording stopped: {why}; {self.path} keeps what it had on disk; classification goes on")

    def close(self) -> None:
        """Write the index; the file is already playable without it."""
        if self._writer is None and self._pending:
            self._open()
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def _open(self) -> None:
        if self.fps is None:
            # A stream first hands over what it buffered while the model loaded, in a burst (a long
            # one on a busy box), then frames come at its rate, with jitter: so, frames per second
            # over the second half of the window (on a busy box the median interval was off 3x).
            times = np.array([t for _, t in self._pending])
            steady = times[times >= times[0] + self.MEASURE_S / 2]
            if steady.size < 3:
                steady = times
            span = float(steady[-1] - steady[0]) if steady.size > 1 else 0.0
            self.fps = round((steady.size - 1) / span, 2) if span > 0 else self.FALLBACK_FPS
        height, width = self._pending[0][0].shape[:2]  # the recording's size: every frame is fitted to it
        writer = cv2.VideoWriter(str(self.path), cv2.CAP_FFMPEG, cv2.VideoWriter.fourcc(*"MJPG"), self.fps,
                                 (width, height))
        if not writer.isOpened():
            raise LiveClassifyError(f"cannot record to {self.path}: OpenCV could not open a Motion-JPEG writer")
        self._writer = writer
        self._frame_bytes = len(cv2.imencode(".jpg", self._pending[0][0], [cv2.IMWRITE_JPEG_QUALITY, 75])[1])
        for image, _ in self._pending:
            writer.write(image)
            self.frames += 1
        self._pending = []
