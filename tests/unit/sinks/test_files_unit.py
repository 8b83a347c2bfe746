"""The file chores every output shares, each with its exact message: the up-front path check, the
reserve a recording leaves on a disk, the once-a-second check, the atomic PNG."""
from __future__ import annotations

import errno
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from live_classify.errors import LiveClassifyError
from live_classify.sinks import files

MB = 2**20


def test_a_folder_a_missing_folder_and_a_device_are_told_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LiveClassifyError, match=f"^recording {tmp_path} is a directory$"):
        files.check_writable(tmp_path, "recording")
    missing = tmp_path / "none" / "a.mp4"
    with pytest.raises(LiveClassifyError) as error:
        files.check_writable(missing, "recording")
    assert str(error.value) == f"cannot write recording {missing}: directory {tmp_path / 'none'} does not exist"
    files.check_writable(Path("/dev/null"), "JSON lines file")  # written, never created
    asked: list[tuple[Path, int]] = []
    monkeypatch.setattr(os, "access", lambda path, mode: asked.append((path, mode)) or False)
    with pytest.raises(LiveClassifyError, match="^cannot write JSON lines file /dev/null: permission denied$"):
        files.check_writable(Path("/dev/null"), "JSON lines file")
    assert asked == [(Path("/dev/null"), os.W_OK)]


def test_a_relative_name_is_checked_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    files.check_writable(Path("a.jsonl"), "JSON lines file")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_takes_no_files_is_named(tmp_path: Path) -> None:
    with pytest.raises(LiveClassifyError) as error:
        files.check_writable(Path("/proc/new.mp4"), "recording")
    assert str(error.value) == "cannot write recording /proc/new.mp4: /proc takes no new files"
    assert files.write_problem(Path("/proc/new.mp4")) == "/proc takes no new files"
    assert files.write_problem(tmp_path / "fine.mp4") is None and not (tmp_path / "fine.mp4").exists()
    (tmp_path / "old").write_bytes(b"12345")
    assert files.write_problem(tmp_path / "old") is None and (tmp_path / "old").read_bytes() == b"12345"


def test_refusals_in_words() -> None:
    assert files.refusal(OSError(errno.EACCES, "Permission denied"), Path("/x/y")) == "permission denied"
    assert files.refusal(OSError(errno.EROFS, ""), Path("/x/y")) == "[errno 30] "
    assert files.refusal(OSError(errno.ENOENT, "No such file"), Path("/proc/a/b/c.mp4")) == "/proc takes no new files"
    assert files.refusal(OSError(errno.ENOENT, "No such file"), Path("/proc/c.mp4")) == "/proc takes no new files"
    assert files.refusal(OSError(errno.ENOENT, "No such file"), Path("/")) == "/ takes no new files"


def test_fsync_reaches_the_file_and_a_missing_one_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.fstat(fd).st_size) or real_fsync(fd))
    (tmp_path / "f").write_bytes(b"abc")
    files.fsync_path(tmp_path / "f")
    files.fsync_path(tmp_path / "missing")
    assert synced == [3]

    def refuse(fd: int) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "fsync", refuse)
    files.fsync_path(tmp_path / "f")  # a FIFO or /dev/null: no error


@pytest.mark.parametrize("free, per_second, stops", [
    (4 * MB, 0.0, False), (4 * MB - 1, 0.0, True), (4 * MB - 1, 1e6, True),
    (6 * MB, 2 * MB, False), (6 * MB - 1, 2 * MB, True), (7 * MB, 2 * MB, False)])
def test_a_recording_stops_with_3_s_of_it_or_4_mb_still_free(free: int, per_second: float, stops: bool,
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    asked: list[Path] = []
    monkeypatch.setattr(files.shutil, "disk_usage", lambda path: asked.append(path) or SimpleNamespace(free=free))
    why = files.disk_nearly_full(tmp_path / "rec.mp4", per_second)
    assert why == (f"the disk is nearly full ({free / MB:.1f} MB free)" if stops else None)
    assert asked == [tmp_path]


def test_the_message_gives_the_free_megabytes_to_a_tenth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(files.shutil, "disk_usage", lambda path: SimpleNamespace(free=int(2.25 * MB)))
    assert files.disk_nearly_full(tmp_path / "a", 0.0) == "the disk is nearly full (2.2 MB free)"


def test_the_space_is_checked_once_a_second_with_the_files_growth(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    now = [10.0]
    monkeypatch.setattr(files, "time", SimpleNamespace(monotonic=lambda: now[0]))
    growths: list[float] = []
    answer: list[str | None] = [None]
    monkeypatch.setattr(files, "disk_nearly_full", lambda path, growth: growths.append(growth) or answer[0])
    synced: list[Path] = []
    monkeypatch.setattr(files, "fsync_path", synced.append)
    path = tmp_path / "rec.mp4"
    watch = files.SpaceWatch()
    assert watch.check(path) is None and growths == [] and synced == [path]  # not created yet
    path.write_bytes(b"x" * 1000)
    now[0] = 10.99
    assert watch.check(path) is None and growths == []  # within the second
    now[0] = 11.0
    assert watch.check(path) is None and growths == [1000]
    path.write_bytes(b"x" * 3500)
    answer[0] = "full"
    now[0] = 11.5
    assert watch.check(path) is None
    now[0] = 12.0
    assert watch.check(path) == "full" and growths == [1000, 2500]
    path.write_bytes(b"x" * 10)  # a new segment
    now[0] = 13.0
    watch.check(path)
    assert growths == [1000, 2500, 0] and len(synced) == 4


def test_a_png_appears_whole_under_its_name_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = np.full((4, 6, 3), 7, np.uint8)
    assert files.save_png(image, tmp_path / "a.png") is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
    written: list[str] = []
    monkeypatch.setattr(files.cv2, "imwrite", lambda name, image: written.append(name) or False)
    assert files.save_png(image, tmp_path / "b.png") is False
    assert written == [str(tmp_path / ".b.png.partial.png")] and not (tmp_path / "b.png").exists()


def test_an_existing_file_is_tried_for_writing_by_appending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root opens anything for reading and most things for writing, so the try must ask for writing
    (a read-only open would pass where a write fails) and must never truncate."""
    (tmp_path / "old").write_bytes(b"keep")
    opened: list[int] = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, flags, *mode: opened.append(flags) or real_open(path, flags, *mode))
    assert files.write_problem(tmp_path / "old") is None
    assert opened[0] & (os.O_WRONLY | os.O_RDWR) and opened[0] & os.O_APPEND and not opened[0] & os.O_TRUNC
    assert files.write_problem(tmp_path / "new") is None
    assert opened[1] & os.O_WRONLY and opened[1] & os.O_CREAT and opened[1] & os.O_EXCL


def test_the_first_check_is_at_once_whatever_the_clock_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "time", SimpleNamespace(monotonic=lambda: 0.5))
    monkeypatch.setattr(files, "disk_nearly_full", lambda path, growth: f"full after {growth}")
    (tmp_path / "rec.mp4").write_bytes(b"x" * 7)
    assert files.SpaceWatch().check(tmp_path / "rec.mp4") == "full after 7"


def test_a_stopped_recording_resumes_only_with_half_its_peak_reserve_again_free_looked_at_every_3_s(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its peak rate (4 MB/s: 12 MB reserve) sets the bar, not the last growth (a new segment's 0);
    18 MB free is needed (not 12: on and off at the edge); the disk is looked at every RECHECK_S."""
    now, free = [10.0], [100 * MB]
    monkeypatch.setattr(files, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(files.shutil, "disk_usage", lambda path: SimpleNamespace(free=free[0]))
    monkeypatch.setattr(files, "fsync_path", lambda path: None)
    path = tmp_path / "rec.mp4"
    path.write_bytes(b"x" * (4 * MB))
    watch = files.SpaceWatch()
    assert watch.check(path) is None and watch.rate == 4 * MB
    path.write_bytes(b"x" * 10)  # the next segment: it grew by 0 this second
    now[0] = 11.0
    assert watch.check(path) is None and watch.rate == 4 * MB
    free[0] = 17 * MB  # over the 12 MB reserve, under one and a half of it
    now[0] = 12.0
    assert watch.room_again(path) is None
    free[0] = 20 * MB
    now[0] = 14.9  # not looked at again yet
    assert watch.room_again(path) is None
    now[0] = 15.0
    assert watch.room_again(path) == "20.0 MB free"


def test_a_slow_recording_stopped_at_the_4_mb_floor_resumes_only_with_half_as_much_again_free(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A recording of 100 kB/s keeps the 4 MB floor free (3 s of it is far less); stopped there, it
    resumes at 6 MB free (one and a half floors), not at 5 MB: that would be on and off at the edge."""
    now, free = [10.0], [100 * MB]
    monkeypatch.setattr(files, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(files.shutil, "disk_usage", lambda path: SimpleNamespace(free=free[0]))
    monkeypatch.setattr(files, "fsync_path", lambda path: None)
    path = tmp_path / "rec.mp4"
    path.write_bytes(b"x" * 100_000)
    watch = files.SpaceWatch()
    assert watch.check(path) is None and watch.rate == 100_000
    free[0] = 5 * MB  # over the floor, under one and a half of it
    now[0] = 13.0
    assert watch.room_again(path) is None
    free[0] = 6 * MB
    now[0] = 16.0
    assert watch.room_again(path) == "6.0 MB free"
