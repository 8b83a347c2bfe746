"""JSON lines: one object per classified frame, flushed per line, to a file or stdout (``-``); with
``--event``, a line of its own for each event's start and end (it has an ``event`` key, a prediction's has not).
A file is rotated and reopened as ``jsonl_file.py`` says (``--jsonl-rotate``, ``--jsonl-keep``, SIGUSR1)."""
from __future__ import annotations

import json
import os
import stat
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

from live_classify import log
from live_classify.engine.results import stage_times, top_records, unknown_field
from live_classify.pipeline.frames import Prediction
from live_classify.sinks.base import BackgroundWriter, InBackground, Redraw, Update
from live_classify.sinks.events.rules import Change, record
from live_classify.sinks.files import check_writable
from live_classify.sinks.jsonl_file import Rotating, Rotation, listen_for_reopen


class JsonLines(InBackground):
    """The predictions as JSON lines, written by a thread of their own.

    A slow reader (``--jsonl - | slow-consumer``) never holds up the window or the recording. Live,
    at most ``backlog`` lines wait for it and the oldest are skipped (and counted) beyond that; for
    a file (``drop=False``) the run waits for the reader instead, since every frame's line is owed.
    The predictions are the run's result: when they cannot be written, the run fails.
    """

    name = "JSON lines"
    essential = True

    def __init__(self, target: str, source_name: str, *, drop: bool = True, backlog: int = 1000,
                 min_confidence: float | None = None, sources: Mapping[str, str] | None = None,
                 thresholds: Mapping[str, float | None] | None = None, rotation: Rotation | None = None) -> None:
        """A file is appended to: earlier lines are never lost. With ``min_confidence`` each line
        also says whether its answer is "unknown". ``sources``: several cameras, each camera's
        name to its source's (``source_name`` is for the frames of any other); ``thresholds``: each
        camera's own ``min_confidence``; ``rotation``: a file's ``--jsonl-rotate`` and ``--jsonl-keep``."""
        self.source_name = source_name
        self.drop = drop
        self.sources = dict(sources or {})
        self.min_confidence = min_confidence
        self.thresholds = dict(thresholds or {})
        self.lines = 0
        self.reader_gone = False  # stdout was a pipe whose reader closed it
        self._out, self._owned = (sys.stdout, False) if target == "-" else (_open(Path(target)), True)
        # fsync and rotation are for files on a disk: on /dev/null, a pipe or a FIFO fsync fails (EINVAL).
        self._sync = self._owned and stat.S_ISREG(os.fstat(self._out.fileno()).st_mode)
        self._next_sync = 0.0
        self._rotating = Rotating(Path(target), rotation or Rotation()) if self._sync else None
        self._writer: BackgroundWriter[str] = BackgroundWriter("jsonl", self._write_line, drop=drop, backlog=backlog)

    @property
    def stop_requested(self) -> bool:
        return self.reader_gone

    def reconfigure(self, sources: Mapping[str, str], thresholds: Mapping[str, float | None],
                    min_confidence: float | None) -> None:
        """A reload's cameras and thresholds, from the next line on (the file stays open)."""
        self.sources, self.thresholds, self.min_confidence = dict(sources), dict(thresholds), min_confidence

    @property
    def skipped(self) -> int:
        """Lines dropped because the reader was too slow."""
        return self._writer.dropped

    def write(self, update: Update) -> None:
        self.write_predictions(update.shown.new_predictions)

    def write_predictions(self, predictions: Iterable[Prediction]) -> None:
        """Queue one line each; returns at once, unless lines are owed (a file) and the reader lags."""
        for prediction in predictions:
            if not self.reader_gone:
                self._writer.submit(json.dumps(self.record(prediction), ensure_ascii=False) + "\n")

    def write_event(self, change: Change) -> None:
        """An event's start or end: one line of its own, through the same writer (in order, never
        interleaved with a prediction's line)."""
        if not self.reader_gone:
            self._writer.submit(json.dumps(record(change), ensure_ascii=False) + "\n")

    def idle(self, redraw: Redraw) -> None:
        pass

    def record(self, prediction: Prediction) -> dict[str, object]:
        camera = prediction.frame.camera
        source = self.sources.get(camera, self.source_name)
        return line_record(prediction, source, self.thresholds.get(camera, self.min_confidence))

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (waiting at most ``timeout`` for a stuck reader), then close."""
        self._writer.finish(timeout)
        if self._owned:
            try:
                self._out.close()
            except OSError:  # the disk filled up: self.error already says so
                pass

    def summary(self) -> str | None:
        if not (self.lines or self.skipped):
            return None
        skipped = f" ({self.skipped} skipped: the reader was too slow)" if self.skipped else ""
        return f"wrote {self.lines} JSON lines{skipped}"

    def _write_line(self, line: str) -> None:
        """In the writer's thread: one line, flushed; fsynced once a second (a power cut loses a second)."""
        if self.reader_gone:
            return
        try:
            if self._rotating is not None:
                self._out = self._rotating.ready(self._out, len(line.encode("utf-8")))
            self._out.write(line)
            self._out.flush()
            self.lines += 1
            if self._sync and time.monotonic() >= self._next_sync:
                os.fsync(self._out.fileno())
                self._next_sync = time.monotonic() + 1.0
        except BrokenPipeError:
            self.reader_gone = True
            silence_stdout()
            log.info("the reader of the JSON lines went away: stopping")
        except OSError as error:
            raise OSError(f"cannot write JSON lines: {error.strerror or error}") from None


def line_record(prediction: Prediction, source_name: str, min_confidence: float | None) -> dict[str, object]:
    """One classified frame as a JSON line has it (the web server's events and status share it)."""
    top = prediction.result.top
    return {
        "frame": prediction.frame.index,
        "time": round(prediction.frame.wall_time, 3),
        "source": source_name,
        **({"camera": prediction.frame.camera} if prediction.frame.camera else {}),
        "top": top_records(top),
        **unknown_field(top, min_confidence),
        "times_ms": stage_times(prediction.result),
        "latency_ms": round(prediction.latency_ms, 3),
    }


def _open(path: Path) -> TextIO:
    """The file, opened for appending; SIGUSR1 reopens it from now on."""
    check_writable(path, "JSON lines file")
    listen_for_reopen()
    return Rotating(path).open()


def silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so Python's exit flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
