"""The live view's parts in this process: a viewer who falls behind starts again at a keyframe, and
an encoder that fails ends its camera's streams and stops nothing else."""
from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from live_classify.sinks.web.live_encoder import LiveEncoder
from live_classify.sinks.web.live_streams import BACKLOG, LiveChannel, Viewer


def queued(viewer: Viewer) -> list[bytes | None]:
    items = []
    while not viewer.queue.empty():
        items.append(viewer.queue.get_nowait())
    return items


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
