"""A live stream stays whole: a viewer's fragments reach his socket in the order they were made, a
camera of an odd size keeps one encoder (one init segment), a stream refused for its camera gives
its ``--serve-clients`` place back, and the encoder lingers after a viewer who watched a long time."""
from __future__ import annotations

import asyncio
import http.client
import socket
import threading

import numpy as np
import pytest
from statuses import camera_status
from test_live_unit import TOKEN, Response, Socket, Watched, chunk, door_view, until, wait_for

from live_classify.sinks.web import live_streams
from live_classify.sinks.web.clients import Client
from live_classify.sinks.web.listen import Address, listen
from live_classify.sinks.web.live_encoder import LiveEncoder
from live_classify.sinks.web.live_streams import LiveChannel
from live_classify.sinks.web.live_viewer import Viewer
from live_classify.sinks.web.view import Feed, Options, WebView


def test_a_fragment_made_while_older_ones_wait_for_the_handler_goes_after_them() -> None:
    """His socket was behind (p2 queued) and has just taken everything, but his handler has not run
    yet: p3 must queue behind p2, not jump ahead of it straight to the socket (a player gets the
    frames out of order, and shows garbage until the next keyframe)."""
    async def scenario() -> list[bytes]:
        channel, sock = LiveChannel(), Socket()
        viewer = Viewer(sock)
        channel.viewers.add(viewer)
        channel.new_init(b"init")
        handler = asyncio.create_task(viewer.send(Client(sock), Response(sock)))  # type: ignore[arg-type]
        channel.fragment(b"k1", key=True)
        await asyncio.wait_for(until(lambda: viewer.open and not viewer.pending), 5)
        sock.behind = 100
        channel.fragment(b"p2", key=False)  # queued: the socket is behind
        sock.behind = 0  # the kernel took it all; the handler has not run since
        channel.fragment(b"p3", key=False)
        await asyncio.wait_for(until(lambda: not viewer.pending), 5)
        viewer.end()
        await asyncio.wait_for(handler, 5)
        return b"".join(sock.writes[1:])

    assert asyncio.run(scenario()) == chunk(b"k1") + chunk(b"p2") + chunk(b"p3")


def answer_status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_stream_refused_for_its_camera_leaves_the_one_place_free() -> None:
    """``--serve-clients 1``: asking for a camera that is not there (404) takes no place, so the next
    viewer of a real camera is let in, not told the server is full (503)."""
    sock = listen(Address("127.0.0.1", 0), TOKEN)
    view = WebView(sock, [Feed("door", "door", lambda: camera_status(name="door"))],
                   Options("CPU", token=TOKEN, fps=None, clients=1))
    port = sock.getsockname()[1]
    viewer = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        refused = [answer_status(port, "/live.mp4?camera=garage") for _ in range(2)]
        viewer.sendall(f"GET /live.mp4?camera=door HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
                       .encode())
        wait_for(lambda: view.server.live.counts()["viewers"] == 1, "door's viewer in (no 503: the 404s kept no place)")
        view.server.live.init("door", b"door init")  # as door's encoder hands them over
        view.server.live.fragment("door", b"door keyframe", True)
        answer = http.client.HTTPResponse(viewer)
        answer.begin()
        got = (answer.status, answer.read(len(b"door init")))
    finally:
        viewer.close()
        view.close()
    assert refused == [404, 404]
    assert got == (200, b"door init")


class Inits(Watched):
    """The init segments the encoder handed over too (one per encoder it opened)."""

    def __init__(self) -> None:
        super().__init__()
        self.inits = 0
        self.more = threading.Event()

    def init(self, camera: str, data: bytes) -> None:
        self.inits += 1

    def fragment(self, camera: str, data: bytes, key: bool) -> None:
        super().fragment(camera, data, key)
        self.more.set()


def test_a_camera_of_an_odd_size_keeps_one_encoder_and_one_init() -> None:
    """A 65x49 camera is encoded as 64x48: each frame of it is of the running encoder's size, so the
    encoder goes on (one init segment, a keyframe then others), instead of a new encoder, a new init
    and a keyframe each frame (each of which would end every viewer's stream)."""
    streams = Inits()
    encoder = LiveEncoder("door", streams)
    try:
        for _ in range(600):
            encoder.offer(np.full((49, 65, 3), 128, np.uint8))
            streams.more.wait(0.05)
            streams.more.clear()
            if len(streams.fragments) >= 4 or streams.done.is_set():
                break
    finally:
        encoder.finish()
    assert (streams.inits, streams.fragments[:4], encoder.error) == (1, [True, False, False, False], None)


class Clock:
    """``live_streams``' clock, moved by the test: a viewer can watch for minutes in no time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_the_encoder_lingers_after_a_viewer_who_watched_longer_than_the_linger(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``LINGER_S`` counts from the last viewer's departure, not from his arrival: one who watched
    for two minutes and leaves still leaves the encoder running for a page that reloads."""
    clock = Clock()
    monkeypatch.setattr(live_streams, "time", clock)
    sock, view = door_view()
    live = view.server.live
    viewer = socket.create_connection(sock.getsockname()[:2], timeout=20)
    try:
        viewer.sendall(f"GET /live.mp4?camera=door HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
                       .encode())
        wait_for(lambda: live.counts()["viewers"] == 1, "the viewer is in")
        clock.now += 120  # he watches for two minutes
        viewer.shutdown(socket.SHUT_RDWR)
        wait_for(lambda: live.counts()["viewers"] == 0, "the viewer left")
        after = live.wanted("door")
    finally:
        viewer.close()
        view.close()
    assert after, f"wanted for {live_streams.LINGER_S} s after he left"
