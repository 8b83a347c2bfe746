"""Collect training frames for your own classes: keys 1–9 in the live window, or headless.

The frames are saved raw (without the overlay) as PNGs in ``DIR/<class>/``, the layout that
``live-classify-train`` reads. As a sink it must come before any that draws the overlay: on a
file's frames the overlay is drawn in place.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from live_classify.errors import LiveClassifyError
from live_classify.sinks.base import Redraw, Update
from live_classify.sinks.display.window import Window
from live_classify.sinks.files import save_png
from live_classify.train.dataset import check_label


class Collector:
    """Saves frames under their class; counts what each class has, on disk included."""

    def __init__(self, root: Path, classes: list[str]) -> None:
        if not classes:
            raise LiveClassifyError("no classes to collect")
        if len(classes) > 9:
            raise LiveClassifyError(f"at most 9 classes can be bound to keys 1-9, not {len(classes)}")
        self.classes = [check_label(name) for name in classes]
        for name in self.classes:
            if "/" in name or "\\" in name or name in (".", ".."):
                raise LiveClassifyError(f"class name {name!r} cannot be a folder name: no slashes, not '.' or '..'")
        self.root = root
        for name in self.classes:
            folder = root / name
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise LiveClassifyError(f"cannot create {folder}: {error.strerror}") from None
        self.counts = {name: sum(1 for _ in (root / name).glob("*.png")) for name in self.classes}
        self.new = dict.fromkeys(self.classes, 0)  # saved by this run

    def save(self, image: np.ndarray, name: str) -> Path:
        """One raw frame as a PNG, written under a temporary name and renamed: never half a file."""
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() // 1_000_000 % 1000:03d}-{self.counts[name]:05d}"
        path = self.root / name / f"{stamp}.png"
        if not save_png(image, path):
            raise LiveClassifyError(f"cannot save a frame in {path.parent}")
        self.counts[name] += 1
        self.new[name] += 1
        return path

    def summary(self) -> str:
        """'1 door_open: 12 | 2 door_closed: 8', for the overlay and the log."""
        return " | ".join(f"{key} {name}: {self.counts[name]}" for key, name in enumerate(self.classes, start=1))


class Quota:
    """Headless ``--collect LABEL --count N --interval S``: N new frames, S seconds apart.

    The seconds are the source's own: a video file's time (an unpaced file runs many times faster
    than real time), a live source's capture time. Frames already in the folder do not count.
    """

    def __init__(self, collector: Collector, label: str, count: int, interval: float) -> None:
        self.collector = collector
        self.label = label
        self.count = count
        self.interval = interval
        self.seen_s = 0.0  # source time of the last frame offered
        self._start: float | None = None
        self._next: float | None = None

    @property
    def saved(self) -> int:
        return self.collector.new[self.label]

    @property
    def done(self) -> bool:
        return self.saved >= self.count

    def offer(self, image: np.ndarray, t: float) -> Path | None:
        """Save the frame if the next one is due at source time ``t``; the path when saved."""
        self._start = t if self._start is None else self._start
        self.seen_s = t - self._start
        if self.done or (self._next is not None and t < self._next):
            return None
        # On a grid (0, S, 2S ...), so a frame a little late does not push all the later ones back.
        due = (self._next or t) + self.interval
        self._next = due if due > t else t + self.interval
        return self.collector.save(image, self.label)

    def report(self) -> str:
        return (f"collected {self.saved} new frames of {self.label!r} in {self.collector.root} "
                f"({self.collector.counts[self.label]} there now)")

    def shortfall(self, source: str) -> str:
        """Why fewer frames than asked for were saved, when the source ended first."""
        return (f"only {self.saved} of {self.count} new frames of {self.label!r} collected: {source} ended after "
                f"{self.seen_s:.1f} s (one frame every {self.interval:g} s)")


class Collecting:
    """The collecting sink: ``--collect`` on its schedule, and keys 1-9 of the window."""

    name = "collecting"
    essential = True  # saving the frames is what the run is for
    error: str | None = None

    def __init__(self, collector: Collector, quota: Quota | None, window: Window | None,
                 log: Callable[[str], None]) -> None:
        self.collector = collector
        self.quota = quota
        self.window = window
        self.log = log

    @property
    def stop_requested(self) -> bool:
        return self.quota is not None and self.quota.done

    def write(self, update: Update) -> None:
        image = update.shown.frame.image  # raw: no sink before this one has drawn on it
        if self.quota and (saved := self.quota.offer(image, update.source_time)):
            self.log(f"saved {saved}")
        window = self.window
        key = window.class_key if window else None
        if window and key and window.collects_from(update.shown.frame.camera):  # a grid: the focused camera
            if key <= len(self.collector.classes):
                name = self.collector.classes[key - 1]
                self.log(f"saved {self.collector.save(image, name)} ({self.collector.summary()})")
            window.class_key = None

    def idle(self, redraw: Redraw) -> None:
        pass

    def close(self) -> None:
        pass

    def summary(self) -> str | None:
        return self.quota.report() if self.quota else None
