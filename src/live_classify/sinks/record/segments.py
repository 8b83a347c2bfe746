"""``--record DIR/ --segment 10m``: the recording cut into MP4 files an edge box can keep and prune.

Each segment is a whole H.264 MP4 of its own (a new :class:`Mp4Writer`, so it starts on a keyframe
and plays without its neighbours), at ``DIR/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4`` (local time of
its first frame). Boundaries fall every ``--segment`` of the source's own time from the first
frame: the frame that crosses one opens the next segment, so nothing is lost or written twice at
the seams; a stall holds the last frame across them, a new size opens a new segment.
``--retain 50GB`` / ``--retain 7d`` delete the camera's oldest segments (on the recording's thread),
never the open one, each deletion in one line: by size as the open one grows, counting it too.
"""
from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from live_classify import log
from live_classify.errors import LiveClassifyError
from live_classify.sinks.files import SpaceWatch, refusal, write_problem
from live_classify.sinks.record.mp4 import EncoderSettings, Mp4Writer, even
from live_classify.sources.capture import SourceSpec

STALL_S = 1.0  # no frame for this long is a stall (as the overlay says): segments hold the last frame through it
HOLD_GAP_S = 0.001  # a held frame ends its segment this long before the boundary
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
SEGMENT = re.compile(r"\d{2}-\d{2}-\d{2}(_\d+)?\.mp4")  # only files named so are ever deleted
# What a camera's URL ends in to say "a stream"; only these are dropped, so two endpoints of one
# host that differ otherwise (a.mjpg, a.jpg) keep folders of their own.
STREAM_SUFFIX = re.compile(r"\.(mjpg|mjpeg|cgi|sdp|m3u8)$", re.IGNORECASE)
SECRET = re.compile(r"user|pass|pwd|token|auth|key|secret|sig|cred", re.IGNORECASE)


class SegmentLog(Protocol):
    """What hears of segments (the index): each one closed, and those retention deleted."""

    def segment_closed(self, camera: str, path: Path, start: float, end: float, size: int) -> None: ...

    def segments_deleted(self, paths: list[Path]) -> None: ...


@dataclass(frozen=True)
class SegmentPlan:
    """How a directory recording is cut and pruned."""

    length_s: float
    camera: str  # the folder under DIR: the source's name, safe for a file system
    max_bytes: int | None = None  # --retain 50GB: the camera's segments together
    max_age_s: float | None = None  # --retain 7d: by the time a segment was last written

    @classmethod
    def of(cls, length_s: float | None, retain: list[tuple[str, float]] | None,
           camera: str) -> SegmentPlan | None:
        """The plan the flags describe (None without ``--segment``); ``retain`` as argtypes gives it;
        ``camera``: the camera's name (a folder name already)."""
        if length_s is None:
            return None
        limits = dict(retain or [])
        size = limits.get("size")
        return cls(length_s, camera, None if size is None else int(size), limits.get("age"))


def camera_folder(spec: SourceSpec) -> str:
    """``camera 0`` -> ``camera-0``, ``rtsp://user:pw@10.0.0.7:554/s1`` -> ``10.0.0.7-554-s1``,
    ``http://10.0.0.8/video.mjpg`` -> ``10.0.0.8-video``: names what is recorded, never with
    credentials (user names and secret-looking query values go), and the same for every run."""
    if spec.kind == "stream":
        parts = urlsplit(str(spec.target))
        query = [f"{k}-{v}" for k, v in parse_qsl(parts.query) if not SECRET.search(k)]
        host = parts.netloc.rpartition("@")[2]  # host:port, without user:password@
        path = STREAM_SUFFIX.sub("", parts.path)  # a folder, not a file: stream.mjpg -> stream
        text = "-".join(p for p in (host, path, *query) if p)
    elif spec.kind == "file":
        text = Path(str(spec.target)).stem
    else:
        text = spec.name
    safe = re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-.")
    return safe[:100] or "camera"


def prepare(root: Path) -> None:
    """Create ``--record DIR/`` now and check it can be written: a typo fails before the source opens."""
    if root.exists() and not root.is_dir():
        raise LiveClassifyError(f"--record {root}/: not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LiveClassifyError(f"cannot create recording directory {root}: {refusal(error, root)}") from None
    if problem := write_problem(root / ".live-classify-probe"):
        raise LiveClassifyError(f"cannot write recording directory {root}: {problem}")


def segment_files(folder: Path) -> list[Path]:
    """The segments under a camera's folder, oldest first (by when each was last written)."""
    found = [path for day in folder.iterdir() if day.is_dir() and DAY.fullmatch(day.name)
             for path in day.iterdir() if SEGMENT.fullmatch(path.name) and path.is_file()] if folder.is_dir() else []
    return sorted(found, key=lambda path: (_stat(path)[1], str(path)))


def prune(folder: Path, plan: SegmentPlan, keep: Path, now: float,
          say: Callable[[str], None] = log.info, open_bytes: int | None = None) -> list[Path]:
    """Delete the oldest segments while the camera's folder is over ``--retain``, never ``keep``;
    returns what was deleted. ``open_bytes``: what ``keep``, still being written, will take (else
    its size on disk)."""
    files = segment_files(folder)
    total = sum(_stat(path)[0] for path in files if path != keep or open_bytes is None)
    total += open_bytes or 0
    deleted = []
    for path in files:
        size, mtime = _stat(path)
        too_old = plan.max_age_s is not None and now - mtime > plan.max_age_s
        too_big = plan.max_bytes is not None and total > plan.max_bytes
        if path == keep or not (too_old or too_big):
            continue
        why = f"older than {_age(plan.max_age_s)}" if too_old else f"the camera's segments over {_megabytes(plan.max_bytes)}"
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            log.warning(f"retention: cannot delete {path}: {error.strerror}")
            continue
        total -= size
        deleted.append(path)
        say(f"retention: deleted {path} ({_megabytes(size)}, {_age(now - mtime)} old; {why})")
        if path.parent != keep.parent:  # the open segment's file may not be created yet: keep its folder
            _remove_if_empty(path.parent)
    return deleted


def _stat(path: Path) -> tuple[int, float]:
    try:
        status = path.stat()
    except OSError:  # deleted meanwhile
        return (0, 0.0)
    return (status.st_size, status.st_mtime)


def _megabytes(size: int | None) -> str:
    return f"{(size or 0) / 1e6:.1f} MB"


def _age(seconds: float | None) -> str:
    """Written as the flags take it: ``45s``, ``10m``, ``1.5h``, ``7d``."""
    seconds = seconds or 0.0
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.3g}s" if seconds >= 1 else "0s"


def _remove_if_empty(day: Path) -> None:
    try:
        day.rmdir()
    except OSError:  # not empty (the usual case), or gone
        pass


class SegmentedMp4:
    """Frames and their source times in, one MP4 segment per ``plan.length_s`` out; the same
    counters as the single-file writers (``frames``, ``rate``, ``stopped_because``)."""

    def __init__(self, root: Path, plan: SegmentPlan, settings: EncoderSettings = EncoderSettings(),
                 wall_clock: Callable[[], float] = time.time, log_to: SegmentLog | None = None) -> None:
        """``log_to``: told of each segment closed and deleted (the index)."""
        self.path = root / plan.camera
        self.plan = plan
        self.settings = settings
        self.segments = 0
        self.stopped_because: str | None = None
        self._closed_frames = 0
        self._writer: Mp4Writer | None = None
        self._space = SpaceWatch()
        self._wall_clock = wall_clock
        self._t0 = self._wall0 = self._last_t = 0.0
        self._log, self._opened_t, self._written_t = log_to, 0.0, 0.0  # the open segment's first and last times
        self._end = -math.inf  # source time at which the open segment ends
        self._last: np.ndarray | None = None  # the last frame, held through a stall
        self.held = 0  # copies of a last frame written through stalls
        self._closed_bytes = 0  # the camera's closed segments, as retention last saw them
        self._largest = 0  # the biggest packet so far (a keyframe): room kept for the next frame

    @property
    def frames(self) -> int:
        return self._closed_frames + (self._writer.frames if self._writer else 0)

    @property
    def rate(self) -> str:
        """For the summary: the mean rate of the source's times, and how many segments."""
        span, frames = self._last_t - self._t0, self.frames - self.held
        fps = f"{(frames - 1) / span:.3g} fps " if frames > 1 and span > 0 else ""
        held = f", {self.held} frames held through stalls" if self.held else ""
        return f"{fps}(the source's times), {self.segments} segments of {_age(self.plan.length_s)}{held}"

    def write(self, image: np.ndarray, t: float) -> None:
        """One frame at source time ``t``; the first frame at or past the boundary opens the next segment."""
        if self.stopped_because:
            return
        if self._writer is None and self.segments == 0:
            self._t0, self._wall0 = t, self._wall_clock()
        resized = self._resized(image)
        if t >= self._end:
            self._cross(image, t)
        elif resized:
            self._next_segment(image, t)
        self._writer.write(image, t)
        self._last, self._last_t = image, t
        self._written_t = t
        self._keep_under_limit()
        if full := self._space.check(self._writer.path):
            self.close()
            self.stopped_because = full
            log.warning(f"recording stopped: {full}; the segments in {self.path} keep what they had on disk "
                        "(a smaller --retain keeps room); classification goes on")

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
        self._writer.write(self._last, t)
        self._written_t = t
        self.held += 1

    def _keep_under_limit(self) -> None:
        """``--retain SIZE`` counts the open segment too: the oldest go as it grows, before the
        camera's segments would pass the limit (checked each frame, against a tally, not the disk)."""
        limit = self.plan.max_bytes
        if limit is None or not self._closed_bytes or self._closed_bytes + self._open_bytes() <= limit:
            return
        if not self._prune(keep=self._writer.path) and self._closed_bytes + self._open_bytes() > limit:
            self._closed_bytes = 0  # nothing could go: try again at the next segment, not every frame

    def _open_bytes(self) -> int:
        """What the open segment will take on disk, with room for the next frame (maybe a keyframe)."""
        self._largest = max(self._largest, self._writer.largest_packet)
        return self._writer.bytes_estimate + self._largest

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
        encoder = None if self.settings.encoder == "auto" else self.settings.encoder
        self._writer = Mp4Writer(self._new_path(t), (image.shape[1], image.shape[0]), self.settings, encoder)
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
                                     _stat(writer.path)[0])

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
            self._closed_bytes = sum(_stat(path)[0] for path in segment_files(self.path) if path != keep)
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
