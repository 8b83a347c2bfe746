"""The live window for real, on a virtual screen (Xvfb): a screenshot shows the overlay, keys work."""
from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import count_frames, headless_env
from mjpeg_server import MjpegServer
from xdisplay import missing, needs_x, press, screen_when, screenshot, warning_pixels, window_id, x

from live_classify.sinks.display.window import NOTICE_S, fit_to_screen, screen_size

if missing and os.environ.get("CI"):
    raise RuntimeError(f"CI must install {', '.join(missing)} (.ci/run does)")
pytestmark = needs_x














def bar_pixels(image: np.ndarray) -> int:
    """Pixels of the overlay's green confidence bars (BGR 80, 200, 80)."""
    return int(np.all(np.abs(image.astype(int) - (80, 200, 80)) <= 12, axis=2).sum())




def notice_pixels(image: np.ndarray) -> int:
    """Pixels of the overlay's orange notices such as 'paused' (BGR 60, 170, 255), in the overlay's
    dark panel at the top left: the coffee photo itself is full of that orange."""
    panel = image[:160, :260]
    return int(np.all(np.abs(panel.astype(int) - (60, 170, 255)) <= 20, axis=2).sum())


def test_the_window_shows_the_overlay_and_the_keys_work(display: str, live_cli, tmp_path: Path) -> None:
    record = tmp_path / "shown.avi"
    with MjpegServer(Path(__file__).parents[1] / "data" / "coffee.png", fps=30) as camera:
        cli = live_cli("--source", camera.url, "--record", str(record), "--snapshot-dir", str(tmp_path),
                       "--provider", "cpu", env=headless_env(DISPLAY=display))
        window_id(display)
        shot = screen_when(display, tmp_path / "screen.png", lambda shot: bar_pixels(shot) > 300, "confidence bars")
        picture = shot[200:460, 100:600]
        assert picture.mean() > 40, "the video is not on screen"
        assert "running headless" not in cli.stderr
        assert notice_pixels(shot) < 30, "a notice on screen before anything happened"

        press(display, "space")
        paused = screen_when(display, tmp_path / "paused.png", lambda shot: notice_pixels(shot) > 30, "'paused'")
        time.sleep(0.5)  # 15 frames at the camera's rate
        assert np.array_equal(screenshot(display, tmp_path / "paused2.png"), paused), "the picture moved while paused"
        press(display, "space")
        screen_when(display, tmp_path / "running.png", lambda shot: not np.array_equal(shot, paused), "the video again")

        press(display, "s")
        cli.wait_for(lambda: list(tmp_path.glob("live-classify-*.png")), what="a snapshot")
        bottom = np.s_[380:480, :640]  # where the notice goes; the photo has no orange there
        # the notice comes with the next frame drawn: under load a moment after the file
        screen_when(display, tmp_path / "saved.png", lambda shot: warning_pixels(shot[bottom]) > 100,
                    "'saved' on screen")
        snapshot = cv2.imread(str(next(tmp_path.glob("live-classify-*.png"))))
        assert snapshot.shape == (480, 640, 3) and bar_pixels(snapshot) > 300
        assert warning_pixels(snapshot[bottom]) < 5, "the notice is on screen only, not in the snapshot"
        time.sleep(NOTICE_S + 0.5)
        assert warning_pixels(screenshot(display, tmp_path / "later.png")[bottom]) < 5, "'saved' is only a moment"

        press(display, "q")
        run = cli.finish(timeout=20)
    assert run.returncode == 0, run.stderr
    captured = re.search(r"(\d+) frames captured, (\d+) classified", run.stderr)
    recorded = re.search(r"recorded (\d+) frames", run.stderr)
    assert captured and recorded, run.stderr
    assert count_frames(record) == int(recorded.group(1)) >= 30, "every frame it says it recorded is in the file"
    assert int(captured.group(1)) >= int(recorded.group(1)) and int(captured.group(2)) > 0, run.stderr


def geometry(display: str, window: str) -> tuple[int, int]:
    """The window's size on screen, as the X server has it."""
    size = x(display, "xdotool", "getwindowgeometry", window).split("Geometry:")[1].split()[0]
    width, height = size.split("x")
    return int(width), int(height)


def test_a_1080p_source_opens_a_window_that_fits_the_screen_and_stays_resizable(display: str, live_cli,
                                                                                 tmp_path: Path) -> None:
    with MjpegServer(Path(__file__).parents[1] / "data" / "coffee.png", fps=10, width=1920, height=1080) as camera:
        cli = live_cli("--source", camera.url, "--provider", "cpu", env=headless_env(DISPLAY=display))
        window = window_id(display)

        def fits() -> bool:  # Qt maps the window at a size of its own, then takes the first frame's
            width, height = geometry(display, window)
            return width <= 1280 and height <= 800 and abs(width / height - 1920 / 1080) < 0.02

        cli.wait_for(fits, what="a window on the 1280x800 screen, with the picture's shape")
        width, height = geometry(display, window)
        assert width >= 1000, "fitted, not shrunk for nothing"
        time.sleep(2)
        shot = screenshot(display, tmp_path / "fitted.png")
        assert bar_pixels(shot[:height, :width]) > 300, "the overlay is on screen, scaled with the picture"
        x(display, "xdotool", "windowsize", window, "640", "360")
        cli.wait_for(lambda: geometry(display, window) == (640, 360), what="the window resized by hand")
        press(display, "q")
        run = cli.finish(timeout=30)
    assert run.returncode == 0, run.stderr


def test_on_a_320x240_source_the_overlay_reads_and_leaves_most_of_the_picture(display: str, live_cli,
                                                                             tmp_path: Path) -> None:
    white = tmp_path / "white.png"
    cv2.imwrite(str(white), np.full((240, 320, 3), 255, np.uint8))
    with MjpegServer(white, fps=15, width=320, height=240) as camera:
        cli = live_cli("--source", camera.url, "--provider", "cpu", env=headless_env(DISPLAY=display))
        window = window_id(display)
        cli.wait_for(lambda: geometry(display, window) == (320, 240), what="a window at the frame's size")
        position = x(display, "xdotool", "getwindowgeometry", window).split("Position:")[1].split()[0]
        left, top = (int(v) for v in position.split(","))

        def shown() -> np.ndarray:
            return screenshot(display, tmp_path / "small.png")[top : top + 240, left : left + 320]

        cli.wait_for(lambda: bar_pixels(shown()) > 50, what="a prediction on screen")
        picture = shown()
        press(display, "q")
        assert cli.finish(timeout=30).returncode == 0
    shaded = (picture[8:].max(axis=2) < 120).mean(axis=1) > 0.3  # below the stream's time-stamp strip
    panel_rows = 8 + int(np.argmin(shaded)) if not shaded.all() else 240
    assert 240 * 0.2 < panel_rows < 240 * 0.5, f"the panel covers {panel_rows} of 240 rows"
    green = (np.abs(picture.astype(int) - (80, 200, 80)) <= 12).all(axis=2).any(axis=1)
    below_bars = picture[int(np.flatnonzero(green).max()) + 1 : panel_rows]  # the rates, grey on the shade
    assert text_line_heights(below_bars) and min(text_line_heights(below_bars)) >= 8, "the rates are too small to read"


def text_line_heights(panel: np.ndarray) -> list[int]:
    """Heights of the runs of pixel rows that hold light text on the dark shade (touching lines make one run)."""
    inked = (panel.max(axis=2) > 150).any(axis=1)
    heights, run = [], 0
    for row in [*inked, False]:
        if row:
            run += 1
        elif run:
            heights, run = [*heights, run], 0
    return heights


def test_a_stalled_stream_is_shown_as_such_and_the_window_lives_through_the_reconnect(display: str, live_cli,
                                                                                    tmp_path: Path) -> None:
    white = tmp_path / "white.png"  # nothing orange in the picture: only the overlay's notices are
    cv2.imwrite(str(white), np.full((480, 640, 3), 255, np.uint8))
    with MjpegServer(white, fps=15) as camera:
        cli = live_cli("--source", camera.url, "--read-timeout", "2", "--provider", "cpu",
                       env=headless_env(DISPLAY=display))
        window_id(display)
        cli.wait_for(lambda: bar_pixels(screenshot(display, tmp_path / "live.png")) > 50, what="a prediction on screen")
        assert warning_pixels(screenshot(display, tmp_path / "live.png")) < 5
        camera.stall()
        cli.wait_for_stderr("lost (stalled: nothing received for 2.")
        cli.wait_for(lambda: warning_pixels(screenshot(display, tmp_path / "lost.png")) > 30,
                     what="'source lost: reconnecting...' on screen")
        camera.resume()
        cli.wait_for_stderr("reconnected")
        cli.wait_for(lambda: warning_pixels(screenshot(display, tmp_path / "back.png")) < 5, what="the notice gone")
        press(display, "q")
        run = cli.finish(timeout=30)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr


def test_the_screen_size_comes_from_the_x_display(display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", display)
    assert screen_size() == (1280, 800)
    with monkeypatch.context() as no_libx11:  # then xdpyinfo tells
        no_libx11.setattr("ctypes.CDLL", lambda name: (_ for _ in ()).throw(OSError(name)))
        assert screen_size() == (1280, 800)
    monkeypatch.delenv("DISPLAY")
    assert screen_size() is None, "no display, no size: the window then opens at the frame's size"
    assert fit_to_screen(1920, 1080, (1280, 800)) == (1152, 648)
    assert fit_to_screen(320, 240, (1280, 800)) == (320, 240), "a small frame is not blown up"
    assert fit_to_screen(1920, 1080, None) == (1920, 1080)


def test_headless_flag_opens_no_window_even_with_a_display(display: str, live_cli, tmp_path: Path) -> None:
    with MjpegServer(Path(__file__).parents[1] / "data" / "chelsea.png", fps=30) as camera:
        cli = live_cli("--source", camera.url, "--headless", "--jsonl", "-", "--provider", "cpu",
                       env=headless_env(DISPLAY=display))
        cli.wait_for(lambda: len(cli.stdout_lines) >= 20, what="predictions")
        assert x(display, "xdotool", "search", "--name", "^live-classify$").strip() == ""
        cli.signal(signal.SIGINT)
        assert cli.finish().returncode == 0


def test_a_display_that_is_not_there_means_headless_not_a_crash(video_file: Path, tmp_path: Path) -> None:
    """opencv-python's Qt build aborts the process on a dead DISPLAY; we must notice first."""
    from conftest import run_cli

    run = run_cli("--source", str(video_file), "--jsonl", "-", "--provider", "cpu",
                  env=headless_env(DISPLAY=":119"))
    assert run.returncode == 0, run.stderr
    assert "no X server on DISPLAY=:119: running headless" in run.stderr


def test_keys_1_to_9_save_frames_under_their_class(display: str, live_cli, tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    with MjpegServer(Path(__file__).parents[1] / "data" / "coffee.png", fps=30) as camera:
        cli = live_cli("--source", camera.url, "--classes", "cup,empty table", "--collect-dir", str(dataset),
                       "--provider", "cpu", env=headless_env(DISPLAY=display))
        window_id(display)
        screen_when(display, tmp_path / "screen.png", lambda shot: bar_pixels(shot) > 300, "the video")
        for key in ("1", "1", "2", "7"):  # 7: no class bound, nothing saved
            press(display, key)
            time.sleep(0.3)
        cli.wait_for(lambda: len(list(dataset.glob("*/*.png"))) >= 3, what="three saved frames")
        screen_when(display, tmp_path / "counts.png", lambda shot: notice_pixels(shot) > 30, "the counts")
        press(display, "q")
        run = cli.finish(timeout=20)
    assert run.returncode == 0, run.stderr
    assert len(list((dataset / "cup").glob("*.png"))) == 2
    assert len(list((dataset / "empty table").glob("*.png"))) == 1
    assert "1 cup: 2 | 2 empty table: 1" in run.stderr
