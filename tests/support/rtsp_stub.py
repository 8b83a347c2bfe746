"""A fake RTSP camera on 127.0.0.1 that serves no video: it answers OPTIONS and DESCRIBE, records
what the client asks for, and refuses every SETUP.

Enough to see what FFmpeg (inside OpenCV) sends — which path, which transport (``RTP/AVP/TCP``
for interleaved TCP, ``client_port=`` for UDP) — and how the command reports a 404 or a refusal.
"""
from __future__ import annotations

import socketserver
import threading

SDP = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=stub\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=video 0 RTP/AVP 26\r\na=control:track1\r\n")


class RtspStub:
    """``/stream`` exists (DESCRIBE 200 with an MJPEG track); any other path is 404."""

    def __init__(self, path: str = "/stream") -> None:
        self.path = path
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, url, headers)
        stub = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while True:
                    request = stub._read_request(self.rfile)
                    if request is None:
                        return
                    self.wfile.write(stub._answer(*request).encode())

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"rtsp://127.0.0.1:{self.port}{path}"

    def transports(self) -> list[str]:
        """The Transport header of every SETUP, in order."""
        return [headers.get("transport", "") for method, _, headers in self.requests if method == "SETUP"]

    def _read_request(self, rfile) -> tuple[str, str, dict[str, str]] | None:  # noqa: ANN001
        first = rfile.readline().decode("latin-1").strip()
        if not first:
            return None
        headers = {}
        while (line := rfile.readline().decode("latin-1").strip()):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        method, url = (first.split(" ") + [""])[:2]
        self.requests.append((method, url, headers))
        return method, url, headers

    def _answer(self, method: str, url: str, headers: dict[str, str]) -> str:
        cseq = headers.get("cseq", "0")
        if method == "OPTIONS":
            return f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
        if method == "DESCRIBE" and url.split("://", 1)[-1].partition("/")[2].rstrip("/") == self.path.strip("/"):
            return (f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Base: {self.url}/\r\n"
                    f"Content-Type: application/sdp\r\nContent-Length: {len(SDP)}\r\n\r\n{SDP}")
        if method == "DESCRIBE":
            return f"RTSP/1.0 404 Not Found\r\nCSeq: {cseq}\r\n\r\n"
        return f"RTSP/1.0 461 Unsupported Transport\r\nCSeq: {cseq}\r\n\r\n"

    def __enter__(self) -> RtspStub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
