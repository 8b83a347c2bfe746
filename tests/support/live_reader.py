"""A reader of ``/live.mp4`` as a player is one: the init segment, then each fragment decoded with
PyAV as it arrives (one H.264 decoder fed each ``mdat``, set up from the ``moov``'s ``avcC``), so
that a frame's arrival time is when its bytes came, not when a buffer filled."""
from __future__ import annotations

import http.client
import itertools
import socket
import struct
import time
from collections.abc import Iterator

import av
import numpy as np


class LiveReader:
    """``GET /live.mp4`` on 127.0.0.1:``port``; ``frames()`` yields (BGR image, wall-clock arrival)."""

    def __init__(self, port: int, path: str = "/live.mp4", rcvbuf: int | None = None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        if rcvbuf:  # a small window: the server feels a slow reader at once
            self.connection.connect()
            self.connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.connection.request("GET", path)
        self.response = self.connection.getresponse()
        self.bytes = 0  # of the body, so far
        self.kinds: list[bytes] = []  # the top-level boxes in the order they came
        self.ended = False  # the server ended the stream (its chunked body's end)
        self._buffer = b""
        self._decoded = self.frames()

    def take(self, count: int) -> list[np.ndarray]:
        """The next ``count`` decoded frames (fewer when the stream ends)."""
        return [image for image, _ in itertools.islice(self._decoded, count)]

    def next_frame(self) -> tuple[np.ndarray, float] | None:
        """The next decoded frame and its arrival time; None when the stream ended."""
        return next(self._decoded, None)

    def close(self) -> None:
        self.connection.close()

    def boxes(self) -> Iterator[tuple[bytes, bytes]]:
        """(kind, whole box) as each box completes."""
        while True:
            while len(self._buffer) >= 8 and len(self._buffer) >= (size := struct.unpack(">I", self._buffer[:4])[0]):
                box, self._buffer = self._buffer[:size], self._buffer[size:]
                self.kinds.append(box[4:8])
                yield box[4:8], box
            data = self.response.read1(65536)
            if not data:
                self.ended = True
                return
            self.bytes += len(data)
            self._buffer += data

    def frames(self, keyframes_only: bool = False) -> Iterator[tuple[np.ndarray, float]]:
        """Each decoded frame and when its fragment arrived (``time.time()``); ``keyframes_only``: only
        the keyframes (IDR), which decode alone (one a second: a cheap reader)."""
        decoder: av.CodecContext | None = None
        for kind, box in self.boxes():
            if kind == b"moov":
                decoder = av.CodecContext.create("h264", "r")
                start = box.index(b"avcC") - 4
                decoder.extradata = box[start + 8 : start + struct.unpack(">I", box[start : start + 4])[0]]
            elif kind == b"mdat" and (not keyframes_only or is_keyframe(box[8:])):
                assert decoder is not None, "a fragment before the init segment"
                arrived = time.time()
                for frame in decoder.decode(av.Packet(box[8:])):
                    yield frame.to_ndarray(format="bgr24"), arrived


def is_keyframe(sample: bytes) -> bool:
    """Whether an H.264 sample (NAL units, each after its 4-byte length, as x264 writes them in MP4)
    holds an IDR picture."""
    at = 0
    while at + 5 <= len(sample):
        if sample[at + 4] & 0x1F == 5:
            return True
        at += 4 + struct.unpack(">I", sample[at:at + 4])[0]
    return False
