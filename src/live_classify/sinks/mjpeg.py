"""Motion-JPEG in AVI: every frame a JPEG of its own, playable after any way the run ends."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from live_classify.errors import LiveClassifyError
from live_classify.sinks.files import disk_nearly_full, fsync_path


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

    def __init__(self, path: Path, fps: float | None, log: Callable[[str], None] = print) -> None:
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
        self._writer: cv2.VideoWriter | None = None
        self._pending: list[tuple[np.ndarray, float]] = []

    def write(self, image: np.ndarray, t_capture: float) -> None:
        """Add one frame; frames of another size (a camera that came back different) are scaled."""
        if self.stopped_because:
            return
        if self._size is None:
            self._size = (image.shape[1], image.shape[0])
        elif (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        if self._writer is None:
            self._pending.append((image, t_capture))
            if self.fps is None and t_capture - self._pending[0][1] < self.MEASURE_S:
                return
            self._open()
            return
        self._writer.write(image)
        self.frames += 1
        self._check_space()

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
            # The median interval, not the mean: a stream's first frames often arrive in a burst.
            intervals = np.diff([t for _, t in self._pending])
            median = float(np.median(intervals)) if intervals.size else 0.0
            self.fps = round(1.0 / median, 2) if median > 0 else self.FALLBACK_FPS
        writer = cv2.VideoWriter(str(self.path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"MJPG"), self.fps, self._size)
        if not writer.isOpened():
            raise LiveClassifyError(f"cannot record to {self.path}: OpenCV could not open a Motion-JPEG writer")
        self._writer = writer
        self._frame_bytes = len(cv2.imencode(".jpg", self._pending[0][0], [cv2.IMWRITE_JPEG_QUALITY, 75])[1])
        for image, _ in self._pending:
            writer.write(image)
            self.frames += 1
        self._pending = []
