"""``--record-mode events|both`` through the real command, on the scene that alternates (the cat, the
espresso, the cat...; ``test_events.py``): a clip per espresso phase that starts on a keyframe in
the cat's pre-roll, is the cup in its middle and the cat again in its post-roll, made of the very
packets of the continuous segments; its thumbnail; a SIGKILL mid-event; ``--retain-events``; the
rebuild of the events table from the clips."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE, LiveCli, run_cli
from mjpeg_server import Camera, MjpegServer
from recordings import keyframe_times, probe
from scenes import EVENT_FLAGS, lines_of

from live_classify.engine.classifier import Classifier
from live_classify.sinks.display import overlay
from live_classify.sinks.web.history.params import Span
from live_classify.sinks.web.history.queries import History

# With the scene at 10 fps, keyframes each second from 0: event 1 is frames 20-49, event 2 70-99.
# A 1.5 s pre-roll reaches back to the keyframe at 0 (event 1) and 5 s (event 2), a 1 s post-roll
# to 5.9 s and 10.9 s: 60 frames each.
CLIP_FLAGS = ("--pre-roll", "1.5s", "--post-roll", "1s")
CLIP_FRAMES = 60


@pytest.fixture(scope="module")
def likely(classifier: Classifier) -> tuple[set[str], set[str]]:
    """The model's five likeliest classes for the cat and for the cup: where an overlaid, re-encoded
    frame may tip."""
    found = []
    for photo in (CHELSEA, COFFEE):
        image = cv2.resize(cv2.imread(str(photo)), (320, 240), interpolation=cv2.INTER_AREA)
        found.append({classifier.labels[i] for i in np.argsort(classifier.classify(image).probabilities)[-5:]})
    assert not found[0] & found[1], found
    return found[0], found[1]


def frames_of(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    capture.release()
    return frames


def packet_hashes(path: Path) -> list[str]:
    """Each packet's bytes, hashed, in order (ffprobe)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=data_hash",
                          "-show_data_hash", "MD5", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def event_rows(rec: Path) -> list[tuple]:
    with sqlite3.connect(rec / "index.db") as db:
        return db.execute('SELECT id, label, start, "end", clip, thumbnail FROM events ORDER BY start').fetchall()


@pytest.mark.parametrize("gate", ["off", "motion"])  # motion: the still frames classified by the answer they keep
def test_a_clip_per_espresso_phase_from_its_pre_roll_to_its_post_roll(gate: str, scenes: Path, tmp_path: Path,
                                                                      classifier: Classifier,
                                                                      likely: tuple[set[str], set[str]]) -> None:
    out, rec = tmp_path / "out.jsonl", tmp_path / "rec"
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--jsonl", str(out),
                  "--record", f"{rec}/", "--record-mode", "events", *CLIP_FLAGS, "--gate", gate)
    assert run.returncode == 0, run.stderr
    assert "2 event clips in" in run.stderr
    _, events = lines_of(out)
    ends = events[1::2]
    assert [(e["clip"], e["thumbnail"]) for e in events[0::2]] == [(e["clip"], e["thumbnail"]) for e in ends]
    cat, cup = likely
    for event in ends:
        clip, thumbnail = rec / event["clip"], rec / event["thumbnail"]
        assert event["clip"].startswith("scenes/events/") and clip.suffix == ".mp4" and thumbnail.suffix == ".jpg"
        assert int(probe(clip)["nb_read_frames"]) == CLIP_FRAMES
        assert keyframe_times(clip)[0] == 0.0
        frames = frames_of(clip)
        labels = [classifier.classify(frames[i]).top.labels[0] for i in (0, 5, len(frames) // 2, -1)]
        assert labels[0] in cat and labels[1] in cat, labels  # the pre-roll: the cat
        assert labels[2] in cup and labels[3] in cat, labels  # the middle: the cup; the post-roll: the cat
        best = classifier.classify(cv2.imread(str(thumbnail))).top  # the annotated frame, as recorded
        assert best.labels[0] in cup and event["label"] in best.labels[:5], best.labels
        sidecar = json.loads(clip.with_suffix(".json").read_text(encoding="utf-8"))
        assert (sidecar["id"], sidecar["end"]) == (event["id"], event["end"])
    assert not list(rec.glob("scenes/*.mp4")) and not (rec / "scenes.mp4").exists()  # events only: no segments
    rows = event_rows(rec)
    assert [(r[0], r[4], r[5]) for r in rows] == [(e["id"], e["clip"], e["thumbnail"]) for e in ends]
    (rec / "index.db").unlink()
    rebuilt = run_cli("index", str(rec))
    assert rebuilt.returncode == 0 and "and 2 event clips" in rebuilt.stderr, rebuilt.stderr
    assert [(r[0], r[1], r[4], r[5]) for r in event_rows(rec)] == [(r[0], r[1], r[4], r[5]) for r in rows]
    assert [(round(r[2], 3), round(r[3], 3)) for r in event_rows(rec)] == [(e["start"], e["end"]) for e in ends]


def test_both_clips_are_the_segments_own_packets_remuxed(scenes: Path, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--jsonl", "-",
                  "--record", f"{rec}/", "--record-mode", "both", "--segment", "3s", *CLIP_FLAGS)
    assert run.returncode == 0, run.stderr
    segments = sorted(p for p in (rec / "scenes").glob("*/*.mp4") if p.parent.name != "events")
    assert len(segments) == 4
    recorded = [h for segment in segments for h in packet_hashes(segment)]
    clips = sorted((rec / "scenes" / "events").glob("*/*.mp4"))
    assert len(clips) == 2
    for clip, first in zip(clips, (0, 50), strict=True):
        assert packet_hashes(clip) == recorded[first:first + CLIP_FRAMES]  # nothing encoded twice


def test_a_sigkill_mid_event_leaves_a_playable_clip_and_its_index_row(scenes: Path, tmp_path: Path,
                                                                     live_cli: type[LiveCli], classifier: Classifier,
                                                                     likely: tuple[set[str], set[str]]) -> None:
    rec = tmp_path / "rec"
    cli = live_cli("--source", str(scenes), "--realtime", "--headless", "--provider", "cpu", *EVENT_FLAGS,
                   "--jsonl", "-", "--record", f"{rec}/", "--record-mode", "events", *CLIP_FLAGS)

    def started() -> list[dict]:
        return [json.loads(line) for line in list(cli.stdout_lines) if '"event": "start"' in line]

    def clip_has_frames() -> bool:
        clip = rec / started()[0]["clip"]
        return clip.exists() and int(probe(clip).get("nb_read_frames", 0)) >= 30  # the pre-roll and more

    cli.wait_for(lambda: bool(started()), timeout=60, what="the first event's start")
    cli.wait_for(clip_has_frames, timeout=30, what="the clip's first second on disk")
    cli.process.kill()
    cli.process.wait(10)
    start = started()[0]
    clip = rec / start["clip"]
    frames = int(probe(clip)["nb_read_frames"])
    assert frames >= 30 and len(frames_of(clip)) == frames  # playable, every frame decodes
    best = cv2.imread(str(rec / start["thumbnail"]))  # written at the start: the best frame so far
    assert best is not None and classifier.classify(best).top.labels[0] in likely[1]
    with sqlite3.connect(rec / "index.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [(r[0], r[4], r[5]) for r in event_rows(rec)] == [(start["id"], start["clip"], start["thumbnail"])]
    (rec / "index.db").unlink()
    assert run_cli("index", str(rec)).returncode == 0
    (row,) = event_rows(rec)
    clip_start = json.loads(clip.with_suffix(".json").read_text())["clip_start"]
    assert clip_start < row[2] - 1  # the pre-roll: the clip starts well before its event
    assert row[0] == start["id"]
    assert row[3] == pytest.approx(clip_start + float(probe(clip)["duration"]), abs=0.25)  # where its clip ends


def test_retain_events_deletes_old_clips_and_their_rows_never_segments(scenes: Path, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    flags = ("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--jsonl", "-",
             "--record", f"{rec}/", "--record-mode", "both", "--segment", "3s", *CLIP_FLAGS)
    assert run_cli(*flags).returncode == 0
    clips = sorted((rec / "scenes" / "events").glob("*/*.mp4"))
    largest = max(sum(p.stat().st_size for p in (c, c.with_suffix(".jpg"), c.with_suffix(".json"))) for c in clips)
    run = run_cli(*flags, "--retain-events", f"{largest * 1.5 / 1000:.0f}KB")  # room for one clip, not two
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("retention: deleted the event clip") == 3
    (kept,) = sorted((rec / "scenes" / "events").glob("*/*.mp4"))
    assert kept not in clips and kept.with_suffix(".jpg").exists() and kept.with_suffix(".json").exists()
    assert len(list((rec / "scenes" / "events").glob("*/*"))) == 3  # the deleted ones' thumbnails and sidecars too
    assert len([p for p in (rec / "scenes").glob("*/*.mp4") if p.parent.name != "events"]) == 8  # --retain's
    assert [r[4] for r in event_rows(rec)] == [str(kept.relative_to(rec))]


@pytest.mark.parametrize(("flags", "said"), [
    (("--record", "x.mp4", "--record-mode", "events", "--event", "espresso"), "needs a directory for its clips"),
    (("--record", "rec/", "--record-mode", "both"), "records a clip per event: name them with --event LABEL"),
])
def test_record_mode_mistakes_are_one_line_and_exit_2(scenes: Path, tmp_path: Path,
                                                      flags: tuple[str, ...], said: str) -> None:
    run = run_cli("--source", str(scenes), "--headless", *flags, cwd=tmp_path)
    assert run.returncode == 2 and said in run.stderr and "Traceback" not in run.stderr, run.stderr


PHASE_S = 2.5  # the live camera's cat, then its cup, this long each


class StillScenes(Camera):
    """The cat, then the cup, PHASE_S each, every frame of a phase the very same JPEG: each frame of
    the cup scores the same, so an event's best frame is its first (the one just after the cat)."""

    def __init__(self) -> None:
        super().__init__(CHELSEA)
        photos = [cv2.resize(cv2.imread(str(p)), (640, 480), interpolation=cv2.INTER_AREA) for p in (CHELSEA, COFFEE)]
        self.jpegs = [cv2.imencode(".jpg", photo)[1].tobytes() for photo in photos]
        self.started: float | None = None

    def next_jpeg(self) -> bytes:
        self.started = self.started or time.monotonic()
        self.count += 1
        return self.jpegs[int((time.monotonic() - self.started) / PHASE_S) % 2]


@pytest.fixture
def still_scenes() -> Iterator[MjpegServer]:
    with MjpegServer(CHELSEA, fps=15) as server:
        server.camera = StillScenes()
        yield server


def top_row_match(image: np.ndarray, label: str) -> float:
    """How well ``label``, drawn as the overlay draws the top class, matches somewhere in ``image`` (0..1)."""
    height, width = image.shape[:2]
    scale = overlay.text_scale(width, height)
    size, thickness = max(overlay.MIN_FONT, overlay.LABEL * scale), 1 if scale < 1.2 else 2
    (w, h), base = cv2.getTextSize(label, overlay.FONT, size, thickness)
    template = np.zeros((h + base + 4, w + 4), np.uint8)
    cv2.putText(template, label, (2, h + 2), overlay.FONT, size, 255, thickness, cv2.LINE_AA)
    white = np.where(image.min(axis=2) > 160, 255, 0).astype(np.uint8)  # the text, not its bar or the shade
    return float(cv2.matchTemplate(white, np.where(template > 127, 255, 0).astype(np.uint8),
                                   cv2.TM_CCOEFF_NORMED).max())


def test_a_live_event_s_thumbnail_is_its_best_frame_with_its_own_prediction(
        still_scenes: MjpegServer, live_cli: type[LiveCli], tmp_path: Path) -> None:
    """On a live camera each shown frame carries the newest prediction, an older frame's: the
    recording's frame of the cup's first moment says "cat". Its thumbnail must say what it shows."""
    rec = tmp_path / "rec"
    cli = live_cli("--source", still_scenes.url, "--headless", "--provider", "cpu", "--event", "espresso",
                   "--event-hold", "0.5s", "--event-gap", "0.5s", "--jsonl", "-", "--record", f"{rec}/",
                   "--record-mode", "events", "--pre-roll", "0.5s", "--post-roll", "0.5s")

    def ends() -> list[dict]:
        return [json.loads(line) for line in list(cli.stdout_lines) if '"event": "end"' in line]

    cli.wait_for(lambda: len(ends()) >= 2, timeout=90, what="two events' ends")
    cli.signal(signal.SIGINT)
    run = cli.finish(timeout=60)
    assert run.returncode == 0, run.stderr
    for event in ends()[:2]:
        thumbnail = cv2.imread(str(rec / event["thumbnail"]))
        assert thumbnail is not None and thumbnail.shape[:2] == (480, 640)
        said = {label: top_row_match(thumbnail, label) for label in ("espresso", "Egyptian cat", "tabby", "tiger cat")}
        assert said["espresso"] > 0.8 and max(said.values()) == said["espresso"], said
        assert top_row_match(thumbnail, "waiting for the first prediction...") < 0.5


def test_event_max_cuts_a_long_event_into_consecutive_clips_of_one_event(scenes: Path, tmp_path: Path) -> None:
    """--event-max 1s on the scene's 3 s espresso phases (keyframes each second): each event's clip
    goes on in parts of a second, cut at keyframes; together they are the packets one clip would have
    been; it stays one event, its sidecars and /api/history/events list its clips in order."""
    out, rec = tmp_path / "out.jsonl", tmp_path / "rec"
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", *EVENT_FLAGS, "--jsonl", str(out),
                  "--record", f"{rec}/", "--record-mode", "events", *CLIP_FLAGS, "--event-max", "1s")
    assert run.returncode == 0, run.stderr
    _, events = lines_of(out)
    assert [e["event"] for e in events] == ["start", "end", "start", "end"]  # still one event per phase
    listed = {e["id"]: e["clips"] for e in History(rec).events(Span(None, None, None, None))}
    for event in events[1::2]:
        first = rec / event["clip"]
        parts = [first] + sorted(first.parent.glob(f"{first.stem}.*.mp4"), key=lambda p: int(p.suffixes[-2][1:]))
        assert len(parts) == CLIP_FRAMES // 10, parts  # 6 s of clip, a part a second
        assert sum(int(probe(part)["nb_read_frames"]) for part in parts) == CLIP_FRAMES  # no frame lost between
        assert all(keyframe_times(part)[0] == 0.0 for part in parts)  # each starts on a keyframe
        names = [str(part.relative_to(rec)) for part in parts]
        for n, part in enumerate(parts, start=1):
            sidecar = json.loads(part.with_suffix(".json").read_text(encoding="utf-8"))
            assert (sidecar["id"], sidecar["clip"], sidecar["part"], sidecar["clips"]) == (
                event["id"], event["clip"], n, names[:n])
            assert part.with_suffix(".jpg").exists()
        assert listed[event["id"]] == [f"/media/{quote(name)}" for name in names]
    assert "12 event clips in" in run.stderr
