"""The one way anything here stays current instead of falling behind: drop the oldest."""
from __future__ import annotations

import queue


def put_newest(q: queue.Queue, item: object) -> int:
    """Put ``item``, dropping the oldest items while ``q`` is full; returns how many were dropped.

    The live pipeline's inference slot and display queue and the outputs' background writers use it.
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
