"""A camera's health problems in ``DIR/index.db`` survive the index's loss, through the real command
(issue 35's events, issue 33's rebuild): a fake live camera (MJPEG over HTTP) is covered, uncovered
and covered again; the index is deleted under the run, which rebuilds it, then damaged and rebuilt
by ``live-classify index DIR``; ``/api/history/events?kind=health`` lists the same problems, with
their times, each time (a health event has no clip and no sidecar: its lines beside the recordings
are what the rebuild reads). A folder for those lines that cannot be made is one warning, and the
line held back is written once it can be, while the recording goes on."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, LiveCli, run_cli
from mjpeg_server import MjpegServer
from web_client import free_port, get

from live_classify.sinks.events.health_log import health_rows

SIZE = (640, 480)
FAST = ("--health", "dark", "--health-after", "2", "--health-learn", "3", "--read-timeout", "2")


class Lens:
    """What the fake camera sends: the cat with fresh sensor noise, or (``covered``) almost black."""

    def __init__(self) -> None:
        self.cat = cv2.resize(cv2.imread(str(CHELSEA)), SIZE, interpolation=cv2.INTER_AREA)
        self.covered = True
        self.rng = np.random.default_rng(0)

    def next_jpeg(self) -> bytes:
        picture = np.full_like(self.cat, 10) if self.covered else self.cat
        noisy = np.clip(picture + self.rng.normal(0, 2, picture.shape), 0, 255).astype(np.uint8)
        return cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def listed(port: int) -> list[dict]:
    code, body = get(port, "/api/history/events?kind=health")
    return json.loads(body)["events"] if code == 200 else []


def told(out: Path, event: str, count: int) -> bool:
    """Whether the JSON lines have told ``count`` health events' ``event`` (start or end)."""
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.endswith("}")] \
        if out.exists() else []
    return sum(line.get("kind") == "health" and line.get("event") == event for line in lines) >= count


def test_health_events_are_listed_again_after_the_index_is_deleted_under_the_run_and_after_index_dir(
        live_cli: type[LiveCli], tmp_path: Path) -> None:
    rec, out, port, lens = tmp_path / "rec", tmp_path / "out.jsonl", free_port(), Lens()
    with MjpegServer(CHELSEA, fps=15, width=SIZE[0], height=SIZE[1]) as camera:
        camera.camera.next_jpeg = lens.next_jpeg  # type: ignore[method-assign]
        cli = live_cli("--source", camera.url, "--name", "door", "--provider", "cpu", "--headless", "--jsonl",
                       str(out), "--serve", f"127.0.0.1:{port}", "--record", f"{rec}/", "--segment", "2s", *FAST)
        cli.wait_for(lambda: told(out, "start", 1), timeout=120, what="dark raised")
        lens.covered = False
        cli.wait_for(lambda: told(out, "end", 1), timeout=60, what="dark cleared")
        lens.covered = True  # again: this one goes on while the index is lost
        cli.wait_for(lambda: told(out, "start", 2), timeout=60, what="dark raised again")
        cli.wait_for(lambda: len(listed(port)) == 2, timeout=30, what="both listed by the index")
        before = listed(port)
        assert [(e["camera"], e["label"], e["kind"], e["end"] is None) for e in before] == [
            ("door", "dark", "health", True), ("door", "dark", "health", False)]  # newest first
        for name in ("index.db", "index.db-wal", "index.db-shm"):
            (rec / name).unlink(missing_ok=True)
        cli.wait_for_stderr("is rebuilt:", timeout=60)
        assert listed(port) == before  # the same ids, starts, ends (one going on) and problems
        lens.covered = False
        cli.wait_for(lambda: told(out, "end", 2), timeout=60, what="dark cleared again")
        cli.wait_for(lambda: listed(port)[0]["end"] is not None, timeout=30, what="its end in the rebuilt index")
        ended = listed(port)
        cli.process.terminate()
        run = cli.finish(timeout=60)
    assert run.returncode == 0, run.stderr
    assert ended[1] == before[1] and ended[0] == {**before[0], "end": ended[0]["end"]}
    (rec / "index.db").write_bytes(b"this is not an SQLite database " * 100)
    for side in ("index.db-wal", "index.db-shm"):
        (rec / side).unlink(missing_ok=True)
    rebuilt = run_cli("index", str(rec))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "moved aside as index.db.damaged-" in rebuilt.stderr and "(and 2 camera problems)" in rebuilt.stderr
    with sqlite3.connect(f"file:{rec / 'index.db'}?mode=ro", uri=True) as db:
        rows = db.execute('SELECT id, camera, label, start, "end", kind FROM events ORDER BY start DESC').fetchall()
    assert rows == [(e["id"], e["camera"], e["label"], e["start"], e["end"], e["kind"]) for e in ended]


def test_a_health_log_that_cannot_be_written_is_one_warning_and_is_caught_up_on_once_it_can(
        live_cli: type[LiveCli], tmp_path: Path) -> None:
    rec, out, lens = tmp_path / "rec", tmp_path / "out.jsonl", Lens()
    (rec / "door").mkdir(parents=True)
    blocker = rec / "door" / "health"
    blocker.write_text("a file where the folder of the health lines goes")
    with MjpegServer(CHELSEA, fps=15, width=SIZE[0], height=SIZE[1]) as camera:
        camera.camera.next_jpeg = lens.next_jpeg  # type: ignore[method-assign]
        cli = live_cli("--source", camera.url, "--name", "door", "--provider", "cpu", "--headless", "--jsonl",
                       str(out), "--record", f"{rec}/", "--segment", "2s", *FAST)
        cli.wait_for(lambda: told(out, "start", 1), timeout=120, what="dark raised")
        cli.wait_for_stderr("cannot write the camera health log", timeout=30)
        blocker.unlink()  # room again
        cli.wait_for_stderr("are written again", timeout=30)
        (start,) = health_rows(rec)
        lens.covered = False
        cli.wait_for(lambda: told(out, "end", 1), timeout=60, what="dark cleared")
        cli.process.terminate()
        run = cli.finish(timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("cannot write the camera health log") == 1 and "stopped" not in run.stderr, run.stderr
    ended = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()
             if '"kind": "health"' in line and '"event": "end"' in line]
    ((*kept, end),) = health_rows(rec)
    assert kept == list(start[:4]) and end == pytest.approx(ended[0]["end"], abs=1e-3) and start[4] is None
    assert ended[0]["id"] == start[0] and list(rec.glob("door/*-*-*/*.mp4"))  # and the recording went on
