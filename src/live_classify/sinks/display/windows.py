"""``--windows``: several cameras on screen, one window each, with the grid's keys (see grid.py)."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from live_classify.sinks.display import overlay
from live_classify.sinks.display.grid import BORDER, FOCUS, MAX_SHOW_HZ, Grid, Layout, ended_look, file_safe


class Windows(Grid):
    """``--windows``: one window per camera, titled with its name, opened where the grid would put
    its tile. The keys are the grid's: the window clicked last is the focused one; ``s`` with none
    focused saves every camera's picture; q, or closing any of the windows, quits."""

    name = "windows"

    def __init__(self, cameras: Sequence[str], snapshot_dir: Path = Path("."),
                 clock: Callable[[], float] = time.monotonic, max_hz: float = MAX_SHOW_HZ,
                 why_waiting: Callable[[str], str | None] = lambda _: None) -> None:
        self._opened: set[str] = set()
        self._images: dict[str, np.ndarray] = {}  # what each window shows, notice aside
        super().__init__(cameras, snapshot_dir, clock=clock, max_hz=max_hz, why_waiting=why_waiting)

    def _open(self) -> None:
        """Each camera's window opens with its first frame."""

    def set_cameras(self, cameras: Sequence[str]) -> None:
        """A reload's cameras: a removed one's window closes."""
        for camera in self._opened - set(cameras):
            cv2.destroyWindow(camera)
            self._images.pop(camera, None)
        self._opened &= set(cameras)
        super().set_cameras(cameras)

    def _open_one(self, camera: str, layout: Layout, canvas: np.ndarray) -> None:
        cv2.namedWindow(camera, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        cv2.setMouseCallback(camera, lambda event, *_: self._on_click(event, camera))
        height, width = canvas.shape[:2]
        scale = min(1.0, layout.cell[0] / width, layout.cell[1] / height)  # the grid's cell, at most
        cv2.resizeWindow(camera, round(width * scale), round(height * scale))
        cv2.moveWindow(camera, *layout.origin(camera))
        self._opened.add(camera)

    def _on_click(self, event: int, camera: str) -> None:
        if event == cv2.EVENT_LBUTTONDOWN:
            self.focus(None if camera == self.focused else camera)

    def _present(self) -> None:
        layout = self._current_layout()
        self._layout = layout
        for camera in list(self._dirty):
            canvas = self.tiles[camera].canvas
            if canvas is None:
                continue
            if camera not in self._opened:
                self._open_one(camera, layout, canvas)
            self._images[camera] = self._dressed(camera, canvas)
            self._show_one(camera)
        self._dirty.clear()

    def _dressed(self, camera: str, canvas: np.ndarray) -> np.ndarray:
        """The camera's picture as its window shows it: greyed if it ended, framed if focused."""
        image = ended_look(canvas) if self.tiles[camera].ended else canvas  # a new picture when ended
        if camera == self.focused:
            image = image.copy()  # the canvas may be the recording's too
            cv2.rectangle(image, (0, 0), (image.shape[1] - 1, image.shape[0] - 1), FOCUS, BORDER * 2)
        return image

    def _show_one(self, camera: str) -> None:
        """A notice goes on the focused camera's window, or on all when none is focused."""
        image = self._images[camera]
        if self._notice is not None and self.focused in (None, camera):
            image = overlay.notice(image.copy(), self._notice[0])
        cv2.imshow(camera, image)

    def _display(self) -> None:
        for camera in self._images:
            self._show_one(camera)

    def save_snapshot(self) -> None:
        """The focused camera's picture, or every camera's when none is focused."""
        if self.focused is not None:
            super().save_snapshot()
            return
        for camera, tile in self.tiles.items():
            if tile.canvas is not None:
                self.snapshot(tile.canvas, f"live-classify-{file_safe(camera)}")

    def _closed(self) -> bool:
        return any(cv2.getWindowProperty(camera, cv2.WND_PROP_VISIBLE) < 1 for camera in self._opened)
