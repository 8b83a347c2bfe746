"""A real X display for the window tests: Xvfb, xdotool and screenshots."""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

TOOLS = ("Xvfb", "xdotool", "import")


missing = [tool for tool in TOOLS if shutil.which(tool) is None]
needs_x = pytest.mark.skipif(bool(missing),
                             reason=f"needs {', '.join(missing)}: apt-get install xvfb xdotool imagemagick")


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


def warning_pixels(image: np.ndarray) -> int:
    """Pixels of the overlay's orange (BGR 60, 170, 255) anywhere in ``image``: for a region where
    the photo has none of it."""
    return int(np.all(np.abs(image.astype(int) - (60, 170, 255)) <= 20, axis=2).sum())
