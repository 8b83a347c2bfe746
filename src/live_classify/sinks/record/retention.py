"""Where a camera's segments go and which are deleted: the plan ``--segment`` and ``--retain``
describe, the camera's folder, and the pruning, each deletion in one line (by size as the open
segment grows, counting it too). No encoder here: only names and files."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from live_classify import log
from live_classify.config import SourceSpec
from live_classify.errors import LiveClassifyError
from live_classify.sinks.files import refusal, write_problem

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
SEGMENT = re.compile(r"\d{2}-\d{2}-\d{2}(_\d+)?\.mp4")  # only files named so are ever deleted
# What a camera's URL ends in to say "a stream"; only these are dropped, so two endpoints of one
# host that differ otherwise (a.mjpg, a.jpg) keep folders of their own.
STREAM_SUFFIX = re.compile(r"\.(mjpg|mjpeg|cgi|sdp|m3u8)$", re.IGNORECASE)
SECRET = re.compile(r"user|pass|pwd|token|auth|key|secret|sig|cred", re.IGNORECASE)


@dataclass(frozen=True)
class SegmentPlan:
    """How a directory recording is cut and pruned."""

    length_s: float
    camera: str  # the folder under DIR: the source's name, safe for a file system
    max_bytes: int | None = None  # --retain 50GB: the camera's segments together
    max_age_s: float | None = None  # --retain 7d: by the time a segment was last written

    @classmethod
    def of(cls, length_s: float | None, retain: list[tuple[str, float]] | None,
           camera: str) -> SegmentPlan | None:
        """The plan the flags describe (None without ``--segment``); ``retain`` as argtypes gives it;
        ``camera``: the camera's name (a folder name already)."""
        if length_s is None:
            return None
        limits = dict(retain or [])
        size = limits.get("size")
        return cls(length_s, camera, None if size is None else int(size), limits.get("age"))


def camera_folder(spec: SourceSpec) -> str:
    """``camera 0`` -> ``camera-0``, ``rtsp://user:pw@10.0.0.7:554/s1`` -> ``10.0.0.7-554-s1``,
    ``http://10.0.0.8/video.mjpg`` -> ``10.0.0.8-video``: names what is recorded, never with
    credentials (user names and secret-looking query values go), and the same for every run."""
    if spec.kind == "stream":
        parts = urlsplit(str(spec.target))
        query = [f"{k}-{v}" for k, v in parse_qsl(parts.query) if not SECRET.search(k)]
        host = parts.netloc.rpartition("@")[2]  # host:port, without user:password@
        path = STREAM_SUFFIX.sub("", parts.path)  # a folder, not a file: stream.mjpg -> stream
        text = "-".join(p for p in (host, path, *query) if p)
    elif spec.kind == "file":
        text = Path(str(spec.target)).stem
    else:
        text = spec.name
    safe = re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-.")
    return safe[:100] or "camera"


def prepare(root: Path) -> None:
    """Create ``--record DIR/`` now and check it can be written: a typo fails before the source opens."""
    if root.exists() and not root.is_dir():
        raise LiveClassifyError(f"--record {root}/: not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LiveClassifyError(f"cannot create recording directory {root}: {refusal(error, root)}") from None
    if problem := write_problem(root / ".live-classify-probe"):
        raise LiveClassifyError(f"cannot write recording directory {root}: {problem}")


def segment_files(folder: Path) -> list[Path]:
    """The segments under a camera's folder, oldest first (by when each was last written)."""
    found = [path for day in folder.iterdir() if day.is_dir() and DAY.fullmatch(day.name)
             for path in day.iterdir() if SEGMENT.fullmatch(path.name) and path.is_file()] if folder.is_dir() else []
    return sorted(found, key=lambda path: (size_and_mtime(path)[1], str(path)))


def prune(folder: Path, plan: SegmentPlan, keep: Path, now: float,
          say: log.Log = log.info, open_bytes: int | None = None) -> list[Path]:
    """Delete the oldest segments while the camera's folder is over ``--retain``, never ``keep``;
    returns what was deleted. ``open_bytes``: what ``keep``, still being written, will take (else
    its size on disk)."""
    files = segment_files(folder)
    total = sum(size_and_mtime(path)[0] for path in files if path != keep or open_bytes is None)
    total += open_bytes or 0
    deleted = []
    for path in files:
        size, mtime = size_and_mtime(path)
        too_old = plan.max_age_s is not None and now - mtime > plan.max_age_s
        too_big = plan.max_bytes is not None and total > plan.max_bytes
        if path == keep or not (too_old or too_big):
            continue
        why = f"older than {age_text(plan.max_age_s)}" if too_old \
            else f"the camera's segments over {_megabytes(plan.max_bytes)}"
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            log.warning(f"retention: cannot delete {path}: {error.strerror}")
            continue
        total -= size
        deleted.append(path)
        say(f"retention: deleted {path} ({_megabytes(size)}, {age_text(now - mtime)} old; {why})")
        if path.parent != keep.parent:  # the open segment's file may not be created yet: keep its folder
            _remove_if_empty(path.parent)
    return deleted


def size_and_mtime(path: Path) -> tuple[int, float]:
    """(bytes, last written) of a segment; (0, 0.0) for one deleted meanwhile."""
    try:
        status = path.stat()
    except OSError:  # deleted meanwhile
        return (0, 0.0)
    return (status.st_size, status.st_mtime)


def _megabytes(size: int | None) -> str:
    return f"{(size or 0) / 1e6:.1f} MB"


def age_text(seconds: float | None) -> str:
    """Written as the flags take it: ``45s``, ``10m``, ``1.5h``, ``7d``."""
    seconds = seconds or 0.0
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds:.3g}s" if seconds >= 1 else "0s"


def _remove_if_empty(day: Path) -> None:
    try:
        day.rmdir()
    except OSError:  # not empty (the usual case), or gone
        pass
