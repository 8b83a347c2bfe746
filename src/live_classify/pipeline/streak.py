"""A lost live camera's tries to reopen it: how many since its last frame, and how long to wait
before the next (0.5 s, doubled up to 5 s). Only a frame read ends a streak: a camera that answers
every reopening and then sends nothing readable goes on failing the same one, and is given up
(when there is a limit: with none, ``--reconnect`` not given, it is tried for as long as the run lasts)."""
from __future__ import annotations

FIRST_DELAY_S, MAX_DELAY_S = 0.5, 5.0


class Streak:
    """Reopening tries since the last frame read, at most ``limit`` (None: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.tries = 0
        self._delay = FIRST_DELAY_S

    def next_wait(self) -> float | None:
        """The wait before the next try (counted now), or None when ``limit`` tries have failed."""
        if self.limit is not None and self.tries >= self.limit:
            return None
        self.tries += 1
        delay, self._delay = self._delay, min(MAX_DELAY_S, self._delay * 2)
        return delay

    def end(self) -> None:
        """A frame came: the camera is back for real, and the next loss starts afresh."""
        self.tries, self._delay = 0, FIRST_DELAY_S
