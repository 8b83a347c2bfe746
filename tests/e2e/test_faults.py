"""Faults an unattended edge box meets, injected for real: stalls, restarts, damaged data, slow readers."""
from __future__ import annotations

import json
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest
from conftest import CHELSEA, COFFEE, assert_clean_error, count_frames, headless_env, make_video, run_cli
from foreign_models import pooled_classifier
from mjpeg_server import MjpegServer
from recordings import fill
from web_client import free_port, status


def frame_sizes(video: Path) -> set[tuple[int, int]]:
    capture = cv2.VideoCapture(str(video))
    sizes = set()
    while True:
        ok, frame = capture.read()
        if not ok:
            return sizes
        sizes.add(frame.shape[:2])


def test_a_stream_that_stalls_and_resumes_is_picked_up_again(camera: MjpegServer, live_cli, tmp_path: Path) -> None:
    record = tmp_path / "stall.avi"
    cli = live_cli("--source", camera.url, "--record", str(record), "--jsonl", "-", "--read-timeout", "1",
                   "--provider", "cpu")
    cli.wait_for(lambda: len(cli.stdout_lines) >= 30, what="first predictions")
    camera.stall()
    started = time.monotonic()
    cli.wait_for_stderr("lost (stalled: nothing received for 1.")  # why, and after how long
    assert time.monotonic() - started < 5, "a stall is noticed within the read timeout"
    camera.resume()
    cli.wait_for_stderr("reconnected")
    before = len(cli.stdout_lines)
    cli.wait_for(lambda: len(cli.stdout_lines) >= before + 30, what="predictions after the stall")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert count_frames(record) >= 60


def test_a_camera_that_comes_back_at_another_size_is_recorded_at_the_first(camera: MjpegServer, live_cli,
                                                                           tmp_path: Path) -> None:
    record = tmp_path / "resized.avi"
    cli = live_cli("--source", camera.url, "--record", str(record), "--jsonl", "-", "--read-timeout", "1",
                   "--provider", "cpu")
    cli.wait_for(lambda: len(cli.stdout_lines) >= 30, what="first predictions")
    port = camera.port
    for n, (width, height) in enumerate(((320, 240), (1280, 720)), start=1):  # dies and comes back, twice
        camera.stop()
        camera = MjpegServer(COFFEE, fps=30, port=port, width=width, height=height).__enter__()
        cli.wait_for(lambda n=n: sum("reconnected" in line for line in cli.stderr_lines) >= n, what=f"reconnect {n}")
        before = len(cli.stdout_lines)
        cli.wait_for(lambda before=before: len(cli.stdout_lines) >= before + 20, what="predictions at the new size")
    camera.stop()
    cli.signal(signal.SIGTERM)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert frame_sizes(record) == {(480, 640)}
    assert "2 reconnects" in run.stderr


def test_damaged_jpeg_parts_in_a_stream_are_skipped(live_cli, tmp_path: Path) -> None:
    with MjpegServer(CHELSEA, fps=30, corrupt_every=5) as damaged:
        cli = live_cli("--source", damaged.url, "--jsonl", "-", "--read-timeout", "2", "--provider", "cpu")
        cli.wait_for(lambda: len(cli.stdout_lines) >= 60, timeout=40, what="predictions despite damage")
        cli.signal(signal.SIGINT)
        run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "[mjpeg @" not in run.stderr, "decoder noise leaked"
    assert " 0 reconnects" in run.stderr, "a damaged frame is skipped, not taken for a lost camera"
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert sum(r["top"][0]["label"] in {"tiger cat", "Egyptian cat", "tabby"} for r in rows) > len(rows) * 0.8


class FailingCapture:
    """A capture whose reads fail, at once (nothing left to read) or after a frame's time (bad data)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def read(self) -> tuple[bool, None]:
        time.sleep(self.seconds)
        return False, None


@pytest.mark.parametrize(("seconds", "why"), [(0.0, "end of stream"), (0.03, "read error: 3 frames in a row")])
def test_a_lost_source_says_why(seconds: float, why: str) -> None:
    from live_classify.sources.capture import VideoSource, parse_video_source

    source = VideoSource.__new__(VideoSource)  # no stream to open: only the reads matter here
    source.spec, source.read_timeout_s = parse_video_source("http://127.0.0.1:9/"), 5.0
    source.capture = FailingCapture(seconds)
    assert source.read() is None
    assert source.lost_because.startswith(why)


def test_a_video_file_cut_in_the_middle(tmp_path: Path) -> None:
    """Motion-JPEG AVI cut short: what is there is classified. MP4 cut short: one clear error."""
    whole = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    photo = cv2.resize(cv2.imread(str(COFFEE)), (320, 240))
    for _ in range(50):
        writer.write(photo)
    writer.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    run = run_cli("--source", str(cut), "--jsonl", "-", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    assert 15 <= len(run.stdout.splitlines()) < 50

    mp4 = make_video(tmp_path / "whole.mp4", 50)
    cut_mp4 = tmp_path / "cut.mp4"
    cut_mp4.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    assert_clean_error(run_cli("--source", str(cut_mp4), "--jsonl", "-", "--provider", "cpu"), "cannot open video")


def test_a_slow_reader_of_the_json_lines_holds_up_neither_capture_nor_memory(camera: MjpegServer,
                                                                            tmp_path: Path) -> None:
    """``live-classify --jsonl - | slow`` : capture and recording keep the camera's pace, memory stays flat."""
    record = tmp_path / "slow.avi"
    process = subprocess.Popen([sys.executable, "-m", "live_classify", "--source", camera.url, "--jsonl", "-",
                                "--record", str(record), "--provider", "cpu"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=headless_env(), text=True)
    rss = []
    for _ in range(12):  # the reader takes 5 lines a second; 30 arrive
        for _ in range(5):
            process.stdout.readline()
            time.sleep(0.2)
        rss.append(int(next(line for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
                            if line.startswith("VmRSS")).split()[1]))
    process.send_signal(signal.SIGINT)
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait(30)
    assert "Traceback" not in stderr
    captured = int(stderr.split(" frames captured")[0].split()[-1])
    assert captured > 12 * 30 * 0.8, stderr  # capture kept the camera's pace
    # And so did the recording: a main loop held up by the reader would record ~5 fps (under heavy
    # load a main loop that falls behind skips to the newest frame, and the recording counts those).
    assert count_frames(record) > 12 * 30 * 0.5, stderr
    assert rss[-1] - rss[3] < 30_000, rss  # kB: no growth with the backlog
    assert "JSON lines" in stderr  # the summary came: the run ended cleanly


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of a process, all threads, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_until_done_or_blocked(process: subprocess.Popen, quiet_s: float = 1.0, timeout: float = 60) -> None:
    """Until the process exits or uses no CPU for ``quiet_s``: it waits for us (or has nothing left to do)."""
    deadline = time.monotonic() + timeout
    last, quiet_since = -1, time.monotonic()
    while process.poll() is None and time.monotonic() < deadline:
        ticks = cpu_ticks(process.pid)
        if ticks != last:
            last, quiet_since = ticks, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.1)


def test_a_slow_reader_of_a_file_s_json_lines_loses_none(tmp_path: Path) -> None:
    """A file owes every frame its line: with a reader that stops reading, the run waits instead of
    skipping lines as it would for a camera. More lines than the writer's backlog (1000) plus a pipe
    full; a tiny model keeps it quick."""
    clip = make_video(tmp_path / "long.mp4", 1600, size=(64, 48))
    model = pooled_classifier(tmp_path / "tiny.onnx")
    process = subprocess.Popen([sys.executable, "-m", "live_classify", "--source", str(clip), "--jsonl", "-",
                                "--model", str(model), "--provider", "cpu"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=headless_env(), text=True)
    try:
        wait_until_done_or_blocked(process)  # the reader has not read a line yet
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert [json.loads(line)["frame"] for line in stdout.splitlines()] == list(range(1600)), stderr
    assert "skipped" not in stderr




@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_a_full_disk_stops_the_recording_cleanly_and_classification_goes_on(small_disk: Path, camera: MjpegServer,
                                                                             live_cli, suffix: str) -> None:
    record, jsonl = small_disk / f"cam{suffix}", small_disk / "cam.jsonl"
    if suffix == ".mp4":  # H.264 of a still photo is ~40 KB/s: leave it little room, past the 4 MB reserve
        fill(small_disk, leave=4 * 2**20 + 200_000)
    cli = live_cli("--source", camera.url, "--record", str(record), "--jsonl", str(jsonl), "--provider", "cpu")
    cli.wait_for_stderr("recording stopped: the disk is nearly full", timeout=60)
    lines_at_stop = len(jsonl.read_text().splitlines())
    cli.wait_for(lambda: len(jsonl.read_text().splitlines()) >= lines_at_stop + 30, what="classification going on")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    reported = int(run.stderr.split("recorded ")[1].split(" frames")[0])
    assert reported > 30 and count_frames(record) == reported, "every frame it says it recorded is there"
    assert "stopped early: the disk is nearly full" in run.stderr
    assert all(json.loads(line) for line in jsonl.read_text().splitlines())


def test_credentials_never_reach_logs_json_or_errors(camera: MjpegServer, live_cli) -> None:
    url = camera.url.replace("http://", "http://admin:hunter2@")
    cli = live_cli("--source", url, "--jsonl", "-", "--read-timeout", "1", "--provider", "cpu")
    cli.wait_for(lambda: len(cli.stdout_lines) >= 10, what="predictions")
    camera.stop()  # lost: the reconnect messages name the source too
    cli.wait_for_stderr("reconnecting")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert "hunter2" not in run.stdout + run.stderr
    assert json.loads(run.stdout.splitlines()[0])["source"].startswith("http://admin:***@127.0.0.1")


def endless_header_camera() -> int:
    """A port whose every connection is answered ``HTTP/1.0 200 OK`` and header lines that never end."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer(client: socket.socket) -> None:
        with client:
            try:
                client.recv(65536)
                client.sendall(b"HTTP/1.0 200 OK\r\n")
                for n in range(100_000):
                    client.sendall(b"X-Header-%d: %s\r\n" % (n, b"a" * 100))
                    time.sleep(0.01)
            except OSError:
                pass

    def serve() -> None:
        while True:
            client, _ = listener.accept()
            threading.Thread(target=answer, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def test_a_camera_that_sends_an_endless_header_is_given_up_at_the_open_timeout() -> None:
    run = run_cli("--source", f"http://127.0.0.1:{endless_header_camera()}/", "--open-timeout", "2",
                  "--provider", "cpu", timeout=60)
    assert_clean_error(run, "nothing came within 2 s (--open-timeout)")


def test_a_camera_that_answers_but_never_sends_a_picture_is_given_up_after_its_reconnects() -> None:
    """It connects every time and sends only garbage: each reopening that brings no frame is a failed
    attempt of one streak, so --reconnect 2 gives up (each connection started a new streak, for ever)."""
    with MjpegServer(CHELSEA, fps=15, garbage=True) as garbage:
        run = run_cli("--source", garbage.url, "--open-timeout", "1", "--read-timeout", "1", "--reconnect", "2",
                      "--provider", "cpu", "--jsonl", "-", timeout=90)
    assert_clean_error(run, "lost (", "and 2 reconnection attempts failed")
    assert "still lost; reconnecting in 1 s (attempt 2/2)" in run.stderr, run.stderr
    assert run.stdout == ""


def test_secret_query_values_never_reach_the_check_the_log_the_status_or_json_lines(
        camera: MjpegServer, live_cli, tmp_path: Path) -> None:
    """A camera's ``?password=`` and a webhook's ``?token=``: masked in ``--check``, the log, /api/status,
    every JSON line and the summary, as a URL's user info is; the other parameters shown as written."""
    source = f"{camera.url}video?user=admin&password=hunter2&fps=15"
    webhook = f"http://127.0.0.1:{free_port()}/hook?token=t0psecret&api_key=k3yvalue"
    (tmp_path / "box.toml").write_text(f'provider = "cpu"\nwebhook = ["{webhook}"]\nevent = ["tabby"]\n'
                                       f'[[camera]]\nsource = "{source}"\n')
    check = run_cli("--config", "box.toml", "--check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert f"{camera.url}video?user=admin&password=***&fps=15" in check.stdout, check.stdout
    assert "/hook?token=***&api_key=***" in check.stdout, check.stdout
    port = free_port()
    cli = live_cli("--source", source, "--provider", "cpu", "--jsonl", "-", "--serve", f"127.0.0.1:{port}",
                   "--webhook", webhook, "--event", "tabby")
    cli.wait_for(lambda: len(cli.stdout_lines) >= 10, what="predictions")
    shown = status(port)["source"]
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert shown == f"{camera.url}video?user=admin&password=***&fps=15"
    assert "webhooks: posted 0 to http://127.0.0.1:" in run.stderr and "/hook?token=***&api_key=***" in run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert f"{camera.url}video?user=admin&password=***&fps=15" in {line["source"] for line in lines}
    for secret in ("hunter2", "t0psecret", "k3yvalue"):
        assert secret not in run.stdout + run.stderr + check.stdout + check.stderr


def test_a_disk_that_fills_with_json_lines_stops_the_run_with_one_line(small_disk: Path, camera: MjpegServer,
                                                                        live_cli) -> None:
    fill(small_disk, leave=40_000)  # room for about 80 lines
    jsonl = small_disk / "cam.jsonl"
    cli = live_cli("--source", camera.url, "--jsonl", str(jsonl), "--provider", "cpu")
    run = cli.finish(timeout=60)
    assert_clean_error(run, "cannot write JSON lines", "No space left on device")
    lines = jsonl.read_text().splitlines()
    assert len(lines) > 20
    whole = [json.loads(line) for line in lines[:-1]]  # at most the last line is cut
    assert [r["frame"] for r in whole] == sorted(r["frame"] for r in whole)


def run_with_file_size_limit(camera: MjpegServer, record: Path, jsonl: Path, limit: int) -> subprocess.Popen:
    """The command recording ``camera`` under ``ulimit -f``: no file of it may grow past ``limit`` bytes."""

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.Popen([sys.executable, "-m", "live_classify", "--source", camera.url, "--record", str(record),
                             "--jsonl", str(jsonl), "--provider", "cpu"], preexec_fn=limited,
                            stderr=subprocess.PIPE, text=True, env=headless_env())


def test_a_file_size_limit_stops_the_recording_cleanly(camera: MjpegServer, tmp_path: Path) -> None:
    """``ulimit -f``: OpenCV's writer reports no error, so the recorder watches the file grow."""
    record, jsonl = tmp_path / "limited.avi", tmp_path / "limited.jsonl"
    limit = 3 * 2**20
    process = run_with_file_size_limit(camera, record, jsonl, limit)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not jsonl.exists() or len(jsonl.read_text().splitlines()) < 300):
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=30)[1]
    assert process.returncode == 0, stderr
    assert "recording stopped: the file stopped growing" in stderr
    assert record.stat().st_size <= limit and count_frames(record) > 30
    assert len(jsonl.read_text().splitlines()) >= 300, "classification went on"


def test_a_file_size_limit_stops_an_mp4_recording_with_one_line(camera: MjpegServer, tmp_path: Path) -> None:
    """An MP4 write that fails (EFBIG) stops the recording, which stays playable; classification goes on."""
    record, jsonl = tmp_path / "limited.mp4", tmp_path / "limited.jsonl"
    limit = 400_000  # H.264 of the still test photo: ~10 s
    process = run_with_file_size_limit(camera, record, jsonl, limit)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (jsonl.exists() and record.exists()
                                               and record.stat().st_size >= limit - 50_000
                                               and len(jsonl.read_text().splitlines()) >= 400):
        time.sleep(0.5)
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=30)[1]
    assert process.returncode == 0, stderr
    stops = [line for line in stderr.splitlines() if "recording stopped:" in line]
    assert len(stops) == 1 and "File too large" in stops[0], stderr
    assert record.stat().st_size <= limit and count_frames(record) > 30
