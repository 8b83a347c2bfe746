"""A disk that fills up and empties again, for real (a small tmpfs), through the real command: the
recording stops, says so in /healthz and /api/status, resumes by itself once there is room; an
event that starts while nothing is recorded has no clip, never another moment's footage."""
from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

from conftest import LiveCli, run_cli
from mjpeg_server import MjpegServer
from recordings import fill
from scenes import EVENT_FLAGS, lines_of
from web_client import get, serve, status

from live_classify.sinks.record.retention import camera_folder, segment_files
from live_classify.sources.capture import parse_video_source


def test_a_full_disk_says_so_in_health_and_status_and_recording_resumes_once_there_is_room(
        small_disk: Path, camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    fill(small_disk, leave=4 * 2**20 + 150_000)  # past the 4 MB reserve: little room
    rec = small_disk / "rec"
    cli, port = serve(live_cli, camera, "--record", f"{rec}/", "--segment", "1s")
    cli.wait_for_stderr("recording stopped: the disk is nearly full", timeout=60)
    code, body = get(port, "/healthz")
    assert code == 503 and b"recording stopped: disk full" in body, body
    assert any("recording stopped: disk full" in p for p in status(port)["cameras"][0]["problems"])
    folder = rec / camera_folder(parse_video_source(camera.url))
    before = set(segment_files(folder))
    (small_disk / "filler").unlink()  # room again
    cli.wait_for_stderr("recording resumed: the disk has room again", timeout=30)
    cli.wait_for(lambda: len(set(segment_files(folder)) - before) >= 2, timeout=30, what="new segments")
    code, body = get(port, "/healthz")
    assert code == 200 and status(port)["cameras"][0]["problems"] == [], body
    cli.signal(signal.SIGINT)
    run = cli.finish(timeout=60)
    assert run.returncode == 0, run.stderr
    assert "resumed 1 time after a full disk" in run.stderr and "stopped early" not in run.stderr


def test_a_single_file_recording_stopped_by_a_full_disk_says_so_in_health_and_status(
        small_disk: Path, camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    """``--record FILE.mp4`` (one file, no segments) stops for good on a full disk: /healthz and
    /api/status say so while the run goes on, as they do for segments."""
    fill(small_disk, leave=4 * 2**20 + 150_000)  # past the 4 MB reserve: little room
    cli, port = serve(live_cli, camera, "--record", str(small_disk / "door.mp4"))
    cli.wait_for_stderr("recording stopped: the disk is nearly full", timeout=60)
    code, body = get(port, "/healthz")
    assert code == 503 and b"recording stopped: disk full" in body, body
    assert any("recording stopped: disk full" in p for p in status(port)["cameras"][0]["problems"])
    cli.signal(signal.SIGINT)
    run = cli.finish(timeout=60)
    assert run.returncode == 0 and "(stopped early: the disk is nearly full" in run.stderr, run.stderr


def test_an_event_while_recording_is_stopped_has_no_clip_never_older_footage(small_disk: Path, scenes: Path,
                                                                            tmp_path: Path) -> None:
    fill(small_disk, leave=3 * 2**20)  # under the reserve: the recording stops at its first frame
    rec, out = small_disk / "rec", tmp_path / "out.jsonl"
    started = time.time()
    run = run_cli("--source", str(scenes), "--realtime", "--headless", "--provider", "cpu", *EVENT_FLAGS,
                  "--jsonl", str(out), "--record", f"{rec}/", "--segment", "1s", "--record-mode", "both")
    assert run.returncode == 0, run.stderr
    assert "recording stopped: the disk is nearly full" in run.stderr
    _, events = lines_of(out)
    assert [e["event"] for e in events] == ["start", "end", "start", "end"]
    assert all(e["clip"] is None and e["thumbnail"] is None for e in events), events
    assert run.stderr.count("has no clip: recording stopped: disk full") == 2
    assert not list(rec.glob("*/events/*/*.mp4")), "no clip made of footage from before the events"
    with sqlite3.connect(rec / "index.db") as db:
        assert db.execute("SELECT clip, thumbnail FROM events WHERE start >= ?", (started,)).fetchall() == \
            [(None, None), (None, None)]
    assert json.loads(out.read_text().splitlines()[0])  # classification went on from the first frame
