"""The scene that alternates (the cat, the espresso, the cat...) at known frames: a video file the
events and clips tests read at its own pace, so that events fall on known frames. A pytest plugin:
its ``scenes`` fixture is there for every test (``pytest_plugins`` in conftest.py)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from conftest import CHELSEA, COFFEE

FPS = 10
# (seconds, photo): the cat, the espresso (with a one-frame dip to the cat at frame 35), and again.
SCENES = [(2, 0), (3, 1), (2, 0), (3, 1), (2, 0)]
DIP = 35
# With --event-hold 1s --event-gap 1s: one event per espresso phase, from its first frame to its last.
EXPECTED = [(20, 49), (70, 99)]
EVENT_FLAGS = ("--event", "espresso", "--event-hold", "1s", "--event-gap", "1s")


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The alternating scene as an MP4 of 320x240 at ``FPS``."""
    path = tmp_path_factory.mktemp("events") / "scenes.mp4"
    photos = [cv2.resize(cv2.imread(str(p)), (320, 240), interpolation=cv2.INTER_AREA) for p in (CHELSEA, COFFEE)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (320, 240))
    frames = [photo for seconds, photo in SCENES for _ in range(seconds * FPS)]
    frames[DIP] = 0
    for photo in frames:
        writer.write(photos[photo])
    writer.release()
    return path


def lines_of(path: Path) -> tuple[list[dict], list[dict]]:
    """(prediction lines, event lines) of a JSON lines file."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if "event" not in line], [line for line in lines if "event" in line]
