"""How ``/live.mp4`` streams end: a viewer still waiting for his first keyframe gets the end of his body
when the server stops, a stream ended by a new init gets nothing more on its socket, and the run's
last lines and ``/api/status`` count the H.264 viewers and frames."""
from __future__ import annotations

import asyncio
import http.client

from test_live_unit import TOKEN, door_view, wait_for

from live_classify.sinks.web.clients import Places
from live_classify.sinks.web.live_streams import LiveChannel, LiveStreams
from live_classify.sinks.web.live_viewer import Viewer, chunk


def test_the_server_stopping_ends_a_stream_still_waiting_for_its_first_keyframe() -> None:
    """The camera sent nothing, so the viewer has had no init and no keyframe; the run ending must still
    end his stream (an empty body, its last chunk), not leave his player waiting on an open socket."""
    sock, view = door_view()
    connection = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=20)
    try:
        connection.request("GET", "/live.mp4?camera=door", headers={"Authorization": f"Bearer {TOKEN}"})
        wait_for(lambda: view.server.live.counts()["viewers"] == 1, "the viewer is in")
        view.close()
        answer = connection.getresponse()  # a socket timeout here: the stream was never ended
        got = (answer.status, answer.read())
    finally:
        connection.close()
    assert got == (200, b"")


def test_the_runs_last_lines_count_the_h264_viewers() -> None:
    """Two viewers watch: the summary says ``H.264 (/live.mp4) to 2 viewers``."""
    sock, view = door_view()
    connections = [http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=20) for _ in range(2)]
    try:
        for connection in connections:
            connection.request("GET", "/live.mp4?camera=door", headers={"Authorization": f"Bearer {TOKEN}"})
        wait_for(lambda: view.server.live.counts()["viewers"] == 2, "both viewers are in")
        summary = view.summary()
    finally:
        for connection in connections:
            connection.close()
        view.close()
    assert summary == "H.264 (/live.mp4) to 2 viewers"


def test_status_counts_the_frames_every_camera_encoded() -> None:
    """``/api/status``'s ``live.fragments``: each frame an encoder hands over (``LiveStreams.fragment``,
    the encoder thread's call) counts once, every camera's together, whether anyone started or not."""
    streams = LiveStreams(["door", "yard"], Places(4), lambda method, *args: method(*args))
    streams.init("door", b"init")
    for n in range(3):
        streams.fragment("door", f"d{n}".encode(), n == 0)
    streams.fragment("yard", b"y0", True)
    assert streams.counts()["fragments"] == 4


class _Socket(asyncio.WriteTransport):
    """A viewer's socket that takes everything at once, and keeps what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False


def test_a_stream_ended_by_a_new_init_gets_nothing_more_on_its_socket() -> None:
    """The picture changed size: the streams started on the old init end, but their handlers run a moment
    later; the new encoder's first fragments must not reach their sockets meanwhile (after the old ``moov``,
    and before or after the body's last chunk: a player gets garbage)."""
    async def scenario() -> list[bytes]:
        channel, socket_ = LiveChannel(), _Socket()
        viewer = Viewer(socket_)
        channel.viewers.add(viewer)
        channel.new_init(b"init")
        channel.fragment(b"k0", key=True)
        viewer.open, viewer.pending = True, []  # his handler sent the init and k0: chunks go straight to his socket
        channel.fragment(b"p1", key=False)
        channel.new_init(b"bigger")  # a new size: his stream ends, his handler has not run yet
        channel.fragment(b"k2", key=True)
        channel.fragment(b"p3", key=False)
        return socket_.written

    assert asyncio.run(scenario()) == [chunk(b"p1")]
