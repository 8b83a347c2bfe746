"""The live pipeline: a capture thread and an inference thread around the engine, joined by queues.

Two ways to flow (:class:`Flow`), chosen by the source:

* **latest** (cameras, streams, a file with ``--realtime``): the main loop takes the newest
  captured frame to show and record (one that falls behind skips to it; the recording counts what
  it missed); the inference thread gets only the newest frame (a one-slot queue that drops the
  oldest, counted as dropped), so neither a slow classifier nor a slow window builds a backlog.
  Each shown frame carries the newest prediction and its age: smooth video, honest labels.
* **every** frame (a video file): nothing is dropped; capture blocks when inference is behind, and
  each frame reaches the main loop with its own prediction. Throughput is what counts here, so
  several inference threads can share the session: frames are dealt to them in turn and collected
  in the same turn, which keeps the order without any sorting.

Several cameras in one process (``batching.py``): each camera is a pipeline with its own capture
thread, reconnects and counters, but no inference thread of its own: one :class:`~live_classify.
batching.Batcher` takes the newest frame of each and runs them as one batch.

Smoothing over frames, when asked for, is applied on the main thread in frame order.
cv2 and onnxruntime release the GIL in their heavy calls, so plain threads overlap for real.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial

from live_classify.engine.classifier import Classifier
from live_classify.engine.postprocess import Smoother
from live_classify.stream.frames import Flow, Frame, Prediction, Shown
from live_classify.stream.inference import Inference
from live_classify.stream.queues import put_newest
from live_classify.stream.stats import Stats
from live_classify.sources.capture import Source

Log = Callable[[str], None]


_END = None  # the sentinel that ends each queue
SHOW_BACKLOG = 2  # live frames waiting for the main loop, which takes the newest: the picture never lags


@dataclass(frozen=True)
class Wake:
    """What the pipelines of several cameras set when a frame waits: for the shared batcher, for
    the main loop (both at once; a spurious wake-up only costs a look)."""

    inference: threading.Event = field(default_factory=threading.Event)
    display: threading.Event = field(default_factory=threading.Event)

    def set(self) -> None:
        self.inference.set()
        self.display.set()


class Pipeline:
    """Runs capture and inference in threads; iterate :meth:`frames` on the main thread."""

    def __init__(self, source: Source, classifier: Classifier, *, flow: Flow, workers: int = 1,
                 smoothing: float = 1.0, pace_fps: float | None = None, max_reconnects: int = 10,
                 log: Log = print, name: str = "", wake: Wake | None = None) -> None:
        """``name``: the camera's, on every frame. ``wake``: this pipeline is one of several cameras
        served by a shared :class:`~live_classify.stream.batching.Batcher`; set whenever a frame waits for
        it or for the main loop."""
        self.source = source
        self.name = name
        self.classifier = classifier
        self.flow = flow
        every_frame = flow is Flow.EVERY
        self.pace_fps = pace_fps  # a file played at its own rate, as if it were live
        self.max_reconnects = max_reconnects
        self.log = log
        self.stats = Stats()
        self.error: str | None = None
        self.reconnecting = False
        self.lost_because = ""  # reconnecting: why the source was lost
        self.last_capture = time.monotonic()  # when the newest frame came: a stall shows as its age
        self.ended = False  # the main loop has seen the end of this pipeline's frames
        self.inference_done = False  # a shared batcher has taken this pipeline's last frame
        self._stop = threading.Event()
        self._wake = wake
        self._smoother = Smoother(smoothing) if smoothing < 1 else None
        self._turn = 0
        self.backend_down: str | None = None  # why the inference server is away, while it is
        own = 0 if wake is not None else workers if every_frame else 1  # inference threads of its own
        engines = [classifier, *(classifier.sibling() for _ in range(own - 1))][:own]
        self._engines = [Inference(c, log, self._stop) for c in engines]
        boxes = max(1, len(engines))
        # Every frame: capture deals frames to each engine's inbox in turn; the main loop takes
        # results from the outboxes in the same turn. Live: capture -> to_show, and capture ->
        # the one engine's one-slot inbox (newest wins) -> results.
        self._inboxes: list[queue.Queue] = [queue.Queue(maxsize=4 if every_frame else 1) for _ in range(boxes)]
        self._outboxes: list[queue.Queue] = [queue.Queue(maxsize=8) for _ in range(boxes)]
        self._to_show: queue.Queue = queue.Queue(maxsize=SHOW_BACKLOG)
        self._results: queue.Queue = queue.Queue()
        self._latest: Prediction | None = None
        capture = "capture" if wake is None else f"capture of {name}"
        self._threads = [threading.Thread(target=self._guard(self._capture_loop), name=capture, daemon=True)]
        self._threads += [
            threading.Thread(target=self._guard(partial(self._inference_loop, n)), name="inference", daemon=True)
            for n in range(len(self._engines))
        ]

    # -- the main thread's side -------------------------------------------------------------

    def start(self) -> Pipeline:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Ask every thread to finish; safe from a signal handler."""
        self._stop.set()

    def join(self, timeout: float = 10.0) -> None:
        self.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def frames(self, idle: Callable[[], None] | None = None) -> Iterator[Shown]:
        """Every frame to show, in order, until the source ends, a thread fails, or stop().

        ``idle`` is called about ten times a second while no frame arrives (a stalled stream, a
        reconnect), so a window stays responsive.
        """
        while not self.ended:
            shown = self.poll(0.1)
            if shown is not None:
                yield shown
            elif not self.ended and idle is not None:
                idle()

    def poll(self, timeout: float) -> Shown | None:
        """The next frame to show, or None if none came within ``timeout`` (0: do not wait). Sets
        ``ended`` once the source has ended, a thread has failed, or stop() was called."""
        if self.ended:
            return None
        box = self._outboxes[self._turn % len(self._outboxes)] if self.flow is Flow.EVERY else self._to_show
        try:
            item = box.get(timeout=timeout) if timeout > 0 else box.get_nowait()
        except queue.Empty:
            self.ended = self._stop.is_set()
            return None
        if self.flow is Flow.LATEST and item is not _END:
            item = self._newest(item)
        if item is _END or self._stop.is_set():
            self.ended = True
            return None
        self._turn += 1
        self.stats.display_rate.tick(time.monotonic())
        if self.flow is Flow.EVERY:
            frame, prediction = item
            prediction = self._smoothed(prediction)
            return Shown(frame, prediction, [prediction], exclusive=True)
        return Shown(item, self._latest, self._drain_results(), exclusive=False)  # inference may still read it

    def _newest(self, frame: Frame) -> Frame:
        """The newest live frame waiting: a main loop that fell behind catches up at once, so the
        picture is never older than its label (the recording counts the frames it never got)."""
        while True:
            try:
                item = self._to_show.get_nowait()
            except queue.Empty:
                return frame
            if item is _END:  # the last item ever put: left for the next poll
                self._to_show.put_nowait(_END)
                return frame
            frame = item

    def leftover_predictions(self) -> list[Prediction]:
        """Predictions made after the last shown frame: call after :meth:`join` so none is lost."""
        return self._drain_results()

    def _drain_results(self) -> list[Prediction]:
        new: list[Prediction] = []
        while True:
            try:
                new.append(self._smoothed(self._results.get_nowait()))
            except queue.Empty:
                break
        if new:
            self._latest = new[-1]
        return new

    def _smoothed(self, prediction: Prediction) -> Prediction:
        if self._smoother is None:
            return prediction
        return replace(prediction, result=self.classifier.smoothed(prediction.result, self._smoother))

    # -- the threads --------------------------------------------------------------------------

    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        """Any failure in a thread stops the pipeline with a message instead of hanging it."""

        def run() -> None:
            try:
                loop()
            except Exception as error:  # noqa: BLE001 - surfaced to the user by the main thread
                if self.error is None:
                    self.error = f"{threading.current_thread().name} failed: {error}"
                self._stop.set()

        return run

    def _capture_loop(self) -> None:
        index = 0
        period = 1.0 / self.pace_fps if self.pace_fps else 0.0
        next_due = time.monotonic()
        try:
            while not self._stop.is_set():
                image = self.source.read()
                if image is None:
                    if not self.source.spec.live or not self._reconnect():
                        break
                    continue
                if period:
                    next_due += period
                    self._stop.wait(max(0.0, next_due - time.monotonic()))
                now = self.last_capture = time.monotonic()
                frame = Frame(index, now, time.time(), image, self.name)
                self.stats.captured += 1
                self.stats.capture_rate.tick(now)
                if self.flow is Flow.EVERY:
                    self._put_blocking(self._inboxes[index % len(self._inboxes)], frame)
                else:
                    self.stats.replaced += put_newest(self._inboxes[0], frame)
                    put_newest(self._to_show, frame)
                self._signal()
                index += 1
        finally:
            self.source.release()
        self._end_of_source(index)

    def _end_of_source(self, frames: int) -> None:
        """Let what is queued drain, then end: through inference for files, at once for live."""
        if self.flow is Flow.EVERY:
            for k in range(len(self._inboxes)):  # in turn, so the main loop meets END where frame N would be
                self._put_blocking(self._inboxes[(frames + k) % len(self._inboxes)], _END)
        else:  # END waits behind the last frame, which is classified too (not replaced, uncounted)
            self._put_blocking(self._inboxes[0], _END)
            put_newest(self._to_show, _END)
        self._signal()

    def _signal(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _reconnect(self) -> bool:
        """Reopen a lost live source with backoff; False once ``max_reconnects`` tries have failed."""
        name, why = self.source.spec.name, self.source.lost_because
        if self._wake is not None:  # one camera of several: which one
            name = f"{self.name} ({name})"
        self.lost_because = why
        self.reconnecting = True
        delay = 0.5
        for attempt in range(1, self.max_reconnects + 1):
            lost = f"lost ({why})" if attempt == 1 else "still lost"
            self.log(f"{name}: {lost}; reconnecting in {delay:g} s (attempt {attempt}/{self.max_reconnects})")
            if self._stop.wait(delay):
                return False
            if self.source.reopen():
                self.stats.reconnects += 1
                self.reconnecting = False
                self.log(f"{name}: reconnected")
                return True
            delay = min(5.0, delay * 2)
        self.error = f"{name}: lost ({why}), and {self.max_reconnects} reconnection attempts failed"
        self._stop.set()
        return False

    def _inference_loop(self, n: int) -> None:
        engine, inbox = self._engines[n], self._inboxes[n]
        while not self._stop.is_set():
            try:
                frame = inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            if frame is _END:
                self._end_of_inference(n)
                return
            results = engine.classify([frame.image])
            while results is None and self.flow is Flow.EVERY and not self._stop.is_set():
                results = engine.classify([frame.image])  # a file's frame waits for the server: none is skipped
            self.backend_down = engine.down
            if results is None:
                self.stats.unserved += 1
                continue
            self.deliver(Prediction(frame, results[0], time.monotonic()), n)

    # -- a shared batcher's side -----------------------------------------------------------------

    def next_for_inference(self) -> Frame | None:
        """The frame waiting for the shared batcher, if one is; at the end of the source, marks
        ``inference_done``."""
        if self.inference_done:
            return None
        try:
            frame = self._inboxes[0].get_nowait()
        except queue.Empty:
            return None
        if frame is _END:
            self._end_of_inference(0)
            return None
        return frame

    def deliver(self, prediction: Prediction, n: int = 0) -> None:
        """A prediction for one of this pipeline's frames, to the main loop (through outbox ``n`` for files)."""
        self.stats.count_classified(prediction)
        if self.flow is Flow.EVERY:
            self._put_blocking(self._outboxes[n], (prediction.frame, prediction))
        else:
            self._results.put(prediction)
        self._signal()

    def _end_of_inference(self, n: int) -> None:
        self.inference_done = True
        if self.flow is Flow.EVERY:
            self._put_blocking(self._outboxes[n], _END)
        self._signal()

    def _put_blocking(self, q: queue.Queue, item: object) -> None:
        """Wait for room (nothing is dropped), but give up when the pipeline stops."""
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
