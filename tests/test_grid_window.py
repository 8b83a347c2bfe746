"""The many-camera window for real, on a virtual screen (Xvfb): three cameras as three tiles, each
under its name strip; a click focuses a tile and s saves that camera; --windows opens one window each."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from conftest import headless_env
from grid_feeder import COLORS, SIZES, canvas
from test_window import display, pytestmark, screen_when, window_id, x  # noqa: F401 - the fixture

from live_classify.sinks.grid import FOCUS, STRIP, STRIP_BG

FEEDER = Path(__file__).parent / "grid_feeder.py"


def feeder(display: str, folder: Path, kind: str = "grid") -> subprocess.Popen:
    """The feeder in a process of its own: OpenCV's GUI holds on to the first display it opens."""
    return subprocess.Popen([sys.executable, str(FEEDER), str(folder), kind], env=headless_env(DISPLAY=display),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> str:
    try:
        out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0 and "Traceback" not in err, err
    return out


def near(image: np.ndarray, color: tuple[int, int, int], tolerance: int = 12) -> np.ndarray:
    return (np.abs(image.astype(int) - color) <= tolerance).all(axis=2)


def window_box(display: str, window: str) -> tuple[int, int, int, int]:
    """(left, top, width, height) of a window on the screen."""
    info = x(display, "xdotool", "getwindowgeometry", window)
    left, top = (int(v) for v in info.split("Position:")[1].split()[0].split(","))
    width, height = (int(v) for v in info.split("Geometry:")[1].split()[0].split("x"))
    return left, top, width, height


def wait_for_files(folder: Path, pattern: str, timeout: float = 10) -> list[Path]:
    deadline = time.monotonic() + timeout
    while not (found := list(folder.glob(pattern))):
        assert time.monotonic() < deadline, f"no {pattern} in {folder}"
        time.sleep(0.1)
    return found


def tiles_shown(shot: np.ndarray) -> bool:
    return all(near(shot, color).sum() > 2000 for color in COLORS.values())


def test_the_grid_shows_three_tiles_each_under_its_name_and_s_saves_the_clicked_one(display: str,
                                                                                   tmp_path: Path) -> None:
    process = feeder(display, tmp_path)
    try:
        window = window_id(display)
        shot = screen_when(display, tmp_path / "grid.png", tiles_shown, "three tiles")
        left, top, width, height = window_box(display, window)
        shown = shot[top : top + height, left : left + width]
        quadrants = {"door": (0, 0), "yard": (1, 0), "shop": (0, 1)}  # 2 columns for 3 cameras
        for camera, (col, row) in quadrants.items():
            cell = shown[row * height // 2 : (row + 1) * height // 2, col * width // 2 : (col + 1) * width // 2]
            assert near(cell, COLORS[camera]).mean() > 0.3, f"{camera} is not in its tile"
            strip = cell[2 : STRIP - 2]
            assert near(strip, STRIP_BG, 4).mean() > 0.6, f"{camera}'s tile has no name strip"
            assert (strip.min(axis=2) > 180).sum() > 30, f"no name written on {camera}'s strip"
        empty = shown[height // 2 + 5 :, width // 2 + 5 :]
        assert empty.max() < 30, "the fourth cell is empty"

        yard = (3 * width // 4, height // 4)
        x(display, "xdotool", "mousemove", "--window", window, str(yard[0]), str(yard[1]), "click", "1")
        focused = screen_when(display, tmp_path / "focused.png",
                              lambda shot: near(shot, FOCUS, 20).sum() > 500, "the focused tile's border")
        border = np.argwhere(near(focused[top : top + height, left : left + width], FOCUS, 20))
        assert border[:, 1].min() >= width // 2 - 4 and border[:, 0].max() <= height // 2 + 4, "yard's tile, no other"
        x(display, "xdotool", "search", "--name", "^live-classify$", "windowfocus", "--sync", "key", "s")
        (saved,) = wait_for_files(tmp_path, "live-classify-*.png")
        assert saved.name.startswith("live-classify-yard-")
        assert np.array_equal(cv2.imread(str(saved)), canvas("yard")), "yard's own picture, at its own size"
        x(display, "xdotool", "search", "--name", "^live-classify$", "windowfocus", "--sync", "key", "q")
        summary = finish(process)
    finally:
        process.kill()
    assert "frames shown per camera: door" in summary


def test_windows_opens_one_window_per_camera_titled_with_its_name(display: str, tmp_path: Path) -> None:
    process = feeder(display, tmp_path, "windows")
    try:
        boxes = {}
        for camera in COLORS:
            found = x(display, "xdotool", "search", "--sync", "--onlyvisible", "--name", f"^{camera}$")
            boxes[camera] = window_box(display, found.split()[0])
        shot = screen_when(display, tmp_path / "windows.png", tiles_shown, "three windows")
        for camera, (left, top, width, height) in boxes.items():
            inside = shot[top : top + height, left : left + width]
            assert near(inside, COLORS[camera]).mean() > 0.8, f"the {camera} window shows {camera}"
            assert abs(width / height - SIZES[camera][0] / SIZES[camera][1]) < 0.05
        x(display, "xdotool", "search", "--name", "^door$", "windowfocus", "--sync", "key", "q")
        finish(process)
    finally:
        process.kill()
