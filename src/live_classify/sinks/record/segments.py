"""``--record DIR/ --segment 10m``: the recording cut into MP4 files an edge box can keep and prune.

Each segment is a whole H.264 MP4 of its own (a new :class:`Mp4Writer`, so it starts on a keyframe
and plays without its neighbours), at ``DIR/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4`` (local time of
its first frame). Boundaries fall every ``--segment`` of the source's own time from the first
frame: the frame that crosses one opens the next segment, so nothing is lost or written twice at
the seams; a stall holds the last frame across them, a new size opens a new segment.
``--retain 50GB`` / ``--retain 7d`` delete the camera's oldest segments (on the recording's thread,
``retention.py``), never the open one.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from live_classify import log
from live_classify.config import EncoderSettings
from live_classify.errors import LiveClassifyError
from live_classify.sinks import troubles
from live_classify.sinks.files import SpaceWatch
from live_classify.sinks.record.mp4 import RATE_HEADROOM, Mp4Writer, Tap, even
from live_classify.sinks.record.retention import SegmentPlan, age_text, prune, segment_files, size_and_mtime

STALL_S = 1.0  # no frame for this long is a stall (as the overlay says): segments hold the last frame through it
HOLD_GAP_S = 0.001  # a held frame ends its segment this long before the boundary


class SegmentLog(Protocol):
    """What hears of segments (the index): each one closed, and those retention deleted."""

    def segment_closed(self, camera: str, path: Path, start: float, end: float, size: int) -> None: ...

    def segments_deleted(self, paths: list[Path]) -> None: ...

class SegmentedMp4:
    """Frames and their source times in, one MP4 segment per ``plan.length_s`` out; the same
    counters as the single-file writers (``frames``, ``rate``, ``stopped_because``)."""

    def __init__(self, root: Path, plan: SegmentPlan, settings: EncoderSettings = EncoderSettings(),
                 wall_clock: Callable[[], float] = time.time, log_to: SegmentLog | None = None,
                 tap: Tap | None = None, fps: float | None = None) -> None:
        """``log_to``: told of each segment closed and deleted (the index); ``tap``: every packet
        (clips); ``fps``: a file's own rate (None: measured, for the segments after the first)."""
        self.path = root / plan.camera
        self.plan = plan
        self.settings = settings
        self.segments = 0
        self.stopped_because: str | None = None
        self.stops = 0  # times a full disk stopped it (it resumes when there is room again)
        self._closed_frames = 0
        self._writer: Mp4Writer | None = None
        self._space = SpaceWatch()
        self._wall_clock = wall_clock
        self._t0 = self._wall0 = self._last_t = 0.0
        self._tap, self._log = tap, log_to
        self._fps, self._file_rate = fps, fps is not None  # the rate the next segment says (see mp4.py)
        self._opened_t, self._written_t = 0.0, 0.0  # the open segment's first and last times
        self._end = -math.inf  # source time at which the open segment ends
        self._last: np.ndarray | None = None  # the last frame, held through a stall
        self.held = 0  # copies of a last frame written through stalls
        self._closed_bytes = 0  # the camera's closed segments, as retention last saw them
        self._largest = 0  # the biggest packet so far (a keyframe): room kept for the next frame

    @property
    def frames(self) -> int:
        return self._closed_frames + (self._writer.frames if self._writer else 0)

    @property
    def _open(self) -> Mp4Writer:
        """The open segment's writer: one is open from the first frame on, until the close."""
        assert self._writer is not None, "no segment is open"
        return self._writer

    @property
    def rate(self) -> str:
        """For the summary: the mean rate of the source's times, and how many segments."""
        span, frames = self._last_t - self._t0, self.frames - self.held
        fps = f"{(frames - 1) / span:.3g} fps " if frames > 1 and span > 0 else ""
        held = f", {self.held} frames held through stalls" if self.held else ""
        resumed = self.stops - (1 if self.stopped_because else 0)  # stops it came back from
        stops = f", resumed {resumed} time{'s' if resumed > 1 else ''} after a full disk" if resumed else ""
        return f"{fps}(the source's times), {self.segments} segments of {age_text(self.plan.length_s)}{held}{stops}"

    def write(self, image: np.ndarray, t: float) -> None:
        """One frame at source time ``t``; the first frame at or past the boundary opens the next segment."""
        if self.stopped_because:
            if not (room := self._space.room_again(self.path)):
                return
            self._resume(room)
        if self._writer is None and self.segments == 0:
            self._t0, self._wall0 = t, self._wall_clock()
        resized = self._resized(image)
        if t >= self._end:
            self._cross(image, t)
        elif resized:
            self._next_segment(image, t)
        self._open.write(image, t)
        self._last, self._last_t = image, t
        self._written_t = t
        self._keep_under_limit()
        if full := self._space.check(self._open.path):
            self._stop(full)

    def _stop(self, full: str) -> None:
        """The disk is nearly full: the open segment is finished; the free space is watched from now on."""
        self.close()
        self.stopped_because, self.stops = full, self.stops + 1
        self._last, self._end = None, -math.inf  # nothing is held across the stop: the next frame opens a segment
        troubles.report("recording", self.plan.camera, "stopped: disk full (it resumes when there is room)")
        log.warning(f"recording stopped: {full}; the segments in {self.path} keep what they had on disk "
                    "(a smaller --retain keeps room); it resumes when there is room again; classification goes on")

    def _resume(self, room: str) -> None:
        self.stopped_because = None
        troubles.report("recording", self.plan.camera, None)
        log.info(f"recording resumed: the disk has room again ({room}); new segments in {self.path}")

    def close(self) -> None:
        """Finish the open segment; retention still keeps it (it is the newest)."""
        if self._writer is not None:
            last = self._writer
            self._finish(last, self._opened_t)
            self._writer = None
            self._prune(keep=last.path)

    def _cross(self, image: np.ndarray, t: float) -> None:
        """Open the segment of ``t``. After a stall (no frame for STALL_S), the last frame is held
        as a single file holds it: to the end of its segment, through every segment the stall
        spans, and from the start of the segment of ``t``, so the segments' timeline has no hole."""
        if self._last is None or t - self._last_t <= STALL_S:
            self._next_segment(image, t)
            return
        self._hold(self._end - HOLD_GAP_S)
        while self._end + self.plan.length_s <= t:  # whole segments inside the stall
            start = self._end
            self._next_segment(self._last, start)
            self._hold(start)
            self._hold(self._end - HOLD_GAP_S)
        start = self._end
        self._next_segment(image, start)
        if self._last.shape == image.shape:  # else the camera came back at another size: nothing to hold
            self._hold(start)

    def _hold(self, t: float) -> None:
        """The last frame again, at source time ``t``: what a player shows through a stall."""
        assert self._last is not None, "a stall before the first frame"
        self._open.write(self._last, t)
        self._written_t = t
        self.held += 1

    def _keep_under_limit(self) -> None:
        """``--retain SIZE`` counts the open segment too: the oldest go as it grows, before the
        camera's segments would pass the limit (checked each frame, against a tally, not the disk)."""
        limit = self.plan.max_bytes
        if limit is None or not self._closed_bytes or self._closed_bytes + self._open_bytes() <= limit:
            return
        if not self._prune(keep=self._open.path) and self._closed_bytes + self._open_bytes() > limit:
            self._closed_bytes = 0  # nothing could go: try again at the next segment, not every frame

    def _open_bytes(self) -> int:
        """What the open segment will take on disk, with room for the next frame (maybe a keyframe)."""
        self._largest = max(self._largest, self._open.largest_packet)
        return self._open.bytes_estimate + self._largest

    def _resized(self, image: np.ndarray) -> bool:
        """A camera that came back at another size: a new segment at that size (one line says so),
        rather than frames stretched or letterboxed into the old one."""
        size = even((image.shape[1], image.shape[0]))
        if self._writer is None or size == self._writer.size:
            return False
        log.warning(f"{self.path}: the source's frames are now {size[0]}x{size[1]} (were "
                    f"{self._writer.size[0]}x{self._writer.size[1]}): a new segment at that size")
        return True

    def _next_segment(self, image: np.ndarray, t: float) -> None:
        """Open the next segment first, then close the last one, then prune: the open one is never deleted."""
        index = math.floor((t - self._t0) / self.plan.length_s + 1e-9)  # a boundary's own time opens its segment
        self._end = self._t0 + (index + 1) * self.plan.length_s
        previous, previous_t, self._opened_t = self._writer, self._opened_t, t
        if previous is not None and previous.measured_fps and not self._file_rate:
            self._fps = previous.measured_fps * RATE_HEADROOM
        encoder = None if self.settings.encoder == "auto" else self.settings.encoder
        self._writer = Mp4Writer(self._new_path(t), (image.shape[1], image.shape[0]), self.settings, encoder,
                                 self._tap, rate=self._fps)
        self.segments += 1
        if previous is not None:
            self._finish(previous, previous_t)
        self._prune(keep=self._writer.path)

    def _finish(self, writer: Mp4Writer, opened_t: float) -> None:
        """Close a segment (opened at source time ``opened_t``) and tell the index, in wall-clock times."""
        writer.close()
        self._closed_frames += writer.frames
        if self._log is not None:
            wall = self._wall0 - self._t0
            self._log.segment_closed(self.plan.camera, writer.path, wall + opened_t, wall + self._written_t,
                                     size_and_mtime(writer.path)[0])

    def _prune(self, keep: Path) -> list[Path]:
        """Retention, and the tally of the closed segments' bytes that it leaves; its failure (an
        unreadable folder) is one warning: the recording goes on."""
        if self.plan.max_bytes is None and self.plan.max_age_s is None:
            return []
        try:
            open_bytes = self._open_bytes() if self._writer else None
            deleted = prune(self.path, self.plan, keep, self._wall_clock(), open_bytes=open_bytes)
            if deleted and self._log is not None:
                self._log.segments_deleted(deleted)
            self._closed_bytes = sum(size_and_mtime(path)[0] for path in segment_files(self.path) if path != keep)
        except OSError as error:
            log.warning(f"retention: cannot list {self.path}: {error.strerror or error}")
            return []
        return deleted

    def _new_path(self, t: float) -> Path:
        """``<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4`` at the wall-clock time of source time ``t``
        (``_2``, ``_3``... if that second is taken, e.g. by a run restarted within it)."""
        moment = time.localtime(self._wall0 + (t - self._t0))
        day = self.path / time.strftime("%Y-%m-%d", moment)
        try:
            day.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise LiveClassifyError(f"cannot create {day}: {error.strerror}") from None
        stem = time.strftime("%H-%M-%S", moment)
        path, n = day / f"{stem}.mp4", 1
        while path.exists():
            n += 1
            path = day / f"{stem}_{n}.mp4"
        return path
