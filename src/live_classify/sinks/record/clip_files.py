"""What sits beside a clip: its thumbnail (the event's best frame as a JPEG, as it was classified,
with its own prediction drawn: written at the start with the best so far, again at the end), its
sidecar (the event, JSON), and ``--retain-events``, which deletes the three together and tells
the index. Every file is written under a temporary name and renamed: no reader sees half."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from live_classify import log
from live_classify.sinks.events.moment import Moment
from live_classify.sinks.events.rules import END, Change, Event, record
from live_classify.sinks.record.clip_names import CLIP, EVENTS, sidecar_of, thumbnail_of
from live_classify.sinks.record.retention import DAY, age_text, size_and_mtime

JPEG_QUALITY = 85


@runtime_checkable
class ClipLog(Protocol):
    """What hears of clips retention deleted (the index, which drops their rows), and of events
    named a clip that never came (no footage: their rows say no clip)."""

    def clips_deleted(self, clips: list[Path]) -> None: ...

    def clip_missing(self, event_id: str) -> None: ...


def _replace(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def write_sidecar(clip: Path, event: Event, clip_start: float, part: int = 1, parts: list[str] | None = None) -> None:
    """The event as the JSON lines carry it (``clip``: its first clip), the wall time of this clip's
    first frame, and (``--event-max``) which part this clip is and the event's clips so far."""
    body = {key: value for key, value in record(Change(END, event)).items() if key != "event"}
    extra = {"clip_start": round(clip_start, 3), "part": part, "clips": parts or [str(event.clip)]}
    _replace(sidecar_of(clip), json.dumps({**body, **extra}, ensure_ascii=False).encode())


def write_thumbnail(clip: Path, moment: Moment | None) -> bool:
    """The event's best frame so far (``moment``) with its own prediction, as a JPEG beside ``clip``."""
    return _save_image(None if moment is None else moment.picture(), clip)


def _save_image(image: np.ndarray | None, clip: Path) -> bool:
    if image is None:
        return False
    done, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if done:
        _replace(thumbnail_of(clip), jpeg.tobytes())
    return bool(done)


def clip_files(camera: Path) -> list[Path]:
    """A camera's clips, oldest first (by when each was last written)."""
    folder = camera / EVENTS
    found = [path for day in folder.iterdir() if day.is_dir() and DAY.fullmatch(day.name)
             for path in day.iterdir() if CLIP.fullmatch(path.name) and path.is_file()] if folder.is_dir() else []
    return sorted(found, key=lambda path: (size_and_mtime(path)[1], str(path)))


def prune_clips(camera: Path, max_bytes: int | None, max_age_s: float | None, keep: set[Path], now: float,
                log_to: ClipLog | None) -> list[Path]:
    """``--retain-events``: delete a camera's oldest clips (with their thumbnails and sidecars)
    while over the size or older than the age, never those still being written; the index is told."""
    if max_bytes is None and max_age_s is None:
        return []
    clips = clip_files(camera)
    sizes = {clip: sum(size_and_mtime(p)[0] for p in (clip, thumbnail_of(clip), sidecar_of(clip))) for clip in clips}
    total, deleted = sum(sizes.values()), []
    for clip in clips:
        too_old = max_age_s is not None and now - size_and_mtime(clip)[1] > max_age_s
        if clip in keep or not (too_old or (max_bytes is not None and total > max_bytes)):
            continue
        try:
            for path in (clip, thumbnail_of(clip), sidecar_of(clip)):
                path.unlink(missing_ok=True)
        except OSError as error:
            log.warning(f"retention: cannot delete {path}: {error.strerror}")
            continue
        total -= sizes[clip]
        deleted.append(clip)
        why = f"older than {age_text(max_age_s)}" if too_old \
            else f"the camera's clips over {(max_bytes or 0) / 1e6:.1f} MB"
        log.info(f"retention: deleted the event clip {clip} ({why})")
    if deleted and log_to is not None:
        log_to.clips_deleted(deleted)
    return deleted
