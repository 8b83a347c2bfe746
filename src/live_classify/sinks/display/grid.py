"""Several cameras on screen: one window with the cameras as tiles (:class:`Grid`; one window per
camera, ``--windows``, is :class:`~live_classify.sinks.display.windows.Windows`).

N cameras at 30 fps are N x 30 updates a second: the grid keeps each camera's newest tile and puts
the composite on screen at most ``MAX_SHOW_HZ`` times a second (a big ``imshow`` per camera frame
would cost more than the cameras are worth), redrawing only the tiles that changed.

Keys act on the focused tile (click one; click it again to let go) or on all: ``s`` saves the
focused camera's picture, or the whole grid; ``1``-``9`` collect from the focused camera only;
space pauses all; q/Esc quits.
"""
from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from live_classify import log
from live_classify.sinks.base import Redraw, Update
from live_classify.sinks.display import overlay
from live_classify.sinks.display.window import WINDOW_NAME, Window, fit_to_screen, screen_size
from live_classify.sinks.letterbox import letterbox

MAX_SHOW_HZ = 30.0  # composites put on screen per second, however many cameras feed them
STRIP = 24  # px: the name strip above each tile
STRIP_BG = (48, 48, 48)
FOCUS = (0, 215, 255)  # BGR: the focused tile's border
BORDER = 3
DEFAULT_FRAME = (640, 480)  # a tile's shape before any camera has sent a frame
REDRAW_S = 0.5  # how often a stalled camera's tile is redrawn with its "no frame for N s"


@dataclass(frozen=True)
class Layout:
    """Where each camera's tile goes: ``cols = ceil(sqrt(N))`` columns, the whole fitted to the screen."""

    cameras: tuple[str, ...]
    cols: int
    rows: int
    cell: tuple[int, int]  # (width, height) of a tile, its name strip included

    @classmethod
    def of(cls, cameras: Sequence[str], frame: tuple[int, int], screen: tuple[int, int] | None) -> Layout:
        """Cells shaped like ``frame`` (width, height) plus a name strip, shrunk so the grid fits ``screen``."""
        cols = max(1, math.ceil(math.sqrt(len(cameras))))
        rows = max(1, math.ceil(len(cameras) / cols))
        width, height = fit_to_screen(cols * frame[0], rows * (frame[1] + STRIP), screen)
        return cls(tuple(cameras), cols, rows, (max(1, width // cols), max(STRIP + 1, height // rows)))

    @property
    def size(self) -> tuple[int, int]:
        """The composite's (width, height)."""
        return self.cols * self.cell[0], self.rows * self.cell[1]

    def origin(self, camera: str) -> tuple[int, int]:
        """The top-left corner of ``camera``'s cell."""
        index = self.cameras.index(camera)
        return (index % self.cols) * self.cell[0], (index // self.cols) * self.cell[1]

    def hit(self, x: int, y: int) -> str | None:
        """The camera whose cell holds the point, or None (outside, or an empty cell)."""
        col, row = x // self.cell[0], y // self.cell[1]
        index = row * self.cols + col
        inside = 0 <= x < self.size[0] and 0 <= y < self.size[1]
        return self.cameras[index] if inside and index < len(self.cameras) else None


@dataclass
class Tile:
    """One camera's newest picture and what the grid knows about it."""

    canvas: np.ndarray | None = None  # the annotated frame, at the camera's own size
    note: str | None = None  # before the first frame: why none came yet (the camera cannot be reached)
    ended: bool = False
    shown: int = 0  # frames of this camera that went on screen
    next_redraw: float = 0.0  # stalled: when its tile is redrawn next, saying why


def ended_look(image: np.ndarray) -> np.ndarray:
    """A camera gone for good: its last picture in dim grey, saying "ended"."""
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) // 2
    return _centred(grey, "ended", overlay.WARN)


def _centred(image: np.ndarray, text: str, color: tuple[int, int, int]) -> np.ndarray:
    scale = max(overlay.MIN_FONT, overlay.text_scale(image.shape[1], image.shape[0]))
    text = overlay.fit(text, scale, 1, image.shape[1] - 12)
    (w, h), _ = cv2.getTextSize(text, overlay.FONT, scale, 1)
    origin = (image.shape[1] - w) // 2, (image.shape[0] + h) // 2
    cv2.putText(image, text, origin, overlay.FONT, scale, color, 1, cv2.LINE_AA)
    return image


def picture(tile: Tile, camera: str, width: int, height: int) -> np.ndarray:
    """What a tile shows below its strip: the camera's picture, greyed if it ended, or a wait message."""
    if tile.canvas is None:
        text, color = (tile.note, overlay.WARN) if tile.note else (f"waiting for {camera}...", overlay.GREY)
        return _centred(np.zeros((height, width, 3), np.uint8), text, color)
    image = letterbox(tile.canvas, width, height)
    return ended_look(image) if tile.ended else image


def draw_cell(cell: np.ndarray, camera: str, tile: Tile, focused: bool, paused: bool) -> None:
    """One tile, in place: the name strip (with the camera's state) over its letterboxed picture."""
    cell[:STRIP] = STRIP_BG
    state = " - ended" if tile.ended else " - paused" if paused else ""
    cv2.putText(cell, overlay.fit(camera + state, 0.55, 1, cell.shape[1] - 12), (6, STRIP - 7),
                overlay.FONT, 0.55, overlay.WHITE, 1, cv2.LINE_AA)
    cell[STRIP:] = picture(tile, camera, cell.shape[1], cell.shape[0] - STRIP)
    if focused:
        cv2.rectangle(cell, (0, 0), (cell.shape[1] - 1, cell.shape[0] - 1), FOCUS, BORDER)


def kept_in_error(method: Callable[..., None]) -> Callable[..., None]:
    """For what the main loop calls outside the sinks' guard (``tile``, ``end``): a failure (the
    display gone) goes to ``error``, for :class:`Sinks` to drop the window with one line as it
    would after ``write``; once failed, the window does nothing more."""

    @functools.wraps(method)
    def guarded(self: Grid, *args: object) -> None:
        if self.error is None:
            try:
                method(self, *args)
            except Exception as error:  # noqa: BLE001 - reported through error, as every sink's failure is
                log.debug_traceback(f"window: {method.__name__} failed", error)
                self.error = str(error) or type(error).__name__

    return guarded


def file_safe(name: str) -> str:
    """A camera's name as part of a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "camera"


class Grid(Window):
    """One window, the cameras as tiles, each titled with its name; keys act on the focused tile or all.

    ``write`` keeps the camera's newest tile; the composite goes on screen at most ``max_hz`` times
    a second (the rest wait for the next one, or for ``idle``). ``tile`` replaces a tile (a stalled
    camera's "no frame for N s"), ``end`` greys a camera that ended for good.
    """

    name = "grid window"

    def __init__(self, cameras: Sequence[str], snapshot_dir: Path = Path("."), title: str = WINDOW_NAME,
                 clock: Callable[[], float] = time.monotonic, max_hz: float = MAX_SHOW_HZ,
                 why_waiting: Callable[[str], str | None] = lambda _: None) -> None:
        """``why_waiting``: why a camera has sent no frame yet (None: it is simply waited for)."""
        self.tiles: dict[str, Tile] = {camera: Tile() for camera in cameras}
        self._why_waiting = why_waiting
        self.focused: str | None = None
        self._clock = clock
        self._period = 1.0 / max_hz
        self._due = 0.0  # when the next composite may go on screen
        self._dirty: set[str] = set(self.tiles)  # tiles to redraw before the next composite
        self._fresh: set[str] = set()  # cameras with a frame not yet on screen
        self._layout: Layout | None = None
        self._composite: np.ndarray | None = None
        self._frame = DEFAULT_FRAME  # the largest picture yet: the cells' shape
        super().__init__(snapshot_dir, title)

    def _on_open(self) -> None:
        cv2.setMouseCallback(self.title, self._on_mouse)

    def write(self, update: Update) -> None:
        if self.paused and self._frozen:
            self._refresh()  # the picture stays (its overlay is not drawn for nothing); keys and clicks do not
        else:
            self.tile(update.shown.frame.camera, update.canvas)

    @kept_in_error
    def tile(self, camera: str, canvas: np.ndarray) -> None:
        """Replace ``camera``'s tile (its newest annotated frame); on screen with the next composite.
        Paused, the picture stays as it is."""
        if not (self.paused and self._frozen):
            self.tiles.setdefault(camera, Tile()).canvas = canvas
            self._fresh.add(camera)
            self._dirty.add(camera)
        self._refresh()

    @kept_in_error
    def end(self, camera: str) -> None:
        """``camera`` ended for good: its last tile stays, greyed, saying so."""
        self.tiles.setdefault(camera, Tile()).ended = True
        self._dirty.add(camera)
        self._refresh()

    def idle(self, redraw: Redraw) -> None:
        """Some camera sent no frame: twice a second its tile says why (a stall, a reconnect; one
        never reached yet too); what waits goes on screen and the keys are read."""
        now = self._clock()
        for camera, tile in self.tiles.items():
            if tile.ended or now < tile.next_redraw:
                continue
            tile.next_redraw = now + REDRAW_S
            if tile.canvas is None and tile.note != (note := self._why_waiting(camera)):  # no frame yet: why
                tile.note = note
                self._dirty.add(camera)
            elif tile.canvas is not None and (canvas := redraw(camera)) is not None:
                self.tile(camera, canvas)
        self._refresh()

    def summary(self) -> str | None:
        shown = ", ".join(f"{camera} {tile.shown}" for camera, tile in self.tiles.items())
        return f"{self.name}: frames shown per camera: {shown}" if self.tiles else None

    def set_cameras(self, cameras: Sequence[str]) -> None:
        """A reload's cameras: a new one's tile waits for its first frame, a removed one's goes."""
        self.tiles = {camera: self.tiles.get(camera) or Tile() for camera in cameras}
        self._dirty, self._fresh = set(self.tiles), self._fresh & set(self.tiles)
        self.focused = self.focused if self.focused in self.tiles else None
        self._refresh()

    def handle_key(self, key: int) -> None:
        paused = self.paused
        super().handle_key(key)
        if self.paused != paused:
            self._dirty.update(self.tiles)  # each name strip says so

    def collects_from(self, camera: str) -> bool:
        return camera == self.focused

    def choose_class(self, number: int) -> None:
        if self.focused is None:
            self.notify("click a tile first: keys 1-9 collect from the focused camera")
        else:
            self.class_key = number

    def save_snapshot(self) -> None:
        """The focused camera's picture at its own size, or the whole grid when none is focused."""
        focused = self.focused
        tile = self.tiles.get(focused) if focused else None
        if focused and tile is not None and tile.canvas is not None:
            self.snapshot(tile.canvas, f"live-classify-{file_safe(focused)}")
        else:
            super().save_snapshot()

    def focus(self, camera: str | None) -> None:
        """Focus ``camera`` (None: none); a class key chosen for the one before is forgotten."""
        self._dirty.update(c for c in (self.focused, camera) if c is not None)
        self.focused, self.class_key = camera, None

    def _on_mouse(self, event: int, x: int, y: int, _flags: int, _param: object) -> None:
        """A click focuses the tile under it; a click on the focused one, or beside the tiles, lets go."""
        if event == cv2.EVENT_LBUTTONDOWN and self._layout is not None:
            camera = self._layout.hit(x, y)
            self.focus(None if camera == self.focused else camera)

    def _refresh(self) -> bool:
        """At most ``max_hz`` times a second: put the changed tiles on screen and read the keys.
        True if it was time to."""
        now = self._clock()
        if now < self._due:
            return False
        # On a grid of times, so frames that come a little after each due time do not slow it to 20 Hz.
        self._due = self._due + self._period if now - self._due < self._period else now + self._period
        if self._dirty:
            self._present()
            for camera in self._fresh:
                self.tiles[camera].shown += 1
            self.frames_shown += len(self._fresh)
            self._fresh.clear()
            self._frozen = self.paused
        self.poll()
        return True

    def _present(self) -> None:
        """Redraw the changed tiles into the composite and show it."""
        layout = self._current_layout()
        if layout != self._layout or self._composite is None:
            self._layout, self._dirty = layout, set(self.tiles)
            self._composite = np.zeros((layout.size[1], layout.size[0], 3), np.uint8)
        width, height = layout.cell
        for camera in self._dirty:
            left, top = layout.origin(camera)
            cell = self._composite[top : top + height, left : left + width]
            draw_cell(cell, camera, self.tiles[camera], camera == self.focused, self.paused)
        self._dirty.clear()
        self._put(self._composite)

    def _current_layout(self) -> Layout:
        """The layout for the cameras known now, its cells shaped like the largest picture yet."""
        sizes = [t.canvas.shape[1::-1] for t in self.tiles.values() if t.canvas is not None] or [DEFAULT_FRAME]
        frame = max(w for w, _ in sizes), max(h for _, h in sizes)
        if self._layout is None or self._layout.cameras != tuple(self.tiles) or frame != self._frame:
            self._frame = frame
            return Layout.of(list(self.tiles), frame, screen_size())
        return self._layout

