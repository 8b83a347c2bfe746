"""The H.264 MP4 writer, read back as a player would (ffprobe, OpenCV): codec, frames, a true
timeline through bursts and stalls, keyframes every second, and what a hard kill leaves."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, count_frames
from recordings import keyframe_times, probe

from live_classify.config import EncoderSettings
from live_classify.errors import LiveClassifyError
from live_classify.sinks.record import mp4
from live_classify.sinks.record.mp4 import Mp4Writer

if shutil.which("ffprobe") is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install ffmpeg (.ci/run does)")
    pytest.skip("ffprobe is not installed (apt-get install ffmpeg)", allow_module_level=True)

PHOTO = cv2.resize(cv2.imread(str(CHELSEA)), (640, 480))






def write(path: Path, times: list[float], size: tuple[int, int] = (640, 480)) -> Mp4Writer:
    writer = Mp4Writer(path, size)
    for i, t in enumerate(times):
        writer.write(np.roll(PHOTO, 4 * i, axis=1), t)
    writer.close()
    return writer


def steady(start: float, frames: int, fps: float = 30.0) -> list[float]:
    return [start + i / fps for i in range(frames)]


def test_h264_yuv420p_every_frame_at_the_capture_rate(tmp_path: Path) -> None:
    times = steady(100.0, 90)
    write(tmp_path / "a.mp4", times)
    stream = probe(tmp_path / "a.mp4")
    assert (stream["codec_name"], stream["pix_fmt"]) == ("h264", "yuv420p")
    assert int(stream["nb_read_frames"]) == 90 == count_frames(tmp_path / "a.mp4")
    assert float(stream["duration"]) == pytest.approx(3.0, rel=0.05)


def test_a_burst_at_open_and_a_stall_keep_the_wall_clock_duration(tmp_path: Path) -> None:
    """27 buffered frames 1 ms apart (an RTSP camera opening), 2 s at 30 fps, a 3 s stall, 1 s more."""
    burst = [i / 1000 for i in range(27)]
    times = burst + steady(burst[-1] + 1 / 30, 60) + steady(burst[-1] + 2 + 3 + 1 / 30, 30)
    write(tmp_path / "b.mp4", times)
    stream = probe(tmp_path / "b.mp4")
    assert int(stream["nb_read_frames"]) == len(times)
    wall = times[-1] - times[0] + 1 / 30
    assert float(stream["duration"]) == pytest.approx(wall, rel=0.05)


def test_a_keyframe_every_second_of_capture_time(tmp_path: Path) -> None:
    write(tmp_path / "k.mp4", steady(0.0, 150))
    keys = keyframe_times(tmp_path / "k.mp4")
    assert len(keys) >= 5 and keys[0] == 0.0
    assert max(np.diff(keys)) <= 1.0 + 1 / 30 + 1e-6


@pytest.mark.parametrize("fps", [10.0, 15.0, 25.0])
def test_a_keyframe_every_second_at_any_rate(tmp_path: Path, fps: float) -> None:
    """Every second of capture time, not every 30 frames (which is one second only at 30 fps)."""
    write(tmp_path / "k.mp4", steady(0.0, int(5 * fps), fps))
    keys = keyframe_times(tmp_path / "k.mp4")
    assert keys == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0], abs=1 / fps + 1e-3)


def test_frames_within_one_millisecond_are_all_recorded_in_order(tmp_path: Path) -> None:
    """A burst can stamp two frames within a millisecond, or even alike: each gets its own instant
    (one millisecond after the one before), the recording goes on, and its length stays true."""
    times = [0.0, 0.0004, 0.0004, 0.0009, *steady(1 / 30, 59)]  # four frames in one millisecond, then 2 s
    writer = write(tmp_path / "t.mp4", times)
    assert writer.frames == len(times) == count_frames(tmp_path / "t.mp4")
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=pts_time",
                          "-of", "csv=p=0", str(tmp_path / "t.mp4")], capture_output=True, text=True, check=True).stdout
    stamps = [float(line.strip(",")) for line in out.split()]
    assert stamps[:5] == pytest.approx([0.0, 0.001, 0.002, 0.003, 1 / 30], abs=1e-3)
    assert stamps[-1] == pytest.approx(times[-1], abs=1e-3) and stamps == sorted(set(stamps))


def test_odd_sides_lose_a_pixel_and_another_size_is_letterboxed_in_one_line(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A camera that came back square (480x480) in a 640x480 file: black bars, never stretched (issue 25)."""
    said: list[str] = []
    monkeypatch.setattr(mp4.log, "warning", said.append)
    writer = Mp4Writer(tmp_path / "s.mp4", (641, 481))
    assert writer.size == (640, 480)
    writer.write(cv2.resize(PHOTO, (641, 481)), 0.0)  # odd sides: cropped by a pixel, no line
    square = cv2.resize(PHOTO, (480, 480))
    for i in range(3):
        writer.write(square, (1 + i) / 30)
    writer.close()
    capture = cv2.VideoCapture(str(tmp_path / "s.mp4"))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    assert [f.shape[:2] for f in frames] == [(480, 640)] * 4
    first, last = frames[0].astype(int), frames[-1].astype(int)
    assert first[:, :80].mean() > 60 and last[:, :75].max() < 30 and last[:, -75:].max() < 30  # bars of 80 px
    assert abs(last[:, 85:555] - square[:, 5:475]).mean() < 10, "the picture itself, unstretched"
    assert said == [f"{tmp_path / 's.mp4'}: the source's frames are now 480x480: letterboxed into 640x480, "
                    "the recording's size"]


def test_an_encoder_this_machine_cannot_open_is_one_clear_error(tmp_path: Path) -> None:
    try:
        Mp4Writer(tmp_path / "n.mp4", (640, 480), EncoderSettings(encoder="h264_nvenc")).close()
        pytest.skip("this machine has NVENC")
    except LiveClassifyError as error:
        assert "h264_nvenc cannot open on this machine" in str(error)
    with pytest.raises(LiveClassifyError, match="unknown encoder 'x265'"):
        Mp4Writer(tmp_path / "n.mp4", (640, 480), EncoderSettings(encoder="x265"))


KILLED_WRITER = """
import sys, time, cv2, numpy as np
from pathlib import Path
from live_classify.sinks.record.mp4 import Mp4Writer
photo = cv2.resize(cv2.imread(sys.argv[2]), (640, 480))
writer = Mp4Writer(Path(sys.argv[1]), (640, 480))
start = time.monotonic()
for i in range(100000):
    time.sleep(max(0.0, start + i / 30 - time.monotonic()))
    writer.write(np.roll(photo, 4 * i, axis=1), time.monotonic())
    print(i + 1, flush=True)
"""


def test_a_hard_kill_loses_at_most_half_a_second(tmp_path: Path) -> None:
    path = tmp_path / "killed.mp4"
    process = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), str(CHELSEA)],
                               stdout=subprocess.PIPE, text=True)
    written = 0
    deadline = time.monotonic() + 30
    while written < 90 and time.monotonic() < deadline:  # 3 s of video
        written = int(process.stdout.readline() or written)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert written >= 90, "the writer did not get going"
    readable = count_frames(path)
    assert written - readable <= 15, f"{written} frames written, {readable} readable after SIGKILL"
