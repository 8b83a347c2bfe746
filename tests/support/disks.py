"""A disk whose free space the test decides: the recording's ``SpaceWatch`` answering full now, or
room again, as the test sets it (no filesystem filled)."""
from __future__ import annotations

from pathlib import Path


class Disk:
    """A SpaceWatch whose answers the test sets: full now (``full``: why), or room again (``room``)."""

    def __init__(self) -> None:
        self.full: str | None = None
        self.room: str | None = None

    def check(self, path: Path) -> str | None:
        return self.full

    def room_again(self, path: Path) -> str | None:
        return self.room
