"""The outputs' pieces that are not a component of their own: a camera's recording as its spec
says, the checks of what will be written (before anything opens), the window and the collector
(made once, at the start)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from live_classify.app.cameras import Cameras, Member
from live_classify.app.specs import RecordSpec
from live_classify.config import CollectConfig, EncoderSettings, OutputConfig, RecordConfig, SourceConfig
from live_classify.errors import LiveClassifyError
from live_classify.pipeline.frames import Flow
from live_classify.sinks.collect import Collector, Quota
from live_classify.sinks.display.grid import Grid
from live_classify.sinks.display.window import Window, prepare_snapshot_dir
from live_classify.sinks.display.windows import Windows
from live_classify.sinks.events.index import Index
from live_classify.sinks.files import check_writable
from live_classify.sinks.record import recording as record
from live_classify.sinks.record.clips import RING_SLACK_S, ClipPlan
from live_classify.sinks.record.recording import Recording
from live_classify.sinks.record.segments import SegmentPlan


def recording(spec: RecordSpec, member: Member, encoding: EncoderSettings, index: Index | None,
              captured: Callable[[], int]) -> Recording:
    """A camera's recording: a file's rate is in its header; a live source's is measured (streams
    claim what they like), and it counts the frames it never got."""
    rec, camera = spec.record, member.camera
    live = camera.flow is Flow.LATEST
    segments = SegmentPlan.of(rec.segment_s, list(rec.retain), spec.camera)
    fps = None if live else camera.source.claimed_fps
    return Recording(recording_path(rec.path, spec.camera, segments is not None), fps, drop=live,
                     settings=encoding, segments=segments, captured=captured if live else None,
                     index=index if spec.indexed else None, clips=clip_plan(rec, spec.camera, spec.hold_s),
                     continuous=rec.continuous)


def clip_plan(rec: RecordConfig, camera: str, hold_s: float) -> ClipPlan | None:
    """``--record-mode events|both``: the camera's clips; its ring spans the pre-roll and the
    hold (a start is known that late), and a keyframe's interval."""
    if not rec.clips:
        return None
    limits = dict(rec.retain_events)
    size = limits.get("size")
    return ClipPlan(rec.path, camera, rec.pre_roll_s, rec.post_roll_s, rec.pre_roll_s + hold_s + RING_SLACK_S,
                    retain_bytes=None if size is None else int(size), retain_age_s=limits.get("age"),
                    max_s=rec.event_max_s)


def recording_path(path: Path, name: str, segmented: bool) -> Path:
    """``--record FILE`` as it is; ``--record DIR/``: ``DIR/<name>.mp4``, or, with segments, DIR
    itself (the camera's folder goes under it)."""
    return path / f"{name}.mp4" if record.is_directory(path) and not segmented else path


def check_outputs(jsonl: str | None, sources: Sequence[SourceConfig]) -> dict[Path, EncoderSettings]:
    """Paths that cannot be written fail now, not after the first minute of video; the MP4
    encoder is chosen here, once per recording target (one line says which)."""
    if jsonl and jsonl != "-":
        check_writable(Path(jsonl), "JSON lines file")
    checked: dict[Path, EncoderSettings] = {}
    files: dict[Path, str] = {}
    for src in sources:
        rec = src.record
        if rec is None:
            continue
        if rec.path not in checked:
            checked[rec.path] = record.check(rec.path, rec.overwrite, rec.encoding, clips_only=not rec.continuous)
        path = recording_path(rec.path, src.name, rec.segment_s is not None)
        if path in files and not record.is_directory(path):
            raise LiveClassifyError(f"--record {rec.path}: cameras {files[path]} and {src.name} would write one file")
        files[path] = src.name
        if record.is_directory(rec.path) and rec.segment_s is None and rec.continuous and path.exists() \
                and not rec.overwrite:
            raise LiveClassifyError(f"--record {rec.path}/: {path.name} exists (pass --overwrite to replace it)")
    return checked


def window_wanted(out: OutputConfig) -> bool:
    """A window unless headless (asked, or no display: the command line decided that); the
    snapshot folder only a window uses is checked now."""
    if not out.headless:
        prepare_snapshot_dir(out.snapshot_dir)
    return not out.headless


def window_for(out: OutputConfig, cameras: Cameras) -> Window:
    """One camera's window; several cameras' grid of tiles, or one window each with ``--windows``."""
    names = [m.name for m in cameras.members]
    if len(names) == 1:
        return Window(out.snapshot_dir)
    kind = Windows if out.windows else Grid
    return kind(names, out.snapshot_dir, why_waiting=cameras.why_waiting)


def collector_for(collect: CollectConfig | None) -> tuple[Collector | None, Quota | None]:
    """Frames for your own classes: bound to keys 1-9 (--classes), or one label headless (--collect)."""
    if collect is None:
        return None, None
    if collect.label:
        collector = Collector(collect.folder, [collect.label])
        return collector, Quota(collector, collect.label, collect.count, collect.interval_s)
    return Collector(collect.folder, list(collect.classes)), None
