"""``/api/clip.mp4``: a time range of one camera as one MP4, cut from its segments by remuxing —
the H.264 packets copied as they are, never decoded or encoded, so an hour costs what copying
the file costs. It starts at the keyframe at or before ``start`` (a keyframe a second, as the
recording writes them) and ends with the last frame at or before ``end``.

The cut is streamed as it is made: a fragmented MP4 (it plays while it downloads) handed to the
request through a short queue (:class:`Stream`), never a file on disk, so an export takes no room
from the recording, however slowly it is read. A client that reads nothing for ``STALL_S`` ends
its export (the cutting thread and its slot are freed)."""
from __future__ import annotations

import queue
from fractions import Fraction
from pathlib import Path

import av

Segment = tuple[Path, float, float]  # the file, the wall-clock times of its first and last frame


class Nothing(Exception):
    """No frame of the range is in the files."""


class _Cut:
    """The output and where its timeline stands: packets of several segments on one clock."""

    def __init__(self, output: av.container.OutputContainer, end: float) -> None:
        self.output = output
        self.end = end
        self.stream: av.VideoStream | None = None
        self.time_base = Fraction(1, 90_000)
        self.origin: float | None = None  # the wall-clock time of the first frame written
        self.last_dts = -1
        self.size: tuple[int, int] | None = None

    def add(self, source: av.container.InputContainer, segment_start: float, start: float) -> bool:
        """Copy a segment's packets in [the keyframe before start, end]; False once past the end."""
        video = source.streams.video[0]
        time_base = video.time_base or self.time_base
        size = (video.codec_context.width, video.codec_context.height)
        if self.stream is None:
            self.stream, self.size = self.output.add_stream_from_template(video), size
        elif size != self.size:  # the camera came back at another size: one MP4 holds one size
            return False
        waiting: list[av.Packet] = []  # from the newest keyframe before start, until start is reached
        for packet in source.demux(video):
            if packet.dts is None or packet.pts is None:
                continue
            t = segment_start + float(packet.pts * time_base)
            if t > self.end:
                return False
            if t < start:
                if packet.is_keyframe:
                    waiting = [packet]
                elif waiting:
                    waiting.append(packet)
                continue
            for held in [*waiting, packet]:
                self._write(held, segment_start, time_base)
            waiting = []
        return True

    def _write(self, packet: av.Packet, segment_start: float, time_base: Fraction) -> None:
        assert self.stream is not None and packet.pts is not None and packet.dts is not None
        at = segment_start + float(packet.dts * time_base)
        if self.origin is None:
            self.origin = at
        shift = round((segment_start - self.origin) / self.time_base)
        dts = round(packet.dts * time_base / self.time_base) + shift
        if dts <= self.last_dts:  # two runs' segments that overlap: keep the first's frames
            return
        packet.pts = round(packet.pts * time_base / self.time_base) + shift
        packet.dts, self.last_dts = dts, dts
        if packet.duration:  # on the export's clock too: the muxer keeps the last frame's as it is
            packet.duration = round(packet.duration * time_base / self.time_base)
        packet.time_base = self.time_base
        packet.stream = self.stream
        self.output.mux(packet)


STALL_S = 30.0  # a client that reads nothing for this long gives its export up
QUEUED = 64  # pieces (a few kB to 32 kB each) waiting for the client: memory bounded, no disk
FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
_END = object()


class Stream:
    """The cut's bytes, from the cutting thread (which writes them, as a file) to the request (which
    reads them): ``next`` gives each piece, None at the end, or raises what ended the cut."""

    def __init__(self, stall_s: float = STALL_S) -> None:
        self.stall_s = stall_s
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUED)
        self._closed = False

    def write(self, data: bytes) -> int:
        """From the muxer: one piece, waiting at most ``stall_s`` for the client to take the last ones."""
        if self._closed:
            raise OSError("the client went away")
        try:
            self._queue.put(bytes(data), timeout=self.stall_s)
        except queue.Full:
            self._closed = True
            raise OSError(f"the client read nothing for {self.stall_s:g} s") from None
        return len(data)

    def end(self, error: BaseException | None = None) -> None:
        """From the cutting thread, last: the cut is whole (or why not)."""
        try:
            self._queue.put(error or _END, timeout=0 if self._closed else self.stall_s)
        except queue.Full:  # nobody reads any more
            pass

    def next(self) -> bytes | None:
        """From the request, on an executor thread: the next piece; None when the cut is whole."""
        item = self._queue.get()
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, bytes)
        return item

    @property
    def closed(self) -> bool:
        """The request is done, or its client gone: nothing more is taken."""
        return self._closed

    def close(self) -> None:
        """The request is done (or its client gone): the cutting thread stops at its next write."""
        self._closed = True
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return


def cut(segments: list[Segment], start: float, end: float, out: Stream, skipped: list[str]) -> None:
    """The MP4 of [start, end], fragmented, into ``out``; :class:`Nothing` before a byte is written
    when no frame of the range is recorded. ``out`` is ended either way. A segment that is gone or
    cannot be read is left out, its name added to ``skipped`` (those that do not open are found
    before the first byte, so the response's header can name them)."""
    try:
        readable = [segment for segment in segments if _opens(segment[0], skipped)]
        with av.open(out, "w", format="mp4", options=FRAGMENTED) as output:
            clip = _Cut(output, end)
            for path, segment_start, _ in readable:
                try:
                    with av.open(str(path)) as source:
                        if not clip.add(source, segment_start, start):
                            break
                except av.FFmpegError:
                    if out.closed:
                        raise OSError("the client went away") from None
                    skipped.append(path.name)  # damaged past its start: the rest goes on
            if clip.origin is None:
                raise Nothing("no frame of that range is recorded")
    except BaseException as error:
        out.end(error)
        raise
    out.end()


def _opens(path: Path, skipped: list[str]) -> bool:
    """``path`` is there and reads as a video; else its name is added to ``skipped``."""
    try:
        with av.open(str(path)):
            return True
    except (av.FFmpegError, OSError):  # gone since the index named it, or damaged
        skipped.append(path.name)
        return False
