"""The live view's parts in this process: a viewer who falls behind starts again at a keyframe, and
an encoder that fails ends its camera's streams and stops nothing else."""
from __future__ import annotations

import asyncio
import http.client
import io
import os
import socket
import threading
import time
from collections.abc import Callable

import av
import numpy as np
import pytest
from statuses import camera_status

from live_classify.sinks.web import live_streams
from live_classify.sinks.web.clients import Client, Places
from live_classify.sinks.web.fmp4 import Fmp4Encoder
from live_classify.sinks.web.listen import Address, listen
from live_classify.sinks.web.live_encoder import LiveEncoder
from live_classify.sinks.web.live_streams import BACKLOG, LiveChannel, LiveStreams
from live_classify.sinks.web.live_viewer import Viewer, chunk
from live_classify.sinks.web.view import Feed, Options, WebView

TOKEN = "live-token"


def unchunk(framed: bytes) -> list[bytes]:
    """A chunked body's pieces (the tests' fragments are short ASCII, never holding CRLF)."""
    pieces, rest = [], framed
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        pieces.append(rest[:int(size, 16)])
        assert rest[int(size, 16):int(size, 16) + 2] == b"\r\n"
        rest = rest[int(size, 16) + 2:]
    return pieces


def queued(viewer: Viewer) -> list[bytes | None]:
    """What waits for the viewer's handler (its socket never took any: these viewers have none), then
    None once its stream ended; taken, as its handler would."""
    items: list[bytes | None] = [piece for framed in viewer.pending for piece in unchunk(framed)]
    viewer.pending.clear()
    return items + [None] * viewer.ended


def test_a_viewer_starts_on_a_keyframe_after_the_init_and_one_that_falls_behind_skips_to_the_next() -> None:
    async def scenario() -> tuple[list, list, int]:
        channel, slow, fast = LiveChannel(), Viewer(), Viewer()
        channel.viewers |= {slow, fast}
        channel.new_init(b"init")
        channel.fragment(b"p0", key=False)  # before any keyframe: nobody can start on it
        channel.fragment(b"k1", key=True)
        for n in range(BACKLOG + 5):
            channel.fragment(f"p{n}".encode(), key=False)
            queued(fast) if n % 5 == 0 else None  # the fast one reads, the slow one not
        channel.fragment(b"k2", key=True)
        return queued(slow), queued(fast), slow.skips

    slow, fast, skips = asyncio.run(scenario())
    assert skips == 1 and slow == [b"k2"], "behind: what it had queued went, it starts again at the keyframe"
    assert fast[-1] == b"k2" and b"p0" not in fast


def test_a_viewer_who_joins_between_keyframes_gets_nothing_until_the_next_one() -> None:
    """A fragment that is not a keyframe cannot start a stream (a decoder has no picture to build it on):
    a viewer who joined while one was on its way starts with the keyframe his joining asked for."""
    async def scenario() -> list[list[bytes | None]]:
        channel, viewer = LiveChannel(), Viewer()
        channel.new_init(b"init")
        channel.fragment(b"k0", key=True)
        channel.viewers.add(viewer)
        channel.fragment(b"p1", key=False)  # encoded before his request reached the encoder
        before = queued(viewer)
        channel.fragment(b"k2", key=True)
        channel.fragment(b"p3", key=False)
        return [before, [viewer.init, *queued(viewer)]]

    assert asyncio.run(scenario()) == [[], [b"init", b"k2", b"p3"]]


class Streams:
    """The server's side, recording what the encoder told it."""

    def __init__(self) -> None:
        self.ended_because: list[str | None] = []
        self.done = threading.Event()

    def wanted(self, camera: str) -> bool:
        return True

    def take_key_request(self, camera: str) -> bool:
        return False

    def init(self, camera: str, data: bytes) -> None:
        pass

    def fragment(self, camera: str, data: bytes, key: bool) -> None:
        pass

    def ended(self, camera: str, why: str | None) -> None:
        self.ended_because.append(why)
        self.done.set()


def test_an_encoder_that_fails_says_why_once_and_its_channel_ends_every_stream(
        caplog: pytest.LogCaptureFixture) -> None:
    streams = Streams()
    encoder = LiveEncoder("door", streams)
    encoder.offer(np.zeros((480, 640), np.uint8))  # not a BGR picture: the encoder cannot take it
    assert streams.done.wait(10)
    assert streams.ended_because[0] and encoder.error == streams.ended_because[0]
    encoder.offer(np.zeros((480, 640, 3), np.uint8))  # after a failure: nothing more is tried
    assert encoder.started == 1
    assert caplog.text.count("live view of door: the H.264 encoder failed") == 1

    async def viewers_told() -> list:
        channel, viewer = LiveChannel(), Viewer()
        channel.viewers.add(viewer)
        channel.ended(streams.ended_because[0])
        return [queued(viewer), channel.failed, channel.wanted(0.0)]

    told, failed, wanted = asyncio.run(viewers_told())
    assert told == [None] and failed and not wanted, "the stream ended; /live.mp4 answers 503; no new encoder"


class Watched(Streams):
    """A viewer watches: the fragments the encoder made, and whether it has made one yet."""

    def __init__(self) -> None:
        super().__init__()
        self.fragments: list[bool] = []
        self.made = threading.Event()

    def fragment(self, camera: str, data: bytes, key: bool) -> None:
        self.fragments.append(key)
        self.made.set()


def test_a_camera_whose_picture_has_an_odd_width_and_height_is_encoded(caplog: pytest.LogCaptureFixture) -> None:
    """H.264 in 4:2:0 needs an even size: a 65x49 camera is encoded as 64x48 (its last column and row
    left out), not refused by the encoder (which would end the live view of that camera)."""
    streams = Watched()
    encoder = LiveEncoder("door", streams)
    try:
        for _ in range(600):  # a frame's fragment leaves once the next frame is muxed: frames until one does
            encoder.offer(np.full((49, 65, 3), 128, np.uint8))
            if streams.made.wait(0.05) or streams.done.is_set():
                break
    finally:
        encoder.finish()
    assert streams.fragments[:1] == [True] and encoder.error is None, (encoder.error, caplog.text)
    assert "the H.264 encoder failed" not in caplog.text


def test_the_encoder_makes_a_keyframe_when_a_viewer_asks_and_then_one_a_second() -> None:
    """A new viewer starts within a frame (its request makes the next frame a keyframe), and one who fell
    behind starts again within ``KEYFRAME_S``: frames 0 and 5 (asked), then none for a second."""
    fragments: list[bool] = []
    encoder = Fmp4Encoder((64, 48), lambda data: None, lambda data, key: fragments.append(key))
    gray = np.full((48, 64, 3), 128, np.uint8)
    for n in range(45):
        encoder.write(gray, n / 30, key=n == 5)
    encoder.close()
    keys = [n for n, key in enumerate(fragments) if key]
    assert len(fragments) == 45 and keys[:2] == [0, 5], "the first frame, and the one a viewer asked for"
    assert len(keys) == 3 and 34 <= keys[2] <= 36, "then the next a second (30 frames) after the last"


def test_a_viewers_request_for_a_keyframe_is_answered_once() -> None:
    """One keyframe per viewer who joins, not every frame after (a keyframe is ~10 times a frame's bytes)."""
    streams = LiveStreams(["door"], Places(4), lambda method, *args: method(*args))
    streams.channels["door"].key_wanted = True  # as a viewer's joining does
    assert [streams.take_key_request("door") for _ in range(3)] == [True, False, False]


def test_status_counts_the_skips_of_a_viewer_still_watching() -> None:
    """``/api/status``'s ``live.skipped`` while the slow viewer is still there, not only once he left."""
    async def scenario() -> dict[str, int]:
        streams = LiveStreams(["door"], Places(4), lambda method, *args: method(*args))
        channel, slow = streams.channels["door"], Viewer()
        channel.viewers.add(slow)
        channel.new_init(b"init")
        for n in range(BACKLOG + 2):
            channel.fragment(f"f{n}".encode(), key=n == 0)
        channel.fragment(b"key", key=True)  # behind at a keyframe: he skips
        return streams.counts()

    assert asyncio.run(scenario()) == {"encoders": 1, "viewers": 1, "fragments": 0, "skipped": 1}


def test_a_camera_removed_ends_even_the_streams_still_waiting_for_their_first_keyframe() -> None:
    """Its encoder's end ends the viewers it started; one that joined a moment ago (no frame yet, or
    a camera that never sent one) would wait for ever but for the removal's own end."""
    async def scenario() -> tuple[list, bool]:
        streams = LiveStreams(["door", "yard"], Places(4), lambda method, *args: method(*args))
        waiting = Viewer()
        streams.channels["yard"].viewers.add(waiting)
        streams.remove("yard")
        return queued(waiting), streams.wanted("yard")

    assert asyncio.run(scenario()) == ([None], False), "its stream ended; no encoder wanted for it"


class Socket(asyncio.WriteTransport):
    """A viewer's connection whose kernel buffer is full or not (``behind``), recording each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.behind = 0  # bytes the kernel has not taken yet

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return self.behind

    def is_closing(self) -> bool:
        return False


class Response:
    """aiohttp's response as the handler uses it for the init segment (its headers go with it)."""

    def __init__(self, socket: Socket) -> None:
        self.socket = socket

    async def write(self, data: bytes) -> None:
        self.socket.writes.append(b"headers+" + data)


def test_a_viewer_who_keeps_up_gets_each_fragment_at_once_and_one_behind_gets_them_together() -> None:
    """Each fragment is framed once and written to a keeping-up viewer's socket in the channel's own
    call (no wake-up of his handler per fragment); while his socket is behind they queue, and his
    handler gives them to it in one write once it took the last."""
    async def scenario() -> tuple[list[bytes], list[bytes]]:
        channel, socket = LiveChannel(), Socket()
        viewer = Viewer(socket)
        channel.viewers.add(viewer)
        channel.new_init(b"init")
        handler = asyncio.create_task(viewer.send(Client(socket), Response(socket)))  # type: ignore[arg-type]
        channel.fragment(b"k1", key=True)
        await asyncio.wait_for(until(lambda: viewer.open and not viewer.pending), 5)
        channel.fragment(b"p1", key=False)
        at_once = list(socket.writes)  # before the loop ran anything else
        socket.behind = 100
        channel.fragment(b"p2", key=False)
        channel.fragment(b"p3", key=False)
        await asyncio.wait_for(until(lambda: not viewer.pending), 5)  # his handler gave them to the socket
        channel.fragment(b"p4", key=False)  # the socket has not taken them yet: it waits
        socket.behind = 0
        await asyncio.wait_for(until(lambda: not viewer.pending), 5)
        channel.fragment(b"p5", key=False)
        viewer.end()
        await asyncio.wait_for(handler, 5)  # his stream's end wakes his handler, which returns
        return at_once, socket.writes

    at_once, writes = asyncio.run(scenario())
    assert at_once == [b"headers+init", chunk(b"k1"), chunk(b"p1")], "p1 written in the channel's call"
    assert writes[3:] == [chunk(b"p2") + chunk(b"p3"), chunk(b"p4"), chunk(b"p5")], "behind: together"


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.001)


def test_a_picture_that_changes_size_ends_the_streams_started_on_the_old_init() -> None:
    """A new init segment (the camera's picture changed size: a new encoder) cannot follow fragments of
    the old one in a stream: the viewers who started end (the page opens a new stream), and a viewer
    who starts now gets the new init."""
    async def scenario() -> tuple[bool, bytes | None]:
        channel, watching, newcomer = LiveChannel(), Viewer(), Viewer()
        channel.viewers.add(watching)
        channel.new_init(b"init 640x480")
        channel.fragment(b"k1", key=True)
        channel.new_init(b"init 1280x720")
        channel.viewers.add(newcomer)
        channel.fragment(b"k2", key=True)
        return watching.ended, newcomer.init

    assert asyncio.run(scenario()) == (True, b"init 1280x720")


def test_once_its_encoder_failed_a_camera_answers_a_new_viewer_503_saying_why() -> None:
    """A viewer who comes after the encoder failed is told at once (the page plays MJPEG, saying why),
    instead of waiting for ever for a keyframe that no encoder will make."""
    sock = listen(Address("127.0.0.1", 0), TOKEN)
    feeds = [Feed("door", "door", lambda: camera_status(name="door"))]
    view = WebView(sock, feeds, Options("CPU", token=TOKEN, fps=None))
    try:
        assert get(sock, "/api/status")[0] == 200  # the server's loop runs: the encoder's word reaches it
        view.server.live.ended("door", "x264 refused the picture")  # as its encoder's thread says it: run on the
        # server's loop before it reads the request below
        said = get(sock, "/live.mp4?camera=door")
    finally:
        view.close()
    assert said == (503, b"the live encoder failed: x264 refused the picture\n")


def get(sock: socket.socket, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=20)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_frames_stamped_in_the_same_millisecond_each_get_a_time_of_their_own() -> None:
    """Frames offered within a millisecond of each other (a camera's frame and an idle redraw) are shown a
    millisecond apart: two at the same time would be one frame the player never shows."""
    parts: list[bytes] = []
    encoder = Fmp4Encoder((64, 48), parts.append, lambda data, key: parts.append(data))
    for t in (10.0, 10.0002, 10.0334, 10.0669):
        encoder.write(np.full((48, 64, 3), 128, np.uint8), t)
    encoder.close()
    with av.open(io.BytesIO(b"".join(parts))) as played:
        shown = [round(frame.time * 1000) for frame in played.decode(video=0)]
    assert shown == [0, 1, 33, 67]


def test_the_encoder_runs_on_a_moment_after_the_last_viewer_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page reloaded finds its camera's encoder still running (``LINGER_S``): it is wanted right
    after its last viewer left, as it is while he watches, and was not before anyone came."""
    # Longer than this test takes, shorter than the time since the clock's start (where a departure
    # never written would count from).
    monkeypatch.setattr(live_streams, "LINGER_S", time.monotonic() / 2)
    sock, view = door_view()
    live = view.server.live
    try:
        before = live.wanted("door")
        connection = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=20)
        connection.request("GET", "/live.mp4?camera=door", headers={"Authorization": f"Bearer {TOKEN}"})
        wait_for(lambda: live.counts()["viewers"] == 1, "the viewer is in")
        watched = live.wanted("door")
        connection.close()
        wait_for(lambda: live.counts()["viewers"] == 0, "the viewer left")
        after = live.wanted("door")
    finally:
        view.close()
    assert (before, watched, after) == (False, True, True)


def test_a_camera_that_sends_nothing_shows_its_live_viewer_why() -> None:
    """A stalled camera's last picture, redrawn saying why (``idle``), goes to ``/live.mp4`` as it goes
    to ``/stream.mjpg``: a page playing H.264 (no MJPEG stream open) gets it too, not a frozen video."""
    sock, view = door_view()
    connection = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=20)
    stop = threading.Event()

    def main_loop() -> None:  # the camera has sent nothing for a while: the run's loop asks for its idle frames
        while not stop.wait(0.05):
            view.idle(lambda camera: np.full((48, 64, 3), 90, np.uint8))

    try:
        connection.request("GET", "/live.mp4?camera=door", headers={"Authorization": f"Bearer {TOKEN}"})
        wait_for(lambda: view.server.live.counts()["viewers"] == 1, "the viewer is in")
        threading.Thread(target=main_loop, daemon=True).start()
        answer = connection.getresponse()
        head = answer.read(8)
    finally:
        stop.set()
        connection.close()
        view.close()
    assert (answer.status, answer.getheader("Content-Type"), head[4:8]) == (200, "video/mp4", b"ftyp")


def door_view() -> tuple[socket.socket, WebView]:
    """A web view in this process, with a token, of one camera (door) that has sent nothing yet."""
    sock = listen(Address("127.0.0.1", 0), TOKEN)
    return sock, WebView(sock, [Feed("door", "door", lambda: camera_status(name="door"))], Options("CPU", token=TOKEN,
                                                                                                  fps=None))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_viewers_socket_gets_a_small_send_buffer() -> None:
    """A viewer who stops reading fills his socket's send buffer in seconds (then he skips to the live
    edge, or is dropped), not after the megabytes the kernel would let it grow to: ``SEND_BUFFER``,
    which Linux doubles, on the server's side of his connection."""
    sock, view = door_view()
    connection = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=20)
    try:
        connection.request("GET", "/live.mp4?camera=door", headers={"Authorization": f"Bearer {TOKEN}"})
        wait_for(lambda: view.server.live.counts()["viewers"] == 1, "the viewer is in")
        assert connection.sock is not None
        served = accepted(connection.sock.getsockname())
        size = served.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        served.close()
    finally:
        connection.close()
        view.close()
    assert size == 2 * live_streams.SEND_BUFFER


def accepted(peer: tuple[str, int]) -> socket.socket:
    """This process's end of the TCP connection whose other end is ``peer`` (a copy of it)."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            found = socket.socket(fileno=os.dup(int(fd)))
        except OSError:  # not a socket, or gone
            continue
        try:
            if found.type == socket.SOCK_STREAM and found.getpeername() == peer:
                return found
        except OSError:  # not connected
            pass
        found.close()
    raise AssertionError(f"no connection from {peer}")
