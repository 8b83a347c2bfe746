"""One open ``/live.mp4``, as cheap per fragment as a socket write.

Each fragment is framed as a chunk of the chunked body once (``chunk``), and the same bytes go to
every viewer. A viewer who keeps up (its socket took everything it was given) gets each one
written to its socket at once, by the channel, on the server's loop: no wake-up of its handler,
no task, no timer per viewer and fragment (which made each viewer cost 51 µs a fragment, 11 now:
``benchmarks/live_fanout.py``). One whose socket is behind has them queued (``pending``), and
its handler gives them to the socket together once it took the last (never later than a viewer
who keeps up gets them: they wait for its socket either way). Runs on the server's event loop.
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from live_classify.sinks.web.clients import Client


def chunk(data: bytes) -> bytes:
    """``data`` as one chunk of a chunked HTTP body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


class Viewer:
    """One open ``/live.mp4``: its init segment once it starts, what waits for its socket, its skips."""

    def __init__(self, transport: asyncio.BaseTransport | None = None) -> None:
        self.init: bytes | None = None  # the init segment, given when it starts on a keyframe
        self.pending: list[bytes] = []  # chunks queued while its socket was behind (or before its headers went)
        self.started = False  # has had the init segment and a keyframe
        self.open = False  # its headers and init segment went: chunks may go straight to its socket
        self.ended = False
        self.skips = 0  # times it fell behind and started again at a keyframe
        self._transport = transport if isinstance(transport, asyncio.WriteTransport) else None
        self._wake = asyncio.Event()

    def start(self, init: bytes) -> None:
        self.init, self.started = init, True
        self._wake.set()

    def give(self, framed: bytes) -> None:
        """One chunk: to its socket now when it keeps up, else queued for its handler."""
        transport = self._transport
        if (self.open and not self.ended and not self.pending and transport is not None
                and not transport.is_closing() and not transport.get_write_buffer_size()):
            transport.write(framed)
        else:
            self.pending.append(framed)
            self._wake.set()

    def end(self) -> None:
        self.pending.clear()
        self.ended = True
        self._wake.set()

    async def send(self, client: Client, response: web.StreamResponse) -> None:
        """Its handler's part, until it ends: the init segment (aiohttp's write, the headers with it),
        then whatever queued while its socket was behind, in one write."""
        while not self.ended:
            await self._wake.wait()
            self._wake.clear()
            if self.init is not None and not self.open and not self.ended:
                await client.send(response, self.init)
                self.open = True
            if self.pending and self.open and not self.ended:
                framed, self.pending = b"".join(self.pending), []
                await client.write(framed)  # waits while its socket is full; drops it after a while
