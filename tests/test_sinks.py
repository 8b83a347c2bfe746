"""The recorder in-process: what reaches the disk while it runs, and the rate it records at."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import count_frames
from live_classify import sinks
from live_classify.sinks import Recorder


def frame(n: int) -> np.ndarray:
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, : n % 160] = 200
    return image


def test_the_recording_is_pushed_to_the_disk_while_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A power cut keeps what was fsynced: the recorder syncs its own file as it records, not only at close."""
    record = tmp_path / "synced.avi"
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(sinks.os, "fsync", spy)
    recorder = Recorder(record, 30.0, log=lambda _: None)
    for n in range(10):
        recorder.write(frame(n), n / 30)
    assert str(record) in synced, "nothing was pushed to the disk during the recording"
    recorder.close()
    assert count_frames(record) == 10


def test_a_live_recording_runs_at_the_rate_the_frames_came(tmp_path: Path) -> None:
    """No rate given (a live source): the capture times decide, after the burst a stream starts with
    (what it buffered while the model loaded: here 45 frames 2 ms apart, as on a busy box)."""
    record = tmp_path / "measured.avi"
    recorder = Recorder(record, None, log=lambda _: None)
    times = [k * 0.002 for k in range(45)] + [0.09 + k / 30 for k in range(1, 40)]
    for n, t in enumerate(times):
        recorder.write(frame(n), t)
    recorder.close()
    assert recorder.fps == pytest.approx(30, abs=0.01)
    assert count_frames(record) == len(times)
