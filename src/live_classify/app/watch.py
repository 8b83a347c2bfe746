"""``--watch-model``: the model file replaced on disk (``live-classify-train --out`` renames a new
file over it) is noticed by polling its identity — inode and modification time — once a second,
in a small thread of its own; a write in place changes the time, a rename the inode."""
from __future__ import annotations

import os
import threading
from pathlib import Path

POLL_S = 1.0


def identity(path: Path) -> tuple[int, int] | None:
    """The file's (inode, mtime in ns), or None while it is missing (between unlink and rename)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def watch(path: Path, changed: threading.Event, stop: threading.Event, every_s: float = POLL_S) -> threading.Thread:
    """Set ``changed`` each time ``path`` is another file than before, until ``stop`` is set (the file
    as it is now, before the thread starts, is the first "before": a file replaced at once is seen)."""
    last = identity(path)

    def loop() -> None:
        nonlocal last
        while not stop.wait(every_s):
            now = identity(path)
            if now is not None and now != last:
                last = now
                changed.set()

    thread = threading.Thread(target=loop, name="model watch", daemon=True)
    thread.start()
    return thread
