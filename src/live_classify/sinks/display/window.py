"""The live window: the annotated video on screen, keys, and knowing up front whether it can open."""
from __future__ import annotations

import ctypes
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from live_classify import log
from live_classify.errors import LiveClassifyError
from live_classify.sinks.base import Redraw, Update
from live_classify.sinks.display import overlay
from live_classify.sinks.files import save_png

WINDOW_NAME = "live-classify"
KEY_QUIT = {ord("q"), ord("Q"), 27}  # q, Esc
KEY_PAUSE = ord(" ")
KEY_SNAPSHOT = ord("s")
SCREEN_SHARE = 0.9  # the window opens at most this share of the screen: room for a title bar and a panel
NOTICE_S = 2.0  # how long "saved ..." stays on screen


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
def screen_size() -> tuple[int, int] | None:
    """The X screen's (width, height), or None where it cannot be known cheaply: then the window
    opens at the frame's size. Asks libX11 directly (no process started), else ``xdpyinfo``."""
    if sys.platform in ("win32", "darwin") or not os.environ.get("DISPLAY"):
        return None
    try:
        return _x11_screen_size()
    except (OSError, AttributeError):  # no libX11 to load
        pass
    try:
        info = subprocess.run(["xdpyinfo"], capture_output=True, text=True, timeout=2).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"dimensions:\s+(\d+)x(\d+) pixels", info)
    return (int(found[1]), int(found[2])) if found else None


def _x11_screen_size() -> tuple[int, int] | None:
    """XDisplayWidth/Height of $DISPLAY's default screen, through ctypes."""
    x11 = ctypes.CDLL("libX11.so.6")
    x11.XOpenDisplay.restype, x11.XOpenDisplay.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    for name in ("XDefaultScreen", "XCloseDisplay"):
        getattr(x11, name).argtypes = [ctypes.c_void_p]
    for name in ("XDisplayWidth", "XDisplayHeight"):
        getattr(x11, name).argtypes = [ctypes.c_void_p, ctypes.c_int]
    display = x11.XOpenDisplay(None)
    if not display:
        return None
    try:
        screen = x11.XDefaultScreen(display)
        return x11.XDisplayWidth(display, screen), x11.XDisplayHeight(display, screen)
    finally:
        x11.XCloseDisplay(display)


def fit_to_screen(width: int, height: int, screen: tuple[int, int] | None) -> tuple[int, int]:
    """The frame's size, shrunk (keeping its aspect ratio) to at most ``SCREEN_SHARE`` of the screen."""
    if screen is None:
        return width, height
    scale = min(1.0, SCREEN_SHARE * screen[0] / width, SCREEN_SHARE * screen[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


class Window:
    """A resizable window showing the annotated frames; q/Esc quit, space pauses, s saves a snapshot.

    As a sink it runs on the main thread (OpenCV's GUI must), shows what it is handed and asks the
    run to stop when the user quits or closes it.
    """

    name = "window"
    essential = False

    def __init__(self, snapshot_dir: Path = Path("."), title: str = WINDOW_NAME) -> None:
        # Qt's own warnings (missing font directory, ...) would bury our one-line messages.
        os.environ.setdefault("QT_LOGGING_RULES", "*.warning=false")
        self.title = title
        self.snapshot_dir = snapshot_dir
        self.paused = False
        self.quit = False
        self.class_key: int | None = None  # 1-9 pressed: the collector saves the next frame under that class
        self.frames_shown = 0  # frames that went on screen (paused, they do not)
        self.error: str | None = None
        self.camera: str | None = None  # whose frames it shows (the last one's)
        self._shown_once = False
        self._fitted: tuple[int, int] | None = None  # the picture size the window was last fitted to
        self._frozen = False
        self._last: np.ndarray | None = None
        self._notice: tuple[str, float] | None = None  # a message on screen, and until when
        self._open()

    def _open(self) -> None:
        cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._on_open()

    def _on_open(self) -> None:
        """What a kind of window adds once it is open (the grid: its mouse); nothing here."""

    @property
    def stop_requested(self) -> bool:
        return self.quit

    def write(self, update: Update) -> None:
        self.camera = update.shown.frame.camera
        if self.show(update.canvas):
            self.frames_shown += 1

    def idle(self, redraw: Redraw) -> None:
        """No new frame: show the last one annotated anew (a stall, a reconnect), or keep the keys alive."""
        image = redraw(self.camera) if self.camera is not None else None
        if image is not None:
            self.show(image)
        else:
            self.poll()

    def summary(self) -> str | None:
        return None

    def show(self, image: np.ndarray) -> bool:
        """Show a frame and handle the keys pressed since the last one; True if it went on screen.
        Paused, the first frame after the pause (the one that says so) stays on screen while the
        rest keep flowing."""
        shown = not (self.paused and self._frozen)
        if shown:
            self._put(image)
            self._frozen = self.paused
        self.poll()
        return shown

    def _put(self, image: np.ndarray) -> None:
        """Put ``image`` on screen. Resizable, but it opens where it fits (a 1080p source on a
        1280x800 screen), and fits again only when the picture's size changes."""
        size = image.shape[1], image.shape[0]
        if size != self._fitted:
            cv2.resizeWindow(self.title, *fit_to_screen(*size, screen_size()))
            self._fitted = size
        self._shown_once = True
        self._last = image
        self._display()

    def notify(self, text: str) -> None:
        """Show ``text`` over the picture for ``NOTICE_S`` seconds (not in snapshots or recordings)."""
        self._notice = (text, time.monotonic() + NOTICE_S)
        self._display()

    def _display(self) -> None:
        if self._last is None:
            return
        image = self._last
        if self._notice is not None:
            image = overlay.notice(image.copy(), self._notice[0])  # the recording may hold this frame
        cv2.imshow(self.title, image)

    def poll(self) -> None:
        """Handle keys and a closed window; call it even when no frame comes, so the window lives."""
        if self._notice is not None and time.monotonic() >= self._notice[1]:
            self._notice = None
            self._display()  # paused, no new frame would take the notice away
        self.handle_key(cv2.waitKey(1) & 0xFF)
        if self._closed():
            self.quit = True  # the user closed the window

    def handle_key(self, key: int) -> None:
        """q/Esc quit, space pauses, s saves a snapshot, 1-9 pick a class to collect."""
        if key in KEY_QUIT:
            self.quit = True
        elif key == KEY_PAUSE:
            self.paused = not self.paused
        elif key == KEY_SNAPSHOT:
            self.save_snapshot()
        elif ord("1") <= key <= ord("9"):
            self.choose_class(key - ord("0"))

    def save_snapshot(self) -> None:
        if self._last is not None:
            self.snapshot(self._last)

    def choose_class(self, number: int) -> None:
        self.class_key = number

    def collects_from(self, camera: str) -> bool:
        """Whether keys 1-9 collect from ``camera``'s frames: one window shows one camera."""
        return True

    def _closed(self) -> bool:
        return self._shown_once and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1

    def snapshot(self, image: np.ndarray, prefix: str = "live-classify") -> Path:
        """Save the shown frame as a PNG, written under a temporary name so no reader sees half of it."""
        now = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now * 1000) % 1000:03d}"
        path = self.snapshot_dir / f"{prefix}-{stamp}.png"
        if not save_png(image, path):
            why = "it is gone" if not self.snapshot_dir.is_dir() else "OpenCV could not write the PNG (disk full?)"
            log.warning(f"cannot save a snapshot in {self.snapshot_dir}: {why}")
            self.notify("snapshot NOT saved (see the log)")
            return path
        log.info(f"saved {path}")
        self.notify(f"saved {path.name}")
        return path

    def close(self) -> None:
        cv2.destroyAllWindows()
        cv2.waitKey(1)
