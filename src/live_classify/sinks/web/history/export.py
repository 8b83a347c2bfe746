"""``/api/clip.mp4``: a time range of one camera as one MP4, cut from its segments by remuxing —
the H.264 packets copied as they are, never decoded or encoded, so an hour costs what copying
the file costs. It starts at the keyframe at or before ``start`` (a keyframe a second, as the
recording writes them) and ends with the last frame at or before ``end``."""
from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import IO

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
        packet.time_base = self.time_base
        packet.stream = self.stream
        self.output.mux(packet)


def cut(segments: list[Segment], start: float, end: float, folder: Path, skipped: list[str]) -> IO[bytes]:
    """The MP4 of [start, end] (``moov`` first: it plays while it downloads), as an open file
    already unlinked, so nothing is left behind whatever happens to the download. Written in
    ``folder`` (DIR: the disk meant for video, where /tmp may be a few hundred MB of RAM).
    A segment that is gone or cannot be read is left out, its name added to ``skipped``."""
    fd, name = tempfile.mkstemp(prefix=".export-", suffix=".mp4", dir=folder)
    os.close(fd)
    try:
        with av.open(name, "w", format="mp4", options={"movflags": "+faststart"}) as output:
            clip = _Cut(output, end)
            for path, segment_start, _ in segments:
                try:
                    with av.open(str(path)) as source:
                        if not clip.add(source, segment_start, start):
                            break
                except av.FFmpegError as error:
                    if error.filename not in (None, str(path)):  # the export's own file (a full disk)
                        raise OSError(f"cannot write the export: {error.strerror}") from None
                    skipped.append(path.name)  # cut short, damaged, or gone since the index named it: the rest goes on
            if clip.origin is None:
                raise Nothing("no frame of that range is recorded")
        return open(name, "rb")  # noqa: SIM115 - handed to the caller, who closes it
    finally:
        os.unlink(name)
