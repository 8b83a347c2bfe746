"""Small file chores every output shares: checking a path up front, syncing, atomic PNGs."""
from __future__ import annotations

import errno
import os
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

from live_classify.errors import LiveClassifyError


def check_writable(path: Path, what: str) -> None:
    """Fail before capture starts, not after the first minute of video."""
    if path.is_dir():
        raise LiveClassifyError(f"{what} {path} is a directory")
    if path.exists() and not path.is_file():  # /dev/null, a FIFO, /dev/stdout: written, never created
        if not os.access(path, os.W_OK):
            raise LiveClassifyError(f"cannot write {what} {path}: permission denied")
        return
    parent = path.parent  # "." for a bare file name
    if not parent.is_dir():
        raise LiveClassifyError(f"cannot write {what} {path}: directory {parent} does not exist")
    if problem := write_problem(path):
        raise LiveClassifyError(f"cannot write {what} {path}: {problem}")


def write_problem(path: Path) -> str | None:
    """Why ``path`` (a regular file, or none yet, in an existing folder) cannot be written, or None.

    Tried for real rather than asked of ``os.access``, which says yes to root everywhere: ``/proc``
    and ``/sys`` refuse new files whoever asks. An existing file is opened without truncating it;
    a new one is created and removed again."""
    existed = path.exists()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND if existed else os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as error:
        return refusal(error, path)
    os.close(fd)
    if not existed:
        path.unlink(missing_ok=True)
    return None


def refusal(error: OSError, path: Path) -> str:
    """Why the file system refused to create ``path``, in words that are true: "No such file or
    directory" where the folder that would hold it exists (``/proc``, ``/sys``) means that this
    folder takes no new files."""
    if error.errno != errno.ENOENT:
        return (error.strerror or str(error)).lower()
    missing = next((folder for folder in (*reversed(path.parents), path) if not folder.exists()), path)
    return f"{missing.parent} takes no new files"


def fsync_path(path: Path) -> None:
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


RESERVE_SECONDS = 3.0  # a recording stops while this much more of it still fits on the disk
RESERVE_MIN_BYTES = 4 * 2**20
RESUME_FACTOR = 1.5  # it resumes once half as much again is free: not on and off at the edge
RECHECK_S = 3.0  # while stopped, the free space is looked at this often


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path.parent).free


def reserve(bytes_per_second: float) -> float:
    """The room a recording keeps free: ``RESERVE_SECONDS`` more of it, at least ``RESERVE_MIN_BYTES``."""
    return max(RESERVE_MIN_BYTES, RESERVE_SECONDS * bytes_per_second)


def disk_nearly_full(path: Path, bytes_per_second: float) -> str | None:
    """Why a recording must stop now, or None: the disk keeps room for ``RESERVE_SECONDS`` more of
    it, so whatever else writes there (the JSON lines) goes on and the file is closed cleanly."""
    free = free_bytes(path)
    if free < reserve(bytes_per_second):
        return f"the disk is nearly full ({free / 2**20:.1f} MB free)"
    return None


class SpaceWatch:
    """Once a second: push a growing file to the disk (a power cut then loses about a second), and
    say why its recording must stop when the disk is nearly full (see :func:`disk_nearly_full`);
    once stopped, every ``RECHECK_S``, whether there is room to go on."""

    def __init__(self) -> None:
        self._next_check = 0.0
        self._last_size = 0
        self.rate = 0.0  # bytes a second the file grew, at most, so far

    def check(self, path: Path) -> str | None:
        now = time.monotonic()
        if now < self._next_check:
            return None
        self._next_check = now + 1.0
        fsync_path(path)
        try:
            size = path.stat().st_size
        except OSError:  # not created yet: an encoder that has not sent its first packet
            return None
        growth, self._last_size = max(0, size - self._last_size), size  # a new file (segment) grows from 0
        self.rate = max(self.rate, growth)
        return disk_nearly_full(path, growth)

    def room_again(self, path: Path) -> str | None:
        """While stopped: at most every ``RECHECK_S``, what is free if there is room to go on, else None."""
        now = time.monotonic()
        if now < self._next_check:
            return None
        self._next_check, self._last_size = now + RECHECK_S, 0
        try:
            free = free_bytes(path)
        except OSError:
            return None
        return f"{free / 2**20:.1f} MB free" if free >= RESUME_FACTOR * reserve(self.rate) else None


def save_png(image: np.ndarray, path: Path) -> bool:
    """Write a PNG under a temporary name, then rename it: no reader ever sees half a file."""
    partial = path.with_name(f".{path.name}.partial.png")
    if not cv2.imwrite(str(partial), image):
        return False
    os.replace(partial, path)
    return True
