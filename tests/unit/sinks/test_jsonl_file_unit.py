"""``--jsonl-rotate daily``: a new file on a new day (the clock's day faked), and only one; a size:
rotated past it, never before, the older files shifted up;
SIGUSR1: one reopen per signal; through the JSON lines sink, a size in bytes (not letters), and
no rotation of a FIFO."""
from __future__ import annotations

import json
import os
import signal
import stat
import time
import types
from pathlib import Path

from updates import update

from live_classify.sinks import jsonl_file
from live_classify.sinks.events.rules import START, Change, Event, record
from live_classify.sinks.jsonl import JsonLines
from live_classify.sinks.jsonl_file import Rotating, Rotation


def frames(path: Path) -> list[int]:
    return [json.loads(line)["frame"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_daily_rotation_starts_a_new_file_on_a_new_day(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    today = {"day": "2026-12-07"}
    clock = types.SimpleNamespace(strftime=lambda fmt, *a: today["day"] if fmt == "%Y-%m-%d" else time.strftime(fmt),
                                  monotonic=time.monotonic)
    monkeypatch.setattr(jsonl_file, "time", clock)
    rotating = Rotating(tmp_path / "out.jsonl", Rotation("daily", keep=3))
    out = rotating.ready(rotating.open(), 14)
    out.write('{"frame": 1}\n')
    assert rotating.ready(out, 14) is out  # the same day: the same file
    today["day"] = "2026-12-08"
    out = rotating.ready(out, 14)
    out.write('{"frame": 2}\n')
    out = rotating.ready(out, 14)  # the rest of the new day: the new file again, not another rotation
    out.write('{"frame": 3}\n')
    out.close()
    assert frames(tmp_path / "out.jsonl.1") == [1] and frames(tmp_path / "out.jsonl") == [2, 3]
    assert not (tmp_path / "out.jsonl.2").exists()


def test_a_sigusr1_reopens_the_file_once_and_the_lines_after_it_stay_in_the_new_file(tmp_path: Path,
                                                                                   monkeypatch) -> None:  # noqa: ANN001
    path, moved = tmp_path / "out.jsonl", tmp_path / "out.jsonl.old"
    rotating = Rotating(path)
    out = rotating.ready(rotating.open(), 14)
    out.write('{"frame": 1}\n')
    path.rename(moved)  # logrotate, then its postrotate: kill -USR1
    monkeypatch.setitem(jsonl_file._reopen, "asked", jsonl_file._reopen["asked"] + 1)
    out = rotating.ready(out, 14)
    out.write('{"frame": 2}\n')
    path.rename(tmp_path / "out.jsonl.taken")  # taken again, with no signal this time
    out = rotating.ready(out, 14)
    out.write('{"frame": 3}\n')
    out.close()
    assert frames(moved) == [1] and frames(tmp_path / "out.jsonl.taken") == [2, 3], "one reopen per signal"
    assert not path.exists()


def test_a_file_may_reach_exactly_the_rotation_size_before_it_rotates(tmp_path: Path) -> None:
    """``--jsonl-rotate 26`` with lines of 13 bytes: two lines fill the file to exactly 26 bytes and
    stay together; the third starts the new file."""
    path = tmp_path / "out.jsonl"
    rotating = Rotating(path, Rotation(26, keep=3))
    out = rotating.open()
    for frame in (1, 2, 3):
        line = f'{{"frame": {frame}}}\n'
        out = rotating.ready(out, len(line.encode()))
        out.write(line)
    out.close()
    assert frames(tmp_path / "out.jsonl.1") == [1, 2] and frames(path) == [3]
    assert (tmp_path / "out.jsonl.1").stat().st_size == 26


def test_each_rotation_shifts_the_older_files_up_one_and_drops_only_the_oldest(tmp_path: Path) -> None:
    """``--jsonl-rotate 13 --jsonl-keep 3`` with lines of 13 bytes: each line has a file of its own;
    after five, ``out.jsonl`` holds the fifth, ``.1`` the fourth, ``.2`` the third, ``.3`` the second."""
    path = tmp_path / "out.jsonl"
    rotating = Rotating(path, Rotation(13, keep=3))
    out = rotating.open()
    for frame in range(1, 6):
        line = f'{{"frame": {frame}}}\n'
        out = rotating.ready(out, len(line.encode()))
        out.write(line)
    out.close()
    kept = [frames(tmp_path / name) for name in ("out.jsonl", "out.jsonl.1", "out.jsonl.2", "out.jsonl.3")]
    assert kept == [[5], [4], [3], [2]]
    assert not (tmp_path / "out.jsonl.4").exists()


def test_a_line_longer_than_the_size_goes_into_the_empty_file_and_rotates_no_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    rotating = Rotating(path, Rotation(10, keep=3))
    out = rotating.open()
    for frame in (1, 2):
        line = f'{{"frame": {frame}}}\n'  # 13 bytes, over the 10
        out = rotating.ready(out, len(line.encode()))
        out.write(line)
    out.close()
    assert frames(tmp_path / "out.jsonl.1") == [1] and frames(path) == [2]
    assert not (tmp_path / "out.jsonl.2").exists()


def test_every_real_sigusr1_reopens_the_file_not_only_the_first(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setitem(jsonl_file._reopen, "asked", 0)
    before = signal.getsignal(signal.SIGUSR1)
    try:
        jsonl_file.listen_for_reopen()
        path = tmp_path / "out.jsonl"
        rotating = Rotating(path)
        out = rotating.open()
        for frame in (1, 2, 3):
            out = rotating.ready(out, 14)
            out.write(f'{{"frame": {frame}}}\n')
            out.flush()
            path.rename(tmp_path / f"moved-{frame}")  # logrotate moves it, then kill -USR1
            os.kill(os.getpid(), signal.SIGUSR1)
        out.close()
    finally:
        signal.signal(signal.SIGUSR1, before)
    assert [frames(tmp_path / f"moved-{n}") for n in (1, 2, 3)] == [[1], [2], [3]]


def test_a_size_rotation_counts_the_bytes_of_a_label_with_accents_not_its_letters(tmp_path: Path) -> None:
    """``--jsonl-rotate SIZE`` is a size on disk: an event's line for ``crème brûlée`` (written as it
    is, two bytes for each accented letter) counts its bytes. The size is one byte short of two
    lines: each line gets a file of its own, and no file passes the size."""
    path = tmp_path / "out.jsonl"
    events = [Change(START, Event(f"e{n}", "door", "crème brûlée", 1.0, None, 0.9, 1.0)) for n in (1, 2, 3)]
    line = json.dumps(record(events[0]), ensure_ascii=False) + "\n"
    assert len(line.encode()) > len(line)  # the scenario: bytes and letters differ
    size = 2 * len(line.encode()) - 1
    sink = JsonLines(str(path), "cam", drop=False, rotation=Rotation(size, keep=3))
    for event in events:
        sink.write_event(event)
    sink.close()
    kept = {f.name: [json.loads(text)["id"] for text in f.read_text(encoding="utf-8").splitlines()]
            for f in tmp_path.iterdir()}
    assert kept == {"out.jsonl.2": ["e1"], "out.jsonl.1": ["e2"], "out.jsonl": ["e3"]}
    assert all(f.stat().st_size <= size for f in tmp_path.iterdir())


def test_a_fifo_given_a_rotation_is_never_rotated_and_its_reader_gets_every_line(tmp_path: Path) -> None:
    """Rotation is for a regular file: ``--jsonl FIFO --jsonl-rotate 100B`` writes every line to the
    FIFO (nothing moved or renamed; a FIFO cannot tell its size), as it does to /dev/null."""
    fifo = tmp_path / "out.jsonl"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader there first: opening to write then returns
    try:
        sink = JsonLines(str(fifo), "cam", drop=False, rotation=Rotation(100, keep=2))
        sink.write_predictions([update(n, n / 10).shown.new_predictions[0] for n in range(3)])
        sink.close()
        got = os.read(reader, 1 << 16).decode()
    finally:
        os.close(reader)
    assert sink.error is None and [json.loads(text)["frame"] for text in got.splitlines()] == [0, 1, 2]
    assert stat.S_ISFIFO(fifo.stat().st_mode) and sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
