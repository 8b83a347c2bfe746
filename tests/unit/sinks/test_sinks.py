"""The outputs as units, fed fake updates: the fan-out isolates failures, the overlay is drawn once,
background writers keep the main loop free, and each sink writes what it is handed."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import count_frames
from updates import PHOTO, FakeSink, update

from live_classify.sinks import files
from live_classify.sinks.base import BackgroundWriter, Sinks
from live_classify.sinks.collect import Collecting, Collector, Quota
from live_classify.sinks.jsonl import JsonLines
from live_classify.sinks.record.mjpeg import MjpegWriter
from live_classify.sinks.record.recording import Recording


def test_a_failing_output_is_dropped_with_one_line_and_the_others_go_on() -> None:
    warnings: list[str] = []
    broken, fine = FakeSink("recording", fail_at=2), FakeSink("window")
    sinks = Sinks([broken, fine], warnings.append)
    for i in range(5):
        sinks.write(update(i, i / 30))
    assert fine.seen == [0, 1, 2, 3, 4] and broken.seen == [0, 1]
    assert broken.closed and not sinks.stop_requested and sinks.failure is None
    assert warnings == ["recording stopped: No space left on device; the rest of the run goes on"]


@pytest.mark.parametrize("essential", [True, False])
def test_an_essential_or_last_output_that_fails_ends_the_run(essential: bool) -> None:
    others = [FakeSink("window")] if essential else []
    sinks = Sinks([FakeSink("JSON lines", essential=essential, fail_at=1), *others], lambda _: None)
    sinks.write(update(0, 0.0))
    assert not sinks.stop_requested
    sinks.write(update(1, 0.1))
    assert sinks.stop_requested and sinks.failure == "No space left on device"


def test_the_overlay_is_drawn_once_a_frame_and_only_when_asked_for() -> None:
    draws: list[int] = []
    sinks = Sinks([FakeSink("window"), FakeSink("recording")], lambda _: None)
    sinks.write(update(0, 0.0, draw=lambda: draws.append(0) or PHOTO))
    assert draws == [0]
    blind = Sinks([FakeSink("JSON lines", canvas=False)], lambda _: None)
    blind.write(update(1, 0.1, draw=lambda: draws.append(1) or PHOTO))
    assert draws == [0]


def test_a_live_background_writer_drops_the_oldest_and_never_blocks() -> None:
    started, release, handled = threading.Event(), threading.Event(), []
    writer: BackgroundWriter[int] = BackgroundWriter(
        "slow", lambda i: (started.set(), release.wait(), handled.append(i)), drop=True, backlog=4)
    writer.submit(0)
    started.wait(10)
    feeder = threading.Thread(target=lambda: [writer.submit(i) for i in range(1, 100)], daemon=True)
    feeder.start()  # the handler is stuck on the first item: submitting must still run through
    feeder.join(10)
    blocked = feeder.is_alive()
    release.set()
    assert not blocked, "a live writer must never make the main loop wait"
    writer.finish()
    assert handled[0] == 0 and handled[-4:] == [96, 97, 98, 99]
    assert writer.dropped == 100 - len(handled) and len(handled) <= 1 + 4


def test_a_file_background_writer_waits_and_loses_nothing() -> None:
    release, handled = threading.Event(), []
    writer: BackgroundWriter[int] = BackgroundWriter("owed", lambda i: (release.wait(), handled.append(i)),
                                                     drop=False, backlog=2)
    feeder = threading.Thread(target=lambda: [writer.submit(i) for i in range(10)], daemon=True)
    feeder.start()
    feeder.join(0.5)
    assert feeder.is_alive(), "submit should wait for room when every item is owed"
    release.set()
    feeder.join(5)
    writer.finish()
    assert handled == list(range(10)) and writer.dropped == 0


def test_a_background_writer_that_fails_keeps_the_error_and_takes_no_more() -> None:
    def handle(i: int) -> None:
        if i == 3:
            raise OSError("disk full")

    writer: BackgroundWriter[int] = BackgroundWriter("failing", handle, drop=False, backlog=2)
    for i in range(10):
        writer.submit(i)
    writer.finish()
    assert writer.error == "disk full"


def test_json_lines_write_every_prediction_and_the_late_ones(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = JsonLines(str(path), "camera 0", drop=False)
    for i in range(3):
        sink.write(update(i, i / 30))
    sink.write_predictions(update(3, 0.1).shown.new_predictions)  # made after the last shown frame
    sink.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["frame"] for line in lines] == [0, 1, 2, 3]
    assert lines[0]["source"] == "camera 0" and lines[0]["top"][0]["label"] == "tiger cat"
    assert lines[0]["times_ms"] == {"preprocess": 1.0, "inference": 2.0, "postprocess": 0.5}
    assert lines[0]["latency_ms"] == 10.0 and sink.summary() == "wrote 4 JSON lines"


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_a_recording_keeps_every_frame_it_is_handed(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    sink = Recording(path, 30.0, drop=False)
    for i in range(45):
        sink.write(update(i, i / 30, image=np.roll(PHOTO, 3 * i, axis=1)))
    sink.close()
    assert sink.error is None and count_frames(path) == 45
    assert sink.summary().startswith(f"recorded 45 frames to {path}")


def test_the_collector_saves_the_raw_frame_before_the_overlay_is_drawn(tmp_path: Path) -> None:
    collector = Collector(tmp_path, ["cat"])
    drawn_on = PHOTO.copy()

    def draw_in_place() -> np.ndarray:  # a file's frames are annotated in place
        drawn_on[:40] = 255
        return drawn_on

    sinks = Sinks([Collecting(collector, Quota(collector, "cat", 1, 1.0), None, lambda _: None),
                   FakeSink("window")], lambda _: None)
    sinks.write(update(0, 0.0, draw=draw_in_place, image=drawn_on))
    saved = cv2.imread(str(next((tmp_path / "cat").glob("*.png"))))
    assert np.array_equal(saved, PHOTO) and not np.array_equal(drawn_on, PHOTO)
    assert sinks.stop_requested  # --count 1 reached


def frame(n: int) -> np.ndarray:
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, : n % 160] = 200
    return image


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_the_recording_is_pushed_to_the_disk_while_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           suffix: str) -> None:
    """A power cut keeps what was fsynced: the recorder syncs its own file as it records, not only at close."""
    record = tmp_path / f"synced{suffix}"
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", spy)
    sink = Recording(record, 30.0, drop=False)
    for n in range(10):
        sink.write(update(n, n / 30, image=frame(n)))
    sink._writer.finish()  # noqa: SLF001 - every frame through the encoder, the file still open
    assert str(record) in synced, "nothing was pushed to the disk during the recording"
    sink.close()
    assert count_frames(record) == 10


def test_a_live_recording_runs_at_the_rate_the_frames_came(tmp_path: Path) -> None:
    """No rate given (a live source): the capture times decide, after the burst a stream starts with
    (what it buffered while the model loaded: here 45 frames 2 ms apart, as on a busy box)."""
    record = tmp_path / "measured.avi"
    recorder = MjpegWriter(record, None, log=lambda _: None)
    times = [k * 0.002 for k in range(45)] + [0.09 + k / 30 for k in range(1, 40)]
    for n, t in enumerate(times):
        recorder.write(frame(n), t)
    recorder.close()
    assert recorder.fps == pytest.approx(30, abs=0.01)
    assert count_frames(record) == len(times)


def test_checking_a_path_is_a_real_try_that_leaves_nothing_changed(tmp_path: Path) -> None:
    """The up-front check creates the file to know (os.access says yes to root in /proc), and
    removes it again; an existing file keeps its bytes; a folder that takes no files is named."""
    files.check_writable(tmp_path / "new.mp4", "recording")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "old.mp4").write_bytes(b"keep me")
    files.check_writable(tmp_path / "old.mp4", "recording")
    assert (tmp_path / "old.mp4").read_bytes() == b"keep me"
    with pytest.raises(files.LiveClassifyError, match=r"^cannot write recording /proc/new.mp4: /proc takes no new"):
        files.check_writable(Path("/proc/new.mp4"), "recording")
