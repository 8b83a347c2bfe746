"""The recording sink: the annotated video to a file, encoded on a thread of its own.

``.mp4``: H.264 in fragmented MP4 (``mp4.py``), small, plays in browsers, on a true timeline.
``.avi``: Motion-JPEG (``mjpeg.py``), bigger, every frame a JPEG of its own. Both stay playable
after any way the run ends. Encoding never runs on the main loop: frames wait in a short queue,
and live, when the encoder falls behind, the oldest are dropped and counted rather than slowing
the window or growing memory.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from live_classify import log
from live_classify.errors import LiveClassifyError
from live_classify.sinks.base import BackgroundWriter, Update
from live_classify.sinks.files import check_writable, disk_nearly_full, fsync_path
from live_classify.sinks.mjpeg import MjpegWriter
from live_classify.sinks.mp4 import EncoderSettings, Mp4Writer

SUFFIXES = (".mp4", ".avi")  # the command line refuses any other (see cli.py)
WHY_SUFFIXES = "H.264 MP4, or Motion-JPEG AVI; both survive a crash"
BACKLOG = 8  # frames waiting for the encoder: about a quarter of a second at 30 fps


def check(path: Path, overwrite: bool) -> None:
    """Refuse a path that cannot be written, or a recording that would be lost."""
    check_writable(path, "recording")
    if path.exists() and not overwrite:
        raise LiveClassifyError(f"--record {path}: the file exists (pass --overwrite to replace it)")


class _Mp4:
    """An :class:`Mp4Writer` opened at the first frame's size, with the MJPEG writer's counters."""

    def __init__(self, path: Path, settings: EncoderSettings) -> None:
        self.path = path
        self.settings = settings
        self.stopped_because: str | None = None  # why recording stopped before the run did
        self._writer: Mp4Writer | None = None
        self._next_check = 0.0
        self._last_size = 0

    @property
    def frames(self) -> int:
        return self._writer.frames if self._writer else 0

    @property
    def rate(self) -> str:
        """The mean frame rate of the timestamps, for the summary."""
        if self._writer is None or self._writer.frames < 2:
            return "the source's times"
        return f"{(self._writer.frames - 1) / max(1e-9, self._writer.duration_s):.3g} fps (the source's times)"

    def write(self, image: np.ndarray, t: float) -> None:
        if self.stopped_because:
            return
        if self._writer is None:
            self._writer = Mp4Writer(self.path, (image.shape[1], image.shape[0]), self.settings)
            log.info(f"recording {self.path}: H.264 with {self._writer.encoder}")
        self._writer.write(image, t)
        self._check_space()

    def _check_space(self) -> None:
        """Once a second: push the file to the disk, and stop — closed, playable — while a few
        seconds more of it still fit. (A write that fails anyway stops the recording with one line.)"""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + 1.0
        fsync_path(self.path)
        size = self.path.stat().st_size
        growth, self._last_size = max(0, size - self._last_size), size
        if full := disk_nearly_full(self.path, growth):
            self.close()
            self.stopped_because = full
            log.warning(f"recording stopped: {full}; {self.path} keeps what it had on disk; classification goes on")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class Recording:
    """``--record FILE``: every shown frame, annotated, at its time on the source's clock (a file's
    own timestamps, a live source's capture times)."""

    name = "recording"
    essential = False
    stop_requested = False

    def __init__(self, path: Path, fps: float | None, *, drop: bool,
                 settings: EncoderSettings = EncoderSettings()) -> None:
        """``fps``: a file's own rate (AVI; None: measured from capture times); ``drop``: live."""
        self.path = path
        self._video = _Mp4(path, settings) if path.suffix.lower() == ".mp4" else MjpegWriter(path, fps, log.warning)
        self._encoder: BackgroundWriter[tuple[np.ndarray, float]] = BackgroundWriter(
            "record", lambda item: self._video.write(*item), drop=drop, backlog=BACKLOG)

    @property
    def error(self) -> str | None:
        return self._encoder.error

    @error.setter
    def error(self, value: str | None) -> None:
        self._encoder.error = value

    def write(self, update: Update) -> None:
        self._encoder.submit((update.canvas, update.source_time))

    def idle(self, redraw: Callable[[], np.ndarray | None]) -> None:
        pass

    def close(self) -> None:
        self._encoder.finish()
        self._video.close()

    def summary(self) -> str:
        video = self._video
        rate = video.rate if isinstance(video, _Mp4) else f"{video.fps or 0:g} fps"
        stopped = f" (stopped early: {video.stopped_because})" if video.stopped_because else ""
        dropped = f", {self._encoder.dropped} dropped: the encoder fell behind" if self._encoder.dropped else ""
        return f"recorded {video.frames} frames to {self.path} at {rate}{dropped}{stopped}"
