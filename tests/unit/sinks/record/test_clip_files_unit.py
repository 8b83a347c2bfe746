"""``--retain-events``: which clips go, on a fake clip tree whose sizes and ages are exact."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from live_classify.sinks.record.clip_files import prune_clips
from live_classify.sinks.record.clip_names import sidecar_of, thumbnail_of

NOW = 1_800_000_000.0


class Told:
    """The index, as retention tells it."""

    def __init__(self) -> None:
        self.deleted: list[Path] = []

    def clips_deleted(self, clips: list[Path]) -> None:
        self.deleted += clips


def clips(camera: Path, ages_s: list[float], size: int = 1000) -> list[Path]:
    """Clips of ``size`` bytes each, last written ``ages_s`` ago."""
    made = []
    for i, age in enumerate(ages_s):
        clip = camera / "events" / "2027-01-15" / f"10-00-{i:02d}-espresso.mp4"
        clip.parent.mkdir(parents=True, exist_ok=True)
        clip.write_bytes(b"x" * size)
        os.utime(clip, (NOW - age, NOW - age))
        made.append(clip)
    return made


def test_a_size_limit_deletes_the_oldest_clips_until_the_rest_fit(tmp_path: Path) -> None:
    old, middle, new = clips(tmp_path, [300, 200, 100])
    told = Told()
    assert prune_clips(tmp_path, 2500, None, set(), NOW, told) == [old]
    assert told.deleted == [old] and not old.exists() and middle.exists() and new.exists()
    assert prune_clips(tmp_path, 1000, None, set(), NOW, told) == [middle]
    assert new.exists()


def test_thumbnails_and_sidecars_count_and_go_with_their_clip(tmp_path: Path) -> None:
    old, new = clips(tmp_path, [200, 100])
    thumbnail_of(old).write_bytes(b"j" * 300)
    sidecar_of(old).write_bytes(b"{}")
    assert prune_clips(tmp_path, 2100, None, set(), NOW, None) == [old]  # 1302 + 1000 > 2100
    assert not thumbnail_of(old).exists() and not sidecar_of(old).exists() and new.exists()


def test_an_age_limit_deletes_the_older_clips_alone_and_never_one_being_written(tmp_path: Path) -> None:
    old, written, new = clips(tmp_path, [7200, 5000, 60])
    assert prune_clips(tmp_path, None, 3600, {written}, NOW, None) == [old]
    assert written.exists() and new.exists()
    assert prune_clips(tmp_path, None, None, set(), NOW, None) == []


def test_the_oldest_by_time_not_by_name_go_until_the_rest_fit_and_each_is_said(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    made = clips(tmp_path, [100, 400, 300, 200])  # named in another order than written
    (tmp_path / "events" / "not-a-day").mkdir()
    (tmp_path / "events" / "not-a-day" / "10-00-00-espresso.mp4").write_bytes(b"x" * 5000)
    (tmp_path / "events" / "2027-01-15" / "notes.mp4").write_bytes(b"x" * 5000)
    with caplog.at_level(logging.INFO, logger="live_classify"):
        assert prune_clips(tmp_path, 1_500, None, set(), NOW, None) == [made[1], made[2], made[3]]
    assert [r.getMessage() for r in caplog.records] == [
        f"retention: deleted the event clip {clip} (the camera's clips over 0.0 MB)" for clip in made[1:]]
    assert made[0].exists() and (tmp_path / "events" / "2027-01-15" / "notes.mp4").exists()


def test_an_age_limit_is_exclusive_and_said_and_a_camera_without_clips_is_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    old, exact = clips(tmp_path, [3601, 3600])
    with caplog.at_level(logging.INFO, logger="live_classify"):
        assert prune_clips(tmp_path, None, 3600, set(), NOW, None) == [old]
    assert [r.getMessage() for r in caplog.records] == [f"retention: deleted the event clip {old} (older than 1h)"]
    assert exact.exists()
    assert prune_clips(tmp_path / "nothing", 1, 1, set(), NOW, None) == []


def test_a_clip_that_cannot_be_deleted_is_said_and_the_others_still_go(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    stuck, old, new = clips(tmp_path, [300, 200, 100])
    unlink = Path.unlink

    def refuse(path: Path, missing_ok: bool = False) -> None:
        if path == stuck:
            raise PermissionError(13, "Permission denied")
        unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    assert prune_clips(tmp_path, 1_500, None, set(), NOW, None) == [old, new]
    assert f"retention: cannot delete {stuck}: Permission denied" in [r.getMessage() for r in caplog.records]
    assert stuck.exists() and not new.exists()


def test_a_clip_still_being_written_is_passed_over_and_the_older_ones_after_it_still_go(tmp_path: Path) -> None:
    written, old, new = clips(tmp_path, [9000, 7200, 60])
    assert prune_clips(tmp_path, None, 3600, {written}, NOW, None) == [old]
    assert written.exists() and new.exists()
