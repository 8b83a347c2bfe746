"""The live view's H.264: frames in, fragmented MP4 out, as an init segment and one fragment per frame.

A browser's Media Source Extensions, ``ffplay`` and VLC all take this: the init segment
(``ftyp`` + an empty ``moov``, ``empty_moov``) once, then ``moof`` + ``mdat`` fragments, each
self-contained (``default_base_moof``). One fragment per frame (``frag_every_frame``), so a frame
leaves as soon as the next one is muxed (a fragment per second of video held a browser ~4.5 s
behind, measured; one a frame ~0.1 s). ``tune=zerolatency``: no look-ahead, no B-frames.
A keyframe each ``KEYFRAME_S``, and at once when a new viewer asks (``write(key=True)``), so
that he starts within a frame instead of waiting for the next one.
"""
from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np
from av.video.frame import PictureType

MILLISECONDS = Fraction(1, 1000)
KEYFRAME_S = 1.0  # a viewer who falls behind starts again at the next keyframe: at most this late
PRESET, CRF = "veryfast", 26  # the recording's: ~3x smaller than ultrafast for ~2x its CPU (DESIGN.md)
MOVFLAGS = "frag_every_frame+empty_moov+default_base_moof"
Emit = Callable[[bytes, bool], None]  # a fragment and whether it starts on a keyframe


class Boxes:
    """What the muxer writes (in 32 KiB pieces), cut back into whole MP4 boxes: ``ftyp`` + ``moov``
    to ``on_init``, each ``moof`` + ``mdat`` to ``on_fragment`` with its frame's keyframe flag."""

    def __init__(self, on_init: Callable[[bytes], None], on_fragment: Emit) -> None:
        self.keys: deque[bool] = deque()  # the packets muxed whose fragment has not come out yet
        self._buffer = bytearray()
        self._pending = bytearray()  # boxes of an unfinished group (an init, a fragment)
        self._on_init, self._on_fragment = on_init, on_fragment

    def write(self, data: bytes) -> int:
        """What the muxer writes, as a file's ``write`` (PyAV calls it)."""
        self._buffer += data
        while len(self._buffer) >= 8:
            size, kind = struct.unpack(">I4s", self._buffer[:8])
            if size == 1 and len(self._buffer) >= 16:
                size = struct.unpack(">Q", self._buffer[8:16])[0]
            if size < 8 or len(self._buffer) < size:
                break
            self._box(kind, bytes(self._buffer[:size]))
            del self._buffer[:size]
        return len(data)

    def _box(self, kind: bytes, box: bytes) -> None:
        self._pending += box
        if kind == b"moov":
            self._on_init(bytes(self._pending))
        elif kind == b"mdat":
            self._on_fragment(bytes(self._pending), self.keys.popleft() if self.keys else False)
        else:
            return  # ftyp, moof, an index at the end: part of the group still to come
        self._pending.clear()


class Fmp4Encoder:
    """H.264 (libx264) in fragmented MP4 for one size; ``write`` frames, get bytes in the callbacks."""

    def __init__(self, size: tuple[int, int], on_init: Callable[[bytes], None], on_fragment: Emit) -> None:
        self.size = size
        self._boxes = Boxes(on_init, on_fragment)
        self._container = av.open(self._boxes, "w", format="mp4",
                                  options={"movflags": MOVFLAGS, "flush_packets": "1"})
        self._stream = self._container.add_stream("libx264", rate=30)
        context = self._stream.codec_context
        context.width, context.height = size
        context.pix_fmt, context.time_base = "yuv420p", MILLISECONDS
        context.gop_size, context.max_b_frames = 600, 0  # keyframes are forced: each KEYFRAME_S and on request
        context.options = {"preset": PRESET, "tune": "zerolatency", "crf": str(CRF), "forced-idr": "1"}
        self._stream.time_base = MILLISECONDS
        self._t0: float | None = None
        self._last_pts = -1
        self._next_key = 0.0

    def write(self, bgr: np.ndarray, t: float, key: bool = False) -> None:
        """One HxWx3 BGR frame of this encoder's size, shown at ``t`` (seconds, monotonic)."""
        if self._t0 is None:
            self._t0 = t
        pts = max(self._last_pts + 1, round((t - self._t0) * 1000))
        frame = av.VideoFrame.from_ndarray(bgr, format="bgr24")
        frame.pts, frame.time_base = pts, MILLISECONDS
        if key or pts / 1000 >= self._next_key:
            frame.pict_type = PictureType.I
            self._next_key = pts / 1000 + KEYFRAME_S
        self._mux(self._stream.encode(frame))
        self._last_pts = pts

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            self._boxes.keys.append(packet.is_keyframe)
            self._container.mux(packet)

    def close(self) -> None:
        try:
            self._mux(self._stream.encode(None))
        finally:
            self._container.close()
