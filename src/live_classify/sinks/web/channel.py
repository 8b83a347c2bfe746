"""What the server holds for its viewers: one camera's newest JPEG and who waits for the next, and
the newest-wins queue of an event feed. Lives on the server's event loop."""
from __future__ import annotations

import asyncio


class Channel:
    """One camera's newest JPEG, its number, and who waits for the next (on the server's loop)."""

    def __init__(self) -> None:
        self.jpeg: bytes | None = None
        self.seq = 0  # the newest JPEG's number
        self.new_frame = asyncio.Event()
        self.viewers = 0  # its streams open now
        self.snapshot_waiters = 0
        self.closed = False  # its camera was removed by a reload: its streams end

    def publish(self, jpeg: bytes) -> None:
        self.jpeg = jpeg
        self.seq += 1
        self.wake()

    def close(self) -> None:
        self.closed = True
        self.wake()

    def wake(self) -> None:
        self.new_frame.set()
        self.new_frame = asyncio.Event()


def queue_newest(queue: asyncio.Queue, item: object) -> None:
    """Queue ``item``; when the queue is full, the oldest waiting one makes room."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)
