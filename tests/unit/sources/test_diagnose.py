"""Why a stream would not open, asked of servers that misbehave on purpose: the diagnosis gives up
after its timeout in all, whatever the server trickles."""
from __future__ import annotations

import socket
import threading
import time

from live_classify.sources.diagnose import why_stream_fails


def trickling_server(head: bytes, every_s: float) -> tuple[int, list[int]]:
    """A server that answers ``head`` and then one byte of a status line that never ends every
    ``every_s``; ``sent[0]``: the bytes it sent before the client hung up."""
    listener = socket.create_server(("127.0.0.1", 0))
    sent = [0]

    def serve() -> None:
        client, _ = listener.accept()
        with client, listener:
            client.recv(65536)
            try:
                client.sendall(head)
                while True:
                    client.sendall(b"a")
                    sent[0] += 1
                    time.sleep(every_s)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], sent


def test_a_server_that_trickles_an_endless_answer_is_given_up_at_the_timeout() -> None:
    """Issue 33: one byte at a time, each within the socket's timeout, held the diagnosis (and the
    camera's opening) until 4096 bytes had come: minutes. Now ``timeout`` bounds it all."""
    port, sent = trickling_server(b"HTTP/1.0 200 ", every_s=0.05)
    answers: list[str | None] = []
    asking = threading.Thread(target=lambda: answers.append(why_stream_fails(f"http://127.0.0.1:{port}/", 1.0)),
                              daemon=True)
    asking.start()
    asking.join(60)  # 4096 bytes at 20 a second would take 200 s
    assert not asking.is_alive() and answers == [None], "no status line came: no reason to give"
    assert sent[0] < 1000, sent


def test_a_refusal_that_comes_in_time_is_named() -> None:
    port, _ = trickling_server(b"HTTP/1.0 401 Unauthorized\r\n", every_s=0.05)
    assert why_stream_fails(f"http://127.0.0.1:{port}/", 1.0) == \
        "the server answered 401 Unauthorized (a user name and password are needed, or they are wrong)"
