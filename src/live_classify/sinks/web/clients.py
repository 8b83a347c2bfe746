"""The places ``--serve-clients`` gives streams and event feeds, kept from clients that read nothing.

A client that reads nothing cannot hold a place for long: a write its socket has not taken in
``DRAIN_TIMEOUT_S`` drops it, and when every place is taken a newcomer takes the place of the
client stalled longest (for ``EVICT_AFTER_S`` at least: a reading viewer never waits that long
for its socket); only when every client is reading is the newcomer answered 503, with a
Retry-After. All of it runs on the server's event loop.
"""
from __future__ import annotations

import asyncio
import time

from aiohttp import web

DRAIN_TIMEOUT_S = 5.0  # a client whose socket takes no data for this long is dropped
EVICT_AFTER_S = 1.0  # with every place taken, a client stalled this long makes room for a newcomer
RETRY_AFTER_S = 5  # a full house's 503 says to try again after this long (a stalled client is gone by then)


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

    async def send(self, response: web.StreamResponse, data: bytes) -> None:
        """Write ``data``; a socket that takes none of it in ``DRAIN_TIMEOUT_S`` drops the client."""
        self.stalled_since = time.monotonic()
        try:
            await asyncio.wait_for(response.write(data), DRAIN_TIMEOUT_S)
        except asyncio.TimeoutError:
            self.drop()
            raise ConnectionResetError("the client read nothing") from None
        self.stalled_since = None


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
