"""``--record DIR/ --segment``, ``--retain`` and the encoder flags: segments read back as a player
would (ffprobe, OpenCV), retention on fake segment trees, and the command line's one-line errors."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, assert_clean_error, count_frames, make_video, run_cli
from mjpeg_server import MjpegServer
from recordings import fill, keyframe_times, probe

from live_classify.cli import argtypes
from live_classify.config import EncoderSettings
from live_classify.errors import LiveClassifyError
from live_classify.sinks.record import segments
from live_classify.sinks.record.mp4 import choose_encoder
from live_classify.sinks.record.retention import SegmentPlan, camera_folder, prune, segment_files
from live_classify.sinks.record.segments import SegmentedMp4
from live_classify.sources.capture import parse_camera, parse_video_source

PHOTO = cv2.resize(cv2.imread(str(CHELSEA)), (320, 240))
NOON = time.mktime((2026, 11, 27, 12, 0, 0, 0, 0, -1))  # a fixed wall clock: names are known in advance


def record(root: Path, times: list[float], length_s: float, **limits: float) -> SegmentedMp4:
    writer = SegmentedMp4(root, SegmentPlan(length_s, "camera-0", **limits), wall_clock=lambda: NOON)
    for i, t in enumerate(times):
        writer.write(np.roll(PHOTO, 4 * i, axis=1), t)
    writer.close()
    return writer


def names(folder: Path) -> list[str]:
    return [str(path.relative_to(folder)) for path in segment_files(folder)]


# --- cutting ---------------------------------------------------------------------------------------

def test_segments_are_cut_by_the_source_time_and_each_plays_alone_from_a_keyframe(tmp_path: Path) -> None:
    times = [100 + i / 25 for i in range(125)]  # 5 s at 25 fps, cut every 2 s: 50 + 50 + 25
    writer = record(tmp_path, times, 2.0)
    folder = tmp_path / "camera-0"
    assert names(folder) == ["2026-11-27/12-00-00.mp4", "2026-11-27/12-00-02.mp4", "2026-11-27/12-00-04.mp4"]
    counts = []
    for path in segment_files(folder):
        stream = probe(path)
        assert (stream["codec_name"], stream["pix_fmt"]) == ("h264", "yuv420p")
        counts.append(count_frames(path))
        assert keyframe_times(path)[0] == 0.0, f"{path} does not start on a keyframe"
    assert counts == [50, 50, 25]
    assert writer.frames == sum(counts) == len(times) and writer.segments == 3


def numbered(i: int) -> np.ndarray:
    """A frame showing ``i`` in binary: eight 40-pixel columns, white for a 1."""
    bits = [(i >> b) & 1 for b in range(8)]
    return np.repeat(np.repeat(np.array([bits], np.uint8) * 255, 240, axis=0), 40, axis=1)[..., None].repeat(3, 2)


def number_of(frame: np.ndarray) -> int:
    return sum(1 << b for b in range(8) if frame[:, 40 * b + 10:40 * b + 30].mean() > 128)


def test_no_frame_is_lost_or_doubled_at_the_seams(tmp_path: Path) -> None:
    """Each frame shows its number: read back across the segments, they are 0..N-1, once each."""
    writer = SegmentedMp4(tmp_path, SegmentPlan(1.0, "c"), wall_clock=lambda: NOON)
    for i in range(75):  # 3 s at 25 fps, cut every second
        writer.write(numbered(i), i / 25)
    writer.close()
    seen = []
    for path in segment_files(tmp_path / "c"):
        capture = cv2.VideoCapture(str(path))
        while (frame := capture.read()[1]) is not None:
            seen.append(number_of(frame))
    assert len(segment_files(tmp_path / "c")) == 3 and seen == list(range(75))


def frame_times(path: Path) -> list[float]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=pts_time",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout
    return [float(line.strip(",")) for line in out.split()]


def test_a_stall_across_boundaries_holds_the_last_frame_in_every_segment_it_spans(tmp_path: Path) -> None:
    """As one file holds the last frame through a stall, so do the segments: the one it began in to
    its end, each one wholly inside it, and the one it ended in from its start (issue 25)."""
    times = [i / 10 for i in range(10)] + [7.0 + i / 10 for i in range(5)]  # 1 s, a 6 s stall, 0.5 s
    writer = record(tmp_path, times, 2.0)
    folder = tmp_path / "camera-0"
    assert names(folder) == [f"2026-11-27/12-00-0{s}.mp4" for s in (0, 2, 4, 6)]
    segments = [frame_times(path) for path in segment_files(folder)]
    assert segments[0] == pytest.approx([i / 10 for i in range(10)] + [1.999], abs=1e-3)
    assert segments[1] == segments[2] == pytest.approx([0.0, 1.999], abs=1e-3)
    assert segments[3] == pytest.approx([0.0] + [1.0 + i / 10 for i in range(5)], abs=1e-3)
    assert writer.held == 1 + 2 + 2 + 1 and writer.frames == len(times) + writer.held
    assert "6 frames held through stalls" in writer.rate


def test_a_short_pause_across_a_boundary_holds_nothing(tmp_path: Path) -> None:
    times = [i / 10 for i in range(19)] + [2.5, 2.6]  # 0.7 s without a frame: not a stall
    writer = record(tmp_path, times, 2.0)
    first, second = (frame_times(path) for path in segment_files(tmp_path / "camera-0"))
    assert first == pytest.approx([i / 10 for i in range(19)], abs=1e-3)
    assert second == pytest.approx([0.0, 0.1], abs=1e-3) and writer.held == 0


def test_a_name_taken_already_gets_a_number(tmp_path: Path) -> None:
    record(tmp_path, [0.0, 0.1], 2.0)
    record(tmp_path, [0.0, 0.1], 2.0)  # a second run in the same second
    record(tmp_path, [0.0, 0.1, 0.2], 2.0)  # and a third: a number of its own, the second run's file kept
    folder = tmp_path / "camera-0"
    assert names(folder) == ["2026-11-27/12-00-00.mp4", "2026-11-27/12-00-00_2.mp4", "2026-11-27/12-00-00_3.mp4"]
    assert [count_frames(path) for path in segment_files(folder)] == [2, 2, 3]


@pytest.mark.parametrize("spec, folder", [
    (parse_camera("0"), "camera-0"),
    (parse_camera("/dev/video2"), "dev-video2"),
    (parse_video_source("http://127.0.0.1:8765/"), "127.0.0.1-8765"),
    (parse_video_source("http://127.0.0.1:43813/stream.mjpg"), "127.0.0.1-43813-stream"),  # a folder, not a file
    (parse_video_source("http://10.0.0.8/axis-cgi/mjpg/video.CGI?resolution=640x480"),
     "10.0.0.8-axis-cgi-mjpg-video-resolution-640x480"),
    (parse_video_source("rtsp://10.0.0.9/live.sdp"), "10.0.0.9-live"),
    (parse_video_source("http://10.0.0.9/snap.jpg"), "10.0.0.9-snap.jpg"),  # not a stream's suffix: kept, unique
    (parse_video_source("rtsp://admin:hunter2@10.0.0.7:554/cam/realmonitor?channel=1&token=abc&password=x"),
     "10.0.0.7-554-cam-realmonitor-channel-1"),
])
def test_the_camera_folder_is_safe_and_never_holds_credentials(spec, folder: str) -> None:  # noqa: ANN001
    assert camera_folder(spec) == folder


# --- retention -------------------------------------------------------------------------------------

def fake_segments(folder: Path, ages_h: list[float], size: int = 1000) -> list[Path]:
    """Segment files of ``size`` bytes, last written ``ages_h`` hours before NOON (oldest first)."""
    paths = []
    for age in ages_h:
        moment = time.localtime(NOON - age * 3600)
        path = folder / time.strftime("%Y-%m-%d/%H-%M-%S.mp4", moment)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * size)
        os.utime(path, (NOON - age * 3600, NOON - age * 3600))
        paths.append(path)
    return paths


def test_retention_by_size_deletes_the_oldest_first_and_logs_each(tmp_path: Path) -> None:
    paths = fake_segments(tmp_path, [50, 30, 20, 10, 0])
    said: list[str] = []
    deleted = prune(tmp_path, SegmentPlan(60, "x", max_bytes=2500), keep=paths[-1], now=NOON, say=said.append)
    assert deleted == paths[:3] and segment_files(tmp_path) == paths[3:]
    assert len(said) == 3 and all(line.startswith("retention: deleted ") for line in said)
    assert str(paths[0]) in said[0] and "the camera's segments over" in said[0]


def test_retention_by_age_deletes_what_is_older(tmp_path: Path) -> None:
    paths = fake_segments(tmp_path, [72, 49, 47, 1])
    deleted = prune(tmp_path, SegmentPlan(60, "x", max_age_s=48 * 3600), keep=paths[-1], now=NOON, say=print)
    assert deleted == paths[:2]
    assert not paths[0].parent.exists(), "an emptied day folder is removed"


def test_retention_never_deletes_the_open_segment_nor_other_files(tmp_path: Path) -> None:
    paths = fake_segments(tmp_path, [5, 4, 3], size=10_000)
    notes = paths[0].parent / "notes.txt"
    notes.write_text("mine")
    os.utime(notes, (0, 0))
    deleted = prune(tmp_path, SegmentPlan(60, "x", max_bytes=1, max_age_s=60), keep=paths[0], now=NOON, say=print)
    assert deleted == paths[1:] and paths[0].exists() and notes.exists()


def test_retention_runs_when_a_segment_closes_and_keeps_the_open_one(tmp_path: Path) -> None:
    old = fake_segments(tmp_path / "camera-0", [24 * 30])  # a month-old segment from an earlier run
    writer = SegmentedMp4(tmp_path, SegmentPlan(2.0, "camera-0", max_bytes=1), wall_clock=lambda: NOON)
    for i in range(51):  # 2 s at 25 fps, and the frame that opens the second segment
        writer.write(np.roll(PHOTO, 4 * i, axis=1), i / 25)
    folder = tmp_path / "camera-0"
    assert not old[0].exists(), "pruned when the first segment closed, not at the end of the run"
    assert names(folder) == ["2026-11-27/12-00-02.mp4"], "only the open segment is left: the rest were over 1 byte"
    for i in range(51, 125):
        writer.write(np.roll(PHOTO, 4 * i, axis=1), i / 25)
    writer.close()
    assert names(folder) == ["2026-11-27/12-00-04.mp4"], "the last one written is kept at the end too"
    assert count_frames(segment_files(folder)[0]) == 25 and writer.frames == 125


@pytest.mark.parametrize("limit", [100_000, 250_000])
def test_retention_by_size_keeps_the_bytes_on_disk_under_the_limit_at_every_frame(tmp_path: Path, limit: int) -> None:
    """The open segment counts too: the oldest go as it grows, not once it closed (which left the
    folder a segment over: 16.0 MB for --retain 15MB, issue 25). Segments here are ~28 KB."""
    writer = SegmentedMp4(tmp_path, SegmentPlan(1.0, "camera-0", max_bytes=limit), wall_clock=lambda: NOON)
    folder, peak = tmp_path / "camera-0", 0
    for i in range(250):  # 10 s at 25 fps: ten segments
        writer.write(np.roll(PHOTO, 4 * i, axis=1), i / 25)
        peak = max(peak, sum(path.stat().st_size for path in segment_files(folder)))
    writer.close()
    sizes = [path.stat().st_size for path in segment_files(folder)]
    assert peak <= limit and sum(sizes) <= limit, (peak, sizes)
    assert sum(sizes) > limit - 2 * max(sizes), "no more deleted than the limit asks"
    assert writer.segments == 10 and len(sizes) < 10


def test_a_retention_that_fails_is_one_warning_and_the_recording_goes_on(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    def unreadable(*_: object, **__: object) -> list[Path]:
        raise PermissionError(13, "Permission denied")

    warned: list[str] = []
    monkeypatch.setattr(segments, "prune", unreadable)
    monkeypatch.setattr(segments.log, "warning", warned.append)
    writer = record(tmp_path, [i / 25 for i in range(75)], 1.0, max_age_s=60)
    assert writer.frames == 75 and len(segment_files(tmp_path / "camera-0")) == 3
    # once as each segment opens (the first too: a folder left by an earlier run), and at the end
    assert warned == [f"retention: cannot list {tmp_path / 'camera-0'}: Permission denied"] * 4


# --- the command line ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def five_seconds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("clip") / "five.mp4", 125, fps=25)


def test_a_file_recorded_in_segments_keeps_every_frame(five_seconds: Path, tmp_path: Path) -> None:
    run = run_cli("--source", str(five_seconds), "--record", f"{tmp_path}/rec/", "--segment", "2s",
                  "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    segments = segment_files(tmp_path / "rec" / "five")
    assert [count_frames(path) for path in segments] == [50, 50, 25]
    assert all(probe(path)["codec_name"] == "h264" for path in segments)
    assert "recorded 125 frames to" in run.stderr and "3 segments of 2s" in run.stderr
    assert "H.264 with libx264 (--encoder auto: no hardware encoder opened)" in run.stderr


def test_retention_from_the_command_line_deletes_old_segments_in_one_line_each(five_seconds: Path,
                                                                               tmp_path: Path) -> None:
    old = fake_segments(tmp_path / "five", [24 * 10, 24 * 9])
    run = run_cli("--source", str(five_seconds), "--record", f"{tmp_path}/", "--segment", "2s",
                  "--retain", "7d", "--retain", "50GB", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    deletions = [line for line in run.stderr.splitlines() if "retention: deleted" in line]
    assert len(deletions) == 2 and str(old[0]) in deletions[0] and str(old[1]) in deletions[1]
    assert "older than 7d" in deletions[0]
    assert [count_frames(path) for path in segment_files(tmp_path / "five")] == [50, 50, 25]


def test_a_full_disk_stops_the_segments_cleanly_and_classification_goes_on(small_disk: Path, camera: MjpegServer,
                                                                             live_cli, tmp_path: Path) -> None:  # noqa: F811
    fill(small_disk, leave=4 * 2**20 + 300_000)  # past the 4 MB reserve: room for a few 1 s segments and the index
    jsonl = tmp_path / "cam.jsonl"
    cli = live_cli("--source", camera.url, "--record", f"{small_disk}/rec/", "--segment", "1s", "--jsonl", str(jsonl),
                   "--provider", "cpu")
    cli.wait_for_stderr("recording stopped: the disk is nearly full", timeout=60)
    lines_at_stop = len(jsonl.read_text().splitlines())
    cli.wait_for(lambda: len(jsonl.read_text().splitlines()) >= lines_at_stop + 30, what="classification going on")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    reported = int(run.stderr.split("recorded ")[1].split(" frames")[0])
    segments = segment_files(small_disk / "rec" / camera_folder(parse_video_source(camera.url)))
    assert len(segments) >= 2 and reported > 30
    assert sum(count_frames(path) for path in segments) == reported, "every frame it says it recorded is there"
    assert "stopped early: the disk is nearly full" in run.stderr


def read_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    return frames


@pytest.mark.parametrize("target", ["out.mp4", "out.avi", "rec/"])
def test_a_camera_back_at_another_size_is_letterboxed_or_opens_a_segment(target: str, live_cli,  # noqa: ANN001
                                                                          tmp_path: Path) -> None:
    """640x360 (16:9), then the camera restarts at 320x240 (4:3) on the same URL: a file keeps its
    size with black bars left and right, never a stretched picture; segments start a new one at the
    new size; one line says which (issue 25)."""
    jsonl, record = tmp_path / "cam.jsonl", tmp_path / target
    first = MjpegServer(CHELSEA, fps=15, width=640, height=360).__enter__()
    try:
        segments = ["--record", f"{record}/", "--segment", "10m"] if target.endswith("/") else ["--record", str(record)]
        cli = live_cli("--source", f"{first.url}stream.mjpg", *segments, "--jsonl", str(jsonl), "--provider", "cpu")
        cli.wait_for(lambda: jsonl.exists() and len(jsonl.read_text().splitlines()) >= 10, timeout=90, what="frames")
    finally:
        first.stop()
    with MjpegServer(CHELSEA, fps=15, port=first.port, width=320, height=240) as second:
        cli.wait_for_stderr("reconnected", timeout=60)
        cli.wait_for(lambda: second.sent >= 30, timeout=60, what="frames at the new size")
        cli.signal(signal.SIGINT)
        run = cli.finish()
    assert run.returncode == 0, run.stderr
    said = [line for line in run.stderr.splitlines() if "the source's frames are now 320x240" in line]
    reported = int(run.stderr.split("recorded ")[1].split(" frames")[0])
    if target.endswith("/"):
        assert len(said) == 1 and "(were 640x360): a new segment at that size" in said[0]
        paths = segment_files(record / f"127.0.0.1-{first.port}-stream")
        sizes = [{frame.shape for frame in read_frames(path)} for path in paths]
        assert sizes == [{(360, 640, 3)}, {(240, 320, 3)}]
        assert sum(count_frames(path) for path in paths) == reported
        return
    assert len(said) == 1 and "letterboxed into 640x360, the recording's size" in said[0]
    frames = read_frames(record)
    assert {frame.shape for frame in frames} == {(360, 640, 3)} and len(frames) == reported
    bars = [frame[:, :75].max() < 40 and frame[:, -75:].max() < 40 for frame in frames]  # 480x360 in the middle
    assert not bars[0] and bars[-1], "the first frames fill the picture, the last ones are letterboxed"
    assert bars == sorted(bars), "letterboxed from the restart on, not before"


@pytest.mark.parametrize("flags, message, code", [
    (["--record", "{tmp}/r/", "--segment", "0"], '--segment must be a duration such as 30s, 10m, 2h or 7d, not 0', 2),
    (["--record", "{tmp}/r/", "--segment", "0s"], '--segment must be more than 0 (a duration such as 30s', 2),
    (["--record", "{tmp}/r/", "--segment", "10m", "--retain", "5 parsecs"], 'such as 7d, not "5 parsecs"', 2),
    (["--record", "{tmp}/r/", "--segment", "10m", "--retain", "1GB", "--retain", "2GB"], "at most one size", 2),
    (["--record", "{tmp}/a.mp4", "--segment", "10m"], "--segment needs a directory", 2),
    (["--retain", "7d"], "--retain needs a directory", 2),
    (["--record", "{tmp}/a.mp4/", "--segment", "10m"], "a directory named like a video file", 2),
    (["--record", "{tmp}/r/", "--segment", "10m", "--bitrate", "fast"], 'must be a bitrate such as 2M', 2),
    (["--record", "{tmp}/r/", "--segment", "10m", "--crf", "52"], "--crf", 2),
    (["--record", "{tmp}/a.mp4", "--encoder", "x265"], "invalid choice: 'x265'", 2),
    (["--record", "{tmp}/file/r/", "--segment", "10m"], "cannot create recording directory", 1),
    # os.access says yes to root in /proc and /sys: found only when the first frame came (issue 25)
    (["--record", "/proc/out.mp4"], "cannot write recording /proc/out.mp4: /proc takes no new files", 1),
    (["--record", "/sys/out.avi"], "cannot write recording /sys/out.avi: permission denied", 1),
    (["--record", "/proc/rec/", "--segment", "10m"], "cannot create recording directory /proc/rec: /proc takes no", 1),
    (["--record", "/proc/", "--segment", "10m"], "cannot write recording directory /proc: /proc takes no new", 1),
    (["--record", "/proc/rec/"], "cannot create recording directory /proc/rec: /proc takes no", 1),
])
def test_bad_recording_flags_are_one_line(flags: list[str], message: str, code: int, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    run = run_cli("--source", "http://127.0.0.1:9/", *[f.format(tmp=tmp_path) for f in flags], "--provider", "cpu")
    assert_clean_error(run, message)
    assert run.returncode == code
    assert "cannot open stream" not in run.stderr, "checked before the source is opened"
    assert not (tmp_path / "r").exists() and not (tmp_path / "a.mp4").exists()


def test_an_encoder_asked_for_that_cannot_open_fails_before_the_source(tmp_path: Path) -> None:
    try:
        choose_encoder((640, 480), EncoderSettings("h264_v4l2m2m"))
        pytest.skip("this machine has a V4L2 H.264 encoder")
    except LiveClassifyError:
        pass
    run = run_cli("--source", "http://127.0.0.1:9/", "--record", str(tmp_path / "a.mp4"), "--encoder", "h264_v4l2m2m",
                  "--provider", "cpu")
    assert_clean_error(run, "--encoder h264_v4l2m2m: h264_v4l2m2m cannot open on this machine")
    assert run.returncode == 1


def test_encoder_flags_with_motion_jpeg_or_no_recording_are_warnings(five_seconds: Path, tmp_path: Path) -> None:
    avi = run_cli("--source", str(five_seconds), "--record", str(tmp_path / "a.avi"), "--encoder", "libx264",
                  "--bitrate", "2M", "--provider", "cpu")
    assert avi.returncode == 0, avi.stderr
    assert "warning: --encoder does nothing for a .avi recording (Motion-JPEG); use .mp4 for H.264" in avi.stderr
    assert "warning: --bitrate does nothing for a .avi recording" in avi.stderr
    none = run_cli("--source", str(five_seconds), "--jsonl", "/dev/null", "--crf", "20", "--provider", "cpu")
    assert "warning: --crf does nothing without --record" in none.stderr
    both = run_cli("--source", str(five_seconds), "--record", f"{tmp_path}/d/", "--segment", "10m", "--overwrite",
                   "--crf", "20", "--bitrate", "1M", "--provider", "cpu")
    assert both.returncode == 0, both.stderr
    assert "warning: --crf does nothing with --bitrate" in both.stderr
    assert "warning: --overwrite does nothing for --record DIR/" in both.stderr


def test_crf_and_bitrate_reach_the_encoder(five_seconds: Path, tmp_path: Path) -> None:
    sizes = {}
    for name, flags in {"crf40": ["--crf", "40"], "crf18": ["--crf", "18"], "bitrate": ["--bitrate", "4M"]}.items():
        run = run_cli("--source", str(five_seconds), "--record", str(tmp_path / f"{name}.mp4"), *flags,
                      "--provider", "cpu")
        assert run.returncode == 0, run.stderr
        sizes[name] = (tmp_path / f"{name}.mp4").stat().st_size
    assert sizes["crf18"] > 2 * sizes["crf40"], sizes
    assert sizes["bitrate"] > sizes["crf18"], sizes


@pytest.mark.parametrize("text, value", [("30s", 30), ("10m", 600), ("2h", 7200), ("7d", 604800), ("1.5h", 5400)])
def test_durations(text: str, value: float) -> None:
    assert argtypes.duration(text) == value


@pytest.mark.parametrize("text, value", [("500MB", 500e6), ("50GB", 50e9), ("2 GiB", 2 * 2**30), ("1tb", 1e12)])
def test_sizes(text: str, value: float) -> None:
    assert argtypes.data_size(text) == value


@pytest.mark.parametrize("text, value", [("2M", 2_000_000), ("800k", 800_000), ("1500000", 1_500_000)])
def test_bitrates(text: str, value: int) -> None:
    assert argtypes.bitrate(text) == value


@pytest.mark.parametrize("parse, text", [(argtypes.duration, "10"), (argtypes.duration, "5 parsecs"),
                                          (argtypes.data_size, "50"), (argtypes.segment_length, "0.5s"),
                                          (argtypes.retention_limit, "-1d"), (argtypes.bitrate, "2G")])
def test_bad_amounts_are_refused(parse, text: str) -> None:  # noqa: ANN001
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)
