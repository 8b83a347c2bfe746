"""A TCP port on 127.0.0.1 forwarded to another, which a test closes and opens again.

Closed, the port refuses connections and the ones open are cut, as when the server behind it dies;
open again, it forwards at once. So a test can give a server an outage of an exact length, without
waiting for a real server to start (which takes anywhere from 5 to 30 s on a loaded machine).
"""
from __future__ import annotations

import socket
import threading
import time


class TcpGate:
    """``port`` forwards to ``target_port`` while open."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))  # SO_REUSEADDR: it can listen again at once
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self.accepted: list[float] = []  # when each connection came (time.monotonic())
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def close(self) -> None:
        """Refuse new connections and cut the ones open."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._open = self._open, []
        for sock in ([listener] if listener else []) + connections:
            _shut(sock)

    def open(self) -> None:
        """Forward again, on the same port."""
        with self._lock:
            self._listener = socket.create_server(("127.0.0.1", self.port))
            threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                return  # closed (or the server behind is down: the client sees its connection cut)
            with self._lock:
                self._open += [client, server]
                self.accepted.append(time.monotonic())
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def __enter__(self) -> TcpGate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes one way until either side ends, then end both."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _shut(source)
    _shut(sink)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() or recv() on it
    except OSError:
        pass
    sock.close()
