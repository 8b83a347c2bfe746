"""Recordings' timestamps as tools read them (issue 33): the stream says a rate near the frames'
own (not 30 fps for frames 15 fps apart), each packet's duration is the time to the next frame,
and ``ffmpeg -i X.mp4 -f null -`` finds no "non monotonically increasing dts" in a segment, even
with a camera's jitter and a burst of buffered frames after a reconnect."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import av
import numpy as np
from conftest import run_cli
from scenes import EVENT_FLAGS

from live_classify.sinks.record.retention import SegmentPlan, segment_files
from live_classify.sinks.record.segments import SegmentedMp4

NOON = time.mktime((2026, 11, 27, 12, 0, 0, 0, 0, -1))


def camera_times(seconds: float, fps: float, jitter_s: float, burst_at: float) -> list[float]:
    """A live camera's capture times: ``fps`` with jitter, and 6 buffered frames 1 ms apart at ``burst_at``."""
    rng = np.random.default_rng(7)
    times, t = [], 0.0
    while t < seconds:
        times.append(t)
        if times[-1] < burst_at <= times[-1] + 1 / fps:
            times += [t + (1 + i) / 1000 for i in range(5)]
            t += 0.005
        t += 1 / fps + rng.uniform(-jitter_s, jitter_s)
    return times


def dts_warnings(path: Path) -> int:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-i", str(path), "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    return done.stderr.count("non monotonically increasing dts")


def stated_duration(path: Path) -> float:
    """The first packet's duration as ffprobe states it."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=duration_time",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout
    return float(out.split()[0])


def test_segments_state_the_frames_rate_and_durations_and_no_tool_sees_dts_go_back(tmp_path: Path) -> None:
    writer = SegmentedMp4(tmp_path, SegmentPlan(2.0, "camera-0"), wall_clock=lambda: NOON)
    image = np.zeros((120, 160, 3), np.uint8)
    for i, t in enumerate(camera_times(8.0, 15.0, 0.02, burst_at=5.0)):
        image[:, :, 1] = (i * 7) % 255
        writer.write(image, t)
    writer.close()
    later = segment_files(tmp_path / "camera-0")[1:]  # the first one opens before the rate is measured
    assert len(later) == 3
    for path in later:
        assert dts_warnings(path) == 0, path
        assert 1 / 25 < stated_duration(path) <= 1 / 15, "a rate near the frames' 15 fps, not 30"
        with av.open(str(path)) as container:
            packets = [p for p in container.demux(container.streams.video[0]) if p.dts is not None]
        assert [p.duration for p in packets[:-1]] == [b.dts - a.dts for a, b in zip(packets, packets[1:], strict=False)]


def test_a_files_segments_and_clips_state_its_own_rate_and_no_tool_sees_dts_go_back(scenes: Path,
                                                                                    tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--jsonl", "/dev/null",
                  "--record", f"{rec}/", "--segment", "3s", "--record-mode", "both")
    assert run.returncode == 0, run.stderr
    files = sorted(rec.glob("scenes/**/*.mp4"))
    assert len([f for f in files if "/events/" in str(f)]) == 2 and len(files) == 6
    for path in files:
        assert dts_warnings(path) == 0, path
        assert stated_duration(path) == 0.1, f"{path}: the scene's 10 fps"


def test_a_source_faster_than_the_rate_stated_keeps_its_own_times(tmp_path: Path) -> None:
    """A camera at 5 fps in one segment (night) and 30 fps in the next: the next states about 6 fps,
    yet its frames stay at their own times, never pushed later and later."""
    writer = SegmentedMp4(tmp_path, SegmentPlan(3.0, "camera-0"), wall_clock=lambda: NOON)
    image = np.zeros((120, 160, 3), np.uint8)
    times = [i / 5 for i in range(15)] + [3.0 + i / 30 for i in range(90)]
    for i, t in enumerate(times):
        image[:, :, 1] = (i * 7) % 255
        writer.write(image, t)
    writer.close()
    second = segment_files(tmp_path / "camera-0")[1]
    with av.open(str(second)) as container:
        stream = container.streams.video[0]
        pts = [float(p.pts * stream.time_base) for p in container.demux(stream) if p.pts is not None]
    assert len(pts) == 90 and max(a - i / 30 for i, a in enumerate(pts)) <= 1.001  # at most a burst's spread
