"""The live window for real, on a virtual screen (Xvfb): a screenshot shows the overlay, keys work."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import count_frames, headless_env
from mjpeg_server import MjpegServer

TOOLS = ("Xvfb", "xdotool", "import")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
if missing and os.environ.get("CI"):
    raise RuntimeError(f"CI must install {', '.join(missing)} (.ci/run does)")
pytestmark = pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}: apt-get install xvfb xdotool imagemagick")


@pytest.fixture
def display() -> Iterator[str]:
    """A fresh X server of our own. Other test runs on the same machine pick numbers too: if another
    server took ours first, ours exits, and we try another number rather than share theirs."""
    rng = random.Random()
    for _ in range(20):
        number = rng.randrange(300, 900)
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while server.poll() is None and not Path(f"/tmp/.X11-unix/X{number}").exists():
            assert time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        time.sleep(0.2)  # a server that lost the race for the number exits at once
        if server.poll() is None:
            break
    else:
        raise AssertionError("no free display number for Xvfb")
    yield f":{number}"
    server.terminate()
    server.wait(10)


def x(display: str, *command: str, timeout: float = 15) -> str:
    return subprocess.run(command, env={**os.environ, "DISPLAY": display}, capture_output=True, text=True,
                          timeout=timeout).stdout


def window_id(display: str) -> str:
    """Wait for our window to be mapped; its X id."""
    found = x(display, "xdotool", "search", "--sync", "--onlyvisible", "--name", "^live-classify$")
    assert found.strip(), "no live-classify window appeared"
    return found.split()[0]


def screenshot(display: str, path: Path) -> np.ndarray:
    x(display, "import", "-window", "root", str(path))
    return cv2.imread(str(path))


def screen_when(display: str, path: Path, condition, what: str, timeout: float = 20) -> np.ndarray:  # noqa: ANN001
    """The first screenshot for which ``condition(shot)`` holds (the window redraws at its own pace)."""
    deadline = time.monotonic() + timeout
    while True:
        shot = screenshot(display, path)
        if condition(shot):
            return shot
        if shot.max() == 0:  # with no window manager Qt at times misses its window's first Expose
            x(display, "xdotool", "search", "--onlyvisible", "--name", "^live-classify$",  # and never draws:
              "windowunmap", "--sync", "windowmap", "--sync")  # map it again, as a desktop would expose it
        assert time.monotonic() < deadline, f"the screen never showed {what}"
        time.sleep(0.2)


def press(display: str, key: str) -> None:
    x(display, "xdotool", "search", "--name", "^live-classify$", "windowfocus", "--sync", "key", key)


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
    with MjpegServer(Path(__file__).parent / "data" / "coffee.png", fps=30) as camera:
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
        snapshot = cv2.imread(str(next(tmp_path.glob("live-classify-*.png"))))
        assert snapshot.shape == (480, 640, 3) and bar_pixels(snapshot) > 300

        press(display, "q")
        run = cli.finish(timeout=20)
    assert run.returncode == 0, run.stderr
    assert count_frames(record) >= 30
    assert "frames captured" in run.stderr


def test_headless_flag_opens_no_window_even_with_a_display(display: str, live_cli, tmp_path: Path) -> None:
    with MjpegServer(Path(__file__).parent / "data" / "chelsea.png", fps=30) as camera:
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
    with MjpegServer(Path(__file__).parent / "data" / "coffee.png", fps=30) as camera:
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
