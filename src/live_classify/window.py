"""The live window: the annotated video on screen, keys, and knowing up front whether it can open."""
from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from live_classify import log
from live_classify.errors import LiveClassifyError

WINDOW_NAME = "live-classify"
KEY_QUIT = {ord("q"), ord("Q"), 27}  # q, Esc
KEY_PAUSE = ord(" ")
KEY_SNAPSHOT = ord("s")


def display_problem() -> str | None:
    """Why no window can open here, or None. Checked up front: opencv-python's Qt build aborts the
    whole process (SIGABRT, not an exception) when a window opens without a display."""
    if sys.platform in ("win32", "darwin"):
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return None
    display = os.environ.get("DISPLAY")
    if not display:
        return "no display (DISPLAY is not set)"
    host, _, number = display.rpartition(":")
    number = number.split(".")[0]
    if not number.isdigit():
        return f"DISPLAY={display} is not a display name"
    if host in ("", "unix"):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            return None
        return f"no X server on DISPLAY={display}"
    try:
        with socket.create_connection((host, 6000 + int(number)), timeout=1.0):
            return None
    except OSError:
        return f"cannot reach the X server on DISPLAY={display}"


def prepare_snapshot_dir(folder: Path) -> None:
    """Create ``--snapshot-dir`` now: a typo should fail at the start, not at the first s key."""
    if folder.exists() and not folder.is_dir():
        raise LiveClassifyError(f"--snapshot-dir {folder} is not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LiveClassifyError(f"cannot create --snapshot-dir {folder}: {error.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise LiveClassifyError(f"cannot write in --snapshot-dir {folder}: permission denied")


class Window:
    """A resizable window showing the annotated frames; q/Esc quit, space pauses, s saves a snapshot."""

    def __init__(self, snapshot_dir: Path = Path(".")) -> None:
        # Qt's own warnings (missing font directory, ...) would bury our one-line messages.
        os.environ.setdefault("QT_LOGGING_RULES", "*.warning=false")
        cv2.namedWindow(WINDOW_NAME, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self.snapshot_dir = snapshot_dir
        self.paused = False
        self.quit = False
        self.class_key: int | None = None  # 1-9 pressed: the main loop saves the next frame under that class
        self._shown_once = False
        self._frozen = False
        self._last: np.ndarray | None = None

    def show(self, image: np.ndarray) -> bool:
        """Show a frame and handle the keys pressed since the last one; True if it went on screen.
        Paused, the first frame after the pause (the one that says so) stays on screen while the
        rest keep flowing."""
        shown = not (self.paused and self._frozen)
        if shown:
            if not self._shown_once:
                cv2.resizeWindow(WINDOW_NAME, image.shape[1], image.shape[0])
                self._shown_once = True
            cv2.imshow(WINDOW_NAME, image)
            self._last = image
            self._frozen = self.paused
        self.poll()
        return shown

    def poll(self) -> None:
        """Handle keys and a closed window; call it even when no frame comes, so the window lives."""
        key = cv2.waitKey(1) & 0xFF
        if key in KEY_QUIT:
            self.quit = True
        elif key == KEY_PAUSE:
            self.paused = not self.paused
        elif key == KEY_SNAPSHOT and self._last is not None:
            self.snapshot(self._last)
        elif ord("1") <= key <= ord("9"):
            self.class_key = key - ord("0")
        if self._shown_once and cv2.getWindowProperty(WINDOW_NAME, cv2.WND_PROP_VISIBLE) < 1:
            self.quit = True  # the user closed the window

    def snapshot(self, image: np.ndarray) -> Path:
        """Save the shown frame as a PNG, written under a temporary name so no reader sees half of it."""
        now = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now * 1000) % 1000:03d}"
        path = self.snapshot_dir / f"live-classify-{stamp}.png"
        partial = path.with_name(f".{path.name}.partial.png")
        if not cv2.imwrite(str(partial), image):
            why = "it is gone" if not self.snapshot_dir.is_dir() else "OpenCV could not write the PNG (disk full?)"
            log.warning(f"cannot save a snapshot in {self.snapshot_dir}: {why}")
            return path
        os.replace(partial, path)
        log.info(f"saved {path}")
        return path

    def close(self) -> None:
        cv2.destroyAllWindows()
        cv2.waitKey(1)
