"""One camera (or stream, or video file) of the run: its capture thread, its queues, its counters,
its state. Inference is not its business: a scheduler (``scheduler.py``) takes its frames, gives answers.

Two ways to flow (:class:`~live_classify.pipeline.frames.Flow`), chosen by the source:

* **latest** (cameras, streams, a file with ``--realtime``): the main loop takes the newest
  captured frame to show and record (one that falls behind skips to it; the recording counts what
  it missed); inference gets only the newest frame (a one-slot inbox that drops the oldest, counted
  as dropped), so neither a slow classifier nor a slow window builds a backlog. Each shown frame
  carries the newest prediction and its age: smooth video, honest labels.
* **every** frame (a video file): nothing is dropped; capture blocks when inference is behind, and
  each frame reaches the main loop with its own prediction. With several lanes (the per-core worker
  pool) frames are dealt to the lanes in turn and collected in the same turn (in order, unsorted).
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from live_classify.config import GateConfig, HealthConfig
from live_classify.log import debug_traceback, info
from live_classify.pipeline.frames import Flow, Frame, Log, Prediction, Shown
from live_classify.pipeline.gate import CameraGate, capture_time
from live_classify.pipeline.health import CameraHealth
from live_classify.pipeline.queues import Wake, newest, put_blocking, put_newest
from live_classify.pipeline.reconnect import reopen_with_backoff
from live_classify.pipeline.smoothing import Smoothing
from live_classify.pipeline.stats import Stats
from live_classify.pipeline.status import CameraState, CameraStatus
from live_classify.pipeline.streak import Streak
from live_classify.sources.capture import Source

_END = None  # the sentinel that ends each queue
SHOW_BACKLOG = 2  # live frames waiting for the main loop, which takes the newest: the picture never lags
KEEPS_ITS_ANSWER = (CameraState.LIVE, CameraState.ENDED)  # still: the label kept (a lost camera re-checks none)


class Camera:
    """Captures in a thread of its own; the main loop calls :meth:`poll`, the scheduler
    :meth:`next_for_inference` and :meth:`deliver`."""

    def __init__(self, source: Source, *, flow: Flow, name: str = "", source_name: str = "",
                 lanes: int = 1, smoothed: Smoothing | None = None, pace_fps: float | None = None,
                 max_reconnects: int | None = 10, stall_s: float = 5.0, alone: bool = True,
                 wake: Wake | None = None, log: Log = info, gate: GateConfig | None = None,
                 clock: Callable[[Frame], float] = capture_time, health: HealthConfig | None = None) -> None:
        """``lanes``: inboxes dealt in turn (every frame, several workers). ``stall_s``: no frame for
        longer than this is STALLED. ``alone``: the run's only camera (its messages need no name).
        ``gate``: ``--gate motion``'s settings; ``clock``: the source's (the refresh is counted on it);
        ``health``: its health checks' (None: none)."""
        self.source = source
        self.name = name
        self.source_name = source_name or source.spec.name
        self.flow = flow
        self.pace_fps = pace_fps  # a file played at its own rate, as if it were live
        self.max_reconnects = max_reconnects
        self.stall_s = stall_s
        self.log = log
        self.stats = Stats()
        self.error: str | None = None
        self.lost_because = ""  # reconnecting: why the source was lost
        self.last_capture = time.monotonic()  # when the newest frame came: a stall shows as its age
        self.ended = False  # the main loop has seen the end of this camera's frames (the main loop writes it)
        self.inference_done = False  # the scheduler has taken this camera's last frame (its thread writes it)
        self.backend_down: str | None = None  # why the inference server is away, while it is (the scheduler's)
        self._state = CameraState.STARTING  # the capture thread's
        self._alone = alone
        self._streak = Streak(max_reconnects)  # reopening tries since the last frame read
        self._stop = threading.Event()
        self._wake = wake or Wake()
        self.smoothed = smoothed  # a new model's: smooth_with(), on the scheduler's thread between two batches
        self.gate = CameraGate(gate, clock, paced=flow is Flow.LATEST)  # a reload changes it in place: gate.set()
        self.health = CameraHealth(health)  # likewise: health.set(), and health.relearn()
        self.still = False  # the newest shown frame kept the last answer (the main loop writes it)
        self._sent = -1  # live: the newest frame handed to inference (the capture thread's)
        self._turn = 0
        self._lanes_done: set[int] = set()  # the scheduler's
        every = flow is Flow.EVERY
        lanes = lanes if every else 1
        self._inboxes: list[queue.Queue] = [queue.Queue(maxsize=4 if every else 1) for _ in range(lanes)]
        self._outboxes: list[queue.Queue] = [queue.Queue(maxsize=8) for _ in range(lanes)]
        self._to_show: queue.Queue = queue.Queue(maxsize=SHOW_BACKLOG)
        self._results: queue.Queue = queue.Queue()
        self._latest: Prediction | None = None
        thread = "capture" if alone else f"capture of {name}"
        self._thread = threading.Thread(target=self._guarded, name=thread, daemon=True)

    @property
    def lanes(self) -> int:
        return len(self._inboxes)

    @property
    def state(self) -> CameraState:
        """The capture thread's state; LIVE with no frame for longer than ``stall_s`` reads STALLED."""
        state = self._state
        if state is CameraState.LIVE and time.monotonic() - self.last_capture > self.stall_s:
            return CameraState.STALLED
        return state

    def snapshot(self) -> CameraStatus:
        """This camera now, frozen."""
        stats, state = self.stats, self.state
        with stats.lock:  # the scheduler appends under this lock
            recent = tuple(stats.latencies_ms)
        return CameraStatus(
            name=self.name, source_name=self.source_name, state=state, lost_because=self.lost_because,
            last_capture=self.last_capture, captured=stats.captured, classified=stats.classified,
            dropped=stats.dropped, reconnects=stats.reconnects, capture_fps=stats.capture_rate.rate,
            inference_fps=stats.inference_rate.rate, display_fps=stats.display_rate.rate,
            recent_latencies_ms=recent, backend_down=self.backend_down, ended=self.ended, error=self.error,
            gated=self.gate.gated, still=self.still and state in KEEPS_ITS_ANSWER,
            health=self.health.problem(time.monotonic(), receiving=state is CameraState.LIVE))

    def start(self) -> Camera:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the capture thread to finish; safe from a signal handler."""
        self._stop.set()
        self._wake.set()

    @property
    def running(self) -> bool:  # its capture thread has not ended yet
        return self._thread.is_alive()

    def smooth_with(self, smoothed: Smoothing | None) -> None:  # a new model's smoothing
        self.smoothed = smoothed

    def join(self, timeout: float = 10.0) -> None:
        self.stop()
        self._thread.join(timeout)

    def poll(self, timeout: float = 0.0) -> Shown | None:
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
            item = newest(self._to_show, item, _END)  # a main loop that fell behind catches up at once
        if item is _END or self._stop.is_set():
            self.ended = True
            return None
        self._turn += 1
        self.stats.display_rate.tick(time.monotonic())
        if self.flow is Flow.LATEST:  # inference may still read the frame; the answer is kept once none is pending
            new = self._drain_results()
            kept = item.still and self._latest is not None and self._latest.frame.index >= self._sent
            shown = Shown(item, self._latest, new, exclusive=False, kept=kept)
        elif item[1] is None:  # a file's still frame: the answer of the frame before it, in order
            shown = Shown(item[0], self._latest, [], exclusive=True, kept=self._latest is not None)
        else:
            self._latest = prediction = self._smooth(item[1])
            shown = Shown(item[0], prediction, [prediction], exclusive=True)
        self.still = shown.kept
        return shown

    def leftover_predictions(self) -> list[Prediction]:
        """Predictions made after the last shown frame: call after :meth:`join` so none is lost."""
        return self._drain_results()

    def _drain_results(self) -> list[Prediction]:
        new: list[Prediction] = []
        while True:
            try:
                new.append(self._smooth(self._results.get_nowait()))
            except queue.Empty:
                break
        if new:
            self._latest = new[-1]
        return new

    def _smooth(self, prediction: Prediction) -> Prediction:
        if self.smoothed is None:
            return prediction
        return replace(prediction, result=self.smoothed(prediction.result))

    # -- the scheduler's side, then the capture thread's -----------------------------------------
    def next_for_inference(self, lane: int = 0, timeout: float = 0.0) -> Frame | None:
        """The frame waiting in ``lane`` (waiting up to ``timeout`` for one); at the end of the
        source, marks ``inference_done``."""
        if self.lane_done(lane):
            return None
        inbox = self._inboxes[lane]
        while True:
            try:
                frame = inbox.get(timeout=timeout) if timeout > 0 else inbox.get_nowait()
            except queue.Empty:
                return None
            if frame is _END:
                break
            if not frame.still:
                return frame
            put_blocking(self._outboxes[lane], (frame, None), self._stop)  # a file's still frame, unclassified
            self._wake.set()
        self._lanes_done.add(lane)
        self.inference_done = len(self._lanes_done) == len(self._inboxes)
        if self.flow is Flow.EVERY:
            put_blocking(self._outboxes[lane], _END, self._stop)
        self._wake.set()
        return None

    def lane_done(self, lane: int) -> bool:
        """The last frame of ``lane`` has been taken."""
        return lane in self._lanes_done

    def deliver(self, prediction: Prediction, lane: int = 0) -> None:
        """A prediction for one of this camera's frames, to the main loop (through ``lane`` for files)."""
        self.stats.count_classified(prediction)
        if self.flow is Flow.EVERY:
            put_blocking(self._outboxes[lane], (prediction.frame, prediction), self._stop)
        else:
            self._results.put(prediction)
        self._wake.set()

    def _guarded(self) -> None:
        """A failure of the capture thread stops the camera with a message instead of hanging it."""
        try:
            self._capture_loop()
        except Exception as error:  # noqa: BLE001 - surfaced to the user by the main thread
            debug_traceback(f"{threading.current_thread().name} failed", error)
            if self.error is None:
                self.error = f"{threading.current_thread().name} failed: {error}"
            self._stop.set()
            self._wake.set()

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
                self._streak.end()  # a frame: the camera is back for real
                if period:
                    next_due += period
                    self._stop.wait(max(0.0, next_due - time.monotonic()))
                self._hand_over(Frame(index, time.monotonic(), time.time(), image, self.name))
                index += 1
        finally:
            self.source.release()
        if self._state is not CameraState.LOST:
            self._state = CameraState.ENDED
        self._end_of_source(index)

    def _hand_over(self, frame: Frame) -> None:
        """A new frame: to inference (in turn, or newest wins; a still one never) and to the main loop."""
        self.last_capture = frame.t_capture
        self._state = CameraState.LIVE
        self.stats.captured += 1
        self.stats.capture_rate.tick(frame.t_capture)
        frame = self.gate.look(frame, self.health.look)  # the small luma made once for both, when due
        if self.flow is Flow.EVERY:
            put_blocking(self._inboxes[frame.index % len(self._inboxes)], frame, self._stop)
        else:
            if not frame.still:
                self.stats.replaced += put_newest(self._inboxes[0], frame)
                self._sent = frame.index
            put_newest(self._to_show, frame)
        self._wake.set()

    def _end_of_source(self, frames: int) -> None:
        """Let what is queued drain, then end: through inference for files, at once for live."""
        if self.flow is Flow.EVERY:
            for k in range(len(self._inboxes)):  # in turn, so the main loop meets END where frame N would be
                put_blocking(self._inboxes[(frames + k) % len(self._inboxes)], _END, self._stop)
        else:  # END waits behind the last frame, which is classified too (not replaced, uncounted)
            put_blocking(self._inboxes[0], _END, self._stop)
            put_newest(self._to_show, _END)
        self._wake.set()

    def _reconnect(self) -> bool:
        """Reopen a lost live source with backoff; False once its streak of tries (``Streak``) failed."""
        name, why = self.source.spec.name, self.source.lost_because
        name = name if self._alone else f"{self.name} ({name})"  # one camera of several: which one
        self.lost_because = why
        self._state = CameraState.RECONNECTING
        if reopen_with_backoff(self.source, name, self._streak, self._stop, self.log):
            self.stats.reconnects += 1
            self._state = CameraState.LIVE
            return True
        if self._stop.is_set():
            return False
        self.error = f"{name}: lost ({why}), and {self.max_reconnects} reconnection attempts failed"
        self._state = CameraState.LOST
        self._stop.set()
        return False
