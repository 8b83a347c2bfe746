"""The JSON lines' file kept from growing forever, through the real command: ``--jsonl-rotate
SIZE|daily`` with ``--jsonl-keep N``, and SIGUSR1 for logrotate (the file moved away, a new one at
the path); no line lost or cut at any seam."""
from __future__ import annotations

import json
import re
import signal
from pathlib import Path

from conftest import LiveCli, assert_clean_error, run_cli
from scenes import EVENT_FLAGS


def frames(path: Path) -> list[int]:
    return [json.loads(line)["frame"] for line in path.read_text(encoding="utf-8").splitlines()
            if '"event"' not in line]


def test_a_size_rotation_keeps_n_files_each_under_the_size_and_every_line_whole(scenes: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", "--jsonl", str(out),
                  "--jsonl-rotate", "12kB", "--jsonl-keep", "2")
    assert run.returncode == 0, run.stderr
    kept = [out.with_name("out.jsonl.2"), out.with_name("out.jsonl.1"), out]
    assert all(path.exists() and path.stat().st_size <= 12_000 for path in kept)
    assert not out.with_name("out.jsonl.3").exists(), "beyond --jsonl-keep, the oldest go"
    assert "rotated" in run.stderr
    seen = [frame for path in kept for frame in frames(path)]  # oldest first: every line, in order
    assert seen == list(range(seen[0], 120)) and seen[0] > 0  # the first file's lines went with it


def test_sigusr1_reopens_the_file_logrotate_moved_away_and_no_line_is_lost(scenes: Path, tmp_path: Path,
                                                                          live_cli: type[LiveCli]) -> None:
    out, moved = tmp_path / "out.jsonl", tmp_path / "out.jsonl.old"
    cli = live_cli("--source", str(scenes), "--realtime", "--headless", "--provider", "cpu", *EVENT_FLAGS,
                   "--jsonl", str(out))
    cli.wait_for(lambda: len(frames(out)) >= 10, timeout=60, what="the first lines")
    out.rename(moved)  # what logrotate does, then its postrotate: kill -USR1
    cli.signal(signal.SIGUSR1)
    cli.wait_for(lambda: out.exists() and len(frames(out)) >= 5, timeout=30, what="lines in the new file")
    run = cli.finish(timeout=60)
    assert run.returncode == 0, run.stderr
    before, after = frames(moved), frames(out)
    # --realtime classifies the newest frame (a busy machine skips some): what is checked is the files'
    # seam, every line the command says it wrote in one of the two, in order, none twice.
    wrote = re.search(r"wrote (\d+) JSON lines", run.stderr)
    assert wrote, run.stderr
    whole = [line for path in (moved, out) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(whole) == int(wrote.group(1)) and all(line.endswith("}") for line in whole)
    assert before and after and before + after == sorted(set(before + after))
    assert "reopened (SIGUSR1)" in run.stderr


def test_a_bad_rotation_is_one_line_and_exit_2(scenes: Path, tmp_path: Path) -> None:
    run = run_cli("--source", str(scenes), "--jsonl", str(tmp_path / "o.jsonl"), "--jsonl-rotate", "weekly")
    assert run.returncode == 2
    assert_clean_error(run, "--jsonl-rotate", "daily, or a size such as 100MB")
