"""Stage 1 for video: one name (a camera index, a device, a file, a stream URL) becomes frames.

A live source (camera, stream) is opened with timeouts so that a dead one fails in seconds, not
after OpenCV's 30 s default, and can be reopened when it is lost. A file simply ends at EOF.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import cv2
import numpy as np

from live_classify.config import CameraSettings, SourceSpec
from live_classify.errors import LiveClassifyError
from live_classify.redact import redact
from live_classify.sources.diagnose import why_stream_fails
from live_classify.sources.names import is_stream
from live_classify.sources.picture import Picture


def parse_camera(value: str) -> SourceSpec:
    """``--camera 0`` or ``--camera /dev/video2``."""
    if value.isdigit():
        return SourceSpec(int(value), "camera", f"camera {value}")
    if value.startswith("/dev/"):
        return SourceSpec(value, "camera", value)
    raise LiveClassifyError(f"--camera takes an index (0, 1, ...) or a device such as /dev/video0, not {value!r}")


def parse_video_source(value: str) -> SourceSpec:
    """A stream URL or a video file given with ``--source``."""
    if is_stream(value):
        return SourceSpec(value, "stream", redact(value))
    if value.startswith("file://"):
        value = urlsplit(value).path
    path = Path(value)
    if not path.exists():
        raise LiveClassifyError(f"source not found: {value}")
    if not path.is_file():
        raise LiveClassifyError(f"source is not a file: {value}")
    return SourceSpec(str(path), "file", str(path))


CAPTURE_OPTIONS = "OPENCV_FFMPEG_CAPTURE_OPTIONS"  # FFmpeg options, read by OpenCV at each open
_OPENING = threading.Lock()  # the options are process-wide: one FFmpeg open at a time reads them


@contextlib.contextmanager
def capture_options(transport: str | None) -> Iterator[None]:
    """An FFmpeg open with this camera's ``--rtsp-transport`` (None: the user's options as they are),
    under a lock: OpenCV reads the environment variable at open time, and another camera's reopen,
    on its own thread, must read its own options, not these."""
    with _OPENING:
        before = os.environ.get(CAPTURE_OPTIONS)
        if transport:
            os.environ[CAPTURE_OPTIONS] = with_rtsp_transport(before, transport)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(CAPTURE_OPTIONS, None)
            else:
                os.environ[CAPTURE_OPTIONS] = before


def with_rtsp_transport(options: str | None, transport: str) -> str:
    """OpenCV's FFmpeg options ('key;value|key;value') with ``rtsp_transport`` set to ``transport``.

    Without options OpenCV asks FFmpeg to prefer TCP and fall back to UDP; with any, that default
    is gone, so this one says exactly which transport to use. The user's other options are kept.
    """
    kept = [item for item in (options or "").split("|") if item and item.split(";")[0] != "rtsp_transport"]
    return "|".join(kept + [f"rtsp_transport;{transport}"])


class Source(Protocol):
    """What the pipeline needs from a camera, a stream or a file, whatever opens it."""

    spec: SourceSpec  # what the user named, and whether it is live
    claimed_fps: float | None  # what the source says its rate is (a live one is measured, not believed)
    lost_because: str  # why the last read() returned None

    def describe(self) -> str:
        """What was opened, in a few words: '640x480 @ 30 fps MJPG'."""

    def read(self) -> np.ndarray | Picture | None:
        """The next HxWx3 BGR frame (or an MJPEG stream's JPEG, decoded when first needed), or None when
        the source ended or was lost (``lost_because`` says)."""

    def reopen(self) -> bool:
        """One try to get a lost live source back."""

    def release(self) -> None:
        """Let the device or connection go."""


class VideoSource:
    """The OpenCV :class:`Source`: an opened capture; ``read()`` gives BGR frames; ``reopen()`` tries
    once to get a lost one back."""

    MAX_QUICK_FAILURES = 3
    INSTANT_S = 0.01  # a failed read this fast found no data to wait for: the source has ended

    def __init__(self, spec: SourceSpec, settings: CameraSettings = CameraSettings(),
                 open_timeout_s: float = 10.0, read_timeout_s: float = 5.0, rtsp_transport: str | None = None) -> None:
        """``rtsp_transport`` 'tcp' or 'udp' forces that transport on an RTSP stream."""
        self.spec = spec
        self.rtsp = urlsplit(str(spec.target)).scheme.lower() in ("rtsp", "rtsps")
        self.rtsp_transport = rtsp_transport if self.rtsp else None
        self.settings = settings
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        started = time.monotonic()
        self.lost_because = ""  # why the last read() returned None
        self.jpeg = False  # read() gives the stream's JPEGs undecoded (MJPEG over HTTP)
        capture = self._open()
        if capture is None:
            raise LiveClassifyError(self._open_failure(time.monotonic() - started))
        self.capture: cv2.VideoCapture = capture  # stays set: reopen() replaces it only with an opened one
        self.width = int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        # MJPEG over HTTP claims 25 fps whatever it sends, so a live rate is measured, not believed.
        self.claimed_fps = fps if fps and 0 < fps < 1000 else None

    def describe(self) -> str:
        """What the source granted: '640x480 @ 30 fps MJPG'; a stream only 'claims' its rate."""
        fps = f" @ {self.claimed_fps:g} fps" if self.claimed_fps else ""
        if self.claimed_fps and self.spec.kind == "stream":  # MJPEG over HTTP says 25 whatever it sends
            fps = f", claims {self.claimed_fps:g} fps (the real rate is measured)"
        fourcc = _fourcc(self.capture) if self.spec.kind == "camera" else ""
        return f"{self.spec.name}: {self.width}x{self.height}{fps}{' ' + fourcc if fourcc else ''}"

    def read(self) -> np.ndarray | Picture | None:
        """The next frame, or None at the end of a file or when a live source is lost (then
        ``lost_because`` says why). An MJPEG stream's frame comes as its JPEG, undecoded (``Picture``).

        A live stream's damaged frame fails one read and the next one works, so a quick failure
        is retried (up to ``MAX_QUICK_FAILURES`` in a row) before the source counts as lost; a
        read that failed by running into the read timeout means a stall: lost at once.
        """
        tries = self.MAX_QUICK_FAILURES if self.spec.live else 1
        for _ in range(tries):
            started = time.monotonic()
            ok, frame = self.capture.read()
            seconds = time.monotonic() - started
            if ok and frame is not None and frame.size:
                if self.jpeg:
                    picture = Picture.of(frame)
                    if picture is not None:
                        return picture
                    continue  # a damaged frame: as one the decoder refused
                return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame
            if seconds > 0.8 * self.read_timeout_s:
                self.lost_because = f"stalled: nothing received for {seconds:.1f} s"
                return None
        self.lost_because = self._quick_failure(tries, seconds)
        return None

    def _quick_failure(self, tries: int, last_read_s: float) -> str:
        """Why reads failed fast. Once a connection is closed or a camera unplugged, a read fails
        at once; a damaged frame fails only after it took its time to arrive."""
        if last_read_s < self.INSTANT_S:
            if self.spec.kind == "camera":
                return "the camera stopped (unplugged?)"
            return "end of stream (the sender closed it)"
        return f"read error: {tries} frames in a row could not be read or decoded"

    def reopen(self) -> bool:
        """One attempt to get a lost live source back."""
        self.release()
        capture = self._open()
        if capture is None:
            return False
        self.capture = capture
        return True

    def release(self) -> None:
        self.capture.release()

    def _open(self) -> cv2.VideoCapture | None:
        target, kind = self.spec.target, self.spec.kind
        if kind == "camera":
            api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
            capture = cv2.VideoCapture(target, api)
            if capture.isOpened():
                self._apply_settings(capture)
        else:
            timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout_s * 1000),
                        cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout_s * 1000)]
            with capture_options(self.rtsp_transport) if self.rtsp else contextlib.nullcontext():
                capture = cv2.VideoCapture(str(target), cv2.CAP_FFMPEG, timeouts)
        if not capture.isOpened():
            capture.release()
            return None
        self.jpeg = kind == "stream" and _undecoded_if_mjpeg(capture)
        return capture

    def _apply_settings(self, capture: cv2.VideoCapture) -> None:
        """Ask in the order drivers honour: pixel format first, then size, then rate."""
        s = self.settings
        if s.fourcc:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*s.fourcc))
        if s.width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, s.width)
        if s.height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, s.height)
        if s.fps:
            capture.set(cv2.CAP_PROP_FPS, s.fps)

    def _open_failure(self, elapsed_s: float) -> str:
        """What went wrong, as far as we can tell: the timeout is blamed only when it ran out."""
        if self.spec.kind == "camera":
            return f"cannot open {self.spec.name}: no such camera, or it is busy (another program may hold it)"
        if self.spec.kind == "stream":
            if elapsed_s >= 0.8 * self.open_timeout_s:
                return (f"cannot open stream {self.spec.name}: "
                        f"nothing came within {self.open_timeout_s:g} s (--open-timeout)")
            why = why_stream_fails(str(self.spec.target), timeout=min(3.0, self.open_timeout_s))
            why = why or "the server answers, but OpenCV finds no video it can read there"
            return f"cannot open stream {self.spec.name}: {why}"
        return f"cannot open video {self.spec.name}: not a video OpenCV can read, or damaged"


def _undecoded_if_mjpeg(capture: cv2.VideoCapture) -> bool:
    """An MJPEG stream read as its JPEG packets, left to be decoded when needed (``Picture``):
    whether the capture agreed."""
    return _fourcc(capture) == "MJPG" and bool(capture.set(cv2.CAP_PROP_FORMAT, -1))


def _fourcc(capture: cv2.VideoCapture) -> str:
    """The codec's four characters ('MJPG', 'H264'), '' if the capture does not say."""
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).strip("\x00")
