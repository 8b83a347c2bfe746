"""Where ``--serve`` listens and for how many: the address read from the command line (a bad one is a
:class:`BadValue`), the token, the socket bound before the camera opens, and the places for clients.

No aiohttp, no OpenCV here: the command line reads these without loading the server.
"""
from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from live_classify import log
from live_classify.errors import BadValue, LiveClassifyError, UsageError

DEFAULT_ADDRESS = "127.0.0.1:8080"
TOKEN_ENV = "LIVE_CLASSIFY_TOKEN"
DEFAULT_CLIENTS = 8  # streams and event feeds at once, unless one page of the cameras takes more
MAX_CLIENTS = 1000  # --serve-clients at most: each client is an open file of the process


@dataclass(frozen=True)
class Address:
    """Where to listen: ``--serve [HOST:]PORT``."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def address(text: str) -> Address:
    """``8080``, ``0.0.0.0:8080``, ``[::1]:8080``, ``localhost:8080``."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise BadValue(f"not [HOST:]PORT with a port from 1 to 65535: {text!r}")
    return Address(host, int(port))


HOST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?",
                       re.IGNORECASE)


def serve_host(text: str) -> str:
    """``--serve-host NAME``: a host name (``box.lan``) or an IP address the server also answers to
    (loopback without a token or a password answers only its own names: see ``hosts.py``)."""
    name = text.strip("[]")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not HOST_NAME.fullmatch(name):
        raise BadValue(f"must be a host name such as box.lan or an IP address, not {text!r}")
    return name.lower().rstrip(".")


def serve_places(clients: int | None, cameras: int) -> int:
    """Streams and event feeds at once: ``--serve-clients``, else enough for a few viewers, and
    always for one page of every camera (a stream each and the events); a smaller N is said."""
    page = cameras + 1
    if clients is not None and clients < page:
        log.warning(f"--serve-clients {clients} is fewer than the page takes ({page}: a stream per camera and "
                    "the events): it will miss some")
    return clients or max(DEFAULT_CLIENTS, page)


def serve_token(given: str | None) -> str | None:
    """``--serve-token``, else the environment's ``LIVE_CLASSIFY_TOKEN`` (kept out of ``ps``), else None."""
    return given or os.environ.get(TOKEN_ENV) or None


def password_file(text: str) -> Path:
    """``--serve-password-file FILE``: read now, so a missing or empty file is a usage error at once."""
    read_password(Path(text))
    return Path(text)


def read_password(path: Path) -> str:
    """The password in ``path``: the file's text without its trailing newline; never empty."""
    try:
        password = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise BadValue(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    if not password:
        raise BadValue(f"{path} is empty")
    return password


def serve_password(path: Path | None) -> str | None:
    """``--serve-password-file``'s password, read for the run (one line and exit 1 if it went since)."""
    try:
        return read_password(path) if path else None
    except BadValue as error:
        raise LiveClassifyError(f"--serve-password-file: {error}") from None


def listen(where: Address, guarded: str | None) -> socket.socket:
    """The server's socket, bound and listening now, before the camera opens (beyond loopback only
    ``guarded``: with a token or a password)."""
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(where.host, where.port, type=socket.SOCK_STREAM,
                                                              flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise LiveClassifyError(f"--serve {where}: cannot resolve {where.host!r} ({error.strerror})") from None
    _check_exposed(where, str(sockaddr[0]), guarded)
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise LiveClassifyError(f"cannot serve on {where}: {error.strerror or error}") from None
    sock.setblocking(False)
    return sock


def listen_again(sock: socket.socket, where: Address, guarded: str | None) -> socket.socket:
    """The running server's socket for its successor on the same address (a reload changed the
    token, the password, the rate or the places): a second descriptor of it, so that the port never
    stops listening."""
    _check_exposed(where, sock.getsockname()[0], guarded)
    again = sock.dup()
    again.setblocking(False)
    return again


def _check_exposed(where: Address, host: str, guarded: str | None) -> None:
    """Beyond loopback only with a token or a password: a camera on the network for anyone to watch is a mistake."""
    if not ipaddress.ip_address(host).is_loopback and not guarded:
        raise UsageError(f"--serve {where} listens beyond this machine: give --serve-token TOKEN "
                         f"(or set {TOKEN_ENV}), --serve-password-file FILE or --serve-users FILE, to log in with")
