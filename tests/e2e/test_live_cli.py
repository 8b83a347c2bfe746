"""The real command on live streams and video files, headless: outputs, stops, faults, bad input."""
from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE, LiveCli, assert_clean_error, count_frames, make_video, run_cli
from mjpeg_server import MjpegServer
from recordings import recording_counts

from live_classify.engine.classifier import Classifier
from live_classify.engine.postprocess import Smoother, top_k


def jsonl_rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def summary(stderr: str) -> dict[str, int]:
    """The counters of the summary lines: captured, classified, dropped, and recorded when there is a recording."""
    found = re.search(r"(\d+) frames captured, (\d+) classified, (\d+) dropped", stderr)
    assert found, stderr
    counts = dict(zip(("captured", "classified", "dropped"), map(int, found.groups()), strict=True))
    if recorded := re.search(r"recorded (\d+) frames", stderr):
        counts["recorded"] = int(recorded.group(1))
    return counts


def test_every_frame_of_a_file_is_classified_and_recorded(video_file: Path, tmp_path: Path) -> None:
    run = run_cli("--source", str(video_file), "--record", str(tmp_path / "out.avi"),
                  "--jsonl", str(tmp_path / "out.jsonl"), "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    rows = jsonl_rows((tmp_path / "out.jsonl").read_text())
    assert [r["frame"] for r in rows] == list(range(60))
    assert rows[0]["top"][0]["label"] in {"tiger cat", "tabby", "Egyptian cat"}
    assert rows[-1]["top"][0]["label"] == "espresso"
    assert count_frames(tmp_path / "out.avi") == 60
    assert "no display" in run.stderr and "running headless" in run.stderr
    assert "60 frames captured, 60 classified, 0 dropped" in run.stderr


def test_min_confidence_is_recorded_and_written_as_unknown(video_file: Path, tmp_path: Path) -> None:
    """A threshold between the clip's two scenes: the lines and the recorded frames of one say "unknown"."""
    plain = jsonl_rows(run_cli("--source", str(video_file), "--jsonl", "-", "--provider", "cpu").stdout)
    first, last = plain[0]["top"][0]["score"], plain[-1]["top"][0]["score"]
    assert abs(first - last) > 0.02, "the two scenes must score apart for this test"
    record = tmp_path / "out.avi"
    run = run_cli("--source", str(video_file), "--record", str(record), "--jsonl", "-",
                  "--min-confidence", f"{(first + last) / 2:.4f}", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    rows = jsonl_rows(run.stdout)
    assert [r["unknown"] for r in rows] == [r["top"][0]["score"] < (first + last) / 2 for r in rows]
    assert rows[0]["unknown"] != rows[-1]["unknown"]
    assert [r["top"] for r in rows] == [r["top"] for r in plain], "the top-k is kept as it is"
    capture = cv2.VideoCapture(str(record))
    frames = [capture.read()[1] for _ in range(60)]
    orange = [int((np.abs(f[:80].astype(int) - (60, 170, 255)) <= 40).all(axis=2).sum()) for f in frames]
    for i in (5, 55):
        assert (orange[i] > 20) == rows[i]["unknown"], f"frame {i}: 'unknown' drawn exactly when it is unknown"


def test_realtime_file_plays_at_its_rate(tmp_path: Path) -> None:
    """Paced at the file's 25 fps like a camera; every prediction made gets its line, the last one too."""
    clip = make_video(tmp_path / "clip.mp4", 50, size=(320, 180), fps=25)
    run = run_cli("--source", str(clip), "--realtime", "--jsonl", "-", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    rows = jsonl_rows(run.stdout)
    counts = summary(run.stderr)
    assert counts["captured"] == 50 == counts["classified"] + counts["dropped"], counts
    assert len(rows) == counts["classified"], "a prediction made after the last shown frame was not written"
    frames = [r["frame"] for r in rows]
    assert frames == sorted(set(frames)) and frames[-1] == 49, "the last frame is classified too"
    per_frame = (rows[-1]["time"] - rows[0]["time"]) / (frames[-1] - frames[0])  # capture times, wall clock
    assert 0.8 / 25 < per_frame < 1.5 / 25, f"{1 / per_frame:.1f} fps, not the file's 25"


@pytest.mark.parametrize("cameras", [1, 3])
def test_smooth_flag_smooths_the_json_lines(cameras: int, video_file: Path, classifier: Classifier) -> None:
    """--smooth 0.2: each line's top class is the moving average's, computed here frame by frame
    (with several cameras, each camera's own average)."""
    sources = [arg for k in range(cameras) for arg in ("--source", str(video_file), "--name", f"cam{k}")]
    run = run_cli(*sources, "--smooth", "0.2", "--headless", "--jsonl", "-", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    capture = cv2.VideoCapture(str(video_file))
    smoother = Smoother(0.2)
    want = [top_k(smoother(classifier.classify(capture.read()[1]).probabilities), classifier.spec.labels, 1)
            for _ in range(60)]
    for k in range(cameras):
        rows = [r for r in jsonl_rows(run.stdout) if r.get("camera", "cam0") == f"cam{k}"]
        assert [r["top"][0]["class_id"] for r in rows] == [t.class_ids[0] for t in want]
        assert [r["top"][0]["score"] for r in rows] == pytest.approx([t.scores[0] for t in want], abs=1e-4)


def test_live_stream_headless_with_recording_and_json_on_stdout(live_cli, tmp_path: Path) -> None:
    """A camera at 15 fps, which MJPEG over HTTP claims is 25: the recording has its real rate."""
    record = tmp_path / "live.avi"
    with MjpegServer(CHELSEA, fps=15) as camera:
        cli = live_cli("--source", camera.url, "--record", str(record), "--jsonl", "-", "--provider", "cpu")
        cli.wait_for(lambda: len(cli.stdout_lines) >= 45, timeout=90, what="45 predictions")
        cli.signal(signal.SIGINT)
        run = cli.finish()
        sent = list(camera.camera.sent_times)
    assert run.returncode == 0, run.stderr
    rows = jsonl_rows(run.stdout)
    counts = summary(run.stderr)
    assert len(rows) == counts["classified"], "every prediction has its line"
    assert all(r["source"] == camera.url for r in rows)
    assert [r["frame"] for r in rows] == sorted(r["frame"] for r in rows)
    latencies = sorted(r["latency_ms"] for r in rows)
    assert latencies[len(latencies) // 2] < 500, latencies  # bounded: no backlog behind the camera
    assert count_frames(record) == counts["recorded"] >= 30, "every frame it says it recorded is in the recording"
    recording = next(line for line in run.stderr.splitlines() if "recorded " in line)
    assert sum(recording_counts(recording).values()) == counts["captured"], "each frame recorded or counted missed"
    recorded_fps = float(run.stderr.split(" at ")[-1].split(" fps")[0])
    # What the camera really sent (a loaded machine may starve its thread a while, then it catches up).
    real = (len(sent) - 1) / (sent[-1] - sent[0])
    assert 0.6 * real <= recorded_fps <= 1.3 * real, f"recorded at {recorded_fps}, sent at {real:.2f} fps: {run.stderr}"
    assert cv2.VideoCapture(str(record)).get(cv2.CAP_PROP_FPS) == pytest.approx(recorded_fps, abs=0.01)
    assert "640x480, claims 25 fps (the real rate is measured)" in run.stderr, "not '@ 25 fps' as if it were so"
    assert "SIGINT: stopping" in run.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_every_way_of_being_stopped_leaves_a_readable_recording(signum: int, camera: MjpegServer, live_cli,
                                                                 tmp_path: Path) -> None:
    record = tmp_path / "live.avi"
    jsonl = tmp_path / "live.jsonl"
    cli = live_cli("--source", camera.url, "--record", str(record), "--jsonl", str(jsonl), "--provider", "cpu")
    cli.wait_for(lambda: jsonl.exists() and len(jsonl.read_text().splitlines()) >= 90, what="3 s of video")
    cli.signal(signum)
    run = cli.finish()
    lines = jsonl.read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # every line whole, even after SIGKILL
    frames = count_frames(record)
    if signum == signal.SIGKILL:
        assert run.returncode == -signal.SIGKILL
        assert frames >= 60, "at most about a second of video lost to a hard kill"
    else:
        assert run.returncode == 0, run.stderr
        counts = recording_counts(next(line for line in run.stderr.splitlines() if "recorded " in line))
        assert frames == counts["recorded"] >= 60, "every frame it says it recorded is in the file"
        # A main loop that fell behind skips to the newest frame (issue 25): counted, never silent.
        assert frames + counts["dropped"] + counts["skipped"] >= 90, run.stderr
        totals = summary(run.stderr)
        assert frames + counts["dropped"] + counts["skipped"] == totals["captured"], "each frame recorded or counted"
        assert len(lines) == totals["classified"], "every prediction has its line"


def wait_until_quiet(cli: LiveCli, quiet_s: float, timeout: float = 60.0) -> None:
    """Until no JSON line has come on stdout for ``quiet_s`` seconds."""
    seen = [len(cli.stdout_lines), time.monotonic()]

    def quiet() -> bool:
        if len(cli.stdout_lines) != seen[0]:
            seen[:] = [len(cli.stdout_lines), time.monotonic()]
        return time.monotonic() - seen[1] >= quiet_s

    cli.wait_for(quiet, timeout, f"no new JSON line for {quiet_s} s")


def test_a_second_ctrl_c_exits_at_once_and_the_recording_still_plays(camera: MjpegServer, live_cli,
                                                                     tmp_path: Path) -> None:
    record = tmp_path / "live.avi"
    cli = live_cli("--source", camera.url, "--record", str(record), "--jsonl", "-", "--read-timeout", "30",
                   "--provider", "cpu")
    cli.wait_for(lambda: len(cli.stdout_lines) >= 60, what="predictions")
    camera.stall()
    # Under load the frames sent before the stall may still be on their way; while capture has one,
    # it sees the stop at once and the first Ctrl+C ends cleanly. No new line for 2 s: capture waits
    # in read(), so a clean stop takes until the read timeout, 30 s, far longer than the test needs.
    wait_until_quiet(cli, 2.0)
    cli.signal(signal.SIGINT)
    cli.wait_for_stderr("SIGINT: stopping")
    assert "frames captured" not in cli.stderr, "the clean stop was over before the second Ctrl+C"
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 128 + signal.SIGINT, (run.returncode, run.stderr)
    assert "frames captured" not in run.stderr, "it finished the clean stop instead of quitting at once"
    assert all(json.loads(line) for line in cli.stdout_lines)
    assert count_frames(record) >= 30


def test_a_lost_stream_is_reconnected(camera: MjpegServer, live_cli) -> None:
    cli = live_cli("--source", camera.url, "--jsonl", "-", "--read-timeout", "1", "--provider", "cpu")
    cli.wait_for(lambda: len(cli.stdout_lines) >= 30, what="first predictions")
    port = camera.port
    camera.stop()
    cli.wait_for_stderr("reconnecting")
    before = len(cli.stdout_lines)
    with MjpegServer(COFFEE, fps=30, port=port):
        cli.wait_for_stderr("reconnected")
        cli.wait_for(lambda: len(cli.stdout_lines) >= before + 30, what="predictions after the reconnect")
        cli.signal(signal.SIGTERM)
        run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert jsonl_rows(run.stdout)[-1]["top"][0]["label"] == "espresso"  # the camera that came back
    assert "1 reconnect in" in run.stderr  # one, in the singular
    assert "lost (end of stream (the sender closed it)); reconnecting" in run.stderr


def test_a_stalled_stream_that_never_returns_is_an_error_but_keeps_the_recording(camera: MjpegServer, live_cli,
                                                                                  tmp_path: Path) -> None:
    record = tmp_path / "live.avi"
    cli = live_cli("--source", camera.url, "--record", str(record), "--jsonl", "-", "--read-timeout", "1",
                   "--open-timeout", "1", "--reconnect", "2", "--provider", "cpu")
    cli.wait_for(lambda: len(cli.stdout_lines) >= 30, what="first predictions")
    camera.stall()  # the connection stays open, nothing more is sent
    # --read-timeout 1 notices it, not OpenCV's default of 30 s; then 2 tries of 1 s plus 1.5 s of backoff.
    cli.wait_for_stderr("lost (stalled: nothing received for 1.", timeout=10)
    run = cli.finish(timeout=20)
    assert_clean_error(run, "lost (stalled: nothing received for 1.", "2 reconnection attempts failed")
    assert "still lost; reconnecting in 1 s (attempt 2/2)" in run.stderr
    assert count_frames(record) >= 30


def test_latency_stays_bounded_when_inference_is_slower_than_the_camera(camera: MjpegServer, live_cli,
                                                                        tmp_path: Path) -> None:
    """One inference thread (-threads 1) on a 60 fps camera: frames are dropped, not queued."""
    camera.stop()
    with MjpegServer(COFFEE, fps=60, port=0, width=1280, height=720) as fast:
        cli = live_cli("--source", fast.url, "--jsonl", "-", "--threads", "1", "--provider", "cpu")
        cli.wait_for(lambda: len(cli.stdout_lines) >= 100, timeout=60, what="100 predictions")
        cli.signal(signal.SIGINT)
        run = cli.finish()
    rows = jsonl_rows(run.stdout)
    late = sorted(r["latency_ms"] for r in rows[-30:])
    early = sorted(r["latency_ms"] for r in rows[10:40])
    assert late[15] < early[15] * 2 + 50, (early, late)  # flat, not growing
    captured, classified, dropped = (int(run.stderr.split(" frames captured")[0].split()[-1]),
                                     int(run.stderr.split(" classified")[0].split()[-1]),
                                     int(run.stderr.split(" dropped")[0].split()[-1]))
    assert dropped > 0 and captured > classified


BAD_INPUTS = {
    "record dir missing": (["--source", "{video}", "--record", "{tmp}/no/such/dir/out.avi"], "does not exist"),
    "record mov": (["--source", "{video}", "--record", "{tmp}/out.mov"], "use a .mp4 or .avi file"),
    "jsonl dir missing": (["--source", "{video}", "--jsonl", "{tmp}/no/such/out.jsonl"], "does not exist"),
    "missing camera": (["--camera", "7"], "cannot open camera 7"),
    "camera not a number": (["--camera", "front"], "--camera takes an index"),
    "dead stream": (["--source", "http://127.0.0.1:9/", "--open-timeout", "2"], "cannot open stream"),
    "missing video": (["--source", "{tmp}/nothing.mp4"], "source not found"),
    "not a video": (["--source", "{tmp}/notes.mp4"], "cannot open video"),
    "bad fourcc": (["--camera", "0", "--fourcc", "MJPEG"], "--fourcc"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_live_input_is_one_clear_line(case: str, tmp_path: Path, video_file: Path) -> None:
    (tmp_path / "notes.mp4").write_text("not a video at all")
    flags, message = BAD_INPUTS[case]
    started = time.monotonic()
    run = run_cli(*[a.format(tmp=tmp_path, video=video_file) for a in flags], "--provider", "cpu")
    assert_clean_error(run, message)
    assert time.monotonic() - started < 20, "a dead source must fail in seconds"
    assert not (tmp_path / "out.avi").exists()


def test_credentials_in_a_stream_url_are_never_shown(camera: MjpegServer) -> None:
    url = camera.url.replace("http://", "http://admin:hunter2@")
    run = run_cli("--source", url.replace(str(camera.port), "9"), "--open-timeout", "2", "--provider", "cpu")
    assert run.returncode != 0
    assert "hunter2" not in run.stderr and "admin:***@" in run.stderr


@pytest.mark.parametrize("folder", ["{tmp}/rec/", "{tmp}"])
def test_record_into_a_directory_writes_the_cameras_own_file_there(folder: str, video_file: Path,
                                                                   tmp_path: Path) -> None:
    """``--record DIR/`` with one camera, as with several: ``DIR/<name>.mp4``, every frame, playable;
    one already there is not replaced unasked."""
    where = folder.format(tmp=tmp_path)
    run = run_cli("--source", str(video_file), "--name", "door", "--record", where, "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    recording = Path(where) / "door.mp4"
    assert count_frames(recording) == 60
    assert f"recorded 60 frames to {recording}" in run.stderr
    again = run_cli("--source", str(video_file), "--name", "door", "--record", where, "--provider", "cpu")
    assert_clean_error(again, "door.mp4 exists (pass --overwrite to replace it)")


def test_an_existing_recording_is_not_replaced_unless_asked(video_file: Path, tmp_path: Path) -> None:
    record = tmp_path / "keep.avi"
    record.write_bytes(b"yesterday's recording")
    run = run_cli("--source", str(video_file), "--record", str(record), "--provider", "cpu")
    assert_clean_error(run, "--overwrite")
    assert record.read_bytes() == b"yesterday's recording"
    run = run_cli("--source", str(video_file), "--record", str(record), "--overwrite", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    assert count_frames(record) == 60


def test_json_lines_are_appended_never_truncated(video_file: Path, tmp_path: Path) -> None:
    jsonl = tmp_path / "log.jsonl"
    for _ in range(2):
        assert run_cli("--source", str(video_file), "--jsonl", str(jsonl), "--provider", "cpu").returncode == 0
    assert len(jsonl_rows(jsonl.read_text())) == 120


def test_a_reader_that_goes_away_stops_the_run_cleanly(camera: MjpegServer, live_cli) -> None:
    cli = live_cli("--source", camera.url, "--jsonl", "-", "--provider", "cpu")
    cli.wait_for(lambda: len(cli.stdout_lines) >= 5, what="predictions")
    cli.process.stdout.close()  # like `live-classify ... | head -5`
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert "went away" in run.stderr and "Traceback" not in run.stderr


def test_outputs_are_created_with_ordinary_permissions(video_file: Path, tmp_path: Path) -> None:
    record, jsonl = tmp_path / "p.avi", tmp_path / "p.jsonl"
    run = run_cli("--source", str(video_file), "--record", str(record), "--jsonl", str(jsonl), "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    umask = os.umask(0)
    os.umask(umask)
    for path in (record, jsonl):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, oct(path.stat().st_mode)


def test_headless_collect_saves_raw_frames_for_training(camera: MjpegServer, tmp_path: Path) -> None:
    run = run_cli("--source", camera.url, "--collect", "door open", "--count", "4", "--interval", "0.2",
                  "--collect-dir", str(tmp_path / "dataset"), "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    saved = sorted((tmp_path / "dataset" / "door open").glob("*.png"))
    assert len(saved) == 4
    frame = cv2.imread(str(saved[0]))
    assert frame.shape == (480, 640, 3)
    assert frame[:100, :200].mean() > 60, "raw frames, without the overlay's dark panel"
    assert "collected 4 new frames of 'door open'" in run.stderr
    bad = run_cli("--source", camera.url, "--collect", "../escape", "--collect-dir", str(tmp_path), "--provider", "cpu")
    assert_clean_error(bad, "cannot be a folder name")


def test_collected_frames_are_raw_while_the_recording_is_annotated(video_file: Path, tmp_path: Path) -> None:
    """On a file's frames the overlay is drawn in place: the collector must have saved them first."""
    record = tmp_path / "out.avi"
    run = run_cli("--source", str(video_file), "--collect", "cat", "--count", "2", "--interval", "1",
                  "--collect-dir", str(tmp_path / "dataset"), "--record", str(record), "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    capture = cv2.VideoCapture(str(video_file))
    frames = [capture.read()[1] for _ in range(26)]  # 25 fps, one frame a second: frames 0 and 25
    saved = sorted((tmp_path / "dataset" / "cat").glob("*.png"))
    assert len(saved) == 2
    for path, frame in zip(saved, (frames[0], frames[25]), strict=True):
        assert np.array_equal(cv2.imread(str(path)), frame), f"{path.name} is not the raw frame"
    assert count_frames(record) > 0
