"""H.264 in fragmented MP4, written with PyAV: small, plays in every browser, survives a hard kill.

Why each setting (measured on the development machines, see the README's Recording section):

* **Fragmented MP4** (``frag_keyframe+empty_moov``): a plain MP4 keeps its index in a ``moov`` box
  written last, so a killed recorder leaves an unplayable file. Fragments are self-describing.
* ``flush_packets=1`` and ``frag_duration`` 200 ms: FFmpeg otherwise writes in 256 KiB blocks
  (~6 s of 640x480), all lost to a SIGKILL; with both, a kill loses a few frames.
* ``tune=zerolatency``: no look-ahead and no B-frames, so each frame is on disk within a fragment.
* **A true timeline**: each frame's presentation time is its capture time (milliseconds since the
  first frame), not a frame counter at a guessed rate. A stream's burst of buffered frames at
  open, a drifting camera and a stall all keep their real duration: a stall plays as the last
  frame held until the next one came.
* **Durations and DTS on that timeline**: each packet's duration is the time to the next frame
  (``Durations``), never a rate the stream states. The H.264 stream says a ``rate`` (what players,
  x264's rate control for ``--bitrate`` and FFmpeg 5's tools take as the frame rate): a file's
  own, or a live source's measured rate with ``RATE_HEADROOM`` (the segments after the first);
  frames are then at least one frame of that rate apart, so that no tool working on that grid
  sees two frames at one time (``ffmpeg -i X.mp4 -f null -`` warned "non monotonically
  increasing dts" on a camera's burst of buffered frames). Without a rate (a live source's first
  file): ``DEFAULT_RATE``, frames 1 ms apart at least.
* A keyframe every second of capture time, so a player can seek and a cut loses at most a second.
* ``tap``: each encoded packet is also handed, as it is, to the event clips (``clips.py``): a clip
  is these packets remuxed, never a second encoding. ``path=None``: packets only, no file (FFmpeg's
  ``null`` muxer holds the encoder's stream; ``--record-mode events``).
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.container.output import OutputContainer
from av.video.codeccontext import VideoCodecContext
from av.video.frame import PictureType
from av.video.stream import VideoStream

from live_classify import log
from live_classify.config import ENCODERS, HARDWARE, EncoderSettings
from live_classify.errors import LiveClassifyError, first_line
from live_classify.sinks.letterbox import letterbox

MILLISECONDS = Fraction(1, 1000)
DEFAULT_RATE = 30  # fps the stream says when the source's rate is not known yet
RATE_HEADROOM = 1.25  # a measured rate is said this much higher: a frame a little early is not pushed late
BURST_MS = 5  # frames closer than this came in a burst (buffered), not at the camera's rate
MAX_LAG_MS = 1000  # a burst is spread at most this far past its frames' own times
INTERVALS, INTERVALS_NEEDED = 600, 10  # the times between frames a rate is measured on (the newest), at least
HEADER_BYTES, FRAME_OVERHEAD_BYTES = 1024, 40  # the MP4's own bytes beside the packets (with a margin)
Tap = Callable[[float, bool, bytes, VideoStream], None]  # a packet: source time, keyframe, data, its stream
MUXER_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "frag_duration": "200000",
                 "flush_packets": "1"}


def even(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) made even, as yuv420p needs: the size a frame is recorded at."""
    return (size[0] - size[0] % 2, size[1] - size[1] % 2)


def _codec_options(name: str, settings: EncoderSettings) -> dict[str, str]:
    if name == "libx264":
        options = {"preset": settings.preset, "tune": "zerolatency", "forced-idr": "1"}
        return options if settings.bitrate else {**options, "crf": str(settings.crf)}
    return {"forced-idr": "1"} if name == "h264_nvenc" else {}


def _configure(context: VideoCodecContext, name: str, size: tuple[int, int], settings: EncoderSettings) -> None:
    """The same settings for the trial opening and the real stream."""
    context.width, context.height = size
    context.pix_fmt = "yuv420p"
    context.time_base = MILLISECONDS
    context.gop_size = 600  # an upper bound: keyframes are forced each ``keyframe_s`` of capture time
    context.max_b_frames = 0
    if settings.bitrate or name in HARDWARE:
        context.bit_rate = settings.bitrate or 2_000_000
    context.options = _codec_options(name, settings)


def _try_open(name: str, size: tuple[int, int], settings: EncoderSettings) -> VideoCodecContext | None:
    """An opened encoder, or None where this machine cannot run it (no GPU, no V4L2 device)."""
    context = cast(VideoCodecContext, av.CodecContext.create(name, "w"))  # every name in ENCODERS is a video codec
    _configure(context, name, size, settings)
    try:
        context.open()
    except (av.FFmpegError, OSError):
        return None
    return context


def choose_encoder(size: tuple[int, int], settings: EncoderSettings) -> str:
    """The encoder to use: the one asked for (or an error), or for ``auto`` the first that opens."""
    if settings.encoder not in ENCODERS:
        raise LiveClassifyError(f"unknown encoder {settings.encoder!r}: choose one of {', '.join(ENCODERS)}")
    names = (*HARDWARE, "libx264") if settings.encoder == "auto" else (settings.encoder,)
    for name in names:
        if _try_open(name, size, settings) is not None:
            return name
    raise LiveClassifyError(f"--encoder {settings.encoder}: {names[-1]} cannot open on this machine")


class Mp4Writer:
    """Frames and their capture times in, a crash-safe H.264 MP4 out (one file)."""

    def __init__(self, path: Path | None, size: tuple[int, int], settings: EncoderSettings = EncoderSettings(),
                 encoder: str | None = None, tap: Tap | None = None, rate: float | None = None) -> None:
        """``size`` is (width, height), even numbers; ``encoder`` None: chosen by :func:`choose_encoder`;
        ``path`` None: no file, the packets go only to ``tap``; ``rate``: the frames' rate (an upper
        bound; None: not known)."""
        self.path = path or Path(os.devnull)
        self.tap = tap
        self.size = even(size)
        self.settings = settings
        self.encoder = encoder or choose_encoder(self.size, settings)
        self.frames = 0
        self._t0: float | None = None
        self._last_came = 0
        self.rate = max(1, round(rate)) if rate else DEFAULT_RATE
        self._gap_ms = -(-1000 // self.rate) if rate else 1  # frames closer than this are spread (ms, up)
        self._last_pts = -self._gap_ms
        self._intervals: deque[int] = deque(maxlen=INTERVALS)  # ms between the source's frames, as they came
        self._next_key = 0.0
        self._letterboxed: tuple[int, int] | None = None  # the other size last said
        self._packet_bytes = 0
        self.largest_packet = 0  # bytes: a keyframe, usually
        self._durations = Durations()
        try:
            container = av.open(str(path), "w", format="mp4", options=MUXER_OPTIONS) if path \
                else av.open(os.devnull, "w", format="null")
        except (av.FFmpegError, OSError) as error:
            raise LiveClassifyError(f"cannot write recording {path}: {first_line(error)}") from None
        self._container: OutputContainer | None = container  # None once closed
        self._stream = cast(VideoStream, container.add_stream(self.encoder, rate=self.rate))  # a video encoder's name
        _configure(self._stream.codec_context, self.encoder, self.size, settings)
        self._stream.time_base = MILLISECONDS
        if path is None:  # the mp4 muxer asks for the headers apart (what a clip's stream copies); null does not
            self._stream.codec_context.flags |= av.codec.context.Flags.global_header

    @property
    def measured_fps(self) -> float | None:
        """The source's rate, from the median time between its frames (a stall or a burst does
        not change it); None before ``INTERVALS_NEEDED`` intervals."""
        if len(self._intervals) < INTERVALS_NEEDED:
            return None
        median = sorted(self._intervals)[len(self._intervals) // 2]
        return 1000 / median if median > 0 else None

    @property
    def duration_s(self) -> float:
        """Capture time covered so far, first frame to last."""
        return max(0, self._last_pts) / 1000

    def write(self, bgr: np.ndarray, t_capture: float) -> None:
        """Encode one HxWx3 BGR frame captured at ``t_capture`` (seconds, any fixed origin)."""
        if self._t0 is None:
            self._t0 = t_capture
        came = round((t_capture - self._t0) * 1000)
        if self.frames and came - self._last_came >= BURST_MS:  # a burst of buffered frames says nothing of the rate
            self._intervals.append(came - self._last_came)
        self._last_came = came
        pts = max(self._last_pts + self._gap_ms, came)  # strictly increasing, a frame of the stated rate apart
        if pts - came > MAX_LAG_MS:  # faster than the rate stated for longer than a burst: never later and later
            pts = max(self._last_pts + 1, came)
        frame = av.VideoFrame.from_ndarray(self._fitted(bgr), format="bgr24")
        frame.pts, frame.time_base = pts, MILLISECONDS
        if pts / 1000 >= self._next_key:
            frame.pict_type = PictureType.I
            self._next_key = pts / 1000 + self.settings.keyframe_s
        self._mux(self._stream.encode(frame))
        self._last_pts = pts
        self.frames += 1

    def _fitted(self, bgr: np.ndarray) -> np.ndarray:
        """The frame at the file's size: an odd side loses its last pixel; a camera that came back at
        another size is letterboxed (its aspect kept, never stretched), said once for each change."""
        size = (bgr.shape[1], bgr.shape[0])
        if even(size) == self.size:
            self._letterboxed = None
            return bgr if size == self.size else np.ascontiguousarray(bgr[: self.size[1], : self.size[0]])
        if size != self._letterboxed:
            self._letterboxed = size
            log.warning(f"{self.path}: the source's frames are now {size[0]}x{size[1]}: letterboxed into "
                        f"{self.size[0]}x{self.size[1]}, the recording's size")
        return letterbox(bgr, *self.size)

    def close(self) -> None:
        """Drain the encoder and finish the file (already playable before this)."""
        if self._container is None:
            return
        try:
            self._mux(self._stream.encode(None))
        finally:
            self._container.close()
            self._container = None

    @property
    def bytes_estimate(self) -> int:
        """The file's size once its fragments are flushed: the packets muxed so far plus the
        container's share (a header, and fragment headers and an index: ~31 bytes a frame, measured)."""
        return self._packet_bytes + HEADER_BYTES + FRAME_OVERHEAD_BYTES * self.frames

    def _mux(self, packets: list[av.Packet]) -> None:
        container = self._container
        assert container is not None, "a frame written after close()"
        for packet in packets:
            self._packet_bytes += packet.size
            self.largest_packet = max(self.largest_packet, packet.size)
            self._durations.stamp(packet)
            if self.tap is None or self._t0 is None or packet.pts is None:
                container.mux(packet)
                continue
            t, key, data = self._t0 + packet.pts / 1000, packet.is_keyframe, bytes(packet)  # muxing takes them
            container.mux(packet)
            self.tap(t, key, data, self._stream)  # after: the stream's parameters are set at the first mux


class Durations:
    """Each packet's duration: the time since the one before (the muxer puts the time to the next
    one in its place as soon as that one comes; the last packet of a file keeps this one), never
    the stream's stated rate. Without B-frames a packet's DTS is its PTS."""

    def __init__(self) -> None:
        self._last_dts: int | None = None
        self._duration = 1

    def stamp(self, packet: av.Packet) -> None:
        if packet.dts is None:
            return
        if self._last_dts is not None:
            self._duration = max(1, packet.dts - self._last_dts)
        packet.duration, self._last_dts = self._duration, packet.dts
