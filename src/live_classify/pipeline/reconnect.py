"""A lost live source reopened with backoff: 0.5 s, 1 s, 2 s... never more than 5 s between tries,
each try said in one line (the first says why it was lost)."""
from __future__ import annotations

import threading

from live_classify.pipeline.frames import Log
from live_classify.sources.capture import Source

MAX_DELAY_S = 5.0


def reopen_with_backoff(source: Source, name: str, tries: int, stop: threading.Event, log: Log) -> bool:
    """True once ``source`` is back; False when ``tries`` failed or ``stop`` was set meanwhile."""
    why, delay = source.lost_because, 0.5
    for attempt in range(1, tries + 1):
        lost = f"lost ({why})" if attempt == 1 else "still lost"
        log(f"{name}: {lost}; reconnecting in {delay:g} s (attempt {attempt}/{tries})")
        if stop.wait(delay):
            return False
        if source.reopen():
            log(f"{name}: reconnected")
            return True
        delay = min(MAX_DELAY_S, delay * 2)
    return False
