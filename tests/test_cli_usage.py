"""The command as a new user meets it: outputs that are not plain files, flags given in the wrong
mode, and messages that say what happened."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import assert_clean_error, run_cli


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


@pytest.mark.parametrize("name", ["out.mp4", "out", "out.avi.part"])
def test_a_recording_name_without_the_avi_suffix_is_a_usage_error(name: str, video_file: Path, tmp_path: Path) -> None:
    run = run_cli("--source", str(video_file), "--record", str(tmp_path / name), "--provider", "cpu")
    assert_clean_error(run, "--record", "use a .avi file")
    assert run.returncode == 2
    assert not list(tmp_path.iterdir())


def test_the_avi_suffix_in_capitals_is_accepted(video_file: Path, tmp_path: Path) -> None:
    run = run_cli("--source", str(video_file), "--record", str(tmp_path / "OUT.AVI"), "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "OUT.AVI").stat().st_size > 0
