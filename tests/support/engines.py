"""Sources and engines made by hand for the stream's unit tests: a scripted source, an engine that
records what it classified."""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import numpy as np

from live_classify.engine.backend import BackendUnavailable
from live_classify.pipeline.batching import Batcher
from live_classify.pipeline.camera import Camera
from live_classify.pipeline.frames import Flow, Shown
from live_classify.pipeline.queues import Wake
from live_classify.pipeline.workers import WorkerPool
from live_classify.sources.capture import SourceSpec


class Scripted:
    """A source whose frames the test sends: each a tiny image carrying (camera, index) in its pixels."""

    def __init__(self, camera: int, live: bool = True, frames: int = 0) -> None:
        self.spec = SourceSpec(f"cam{camera}", "camera" if live else "file", f"cam{camera}")
        self.claimed_fps = None
        self.lost_because = "ended"
        self.camera = camera
        self._frames: queue.Queue = queue.Queue()
        for index in range(frames):
            self.send(index)
        if not live:
            self._frames.put(None)

    def send(self, index: int) -> None:
        self._frames.put(np.full((2, 2, 3), (self.camera, index % 256, index // 256), np.uint8))

    def end(self) -> None:
        self._frames.put(None)

    def describe(self) -> str:
        return self.spec.name

    def read(self) -> np.ndarray | None:
        return self._frames.get()

    def reopen(self) -> bool:
        return False

    def release(self) -> None:
        pass


class Recorder:
    """Stands in for the classifier: records each batch as (camera, index) pairs."""

    def __init__(self, unavailable_for: int = 0, delay_s: float = 0.0) -> None:
        self.batches: list[list[tuple[int, int]]] = []
        self.unavailable_for = unavailable_for
        self.delay_s = delay_s  # each run takes this long: an engine that cannot keep up
        self.lock = threading.Lock()

    def classify_batch(self, images: list[np.ndarray], pad_to: int | None = None) -> list[str]:
        if self.unavailable_for > 0:
            self.unavailable_for -= 1
            raise BackendUnavailable("connection refused")
        time.sleep(self.delay_s)
        with self.lock:
            self.batches.append([(int(i[0, 0, 0]), int(i[0, 0, 1]) + 256 * int(i[0, 0, 2])) for i in images])
        return [f"result {k}" for k in range(len(images))]

    def classified(self) -> list[tuple[int, int]]:
        with self.lock:
            return [item for batch in self.batches for item in batch]


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class Run:
    """A camera and the scheduler that serves it, as the run starts them: the batcher, or with
    ``workers`` the per-core pool with that many lanes."""

    def __init__(self, source: object, engine: object, flow: Flow, workers: int | None = None,
                 **options: object) -> None:
        wake = Wake()
        self.camera = Camera(source, flow=flow, lanes=workers or 1, wake=wake, **options)  # type: ignore[arg-type]
        self.scheduler = WorkerPool(engine, self.camera) if workers else \
            Batcher(engine, [self.camera], wake, max_batch=1)  # type: ignore[arg-type]
        self.stats = self.camera.stats

    def start(self) -> Run:
        self.camera.start()
        self.scheduler.start()
        return self

    def frames(self) -> Iterator[Shown]:
        """Every frame to show, as the main loop gets them, until the camera ends."""
        while not self.camera.ended:
            if (shown := self.camera.poll(0.1)) is not None:
                yield shown

    def join(self, timeout: float = 10.0) -> None:
        self.camera.stop()
        self.scheduler.join(timeout)
        self.camera.join(timeout)

    @property
    def error(self) -> str | None:
        return self.scheduler.error or self.camera.error
