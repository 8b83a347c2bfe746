"""A lost live source reopened with backoff (its :class:`~live_classify.pipeline.streak.Streak`
says how long to wait and when to give up), each try said in one line (the first says why it was lost)."""
from __future__ import annotations

import threading

from live_classify.pipeline.frames import Log
from live_classify.pipeline.streak import Streak
from live_classify.sources.capture import Source


def reopen_with_backoff(source: Source, name: str, streak: Streak, stop: threading.Event, log: Log) -> bool:
    """True once ``source`` is back; False when the streak's tries failed or ``stop`` was set meanwhile."""
    why = source.lost_because
    while (delay := streak.next_wait()) is not None:
        lost = f"lost ({why})" if streak.tries == 1 else "still lost"
        of = f"/{streak.limit}" if streak.limit is not None else ""
        log(f"{name}: {lost}; reconnecting in {delay:g} s (attempt {streak.tries}{of})")
        if stop.wait(delay):
            return False
        if source.reopen():
            log(f"{name}: reconnected")
            return True
    return False
