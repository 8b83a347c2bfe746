"""The recording sink: the annotated video to a file, encoded on a thread of its own.

``.mp4``: H.264 in fragmented MP4 (``mp4.py``), small, plays in browsers, on a true timeline.
``.avi``: Motion-JPEG (``mjpeg.py``), bigger, every frame a JPEG of its own. ``DIR/`` with
``--segment``: MP4 segments, pruned by ``--retain`` (``segments.py``). ``--record-mode
events|both``: each event a clip of the same packets (``clips.py``). All stay playable after any
way the run ends. Encoding never runs on the main loop: frames wait in a short queue,
and live, when the encoder falls behind, the oldest are dropped and counted rather than slowing
the window or growing memory.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from live_classify import log
from live_classify.config import HARDWARE, EncoderSettings
from live_classify.errors import LiveClassifyError
from live_classify.sinks import troubles
from live_classify.sinks.base import BackgroundWriter, InBackground, Redraw, Update
from live_classify.sinks.events.rules import Change
from live_classify.sinks.files import SpaceWatch, check_writable
from live_classify.sinks.record.clip_files import ClipLog
from live_classify.sinks.record.clips import ClipPlan, Clips
from live_classify.sinks.record.mjpeg import MjpegWriter
from live_classify.sinks.record.mp4 import Mp4Writer, Tap, choose_encoder
from live_classify.sinks.record.retention import SegmentPlan, prepare
from live_classify.sinks.record.segments import SegmentedMp4, SegmentLog
from live_classify.sinks.record.target import is_directory
from live_classify.sinks.summary_text import plural

BACKLOG = 8  # frames waiting for the encoder: about a quarter of a second at 30 fps
PROBE_SIZE = (640, 480)  # the encoder is tried at startup, before the source (and its size) is known


def check(path: Path, overwrite: bool, settings: EncoderSettings, clips_only: bool = False) -> EncoderSettings:
    """Refuse a path that cannot be written, a recording that would be lost, or an encoder that
    cannot open here; returns ``settings`` with the MP4 encoder chosen (one line says which)."""
    if is_directory(path):
        prepare(path)
    else:
        check_writable(path, "recording")
        if path.exists() and not overwrite:
            raise LiveClassifyError(f"--record {path}: the file exists (pass --overwrite to replace it)")
        if path.suffix.lower() == ".avi":
            return settings
    encoder = choose_encoder(PROBE_SIZE, settings)
    where = f"event clips into {path}{os.sep}" if clips_only \
        else f"segments into {path}{os.sep}" if is_directory(path) else str(path)
    how = "" if settings.encoder != "auto" else " (--encoder auto: a hardware encoder)" if encoder in HARDWARE \
        else " (--encoder auto: no hardware encoder opened)"
    log.info(f"recording {where}: H.264 with {encoder}{how}")
    return replace(settings, encoder=encoder)


class _Mp4:
    """An :class:`Mp4Writer` opened at the first frame's size, with the MJPEG writer's counters."""

    def __init__(self, path: Path, settings: EncoderSettings, tap: Tap | None = None, keep: bool = True,
                 camera: str = "", fps: float | None = None) -> None:
        """``tap``: every packet (clips); ``keep`` False: no file, the packets only go to ``tap``."""
        self.path, self.camera, self.fps = path, camera, fps
        self.settings = settings
        self.tap, self.keep = tap, keep
        self.stopped_because: str | None = None  # why recording stopped before the run did
        self._writer: Mp4Writer | None = None
        self._space = SpaceWatch()

    @property
    def frames(self) -> int:
        return self._writer.frames if self._writer else 0

    @property
    def rate(self) -> str:
        """The mean frame rate of the timestamps, for the summary."""
        if self._writer is None or self._writer.frames < 2:
            return "the source's times"
        return f"{(self._writer.frames - 1) / max(1e-9, self._writer.duration_s):.3g} fps (the source's times)"

    def write(self, image: np.ndarray, t: float) -> None:
        if self.stopped_because:
            return
        if self._writer is None:
            encoder = None if self.settings.encoder == "auto" else self.settings.encoder  # chosen by check()
            self._writer = Mp4Writer(self.path if self.keep else None, (image.shape[1], image.shape[0]),
                                     self.settings, encoder, self.tap, rate=self.fps)
        self._writer.write(image, t)
        if self.keep and (full := self._space.check(self.path)):
            self.close()
            self.stopped_because = full
            troubles.report("recording", self.camera, "stopped: disk full")
            log.warning(f"recording stopped: {full}; {self.path} keeps what it had on disk; classification goes on")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class Recording(InBackground):
    """``--record FILE``: every shown frame, annotated, at its time on the source's clock (a file's
    own timestamps, a live source's capture times)."""

    name = "recording"
    essential = False
    stop_requested = False

    def __init__(self, path: Path, fps: float | None, *, drop: bool,
                 settings: EncoderSettings = EncoderSettings(), segments: SegmentPlan | None = None,
                 captured: Callable[[], int] | None = None, index: SegmentLog | None = None,
                 clips: ClipPlan | None = None, continuous: bool = True) -> None:
        """``fps``: a file's own rate (AVI; None: measured from capture times); ``drop``: live;
        ``segments``: ``path`` is a directory, cut into segments as planned; ``captured``: the
        source's frames so far (live, where the main loop skips to the newest: those it never
        handed over are counted too); ``index``: told of each segment closed and deleted; ``clips``:
        each event a clip (``continuous`` False: nothing else is kept)."""
        self._captured = captured
        self.clips = Clips(clips, index if isinstance(index, ClipLog) else None) if clips else None
        tap = self.clips.packet if self.clips else None
        self.camera = segments.camera if segments else clips.camera if clips else ""
        self.handed = 0  # frames the main loop handed over
        self.skipped = 0  # frames captured before the close that were never handed over
        if segments and continuous:
            self._video: SegmentedMp4 | _Mp4 | MjpegWriter = SegmentedMp4(path, segments, settings, log_to=index,
                                                                         tap=tap, fps=fps)
        elif path.suffix.lower() == ".mp4" or not continuous:
            self._video = _Mp4(path, settings, tap, keep=continuous, camera=self.camera, fps=fps)
        else:
            self._video = MjpegWriter(path, fps, log.warning)
        self.path = self._video.path
        self._writer: BackgroundWriter[tuple[np.ndarray, float]] = BackgroundWriter(
            "record", self._encode, drop=drop, backlog=BACKLOG)

    def write(self, update: Update) -> None:
        self.handed += 1
        self._writer.submit((update.canvas, update.source_time))

    def _encode(self, item: tuple[np.ndarray, float]) -> None:
        """On the writer's thread: one frame; while the recording is stopped (a full disk), the
        clips' pre-roll is emptied: an event then has no footage, never footage from before."""
        self._video.write(*item)
        if self.clips is not None and self._video.stopped_because:
            self.clips.ring.clear()

    def write_event(self, change: Change) -> None:
        """An event's start or end, for its clip (its names given already)."""
        if self.clips is not None:
            self.clips.tell(change)

    def idle(self, redraw: Redraw) -> None:
        pass

    def close(self) -> None:
        if self._captured is not None:
            self.skipped = max(0, self._captured() - self.handed)
        self._writer.finish()
        self._video.close()
        if self.clips is not None:
            self.clips.close()
        troubles.report("recording", self.camera, None)

    def summary(self) -> str:
        video = self._video
        rate = f"{video.fps or 0:g} fps" if isinstance(video, MjpegWriter) else video.rate
        stopped = f" (stopped early: {video.stopped_because})" if video.stopped_because else ""
        dropped = f", {self._writer.dropped} dropped: the encoder fell behind" if self._writer.dropped else ""
        skipped = f", {self.skipped} skipped: the main loop fell behind (it shows the newest frame)" \
            if self.skipped else ""
        clips = f", {plural(self.clips.written, 'event clip')} in {self.clips.folder} (the pre-roll's ring held " \
            f"at most {self.clips.ring.peak_bytes / 1e6:.1f} MB)" if self.clips else ""
        kept = f"to {self.path}" if not isinstance(video, _Mp4) or video.keep else "(clips only)"
        return f"recorded {video.frames} frames {kept} at {rate}{dropped}{skipped}{stopped}{clips}"
