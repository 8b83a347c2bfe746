"""Which names a server that lets everyone in answers to: against DNS rebinding.

A server on loopback with neither a token nor a password trusts whoever can reach it, and only this
machine can. But a page of another site can point its own name at 127.0.0.1 (DNS rebinding) and
then read the answers as its own: the browser sends that name in ``Host``. So such a server answers
only ``Host: 127.0.0.1``, ``localhost`` or ``[::1]`` with its port (or none), and
the names ``--serve-host`` adds (a reverse proxy's, with any port); anything else is a 421.
With a token or a password, a stranger's page has neither, and every name is answered."""
from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def split_host(header: str) -> tuple[str, int | None]:
    """``Host``'s name (lower case, an IPv6 address without its brackets) and port (None: none given;
    -1: not a port)."""
    header = header.strip().lower()
    if header.startswith("["):
        name, _, rest = header[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None if not rest else "x"
    else:
        name, colon, port_text = header.rpartition(":")
        name, port = (name, port_text) if colon else (header, None)
    if port is None:
        return name.rstrip("."), None
    return name.rstrip("."), int(port) if port.isdigit() and len(port) <= 5 else -1


class Hosts:
    """The ``Host`` names a server answers: every one (``open``), or those of loopback and ``--serve-host``."""

    def __init__(self, listening: tuple[str, int], guarded: bool, names: Iterable[str] = ()) -> None:
        address, self.port = listening[0], listening[1]
        self.open = guarded or not ipaddress.ip_address(address.partition("%")[0]).is_loopback
        self.names = frozenset(name.lower().rstrip(".") for name in names)

    def allows(self, header: str | None) -> bool:
        if self.open:
            return True
        name, port = split_host(header or "")
        if name in self.names:
            return port != -1
        return name in LOOPBACK_NAMES and port in (self.port, None)  # None: a client that leaves it out

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.allows(request.headers.get("Host")):
            return await handler(request)
        return web.Response(status=421, text=f"this server answers only http://127.0.0.1:{self.port}/, "
                                             f"http://localhost:{self.port}/ and the names given with --serve-host\n")
