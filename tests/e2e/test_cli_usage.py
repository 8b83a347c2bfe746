"""The command as a new user meets it: outputs that are not plain files, flags given in the wrong
mode, and messages that say what happened."""
from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CHELSEA, COFFEE, Run, assert_clean_error, count_frames, headless_env, make_video, run_cli
from mjpeg_server import MjpegServer
from rtsp_stub import RtspStub
from xdisplay import missing, press, screenshot, warning_pixels, window_id

from live_classify.cli.flags import build_parser
from live_classify.sources.capture import with_rtsp_transport

needs_x = pytest.mark.skipif(bool(missing), reason="needs Xvfb, xdotool and imagemagick")


def test_json_lines_go_to_dev_null_a_fifo_and_a_pipe(video_file: Path, tmp_path: Path) -> None:
    run = run_cli("--source", str(video_file), "--jsonl", "/dev/null", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    assert "wrote 60 JSON lines" in run.stderr

    fifo = tmp_path / "lines.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.extend(fifo.open().read().splitlines()), daemon=True)
    reader.start()
    run = run_cli("--source", str(video_file), "--jsonl", str(fifo), "--provider", "cpu")
    reader.join(30)
    assert run.returncode == 0, run.stderr
    assert [json.loads(line)["frame"] for line in received] == list(range(60))

    piped = subprocess.run(f"{sys.executable} -m live_classify --source {video_file} --jsonl /dev/stdout "
                           "--provider cpu | wc -l", shell=True, capture_output=True, text=True, timeout=120,
                           env={k: v for k, v in os.environ.items() if k != "DISPLAY"})
    assert piped.stdout.strip() == "60", piped.stderr


@pytest.mark.parametrize("name", ["out.mov", "out", "out.avi.part"])
def test_a_recording_name_without_a_known_suffix_is_a_usage_error(name: str, video_file: Path, tmp_path: Path) -> None:
    run = run_cli("--source", str(video_file), "--record", str(tmp_path / name), "--provider", "cpu")
    assert_clean_error(run, "--record", "use a .mp4 or .avi file")
    assert run.returncode == 2
    assert not list(tmp_path.iterdir())


def test_the_avi_suffix_in_capitals_is_accepted(video_file: Path, tmp_path: Path) -> None:
    run = run_cli("--source", str(video_file), "--record", str(tmp_path / "OUT.AVI"), "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "OUT.AVI").stat().st_size > 0


class Refusing(http.server.BaseHTTPRequestHandler):
    """404 for every path, 401 for /private without the right login."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_error(401 if self.path.startswith("/private") else 404)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_404() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/camera.mjpg"
    server.shutdown()
    server.server_close()


@pytest.fixture
def rtsp_stub() -> Iterator[RtspStub]:
    with RtspStub() as stub:
        yield stub


def test_a_stream_that_fails_at_once_says_why_not_that_it_timed_out(http_404: str, rtsp_stub: RtspStub) -> None:
    cases = {
        "http://127.0.0.1:9/": "connection refused by 127.0.0.1:9",
        "rtsp://admin:hunter2@nosuchhost.invalid/stream1": "unknown host nosuchhost.invalid",
        http_404: "the server answered 404 Not Found",
        http_404.replace("//", "//admin:hunter2@").replace("/camera", "/private/camera"):
            "the server answered 401 Unauthorized (a user name and password are needed, or they are wrong)",
        rtsp_stub.url + "-typo": "the server answered 404 Not Found",
        rtsp_stub.url: "the server answers, but OpenCV finds no video",  # SETUP refused
    }
    for url, reason in cases.items():
        run = run_cli("--source", url, "--open-timeout", "30", "--provider", "cpu")
        assert_clean_error(run, "cannot open stream", reason)
        assert "within" not in run.stderr and "hunter2" not in run.stderr


def test_only_a_real_timeout_is_called_one() -> None:
    with socket.socket() as silent:  # connections are accepted by the kernel, never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        run = run_cli("--source", f"http://127.0.0.1:{silent.getsockname()[1]}/", "--open-timeout", "1",
                      "--provider", "cpu")
    assert_clean_error(run, "cannot open stream", "nothing came within 1 s")


@pytest.mark.parametrize("flag, expected", [
    ([], ["TCP", "UDP"]),  # OpenCV's default: TCP first, then UDP
    (["--rtsp-transport", "tcp"], ["TCP"]),
    (["--rtsp-transport", "udp"], ["UDP"]),
])
def test_rtsp_transport_reaches_ffmpeg(flag: list[str], expected: list[str], rtsp_stub: RtspStub) -> None:
    run = run_cli("--source", rtsp_stub.url, *flag, "--provider", "cpu")
    assert_clean_error(run, "cannot open stream")  # the stub serves no video; what FFmpeg asked for counts
    asked = ["TCP" if "RTP/AVP/TCP" in t else "UDP" for t in rtsp_stub.transports() if "multicast" not in t]
    assert asked == expected, rtsp_stub.transports()


def test_rtsp_transport_keeps_the_users_other_ffmpeg_options() -> None:
    assert with_rtsp_transport(None, "tcp") == "rtsp_transport;tcp"
    assert with_rtsp_transport("stimeout;5000000|rtsp_transport;udp", "tcp") == "stimeout;5000000|rtsp_transport;tcp"


def test_a_bad_rtsp_transport_is_a_usage_error(rtsp_stub: RtspStub) -> None:
    run = run_cli("--source", rtsp_stub.url, "--rtsp-transport", "http", "--provider", "cpu")
    assert_clean_error(run, "--rtsp-transport", "invalid choice: 'http'")
    assert run.returncode == 2 and not rtsp_stub.requests


def test_the_provider_line_is_short_and_the_reasons_come_with_verbose() -> None:
    plain, verbose = (run_cli("--source", str(COFFEE), *flags) for flags in ([], ["--verbose"]))
    assert plain.returncode == verbose.returncode == 0, plain.stderr + verbose.stderr
    (line,) = [row.split("live-classify: ", 1)[1] for row in plain.stderr.splitlines() if "running on" in row]
    (full,) = [row.split("live-classify: ", 1)[1] for row in verbose.stderr.splitlines() if "running on" in row]
    assert len(line) <= 105, line  # the message itself; a log file's lines also start with the time
    if "not available" in line:  # a GPU provider was tried and did not start (any box without CUDA)
        assert line.endswith("(--verbose says why)")
        assert "unavailable: " in full and len(full) > len(line)
    assert verbose.stdout == plain.stdout


def test_quiet_leaves_stderr_to_problems(video_file: Path) -> None:
    photo = run_cli("--source", str(COFFEE), "--quiet")
    video = run_cli("--source", str(video_file), "--jsonl", "/dev/null", "--quiet")
    assert photo.returncode == video.returncode == 0
    assert photo.stderr == video.stderr == ""
    assert "espresso" in photo.stdout
    failed = run_cli("--source", "http://127.0.0.1:9/", "--quiet")
    assert_clean_error(failed, "connection refused")
    assert run_cli("--source", str(COFFEE), "--quiet", "--verbose").returncode == 2


def warnings_in(run: Run) -> list[str]:
    return [line.split("warning: ", 1)[1] for line in run.stderr.splitlines() if "warning: " in line]


@pytest.mark.parametrize("source, flag, hint", [
    ("photo", ["--record", "out.avi"], "--record is for cameras, streams and video files, not photos"),
    ("photo", ["--jsonl", "-"], "--jsonl is for cameras, streams and video files, not photos; for photos use --json"),
    ("photo", ["--collect", "door"], "--collect is for cameras"),
    ("video", ["--json"], "--json is for photos; for video use --jsonl"),
    ("video", ["--trace"], "--trace is for photos"),
])
def test_an_output_the_mode_never_writes_is_a_usage_error(source: str, flag: list[str], hint: str,
                                                          video_file: Path, tmp_path: Path) -> None:
    run = run_cli("--source", str(COFFEE if source == "photo" else video_file), *flag, "--provider", "cpu",
                  cwd=tmp_path)
    assert_clean_error(run, hint)
    assert run.returncode == 2 and not run.stdout and not list(tmp_path.iterdir())


def test_a_flag_that_does_nothing_in_the_mode_is_one_warning_each(video_file: Path) -> None:
    photo = run_cli("--source", str(COFFEE), "--realtime", "--count", "20", "--quiet")
    assert photo.returncode == 0 and "espresso" in photo.stdout
    assert warnings_in(photo) == ["--realtime does nothing for photos", "--count does nothing for photos"]

    video = run_cli("--source", str(video_file), "--jsonl", "/dev/null", "--width", "640", "--count", "3",
                    "--classes", "a,b", "--rtsp-transport", "tcp", "--provider", "cpu")
    assert video.returncode == 0, video.stderr
    assert sorted(warnings_in(video)) == sorted([
        "--width does nothing for a video file (only a camera is asked for it)",
        "--count does nothing without --collect",
        "--rtsp-transport does nothing for a source that is not rtsp://",
        "--classes does nothing without the window (keys 1-9); headless, use --collect LABEL",
    ])


def test_flags_that_do_something_give_no_warning(video_file: Path, tmp_path: Path) -> None:
    video = run_cli("--source", str(video_file), "--jsonl", "/dev/null", "--record", str(tmp_path / "a.avi"),
                    "--overwrite", "--collect", "x", "--count", "2", "--interval", "0.1", "--collect-dir",
                    str(tmp_path / "d"), "--provider", "cpu")
    camera = run_cli("--camera", "7", "--width", "640", "--fourcc", "MJPG", "--reconnect", "2", "--provider", "cpu")
    assert video.returncode == 0, video.stderr
    assert warnings_in(video) == [] and warnings_in(camera) == []


def test_collecting_from_a_file_spaces_frames_by_its_own_time_and_counts_new_ones(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "two_seconds.mp4", 50, fps=25)  # decoded far faster than 25 fps
    dataset = tmp_path / "dataset"

    def collect(count: int) -> Run:
        return run_cli("--source", str(clip), "--collect", "cat", "--count", str(count), "--interval", "0.5",
                       "--collect-dir", str(dataset), "--provider", "cpu")

    first = collect(4)  # at 0, 0.5, 1.0 and 1.5 s of video
    assert first.returncode == 0, first.stderr
    assert "collected 4 new frames of 'cat'" in first.stderr and "(4 there now)" in first.stderr
    second = collect(2)
    assert second.returncode == 0, second.stderr
    assert "collected 2 new frames of 'cat'" in second.stderr and "(6 there now)" in second.stderr
    assert len(list((dataset / "cat").glob("*.png"))) == 6
    too_many = collect(10)  # 2 s of video hold 4 frames half a second apart
    assert_clean_error(too_many, "only 4 of 10 new frames of 'cat' collected", "ended after 2.0 s")
    assert len(list((dataset / "cat").glob("*.png"))) == 10


def summary_count(stderr: str, what: str) -> int:
    """'60 frames captured, 60 classified, 0 dropped, 60 shown, ...' -> the number before ``what``."""
    return int(stderr.split(f" {what}")[0].split()[-1])


def test_headless_the_summary_counts_no_frame_as_shown(video_file: Path) -> None:
    run = run_cli("--source", str(video_file), "--jsonl", "/dev/null", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    assert "60 frames captured, 60 classified, 0 dropped, 0 reconnects" in run.stderr
    assert "shown" not in run.stderr


@needs_x
def test_the_snapshot_dir_is_made_up_front_and_every_frame_of_a_file_is_shown(display: str, video_file: Path,
                                                                              tmp_path: Path) -> None:
    snaps = tmp_path / "new" / "snaps"
    run = run_cli("--source", str(video_file), "--snapshot-dir", str(snaps), "--provider", "cpu",
                  env=headless_env(DISPLAY=display))
    assert run.returncode == 0, run.stderr
    assert snaps.is_dir()
    assert summary_count(run.stderr, "shown") == 60

    (tmp_path / "a file").write_text("")
    bad = run_cli("--source", str(video_file), "--snapshot-dir", str(tmp_path / "a file"), "--provider", "cpu",
                  env=headless_env(DISPLAY=display))
    assert_clean_error(bad, "--snapshot-dir", "is not a directory")
    assert "opened" not in bad.stderr, "checked before the source is opened"


@needs_x
def test_paused_frames_are_not_counted_as_shown(display: str, camera: MjpegServer, live_cli, tmp_path: Path) -> None:
    record = tmp_path / "all.avi"
    cli = live_cli("--source", camera.url, "--record", str(record), "--provider", "cpu",
                   env=headless_env(DISPLAY=display))
    window_id(display)
    time.sleep(1)  # the window takes keys once it has shown a frame
    press(display, "space")
    cli.wait_for(lambda: warning_pixels(screenshot(display, tmp_path / "paused.png")) > 30, what="'paused' on screen")
    paused_at = count_frames(record)  # frames on screen before the pause: about these (FFmpeg buffers a few)
    cli.wait_for(lambda: count_frames(record) >= paused_at + 60, what="two more seconds recorded, paused")
    press(display, "q")
    run = cli.finish(timeout=20)
    assert run.returncode == 0, run.stderr
    recorded = int(run.stderr.split("recorded ")[1].split()[0])
    assert summary_count(run.stderr, "shown") <= recorded - 30, "the frames recorded while paused were not shown"


def test_a_top_k_above_the_class_count_says_so_and_the_ranks_stay_aligned() -> None:
    run = run_cli("--source", str(COFFEE), "--top-k", "5000", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    rows = run.stdout.splitlines()[1:]
    assert len(rows) == 1000
    assert "--top-k 5000, but the model has 1000 classes: all 1000 are reported" in run.stderr
    assert {row.index("%") for row in rows} == {rows[0].index("%")}, (rows[8], rows[9], rows[999])
    assert rows[0].split()[:2] == ["1.", "95.2%"] and rows[999].split()[0] == "1000."
    assert "note" not in run_cli("--source", str(COFFEE), "--top-k", "1000", "--provider", "cpu").stderr


def test_an_unquoted_glob_of_photos_classifies_each(tmp_path: Path) -> None:
    for photo in (COFFEE, CHELSEA):
        (tmp_path / photo.name).write_bytes(photo.read_bytes())
    done = subprocess.run(f"{sys.executable} -m live_classify --source *.png --top-k 1 --provider cpu",
                          shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0::2] == ["chelsea.png", "coffee.png"]
    assert "espresso" in done.stdout.splitlines()[3]


def test_photos_mixed_with_videos_are_a_usage_error(video_file: Path) -> None:
    run = run_cli("--source", str(video_file), str(COFFEE), "rtsp://admin:hunter2@cam/1", "--provider", "cpu")
    assert_clean_error(run, "photos (", "cannot be mixed with cameras, streams or videos")
    assert run.returncode == 2 and "hunter2" not in run.stderr


def test_help_groups_flags_by_task_writes_defaults_one_way_and_names_the_keys() -> None:
    parser = build_parser()
    group_of = {action.dest: group.title for group in parser._action_groups for action in group._group_actions}
    assert len({group_of[d] for d in ("classes", "collect", "count", "interval", "collect_dir")}) == 1
    assert group_of["smooth"] == group_of["top_k"] != group_of["input_size"]
    assert group_of["rtsp_transport"] == group_of["open_timeout"]
    for action in parser._actions:
        if action.default not in (None, False, argparse.SUPPRESS):
            assert "(default: " in action.help, action.option_strings
        assert not re.search(r"\(default [^:]|\(\d+\)|\(\./", action.help or ""), action.help
    text = run_cli("--help").stdout
    assert "keys in the window:" in text
    for key, does in [("q, Esc", "quit"), ("space", "pause"), ("s", "snapshot"), ("1-9", "--classes")]:
        assert re.search(rf"^  {re.escape(key)} +.*{does}", text, re.MULTILINE), key


def test_help_lists_the_exit_codes_the_command_returns_and_examples_that_parse(tmp_path: Path) -> None:
    import live_classify.cli.main as cli
    from live_classify.cli.flags import EXAMPLES, EXIT_CODES

    text = run_cli("--help").stdout
    listed = {int(m[1]) for m in re.finditer(r"^  (\d+) {2,}\S", text.split("exit codes:\n")[1], re.MULTILINE)}
    assert listed == set(EXIT_CODES) == {0, 1, 2, 130}
    returned = {run_cli("--source", str(COFFEE), "--provider", "cpu").returncode,
                run_cli("--source", str(tmp_path / "missing.jpg"), "--provider", "cpu").returncode,
                run_cli("--source", str(COFFEE), "--top-k", "0").returncode}
    assert returned == {0, 1, 2}  # 130: test_live_cli.py's second Ctrl+C
    assert all(line in text for line in EXAMPLES.splitlines())
    examples = [shlex.split(line)[1:] for line in EXAMPLES.splitlines()[1:]]
    assert len(examples) >= 3
    for argv in examples:  # each one a command line the checks accept
        parser = build_parser()
        cli._check_mode(parser, parser.parse_args(argv), argv)


def test_help_names_every_other_command_with_one_line_each_and_each_answers_its_own_help() -> None:
    text = run_cli("--help").stdout
    assert re.search(r"^usage: live-classify .*\n +live-classify index DIR", text, re.MULTILINE)
    listed = re.findall(r"^  ((?:live-classify\S*)(?: \w+)*(?: [A-Z]+)) {2,}(\S.*)$",
                        text.split("other commands:\n")[1].split("\n\n")[0], re.MULTILINE)
    assert [name for name, _ in listed] == ["live-classify index DIR", "live-classify-train DIR"]
    assert "index.db" in listed[0][1] and "classes" in listed[1][1]
    assert "Rebuild DIR/index.db" in run_cli("index", "--help").stdout
    train = subprocess.run([sys.executable, "-m", "live_classify.train", "--help"], capture_output=True, text=True,
                           timeout=60)
    assert train.returncode == 0 and "DATA_DIR" in train.stdout


@pytest.mark.parametrize("order", [["--trace", "--json"], ["--json", "--trace"]])
def test_trace_and_json_together_are_a_bad_command_line(order: list[str]) -> None:
    """Refused, not one of them silently dropped: JSON is for programs, the trace for reading."""
    run = run_cli("--source", str(COFFEE), *order, "--provider", "cpu")
    assert run.returncode == 2 and not run.stdout
    assert_clean_error(run, f"argument {order[1]}: not allowed with argument {order[0]}")


def test_the_top_k_note_comes_only_when_top_k_was_given(tmp_path: Path) -> None:
    from foreign_models import pooled_classifier

    model = pooled_classifier(tmp_path / "three.onnx", classes=3, metadata={"labels": '["red", "green", "blue"]'})
    quiet = run_cli("--source", str(COFFEE), "--model", str(model), "--provider", "cpu")
    assert quiet.returncode == 0 and len(quiet.stdout.splitlines()) == 4, quiet.stderr  # the name, 3 classes
    assert "top-k" not in quiet.stderr, quiet.stderr
    asked = run_cli("--source", str(COFFEE), "--model", str(model), "--top-k", "5", "--provider", "cpu")
    assert "note: --top-k 5, but the model has 3 classes: all 3 are reported" in asked.stderr
