"""Three synthetic cameras fed to a real Grid (or ``--windows``) at 30 fps until q: the window side
of many cameras under Xvfb, without the capture threads. ``python grid_feeder.py DIR [grid|windows]``."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from live_classify.engine.postprocess import TopK
from live_classify.engine.results import Classification, StageTimes
from live_classify.pipeline.frames import Frame, Prediction, Shown
from live_classify.sinks.base import Update
from live_classify.sinks.display.grid import Grid
from live_classify.sinks.display.windows import Windows

COLORS = {"door": (0, 0, 200), "yard": (0, 200, 0), "shop": (200, 0, 0)}  # BGR
SIZES = {"door": (640, 480), "yard": (320, 240), "shop": (640, 360)}


def canvas(camera: str, shade: int = 0, size: tuple[int, int] | None = None) -> np.ndarray:
    """A camera's annotated frame: its own colour (plus ``shade``, to tell one frame from the next)."""
    width, height = size or SIZES[camera]
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = np.array(COLORS[camera]) + shade
    return image


def camera_update(camera: str, index: int, image: np.ndarray, draw: Callable[[], np.ndarray] | None = None) -> Update:
    """``image`` as camera ``camera``'s frame ``index``, classified, as the main loop hands it over
    (``draw``: how its canvas is drawn; by default it is ``image``)."""
    frame = Frame(index, index / 30, 1_700_000_000 + index / 30, image, camera)
    top = TopK((282,), ("tiger cat",), (0.9,))
    prediction = Prediction(frame, Classification(top, StageTimes(1.0, 2.0, 0.5), np.zeros(1000)), frame.t_capture)
    return Update(Shown(frame, prediction, [prediction], exclusive=True), frame.t_capture, draw or (lambda: image))


def main(folder: Path, kind: str) -> None:
    sink = Windows(list(COLORS), folder) if kind == "windows" else Grid(list(COLORS), folder)
    index = 0
    while not sink.stop_requested:
        for camera in COLORS:
            sink.write(camera_update(camera, index, canvas(camera)))
        index += 1
        time.sleep(1 / 30)
    sink.close()
    print(sink.summary(), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "grid")
