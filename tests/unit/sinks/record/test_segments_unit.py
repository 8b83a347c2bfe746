"""The pure parts of ``--segment``/``--retain``, exact: the plan, the camera's folder name, which
files are segments, what is pruned and the line that says so, ages and sizes in words."""
from __future__ import annotations

import os
import time
from pathlib import Path

import av
import numpy as np
import pytest
from disks import Disk

from live_classify.config import SourceSpec
from live_classify.errors import LiveClassifyError
from live_classify.sinks import troubles
from live_classify.sinks.record import retention, segments
from live_classify.sinks.record.retention import SegmentPlan, camera_folder, prepare, prune, segment_files

NOW = 1_800_000_000.0


def test_the_plan_the_flags_describe() -> None:
    assert SegmentPlan.of(None, [("size", 5e9)], "cam") is None
    assert SegmentPlan.of(60.0, None, "cam") == SegmentPlan(60.0, "cam", None, None)
    plan = SegmentPlan.of(60.0, [("size", 5e9), ("age", 3600.0)], "cam")
    assert plan == SegmentPlan(60.0, "cam", 5_000_000_000, 3600.0) and isinstance(plan.max_bytes, int)
    assert SegmentPlan.of(0.5, [("age", 7.0)], "c") == SegmentPlan(0.5, "c", None, 7.0)


@pytest.mark.parametrize("spec, folder", [
    (SourceSpec(0, "camera", "camera 0"), "camera-0"),
    (SourceSpec("/videos/my holiday.v2.mp4", "file", "x"), "my-holiday.v2"),
    (SourceSpec("/dev/video0", "camera", "--..odd name!.."), "odd-name"),
    (SourceSpec(1, "camera", "!!!"), "camera"),
    (SourceSpec(1, "camera", "a" * 150), "a" * 100),
    (SourceSpec("http://user@h:8080/live/stream.MJPG?user=me&fps=5", "stream", "x"), "h-8080-live-stream-fps-5"),
    (SourceSpec("http://h/a.m3u8", "stream", "x"), "h-a"),
])
def test_the_camera_folder(spec: SourceSpec, folder: str) -> None:
    assert camera_folder(spec) == folder


def test_prepare_creates_the_folder_or_says_why_not(tmp_path: Path) -> None:
    prepare(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir() and list((tmp_path / "a" / "b").iterdir()) == []
    prepare(tmp_path / "a" / "b")  # there already
    (tmp_path / "file").write_text("x")
    with pytest.raises(LiveClassifyError, match=f"^--record {tmp_path / 'file'}/: not a directory$"):
        prepare(tmp_path / "file")
    with pytest.raises(LiveClassifyError) as error:
        prepare(Path("/proc/recordings"))
    assert str(error.value) == "cannot create recording directory /proc/recordings: /proc takes no new files"
    with pytest.raises(LiveClassifyError) as error:
        prepare(Path("/proc/self"))
    assert str(error.value).startswith("cannot write recording directory /proc/self: ")


def segment(folder: Path, name: str, age_s: float, size: int = 1000) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    os.utime(path, (NOW - age_s, NOW - age_s))
    return path


def test_only_segments_in_day_folders_oldest_first_then_by_name(tmp_path: Path) -> None:
    a = segment(tmp_path, "2026-01-02/10-00-00.mp4", 50)
    b = segment(tmp_path, "2026-01-01/23-59-00_2.mp4", 50)
    c = segment(tmp_path, "2026-01-02/10-01-00.mp4", 100)
    segment(tmp_path, "2026-01-02/notes.mp4", 500)
    segment(tmp_path, "2026-01-02/10-00-00.mp4.partial", 500)
    segment(tmp_path, "not-a-day/10-00-00.mp4", 500)
    segment(tmp_path, "2026-01-02x/10-00-00.mp4", 500)
    (tmp_path / "2026-01-03" / "11-00-00.mp4").mkdir(parents=True)
    (tmp_path / "loose.mp4").write_bytes(b"x")
    assert segment_files(tmp_path) == [c, b, a]
    assert segment_files(tmp_path / "missing") == []
    (tmp_path / "afile").write_text("x")
    assert segment_files(tmp_path / "afile") == []


def test_pruning_by_age_says_what_when_and_why_and_empties_day_folders(tmp_path: Path) -> None:
    old = segment(tmp_path, "2026-01-01/10-00-00.mp4", 3 * 86400, size=2_500_000)
    edge = segment(tmp_path, "2026-01-02/10-00-00.mp4", 86400)  # exactly the limit: kept
    keep = segment(tmp_path, "2026-01-03/10-00-00.mp4", 4 * 86400)  # the open one, however old
    said: list[str] = []
    deleted = prune(tmp_path, SegmentPlan(60, "x", max_age_s=86400), keep, NOW, said.append)
    assert deleted == [old] and said == [f"retention: deleted {old} (2.5 MB, 3d old; older than 1d)"]
    assert not old.parent.exists() and edge.exists() and keep.exists()


def test_pruning_by_size_counts_the_open_segment_as_it_will_be(tmp_path: Path) -> None:
    first = segment(tmp_path, "2026-01-01/10-00-00.mp4", 300, size=400_000)
    second = segment(tmp_path, "2026-01-01/10-01-00.mp4", 200, size=400_000)
    keep = segment(tmp_path, "2026-01-01/10-02-00.mp4", 100, size=100_000)
    plan = SegmentPlan(60, "x", max_bytes=900_000)
    said: list[str] = []
    assert prune(tmp_path, plan, keep, NOW, said.append) == []  # 900 000 exactly: not over
    assert prune(tmp_path, plan, keep, NOW, said.append, open_bytes=100_001) == [first]
    assert said == [f"retention: deleted {first} (0.4 MB, 5m old; the camera's segments over 0.9 MB)"]
    assert first.parent.exists(), "the open segment's day folder stays"
    assert prune(tmp_path, plan, keep, NOW, said.append, open_bytes=600_000) == [second]
    assert prune(tmp_path, SegmentPlan(60, "x", max_bytes=0), keep, NOW, said.append) == [] and keep.exists()


def test_a_segment_that_cannot_be_deleted_is_one_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = segment(tmp_path, "2026-01-01/10-00-00.mp4", 100)
    keep = segment(tmp_path, "2026-01-02/10-00-00.mp4", 0)
    warned: list[str] = []
    monkeypatch.setattr(retention.log, "warning", warned.append)
    real_unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self == old:
            raise PermissionError(13, "Permission denied")
        real_unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    said: list[str] = []
    assert prune(tmp_path, SegmentPlan(60, "x", max_age_s=10), keep, NOW, said.append) == []
    assert warned == [f"retention: cannot delete {old}: Permission denied"] and said == []


@pytest.mark.parametrize("seconds, words", [(None, "0s"), (0.5, "0s"), (1.0, "1s"), (45, "45s"), (59.94, "59.9s"),
                                            (60, "1m"), (600, "10m"), (3599, "60m"), (3600, "1h"), (5400, "1.5h"),
                                            (86399, "24h"), (86400, "1d"), (7 * 86400, "7d"), (1000 * 86400, "1e+03d")])
def test_ages_in_the_flags_words(seconds: float | None, words: str) -> None:
    assert retention.age_text(seconds) == words


def test_sizes_in_megabytes_and_a_file_gone_meanwhile(tmp_path: Path) -> None:
    assert (retention._megabytes(None), retention._megabytes(0), retention._megabytes(1_250_000)) == \
        ("0.0 MB", "0.0 MB", "1.2 MB")
    assert retention.size_and_mtime(tmp_path / "gone") == (0, 0.0)
    path = segment(tmp_path, "2026-01-01/10-00-00.mp4", 10, size=123)
    assert retention.size_and_mtime(path) == (123, NOW - 10)
    retention._remove_if_empty(path.parent)
    assert path.exists()
    path.unlink()
    retention._remove_if_empty(path.parent)
    assert not path.parent.exists()
    retention._remove_if_empty(path.parent)  # gone already: no error


def test_a_full_disk_finishes_the_segment_drops_frames_until_there_is_room_and_says_it_resumed_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = Disk()
    monkeypatch.setattr(segments, "SpaceWatch", lambda: disk)
    writer = segments.SegmentedMp4(tmp_path, SegmentPlan(60.0, "full-cam"), wall_clock=lambda: NOW)
    image = np.zeros((48, 64, 3), np.uint8)
    for i in range(5):
        writer.write(image, i * 0.1)
    disk.full = "the disk is nearly full (1.0 MB free)"
    writer.write(image, 0.5)
    disk.full = None
    (first,) = segment_files(tmp_path / "full-cam")
    with av.open(str(first)) as played:  # finished at the stop: it plays while the recording waits
        assert sum(1 for _ in played.decode(video=0)) == 6
    assert troubles.stopped("recording", "full-cam") and "resumed" not in writer.rate
    for i in range(6, 10):
        writer.write(image, i * 0.1)  # no room: dropped
    disk.room = "20.0 MB free"
    writer.write(image, 1.0)
    disk.room = None  # once resumed, the disk is not asked again before each frame
    writer.write(image, 1.1)
    writer.close()
    assert troubles.stopped("recording", "full-cam") is None
    assert writer.frames == 8 and writer.segments == 2
    assert writer.rate.endswith(", 2 segments of 1m, resumed 1 time after a full disk")



def test_the_summary_s_rate_after_a_resume_counts_the_frames_over_the_whole_recording(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 10 fps source, 5 s recorded, half a second lost to a full disk, 4.5 s more: about 10 fps,
    not the frames of both parts over the time since the resume (21.6 fps)."""
    disk = Disk()
    monkeypatch.setattr(segments, "SpaceWatch", lambda: disk)
    writer = segments.SegmentedMp4(tmp_path, SegmentPlan(60.0, "rate-cam"), wall_clock=lambda: NOW)
    image = np.zeros((48, 64, 3), np.uint8)
    for i in range(100):
        disk.full = "the disk is nearly full (1.0 MB free)" if i == 50 else None
        disk.room = "20.0 MB free" if i == 55 else None
        writer.write(image, i / 10)  # frames 5.1 to 5.4 dropped; 5.5 resumes
    writer.close()
    assert writer.frames == 96 and writer.segments == 2
    assert writer.rate.startswith("9.6 fps (the source's times), 2 segments of 1m, resumed 1 time")



def test_a_size_limit_holds_while_a_busy_segment_outgrows_several_quiet_ones(tmp_path: Path) -> None:
    """``--retain SIZE`` counts the open segment as it grows: a scene that turns busy (a segment of
    ~50 kB after 3 s segments of ~20 kB) deletes one old segment, then another as it grows on:
    at no frame do the camera's segments on disk pass the limit."""
    rng = np.random.default_rng(1)
    quiet = [rng.integers(100, 116, (48, 64, 3), np.uint8) for _ in range(150)]
    busy = [rng.integers(0, 255, (48, 64, 3), np.uint8) for _ in range(60)]
    writer = segments.SegmentedMp4(tmp_path, SegmentPlan(3.0, "busy-cam", max_bytes=100_000),
                                   wall_clock=lambda: NOW)
    on_disk = []
    for i, image in enumerate(quiet + busy):
        writer.write(image, i / 10)
        on_disk.append(sum(retention.size_and_mtime(path)[0] for path in segment_files(tmp_path / "busy-cam")))
    writer.close()
    assert max(on_disk) <= 100_000 and on_disk[149] > 80_000  # full, but never past it


def test_a_size_limit_leaves_room_for_the_next_frame_before_it_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--retain SIZE`` prunes with room for one more frame (the largest so far): as each new
    packet is muxed (before the pruning that follows it), the closed segments on disk and the open
    one as it will be are still within the limit, not over it until the next check."""
    opened: list[segments.Mp4Writer] = []

    class Recorded(segments.Mp4Writer):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            opened.append(self)

    monkeypatch.setattr(segments, "Mp4Writer", Recorded)
    totals: list[int] = []

    def seen(t: float, key: bool, data: bytes, stream: object) -> None:
        closed = sum(retention.size_and_mtime(path)[0] for path in segment_files(tmp_path / "busy-cam")
                     if path != opened[-1].path)
        totals.append(closed + opened[-1].bytes_estimate)

    rng = np.random.default_rng(1)
    frames = [rng.integers(100, 116, (48, 64, 3), np.uint8) for _ in range(150)] + \
        [rng.integers(0, 255, (48, 64, 3), np.uint8) for _ in range(60)]
    writer = segments.SegmentedMp4(tmp_path, SegmentPlan(3.0, "busy-cam", max_bytes=100_000),
                                   wall_clock=lambda: NOW, tap=seen)
    for i, image in enumerate(frames):
        writer.write(image, i / 10)
    writer.close()
    assert max(totals) <= 100_000 and totals[149] > 80_000, max(totals)


def test_the_open_segment_s_day_folder_stays_though_its_file_is_not_written_yet(tmp_path: Path) -> None:
    old = segment(tmp_path, "2026-01-01/10-00-00.mp4", 3 * 86400)
    keep = tmp_path / "2026-01-01" / "10-05-00.mp4"  # opened: the encoder has sent nothing yet
    assert prune(tmp_path, SegmentPlan(60, "x", max_age_s=86400), keep, NOW, lambda line: None) == [old]
    assert keep.parent.is_dir()


class Told:
    """The index, as a segmented recording tells it: each segment closed, those retention deleted."""

    def __init__(self) -> None:
        self.closed: list[tuple[str, str, float, float]] = []
        self.deleted: list[Path] = []

    def segment_closed(self, camera: str, path: Path, start: float, end: float, size: int) -> None:
        self.closed.append((camera, path.name, start, end))

    def segments_deleted(self, paths: list[Path]) -> None:
        self.deleted += paths


def test_the_index_is_told_each_segment_in_wall_clock_times_and_each_one_retention_deletes(tmp_path: Path) -> None:
    wall = [time.time()]
    start = wall[0]
    told = Told()
    writer = segments.SegmentedMp4(tmp_path, SegmentPlan(1.0, "told", max_age_s=100.0),
                                   wall_clock=lambda: wall[0], log_to=told)
    image = np.zeros((48, 64, 3), np.uint8)
    for i in range(50, 76):  # source times 5.0 to 7.5: three segments, two closed
        writer.write(image, i / 10)
    assert [(c, s - start, e - start) for c, _, s, e in told.closed] == [
        ("told", pytest.approx(0.0), pytest.approx(0.9)), ("told", pytest.approx(1.0), pytest.approx(1.9))]
    files = segment_files(tmp_path / "told")
    wall[0] = start + 1000  # the wall clock moves on: every segment is now older than 100 s
    writer.write(image, 8.0)
    writer.close()
    assert told.deleted == files and [p.name for p in segment_files(tmp_path / "told")] == [told.closed[-1][1]]


def test_a_segment_a_stall_ran_across_is_indexed_to_the_held_frame_at_its_end(tmp_path: Path) -> None:
    """Frames to 0.5 s, then none until 1.8 s (a stall over the 1 s boundary): the first segment holds
    its last frame to its end, so the index says it lasts to 0.999 s (the history shows no hole), not
    to the last frame the camera sent (0.5 s)."""
    wall = time.time()
    told = Told()
    writer = segments.SegmentedMp4(tmp_path, SegmentPlan(1.0, "stalled"), wall_clock=lambda: wall, log_to=told)
    image = np.zeros((48, 64, 3), np.uint8)
    for t in [i / 10 for i in range(6)] + [1.8, 1.9]:
        writer.write(image, t)
    writer.close()
    assert [(s - wall, e - wall) for _, _, s, e in told.closed] == [
        (pytest.approx(0.0), pytest.approx(1.0 - segments.HOLD_GAP_S)), (pytest.approx(1.0), pytest.approx(1.9))]
