"""How frames wait between threads: the newest wins (live), or the producer waits (files); and the
events that wake the consumers."""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field


def put_newest(q: queue.Queue, item: object) -> int:
    """Put ``item``, dropping the oldest items while ``q`` is full; returns how many were dropped.

    A live camera's inference slot and display queue and the outputs' background writers use it.
    """
    dropped = 0
    while True:
        try:
            q.put_nowait(item)
            return dropped
        except queue.Full:
            try:
                q.get_nowait()
                dropped += 1
            except queue.Empty:
                pass


def newest(q: queue.Queue, item: object, end: object) -> object:
    """The newest of ``item`` and what waits behind it in ``q``, so the picture is never older than
    its label (the recording counts the frames it never got); ``end``, the last item ever put, is
    left in ``q`` for the next look."""
    while True:
        try:
            following = q.get_nowait()
        except queue.Empty:
            return item
        if following is end:
            q.put_nowait(end)
            return item
        item = following


@dataclass(frozen=True)
class Wake:
    """What the cameras set when a frame waits: for the scheduler, for the main loop (both at once;
    a spurious wake-up only costs a look)."""

    inference: threading.Event = field(default_factory=threading.Event)
    display: threading.Event = field(default_factory=threading.Event)

    def set(self) -> None:
        self.inference.set()
        self.display.set()


def put_blocking(q: queue.Queue, item: object, stop: threading.Event) -> None:
    """Wait for room (nothing is dropped), but give up once ``stop`` is set."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
