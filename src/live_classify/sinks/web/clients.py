"""The places ``--serve-clients`` gives streams and event feeds, kept from clients that read nothing.

A client that reads nothing cannot hold a place for long: a write its socket has not taken in
``DRAIN_TIMEOUT_S`` drops it (an event feed's socket keeps a small send buffer, so that its small
lines fill it in seconds, as a stream's frames do), and when every place is taken a newcomer takes the place of the
client stalled longest (for ``EVICT_AFTER_S`` at least: a reading viewer never waits that long
for its socket); only when every client is reading is the newcomer answered 503, with a
Retry-After. All of it runs on the server's event loop.
"""
from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable

from aiohttp import web

DRAIN_TIMEOUT_S = 5.0  # a client whose socket takes no data for this long is dropped
EVICT_AFTER_S = 1.0  # with every place taken, a client stalled this long makes room for a newcomer
RETRY_AFTER_S = 5  # a full house's 503 says to try again after this long (a stalled client is gone by then)
FEED_SEND_BUFFER = 16 * 1024  # an event feed's kernel send buffer (the kernel doubles it): a few seconds of lines
TAKEN_POLL_S = 0.02  # how often a write that the socket has not taken yet looks again


class Client:
    """One open stream or event feed: its connection, and since when its socket has not drained."""

    def __init__(self, transport: asyncio.BaseTransport | None) -> None:
        self.transport = transport
        self.stalled_since: float | None = None  # set while a write waits for the socket to drain

    def stalled_for(self, now: float) -> float:
        return 0.0 if self.stalled_since is None else now - self.stalled_since

    def drop(self) -> None:
        """Close the connection at once, unsent data and all (its handler then ends)."""
        if isinstance(self.transport, asyncio.WriteTransport):
            self.transport.abort()

    def hold_little(self) -> None:
        """Keep this connection's kernel send buffer small (an event feed's): its lines are small, and a
        buffer the kernel grows to megabytes takes minutes of them before a client that reads nothing
        makes a write wait, holding its place all that time."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, FEED_SEND_BUFFER)

    async def send(self, response: web.StreamResponse, data: bytes) -> None:
        """Write ``data``; a socket that takes none of it in ``DRAIN_TIMEOUT_S`` drops the client."""
        await self._within(self._taken(response, data))

    async def write(self, data: bytes) -> None:
        """``data``, a body already framed (``/live.mp4``'s chunks), straight to the connection; then as ``send``."""
        if isinstance(self.transport, asyncio.WriteTransport) and not self.transport.is_closing():
            self.transport.write(data)
        await self._within(self._drained())

    async def _within(self, taken: Awaitable[None]) -> None:
        self.stalled_since = time.monotonic()
        try:
            await asyncio.wait_for(taken, DRAIN_TIMEOUT_S)
        except asyncio.TimeoutError:
            self.drop()
            raise ConnectionResetError("the client read nothing") from None
        self.stalled_since = None

    async def _taken(self, response: web.StreamResponse, data: bytes) -> None:
        """``data`` written and taken by the socket: aiohttp waits for the socket only once 64 KB were
        written, which small writes (an event feed's lines) take long to reach; until the socket takes
        them, they wait in the connection's buffer."""
        await response.write(data)
        await self._drained()

    async def _drained(self) -> None:
        while isinstance(self.transport, asyncio.WriteTransport) and self.transport.get_write_buffer_size():
            await asyncio.sleep(TAKEN_POLL_S)


class Places:
    """``limit`` places shared by every stream and event feed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._clients: set[Client] = set()

    def stalled(self) -> int:
        """Clients stalled long enough that a newcomer may take their place."""
        now = time.monotonic()
        return sum(client.stalled_for(now) >= EVICT_AFTER_S for client in tuple(self._clients))

    def admit(self, request: web.Request) -> Client | None:
        """A place for a new client: a free one, else the place of the client stalled longest, which
        is dropped; None while every client is reading."""
        if len(self._clients) >= self.limit:
            now = time.monotonic()
            stalled = max(self._clients, key=lambda client: client.stalled_for(now))
            if stalled.stalled_for(now) < EVICT_AFTER_S:
                return None
            self.release(stalled)
            stalled.drop()
        client = Client(request.transport)
        self._clients.add(client)
        return client

    def release(self, client: Client) -> None:
        self._clients.discard(client)

    def full(self) -> web.Response:
        """The answer to a newcomer when no place can be had."""
        return web.Response(status=503, headers={"Retry-After": str(RETRY_AFTER_S)},
                            text=f"at most {self.limit} streams and event feeds at once (--serve-clients)\n")
