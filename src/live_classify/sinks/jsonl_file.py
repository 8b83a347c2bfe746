"""The JSON lines' file on disk: rotated by ``--jsonl-rotate SIZE|daily`` (``out.jsonl``
becomes ``out.jsonl.1``, the older ones shift up, beyond ``--jsonl-keep N`` they go), and reopened
on SIGUSR1, for logrotate's ``postrotate`` (``kill -USR1``): the file it moved keeps every line
written before the signal, the new one every line after. Used only on the writer's thread, and
only for a regular file (not stdout, a pipe or ``/dev/null``)."""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from live_classify import log
from live_classify.errors import LiveClassifyError

DAILY = "daily"
_reopen = {"asked": 0}  # SIGUSR1s so far: each open file compares with what it last saw


@dataclass(frozen=True)
class Rotation:
    """``--jsonl-rotate`` (bytes, or ``daily``; None: never) and ``--jsonl-keep``."""

    when: int | str | None = None
    keep: int = 7


def listen_for_reopen() -> None:
    """SIGUSR1 asks every JSON lines file to be reopened (from the main thread only; elsewhere a no-op)."""
    if hasattr(signal, "SIGUSR1") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGUSR1, lambda signum, frame: _reopen.update(asked=_reopen["asked"] + 1))


class Rotating:
    """Where one JSON lines file's lines go next: the file itself, or a new one after a rotation
    or a SIGUSR1 (on the writer's thread, before each line)."""

    def __init__(self, path: Path, rotation: Rotation = Rotation()) -> None:
        self.path = path
        self.rotation = rotation
        self._seen = _reopen["asked"]
        self._day = time.strftime("%Y-%m-%d")

    def open(self) -> TextIO:
        try:
            return self.path.open("a", encoding="utf-8")
        except OSError as error:
            raise LiveClassifyError(f"cannot write JSON lines file {self.path}: {error.strerror}") from None

    def ready(self, out: TextIO, adding: int) -> TextIO:
        """The file the next line (of ``adding`` bytes) goes to: ``out``, or a new one (``out`` closed)."""
        if self._seen != _reopen["asked"]:
            self._seen = _reopen["asked"]
            out.close()
            log.info(f"JSON lines: {self.path} reopened (SIGUSR1)")
            return self.open()
        if not self._due(out, adding):
            return out
        out.close()
        self._rotate()
        return self.open()

    def _due(self, out: TextIO, adding: int) -> bool:
        """Whether the line to come starts a new file: past the size, or on a new day."""
        when = self.rotation.when
        if when == DAILY:
            return time.strftime("%Y-%m-%d") != self._day
        return isinstance(when, int) and out.tell() > 0 and out.tell() + adding > when

    def _rotate(self) -> None:
        """``out.jsonl`` -> ``out.jsonl.1`` -> ``.2``...; the one past ``--jsonl-keep`` is deleted."""
        keep = self.rotation.keep
        numbered = [self.path.with_name(f"{self.path.name}.{n}") for n in range(1, keep + 1)]
        numbered[-1].unlink(missing_ok=True)
        for older, newer in zip(reversed(numbered[1:]), reversed(numbered[:-1]), strict=True):
            if newer.exists():
                os.replace(newer, older)
        os.replace(self.path, numbered[0])
        self._day = time.strftime("%Y-%m-%d")
        log.info(f"JSON lines: {self.path} rotated (the newest {keep} kept as {self.path.name}.1 ...)")
