"""What every output has in common: the update it is handed, the interface it keeps, the fan-out
that isolates its failures, and a background writer for its slow work.

The main loop hands each shown frame to :class:`Sinks` as an :class:`Update`. A sink's ``write``
runs on the main thread and returns at once: encoding, disk and network work goes to its
:class:`BackgroundWriter`. A sink that fails sets ``error`` and is dropped with one line; the run
goes on unless it was essential (the only output, or one the user cannot do without).
"""
from __future__ import annotations

import gc
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Generic, Protocol, TypeVar

import numpy as np

from live_classify import log
from live_classify.pipeline.frames import Prediction, Shown
from live_classify.pipeline.queues import put_newest
from live_classify.sinks.events.rules import Change

T = TypeVar("T")
Redraw = Callable[[str], "np.ndarray | None"]  # a camera's last frame drawn anew saying why no new one comes, or None


@dataclass(frozen=True)
class Update:
    """One shown frame as the sinks see it."""

    shown: Shown  # the frame, the prediction drawn on it, the predictions made since the last one
    source_time: float  # seconds on the source's own clock (a file's time, a camera's capture time)
    draw: Callable[[], np.ndarray] = field(repr=False, compare=False)  # the overlay, for ``canvas``

    @cached_property
    def canvas(self) -> np.ndarray:
        """The annotated frame, drawn the first time a sink asks: at most once a frame, never when
        no sink shows or records. On a file's frames it is drawn in place, so a sink that wants
        the raw frame must come before the first that asks."""
        return self.draw()


class Sink(Protocol):
    """An output of the run: the window, a recording, JSON lines, collected frames, ..."""

    error: str | None  # why it gave up (set by the sink, from any thread)

    @property
    def name(self) -> str:
        """For messages: "recording", "JSON lines"."""

    @property
    def essential(self) -> bool:
        """When it fails, the run fails with it."""

    @property
    def stop_requested(self) -> bool:
        """The run should end cleanly (q pressed, the reader went away, enough collected)."""

    def write(self, update: Update) -> None:
        """Take one frame; return at once (slow work goes to a background writer)."""

    def idle(self, redraw: Redraw) -> None:
        """Some camera sends no frame (a stall, a reconnect): keep alive; ``redraw(camera)`` gives
        that camera's last frame annotated anew, saying why, or None while its frames flow."""

    def close(self) -> None:
        """Finish: write what is queued, close files (each way out of the run comes here)."""

    def summary(self) -> str | None:
        """One line for the end of the run, or None."""


class Sinks:
    """Every output of a run, fed in turn; one that fails is closed and dropped, the others go on."""

    def __init__(self, sinks: list[Sink], warn: Callable[[str], None]) -> None:
        self.active = list(sinks)
        self.all = list(sinks)
        self.failure: str | None = None  # an essential output failed: the run ends with this error
        self._warn = warn
        self._closing: list[threading.Thread] = []  # outputs a reload ended, closing
        self._ended: list[str] = []  # their summaries, once closed (the outputs themselves let go)

    def arrange(self, active: Sequence[Sink], gone: Sequence[Sink]) -> None:
        """``active`` fed in this order from now on (but those a failure dropped), ``gone`` closed."""
        dropped = [sink for sink in self.all if all(sink is not a for a in self.active)]
        self.active = [sink for sink in active if all(sink is not d for d in dropped)]
        self.all += [sink for sink in active if all(sink is not a for a in self.all)]
        self.remove(gone)

    def remove(self, gone: Sequence[Sink]) -> None:
        """Outputs a reload ended: fed no more, closed in a thread (a last segment, an MQTT goodbye take a moment)."""
        self.active = [sink for sink in self.active if all(sink is not g for g in gone)]
        self.all = [sink for sink in self.all if all(sink is not g for g in gone)]  # its encoder, buffers: let go
        closing = threading.Thread(target=self._close_each, args=(list(gone),), name="closing", daemon=True)
        closing.start()
        self._closing = [*[t for t in self._closing if t.is_alive()], closing]

    def _close_each(self, sinks: list[Sink]) -> None:
        """Each one closed, its summary kept; then its encoder's threads and buffers freed now, not when
        Python's collector happens to run (cycles: a writer's thread and its sink, a clip's packets)."""
        while sinks:
            self._close_one(sinks.pop(0))
        gc.collect()

    def _close_one(self, sink: Sink) -> None:
        try:
            sink.close()
            self._ended += [line] if (line := sink.summary()) else []
        except Exception as error:  # noqa: BLE001 - one output's failure never stops the others' closing
            log.debug_traceback(f"{sink.name}: closing failed", error)

    @property
    def stop_requested(self) -> bool:
        return self.failure is not None or any(sink.stop_requested for sink in self.active)

    def write(self, update: Update) -> None:
        for sink in list(self.active):
            self._guarded(sink, sink.write, update)

    def idle(self, redraw: Redraw) -> None:
        for sink in list(self.active):
            self._guarded(sink, sink.idle, redraw)

    def write_late(self, predictions: list[Prediction]) -> None:
        """Predictions made after the last shown frame, to the sinks that keep predictions rather
        than frames (they have ``write_predictions``): at the end of a run none is lost."""
        for sink in list(self.active):
            if hasattr(sink, "write_predictions"):
                self._guarded(sink, sink.write_predictions, predictions)

    def close(self) -> None:
        for closing in self._closing:
            closing.join(30.0)
        for sink in self.active:
            try:
                sink.close()
            except Exception as error:  # noqa: BLE001 - one output's failure never stops the others' closing
                log.debug_traceback(f"{sink.name}: closing failed", error)
                sink.error = sink.error or str(error)
        self._collect_failures()

    def summaries(self) -> list[str]:
        return [*self._ended, *[line for sink in self.all if (line := sink.summary())]]

    def _guarded(self, sink: Sink, call: Callable[[T], None], arg: T) -> None:
        try:
            call(arg)
        except Exception as error:  # noqa: BLE001 - isolate the failure to this output
            log.debug_traceback(f"{sink.name} failed", error)
            sink.error = sink.error or str(error)
        self._collect_failures()

    def _collect_failures(self) -> None:
        """Close and drop the sinks that failed; an essential one, or the last one, fails the run."""
        for sink in [s for s in self.active if s.error]:
            self.active.remove(sink)
            try:
                sink.close()
            except Exception as error:  # noqa: BLE001 - it already failed; its first error is what counts
                log.debug_traceback(f"{sink.name}: closing after its failure failed too", error)
            if sink.essential or not self.active:
                self.failure = self.failure or sink.error
            else:
                self._warn(f"{sink.name} stopped: {sink.error}; the rest of the run goes on")


class BackgroundWriter(Generic[T]):
    """A thread of its own for an output's slow work, fed through a bounded queue.

    ``drop=True`` (a live source): when the work falls behind, the oldest waiting items are dropped
    and counted, so memory stays flat and the main loop never waits. ``drop=False`` (a file: every
    frame is owed): the main loop waits for room instead. An exception in ``handle`` ends the thread
    and is kept in ``error``; items offered after that are ignored. With a ``gate``, the thread takes
    the next item only while the gate is set, so that while it is not (a network output's peer is
    away) every waiting item is in the queue, where the oldest is dropped first.
    """

    def __init__(self, name: str, handle: Callable[[T], None], *, drop: bool, backlog: int,
                 gate: threading.Event | None = None) -> None:
        self.dropped = 0
        self.error: str | None = None
        self._handle = handle
        self._drop = drop
        self._gate = gate
        self._queue: queue.Queue = queue.Queue(maxsize=backlog)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> None:
        if self.error is not None:
            return
        if self._drop:
            self.dropped += put_newest(self._queue, item)
        else:
            while self.error is None and self._thread.is_alive():
                try:
                    self._queue.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

    def finish(self, timeout: float = 10.0) -> None:
        """Let the queued items be handled (waiting at most ``timeout`` s for stuck work), then end."""
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            try:
                self._queue.put(_DONE, timeout=0.1)
                break
            except queue.Full:
                continue
        self._thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while True:
            if self._gate is not None:
                self._gate.wait()
            if (item := self._queue.get()) is _DONE:
                return
            try:
                self._handle(item)
            except Exception as error:  # noqa: BLE001 - reported by the sink that owns this writer
                log.debug_traceback(f"{self._thread.name} thread failed", error)
                self.error = str(error) or type(error).__name__
                return


_DONE = object()


class InBackground:
    """A sink whose slow work runs on ``self._writer``: a failure found on that thread is the sink's ``error``."""

    _writer: BackgroundWriter

    @property
    def error(self) -> str | None:
        return self._writer.error

    @error.setter
    def error(self, value: str | None) -> None:
        self._writer.error = value


def _nothing(camera: str) -> None:
    """No redraw: the frame that came is another camera's."""
    return None


class OneCamera:
    """A sink that belongs to one camera of several (its recording, its MQTT topics): it sees
    only that camera's frames and predictions; its messages name the camera."""

    def __init__(self, camera: str, sink: Sink) -> None:
        self.camera = camera
        self.sink = sink
        self.name = f"{camera} {sink.name}"
        self.essential = sink.essential

    @property
    def error(self) -> str | None:
        return self.sink.error

    @error.setter
    def error(self, value: str | None) -> None:
        self.sink.error = value

    @property
    def stop_requested(self) -> bool:
        return self.sink.stop_requested

    def write(self, update: Update) -> None:
        if update.shown.frame.camera == self.camera:
            self.sink.write(update)
        else:  # while the others' frames flow, its camera may send none (stalled, not reached yet)
            self.sink.idle(_nothing)

    def write_predictions(self, predictions: list[Prediction]) -> None:
        if hasattr(self.sink, "write_predictions"):
            self.sink.write_predictions([p for p in predictions if p.frame.camera == self.camera])

    def write_event(self, change: Change) -> None:
        """An event's start or end, if of its camera."""
        if hasattr(self.sink, "write_event") and change.event.camera == self.camera:
            self.sink.write_event(change)

    def idle(self, redraw: Redraw) -> None:
        self.sink.idle(redraw)

    def close(self) -> None:
        self.sink.close()

    def summary(self) -> str | None:
        line = self.sink.summary()
        return f"{self.camera}: {line}" if line else None
