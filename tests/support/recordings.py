"""Reading recordings back (ffprobe) and a disk that fills up."""
from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def probe(path: Path) -> dict:
    """What ffprobe says of the video stream, frames counted by decoding them."""
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
                          "-show_entries", "stream=codec_name,pix_fmt,nb_read_frames,duration",
                          "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["streams"][0]


def keyframe_times(path: Path) -> list[float]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "frame=key_frame,pts_time",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split(",") for line in out.splitlines() if line]
    return [float(row[1]) for row in rows if row[0] == "1"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB file system of its own (tmpfs), to fill up for real."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        if os.environ.get("CI"):
            raise RuntimeError(f"cannot mount a tmpfs for the disk-full test: {done.stderr}")
        pytest.skip(f"needs root to mount a small tmpfs: {done.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` with one file until only ``leave`` bytes are free."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    (disk / "filler").write_bytes(b"\0" * (free - leave))


def recording_counts(summary: str) -> dict[str, int]:
    """recorded, dropped (the encoder fell behind) and skipped (never handed over), from the summary line."""
    found = {key: re.search(pattern, summary) for key, pattern in
             {"recorded": r"recorded (\d+) frames", "dropped": r"(\d+) dropped", "skipped": r"(\d+) skipped"}.items()}
    return {key: int(match.group(1)) if match else 0 for key, match in found.items()}
