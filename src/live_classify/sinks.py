"""Where annotated frames and predictions are kept: a recording and JSON lines."""
from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from live_classify.errors import LiveClassifyError
from live_classify.pipeline import Prediction
from live_classify.report import top_records

def check_writable(path: Path, what: str) -> None:
    """Fail before capture starts, not after the first minute of video."""
    if path.is_dir():
        raise LiveClassifyError(f"{what} {path} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise LiveClassifyError(f"cannot write {what} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise LiveClassifyError(f"cannot write {what} {path}: permission denied")


class Recorder:
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
    RESERVE_SECONDS = 3.0
    RESERVE_MIN_BYTES = 4 * 2**20
    FFMPEG_BUFFER = 256 * 2**10  # FFmpeg writes the file in chunks of this size

    @staticmethod
    def check(path: Path, overwrite: bool) -> None:
        """Refuse a path that cannot be written, a non-AVI name, or a recording that would be lost."""
        check_writable(path, "recording")
        if path.suffix.lower() != ".avi":
            raise LiveClassifyError(
                f"--record {path}: use a .avi file (Motion-JPEG survives a crash; .mp4 does not)")
        if path.exists() and not overwrite:
            raise LiveClassifyError(f"--record {path}: the file exists (pass --overwrite to replace it)")

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
        _fsync(self.path)
        try:
            size = self.path.stat().st_size
        except OSError:
            size = self._last_size
        per_second = max(0, size - self._last_size)
        if size > self._last_size:
            self._last_size, self._frames_at_last_growth = size, self.frames
        free = shutil.disk_usage(self.path.parent).free
        if free < max(self.RESERVE_MIN_BYTES, self.RESERVE_SECONDS * per_second):
            self._stop(f"the disk is nearly full ({free / 2**20:.1f} MB free)")
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
        writer = cv2.VideoWriter(str(self.path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"MJPG"), self.fps, self._size)
        if not writer.isOpened():
            raise LiveClassifyError(f"cannot record to {self.path}: OpenCV could not open a Motion-JPEG writer")
        self._writer = writer
        self._frame_bytes = len(cv2.imencode(".jpg", self._pending[0][0], [cv2.IMWRITE_JPEG_QUALITY, 75])[1])
        for image, _ in self._pending:
            writer.write(image)
            self.frames += 1
        self._pending = []


class JsonLines:
    """One JSON object per classified frame, flushed per line, to a file or stdout (``-``).

    Lines are written by a thread of their own, so a slow reader (``--jsonl - | slow-consumer``)
    never holds up the window or the recording. Live, at most ``backlog`` lines wait for it and
    the oldest are skipped (and counted) beyond that; for a file (``drop=False``) the run waits
    for the reader instead, since every frame's line is owed.
    """

    def __init__(self, target: str, source_name: str, *, drop: bool = True, backlog: int = 1000) -> None:
        """A file is appended to: earlier lines are never lost."""
        self.source_name = source_name
        self.lines = 0
        self.skipped = 0  # lines dropped because the reader was too slow
        self.reader_gone = False  # stdout was a pipe whose reader closed it
        self.error: str | None = None  # the file could not be written (disk full, ...)
        self._drop = drop
        if target == "-":
            self._out: TextIO = sys.stdout
            self._owned = False
        else:
            path = Path(target)
            check_writable(path, "JSON lines file")
            try:
                self._out = path.open("a", encoding="utf-8")
            except OSError as error:
                raise LiveClassifyError(f"cannot write JSON lines file {path}: {error.strerror}") from None
            self._owned = True
        self._backlog: queue.Queue = queue.Queue(maxsize=backlog)
        self._writer = threading.Thread(target=self._write_lines, name="jsonl", daemon=True)
        self._writer.start()

    def write(self, prediction: Prediction) -> None:
        """Queue one line; returns at once, unless lines are owed (a file) and the reader lags."""
        if self.reader_gone or self.error:
            return
        line = json.dumps(self.record(prediction), ensure_ascii=False) + "\n"
        if not self._drop:
            self._backlog.put(line)
            return
        while True:
            try:
                self._backlog.put_nowait(line)
                return
            except queue.Full:
                try:
                    self._backlog.get_nowait()
                    self.skipped += 1
                except queue.Empty:
                    pass

    def record(self, prediction: Prediction) -> dict[str, object]:
        top = prediction.result.top
        times = prediction.result.times
        return {
            "frame": prediction.frame.index,
            "time": round(prediction.frame.wall_time, 3),
            "source": self.source_name,
            "top": top_records(top),
            "inference_ms": round(times.inference_ms, 3),
            "preprocess_ms": round(times.preprocess_ms, 3),
            "latency_ms": round(prediction.latency_ms, 3),
        }

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (waiting at most ``timeout`` for a stuck reader), then close."""
        self._backlog.put(None)
        self._writer.join(timeout)
        if self._owned:
            try:
                self._out.close()
            except OSError:  # the disk filled up: self.error already says so
                pass

    def _write_lines(self) -> None:
        next_sync = 0.0
        while (line := self._backlog.get()) is not None:
            if self.reader_gone or self.error:
                continue
            try:
                self._out.write(line)
                self._out.flush()
                self.lines += 1
                if self._owned and time.monotonic() >= next_sync:  # a power cut loses a second at most
                    os.fsync(self._out.fileno())
                    next_sync = time.monotonic() + 1.0
            except BrokenPipeError:
                self.reader_gone = True
                silence_stdout()
            except OSError as error:
                self.error = f"cannot write JSON lines: {error.strerror or error}"


def _fsync(path: Path) -> None:
    """Flush a file's data from the OS to the disk (fsync on any descriptor of the file does)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so Python's exit flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
