"""The many-camera window for real, on a virtual screen (Xvfb): three cameras as three tiles, each
under its name strip; a click focuses a tile and s saves that camera; --windows opens one window each;
and the same through the real command, with three fake cameras showing three photos."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from conftest import CHELSEA, COFFEE, DATA, headless_env
from grid_feeder import COLORS, SIZES, canvas
from mjpeg_server import MjpegServer
from xdisplay import needs_x, screen_when, screenshot, window_id, x

from live_classify.sinks.display.grid import FOCUS, STRIP, STRIP_BG

pytestmark = needs_x

FEEDER = Path(__file__).parents[1] / "support" / "grid_feeder.py"


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


def windows_when(display: str, path: Path, boxes: dict[str, tuple[int, int, int, int]], what: str) -> np.ndarray:
    """The first screenshot with every camera's window drawn. With no window manager Qt at times
    misses a window's first Expose and never draws it: a window not showing its camera yet is
    mapped again, as a desktop would expose it."""
    deadline = time.monotonic() + 20
    while not tiles_shown(shot := screenshot(display, path)):
        for camera, (left, top, width, height) in boxes.items():
            if near(shot[top : top + height, left : left + width], COLORS[camera]).mean() < 0.5:
                x(display, "xdotool", "search", "--onlyvisible", "--name", f"^{camera}$",
                  "windowunmap", "--sync", "windowmap", "--sync")
        assert time.monotonic() < deadline, f"the screen never showed {what}"
        time.sleep(0.2)
    return shot


def test_windows_opens_one_window_per_camera_titled_with_its_name(display: str, tmp_path: Path) -> None:
    process = feeder(display, tmp_path, "windows")
    try:
        boxes = {}
        for camera in COLORS:
            found = x(display, "xdotool", "search", "--sync", "--onlyvisible", "--name", f"^{camera}$")
            boxes[camera] = window_box(display, found.split()[0])
        shot = windows_when(display, tmp_path / "windows.png", boxes, "three windows")
        for camera, (left, top, width, height) in boxes.items():
            inside = shot[top : top + height, left : left + width]
            assert near(inside, COLORS[camera]).mean() > 0.8, f"the {camera} window shows {camera}"
            assert abs(width / height - SIZES[camera][0] / SIZES[camera][1]) < 0.05
        x(display, "xdotool", "search", "--name", "^door$", "windowfocus", "--sync", "key", "q")
        finish(process)
    finally:
        process.kill()


def bar_pixels(image: np.ndarray) -> int:
    """Pixels of the overlay's green confidence bars (BGR 80, 200, 80)."""
    return int(near(image, (80, 200, 80)).sum())


def three_cameras(cameras: list[MjpegServer]) -> list[str]:
    args: list[str] = []
    for camera, name in zip(cameras, NAMES, strict=True):
        args += ["--source", camera.url, "--name", name]
    return args


NAMES = ("door", "yard", "shop")


def test_three_cameras_through_the_command_show_three_tiles_each_with_its_panel(display: str, live_cli,
                                                                                tmp_path: Path) -> None:
    with MjpegServer(CHELSEA) as a, MjpegServer(COFFEE) as b, MjpegServer(DATA / "rocket.jpg") as c:
        cli = live_cli(*three_cameras([a, b, c]), "--snapshot-dir", str(tmp_path), "--provider", "cpu",
                       env=headless_env(DISPLAY=display))
        window = window_id(display)

        def cells(shot: np.ndarray) -> list[np.ndarray]:
            left, top, width, height = window_box(display, window)
            shown = shot[top : top + height, left : left + width]
            return [shown[row * height // 2 : (row + 1) * height // 2, col * width // 2 : (col + 1) * width // 2]
                    for col, row in ((0, 0), (1, 0), (0, 1))]

        shot = screen_when(display, tmp_path / "grid.png",
                           lambda shot: all(bar_pixels(cell) > 150 for cell in cells(shot)), "a panel on each tile")
        tiles = cells(shot)
        for name, cell in zip(NAMES, tiles, strict=True):
            assert near(cell[2 : STRIP - 2], STRIP_BG, 4).mean() > 0.5, f"{name}'s tile has no name strip"
        pictures = [cell[STRIP:].astype(int) for cell in tiles]
        for i, j in ((0, 1), (0, 2), (1, 2)):
            assert np.abs(pictures[i] - pictures[j]).mean() > 20, f"{NAMES[i]} and {NAMES[j]} show the same"

        left, top, width, height = window_box(display, window)
        x(display, "xdotool", "mousemove", "--window", window, str(width // 4), str(3 * height // 4), "click", "1")
        time.sleep(0.5)  # the click is read with the next composite
        x(display, "xdotool", "search", "--name", "^live-classify$", "windowfocus", "--sync", "key", "s")
        (saved,) = wait_for_files(tmp_path, "live-classify-*.png")
        snapshot = cv2.imread(str(saved))
        assert saved.name.startswith("live-classify-shop-") and snapshot.shape == (480, 640, 3)
        assert bar_pixels(snapshot) > 300, "the camera's annotated frame"
        x(display, "xdotool", "search", "--name", "^live-classify$", "windowfocus", "--sync", "key", "q")
        run = cli.finish(timeout=30)
    assert run.returncode == 0, run.stderr
    assert "grid window: frames shown per camera: door" in run.stderr


def test_windows_flag_opens_a_window_per_camera_through_the_command(display: str, live_cli, tmp_path: Path) -> None:
    with MjpegServer(CHELSEA) as a, MjpegServer(COFFEE) as b, MjpegServer(DATA / "rocket.jpg") as c:
        cli = live_cli(*three_cameras([a, b, c]), "--windows", "--provider", "cpu", env=headless_env(DISPLAY=display))
        for name in NAMES:
            found = x(display, "xdotool", "search", "--sync", "--onlyvisible", "--name", f"^{name}$")
            assert found.strip(), f"no window titled {name}"
        x(display, "xdotool", "search", "--name", "^yard$", "windowfocus", "--sync", "key", "q")
        run = cli.finish(timeout=30)
    assert run.returncode == 0, run.stderr
    assert "windows: frames shown per camera: door" in run.stderr


def test_a_camera_that_ends_stays_in_the_grid_greyed_while_the_other_goes_on(display: str, live_cli, video_file: Path,
                                                                             tmp_path: Path) -> None:
    with MjpegServer(COFFEE) as camera:
        cli = live_cli("--source", camera.url, "--name", "cup", "--source", str(video_file), "--name", "clip",
                       "--provider", "cpu", env=headless_env(DISPLAY=display))
        window = window_id(display)
        cli.wait_for_stderr("clip: ended; the others go on")

        def halves(shot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            left, top, width, height = window_box(display, window)
            shown = shot[top + STRIP : top + height, left : left + width]
            return shown[:, : width // 2], shown[:, width // 2 :]

        def clip_greyed(shot: np.ndarray) -> bool:
            clip = halves(shot)[1].astype(int)
            return (np.ptp(clip, axis=2) <= 12).mean() > 0.95 and near(clip, (60, 170, 255), 20).sum() > 20

        shot = screen_when(display, tmp_path / "ended.png", clip_greyed, "the ended camera greyed, saying so")
        cup = halves(shot)[0].astype(int)
        assert (np.ptp(cup, axis=2) > 30).mean() > 0.3 and bar_pixels(halves(shot)[0]) > 100, "cup goes on in colour"
        x(display, "xdotool", "search", "--name", "^live-classify$", "windowfocus", "--sync", "key", "q")
        run = cli.finish(timeout=30)
    assert run.returncode == 0, run.stderr
