"""A progress line for the long steps of training (the features, then the epochs), on stderr: the
count done, the share and the time left, so 20 s of feature extraction is not 20 s of silence.

On a terminal the line is redrawn in place (``\\r``, at most ``REDRAW_S`` apart) and wiped before
anything else is printed; to a file or a pipe (a log, CI) it is a plain line at each quarter, no more.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_S = 0.1  # a terminal's line: at most ten redraws a second
QUARTERS = (0.25, 0.5, 0.75)  # a log's lines: one at each, and none at the end (the step's own line follows)


def left_text(seconds: float) -> str:
    """``12 s``, ``3 min 5 s``: the time left, as a person reads it."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


class Progress:
    """One step's progress: ``update(done)`` as it goes, ``clear()`` before other output, ``finish()``."""

    def __init__(self, what: str, total: int, unit: str, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.total, self.unit = what, max(1, total), unit
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.clock = clock
        self.started = clock()
        self._drawn = False
        self._last_draw = -REDRAW_S
        self._quarters = list(QUARTERS)

    def text(self, done: int) -> str:
        """``features: 96/240 images (40%), 12 s left``."""
        share = min(1.0, done / self.total)
        elapsed = self.clock() - self.started
        left = f", {left_text(elapsed / done * (self.total - done))} left" if 0 < done < self.total else ""
        return f"{self.what}: {done}/{self.total} {self.unit} ({share:.0%}){left}"

    def update(self, done: int) -> None:
        share = done / self.total
        if self.live:
            if (now := self.clock()) - self._last_draw >= REDRAW_S or done >= self.total:
                self._last_draw = now
                self.stream.write(f"\r\033[K{self.text(done)}")
                self.stream.flush()
                self._drawn = True
        elif self._quarters and share >= self._quarters[0]:
            while self._quarters and share >= self._quarters[0]:
                self._quarters.pop(0)
            if done < self.total:
                print(self.text(done), file=self.stream, flush=True)

    def clear(self) -> None:
        """Wipe a terminal's line (another line is printed next); nothing on a log."""
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False

    def finish(self) -> None:
        self.clear()
