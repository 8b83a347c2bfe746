"""Teaching a class from moments of the recordings: their frames' features become a class that
every camera's predictions use at once (``engine/taught.py`` matches them), kept beside the
recordings (``store.py``). What a request got wrong is a :class:`Refused` with an HTTP status."""
from __future__ import annotations


class Refused(Exception):
    """A teaching request that cannot be done as asked: ``status`` (4xx) and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
