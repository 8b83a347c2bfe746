"""Why a stream would not open: what the network says, since OpenCV only says "not opened".

OpenCV's FFmpeg backend hands back an unopened capture whatever went wrong. When that happens long
before the open timeout, one plain connection (and, for HTTP and RTSP, one request) finds a reason
a person can act on: an unknown host, nothing listening, a wrong path (404), a refused login (401).
"""
from __future__ import annotations

import base64
import socket
import ssl
import time
from urllib.parse import SplitResult, unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322, "rtmp": 1935}
ASKED = {"http", "https", "rtsp"}  # schemes whose server we ask for the path, not just connect to


def why_stream_fails(url: str, timeout: float = 3.0) -> str | None:
    """A short reason why ``url`` cannot be opened, or None when the server seems to serve it.

    Never raises and never names the password, and gives up after ``timeout`` seconds in all (a server
    that trickles an endless answer holds it no longer). Schemes over UDP (udp, srt) get None: no
    connection to try.
    """
    deadline = time.monotonic() + timeout
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in DEFAULT_PORTS or not host:
        return None
    port = port or DEFAULT_PORTS[scheme]
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return f"unknown host {host} ({error.strerror})"
    try:
        connection = socket.create_connection((host, port), timeout)
    except ConnectionRefusedError:
        return f"connection refused by {host}:{port} (nothing listens there)"
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout:g} s"
    except OSError as error:
        return f"cannot connect to {host}:{port}: {error.strerror or error}"
    with connection:
        if scheme not in ASKED:
            return None
        try:
            status = _ask(connection, parts, host, deadline)
        except (OSError, ValueError):
            return None
    return _refusal(status) if status else None


def _ask(connection: socket.socket, parts: SplitResult, host: str, deadline: float) -> str:
    """Send one GET (HTTP) or DESCRIBE (RTSP) and return the status line of the answer, as far as it
    came by ``deadline``."""
    scheme = parts.scheme.lower()
    if scheme == "https":  # FFmpeg does not verify certificates by default: neither do we
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = context.wrap_socket(connection, server_hostname=host)
    where = parts.netloc.rpartition("@")[2]  # host[:port], without the login
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    auth = ""
    if parts.username is not None:
        login = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = f"Authorization: Basic {base64.b64encode(login.encode()).decode()}\r\n"
    if scheme == "rtsp":
        request = (f"DESCRIBE rtsp://{where}{path} RTSP/1.0\r\nCSeq: 1\r\n"
                   f"Accept: application/sdp\r\n{auth}User-Agent: live-classify\r\n\r\n")
    else:
        request = f"GET {path} HTTP/1.0\r\nHost: {where}\r\n{auth}User-Agent: live-classify\r\n\r\n"
    connection.sendall(request.encode())
    answer = b""
    while b"\r\n" not in answer and len(answer) < 4096 and (left := deadline - time.monotonic()) > 0:
        connection.settimeout(left)
        chunk = connection.recv(1024)
        if not chunk:
            break
        answer += chunk
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


def _refusal(status: str) -> str | None:
    """'RTSP/1.0 404 Not Found' -> 'the server answered 404 Not Found'; None for a success."""
    fields = status.split(" ", 2)
    if len(fields) < 2 or not fields[1].isdigit() or int(fields[1]) < 400:
        return None
    answer = f"the server answered {fields[1]} {fields[2] if len(fields) > 2 else ''}".rstrip()
    if fields[1] == "401":
        answer += " (a user name and password are needed, or they are wrong)"
    return answer
