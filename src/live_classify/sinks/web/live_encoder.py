"""One camera's live H.264 encoder: a thread that runs while someone watches ``/live.mp4``.

The main loop offers each annotated frame (``offer`` returns at once: a one-frame queue, the
newest wins); the thread is started by the first frame someone wants and ends by itself when no
viewer has watched for ``LINGER_S`` (``live_streams.py``), closing its encoder. An encoder that
fails ends its viewers' streams and says so once: the recording, the MJPEG view and the
classification go on. A separate encoder from the recording's (the README's "Live view" says why).
"""
from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np

from live_classify import log
from live_classify.pipeline.queues import put_newest

if TYPE_CHECKING:
    from live_classify.sinks.web.fmp4 import Fmp4Encoder

POLL_S = 0.5  # how often a thread that gets no frame looks whether it is still wanted
_DONE = object()


class Streams(Protocol):
    """What the encoder asks of the server and hands it (``LiveStreams``)."""

    def wanted(self, camera: str) -> bool: ...

    def take_key_request(self, camera: str) -> bool: ...

    def init(self, camera: str, data: bytes) -> None: ...

    def fragment(self, camera: str, data: bytes, key: bool) -> None: ...

    def ended(self, camera: str, why: str | None) -> None: ...


class LiveEncoder:
    """Frames of one camera to its ``/live.mp4`` viewers, encoded on a thread of its own."""

    def __init__(self, camera: str, streams: Streams) -> None:
        self.camera = camera
        self.started = 0  # times its thread was started (once per watching, not per viewer)
        self.error: str | None = None
        self._streams = streams
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None

    def offer(self, image: np.ndarray) -> None:
        """The newest annotated frame (main thread): encoded only when someone watches."""
        if self.error is not None or not self._streams.wanted(self.camera):
            return
        if self._thread is None or not self._thread.is_alive():
            self._queue = queue.Queue(maxsize=1)  # a thread that just ended leaves its frame in its own
            self._thread = threading.Thread(target=self._run, args=(self._queue,), name=f"web-h264 {self.camera}",
                                            daemon=True)
            self._thread.start()
            self.started += 1
        put_newest(self._queue, (image, time.monotonic()))

    def finish(self, timeout: float = 1.0) -> None:
        """End the thread (its camera removed, the run ending)."""
        if self._thread is not None and self._thread.is_alive():
            put_newest(self._queue, _DONE)
            self._thread.join(timeout)

    def _run(self, frames: queue.Queue) -> None:
        encoder: Fmp4Encoder | None = None
        why: str | None = None
        try:
            while (item := _next(frames)) is not _DONE and self._streams.wanted(self.camera):
                if item is not None:
                    image, t = cast(tuple[np.ndarray, float], item)
                    encoder = self._encode(encoder, image, t)
        except Exception as error:  # noqa: BLE001 - the live view's failure stops nothing else
            why = str(error) or type(error).__name__
            log.debug_traceback(f"live view of {self.camera}: the encoder failed", error)
            log.warning(f"live view of {self.camera}: the H.264 encoder failed ({why}); "
                        "/live.mp4 ends, the MJPEG stream, the recording and the classification go on")
            self.error = why
        finally:
            _close(encoder)
            self._streams.ended(self.camera, why)

    def _encode(self, encoder: Fmp4Encoder | None, image: np.ndarray, t: float) -> Fmp4Encoder:
        """One frame; a first frame, or one of another size, opens a new encoder (a new init segment)."""
        from live_classify.sinks.web.fmp4 import Fmp4Encoder  # PyAV is loaded only when someone watches

        height, width = image.shape[0] - image.shape[0] % 2, image.shape[1] - image.shape[1] % 2  # yuv420p
        if encoder is None or encoder.size != (width, height):
            _close(encoder)
            encoder = Fmp4Encoder((width, height), lambda data: self._streams.init(self.camera, data),
                                  lambda data, key: self._streams.fragment(self.camera, data, key))
        even = image if image.shape[:2] == (height, width) else np.ascontiguousarray(image[:height, :width])
        encoder.write(even, t, key=self._streams.take_key_request(self.camera))
        return encoder


def _next(frames: queue.Queue) -> object:
    try:
        return frames.get(timeout=POLL_S)
    except queue.Empty:
        return None


def _close(encoder: Fmp4Encoder | None) -> None:
    if encoder is not None:
        try:
            encoder.close()
        except Exception as error:  # noqa: BLE001 - closing a live view: nothing is kept
            log.debug_traceback("live view: closing the encoder failed", error)
