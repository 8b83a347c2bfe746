"""The export's cut as a unit: segments of two runs that overlap (a run restarted inside a segment's
time) play once each moment, the first run's frames kept, and nothing is said missing."""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from live_classify.config import EncoderSettings
from live_classify.sinks.record.mp4 import Mp4Writer
from live_classify.sinks.web.history import export


def recorded(path: Path, shade: int, frames: int) -> Path:
    """A file of ``frames`` frames 0.1 s apart, each a picture of its own (``shade`` tells files apart)."""
    writer = Mp4Writer(path, (64, 48), EncoderSettings(preset="ultrafast"), "libx264")
    for i in range(frames):
        writer.write(np.full((48, 64, 3), (shade, 8 * i, 255 - 8 * i), dtype=np.uint8), i / 10)
    writer.close()
    return path


def packets(path: Path) -> list[tuple[float, str]]:
    """Each video packet's time (from the file's start) and a digest of its bytes."""
    with av.open(str(path)) as video:
        stream = video.streams.video[0]
        return [(float(p.pts * stream.time_base), hashlib.sha1(bytes(p)).hexdigest())
                for p in video.demux(stream) if p.pts is not None]


def exported(segments: list[export.Segment], start: float, end: float, into: Path) -> list[str]:
    """The export of [start, end] written to ``into`` as a client downloads it; the segments it skipped."""
    out, skipped = export.Stream(), list[str]()

    def cutting() -> None:
        try:
            export.cut(segments, start, end, out, skipped)
        except Exception:  # noqa: BLE001 - handed to the reader through the stream
            pass

    thread = threading.Thread(target=cutting, daemon=True)
    thread.start()
    pieces = []
    while (piece := out.next()) is not None:
        pieces.append(piece)
    thread.join(30)
    into.write_bytes(b"".join(pieces))
    return skipped


def test_segments_of_two_runs_that_overlap_are_exported_once_each_moment_with_nothing_left_out(
        tmp_path: Path) -> None:
    """The second run's segment starts 2 s into the first's 3 s: its frames at 2.0 to 2.9 s fall on the
    first's (the one at 2.9 s at the very same time as the first's last) and are left out; from 3.0 s on,
    the second's frames follow. Nothing is skipped: both files read."""
    first = recorded(tmp_path / "10-00-00.mp4", 0, 30)  # 0.0 .. 2.9 s
    second = recorded(tmp_path / "10-00-02.mp4", 200, 20)  # 2.0 .. 3.9 s
    origin = 1_000_000.0
    segments = [(first, origin, origin + 2.9), (second, origin + 2.0, origin + 3.9)]
    skipped = exported(segments, origin, origin + 4.0, clip := tmp_path / "clip.mp4")
    assert skipped == [], "both segments read: none is missing"
    expected = [digest for _, digest in packets(first)] + [digest for t, digest in packets(second) if t > 0.95]
    assert len(expected) == 40
    assert [digest for _, digest in packets(clip)] == expected


def test_a_client_that_reads_nothing_holds_a_bounded_queue_and_its_cut_gives_up_after_the_stall() -> None:
    """Slow exports must not eat memory or hold the cutting thread: with nobody reading, the cut
    queues ``QUEUED`` pieces (32 kB each at most: ~2 MB), then waits the stall and gives up with
    one line, the stream closed, never queueing the rest of the file in memory."""
    out, queued = export.Stream(stall_s=0.05), 0
    with pytest.raises(OSError, match="the client read nothing for 0.05 s"):
        for _ in range(10 * export.QUEUED):
            out.write(b"x" * 32_768)
            queued += 1
    assert queued == export.QUEUED and out.closed


def test_an_export_lasts_as_long_as_its_frames_its_last_frame_included(tmp_path: Path) -> None:
    """Frames 0.1 s apart: the export lasts from its first frame to its last plus 0.1 s, the last frame
    keeping its 0.1 s on the export's own clock (its duration rescaled with its times; left in the
    segment's time base it was read as 17.8 ms)."""
    segment = recorded(tmp_path / "10-00-00.mp4", 0, 30)  # 0.0 .. 2.9 s
    origin = 1_000_000.0
    exported([(segment, origin, origin + 2.9)], origin + 1.0, origin + 2.45, clip := tmp_path / "clip.mp4")
    with av.open(str(clip)) as video:
        stream = video.streams.video[0]
        kept = [p for p in video.demux(stream) if p.pts is not None]
        times = sorted(float(p.pts * stream.time_base) for p in kept)
        assert len(kept) >= 15
        assert float(kept[-1].duration * stream.time_base) == pytest.approx(0.1, abs=0.002)
        assert float(video.duration / av.time_base) == pytest.approx(times[-1] - times[0] + 0.1, abs=0.01)


def test_an_export_ends_where_the_camera_came_back_at_another_size(tmp_path: Path) -> None:
    """A camera that came back at another size opens a segment at that size; one MP4 holds one
    size, so an export over both ends with the first size's frames, none of the second muxed into
    a stream that says the first size (a player would show them garbled)."""
    first = recorded(tmp_path / "10-00-00.mp4", 0, 30)  # 64x48, 0.0 .. 2.9 s
    second = tmp_path / "10-00-03.mp4"
    writer = Mp4Writer(second, (96, 72), EncoderSettings(preset="ultrafast"), "libx264")
    for i in range(10):
        writer.write(np.full((72, 96, 3), (200, 8 * i, 255 - 8 * i), dtype=np.uint8), i / 10)
    writer.close()
    origin = 1_000_000.0
    segments = [(first, origin, origin + 2.9), (second, origin + 3.0, origin + 3.9)]
    exported(segments, origin, origin + 4.0, clip := tmp_path / "clip.mp4")
    assert [digest for _, digest in packets(clip)] == [digest for _, digest in packets(first)]
    with av.open(str(clip)) as video:
        assert {(frame.width, frame.height) for frame in video.decode(video=0)} == {(64, 48)}


def damaged_past_its_start(path: Path, fragment: int) -> None:
    """Give the first sample of the ``fragment``-th fragment (``moof``) a size no file holds: the file
    still opens (its header and first fragments are whole), and reading it fails at that fragment."""
    data = bytearray(path.read_bytes())
    at, moofs = 0, []
    while at < len(data):
        if data[at + 4:at + 8] == b"moof":
            moofs.append(at)
        at += int.from_bytes(data[at:at + 4], "big")
    trun = data.index(b"trun", moofs[fragment]) - 4
    flags = int.from_bytes(data[trun + 9:trun + 12], "big")
    assert flags & 0x200, "the samples' sizes are in the trun"
    field = trun + 16 + 4 * bool(flags & 0x1) + 4 * bool(flags & 0x4) + 4 * bool(flags & 0x100)
    data[field:field + 4] = (0x7FFFFFFF).to_bytes(4, "big")
    path.write_bytes(bytes(data))


def test_a_segment_damaged_past_its_start_is_named_and_the_segments_after_it_are_exported(tmp_path: Path) -> None:
    """Three segments, the middle one damaged a second in (it opens, so it is not found before the
    first byte): the export names it among those left out (the download's header says so) and goes on
    with the third, whole; the first is whole too."""
    first = recorded(tmp_path / "10-00-00.mp4", 0, 30)  # 0.0 .. 2.9 s
    middle = recorded(tmp_path / "10-00-03.mp4", 100, 30)
    third = recorded(tmp_path / "10-00-06.mp4", 200, 30)
    damaged_past_its_start(middle, 6)
    with av.open(str(middle)):  # it opens: only reading on finds the damage
        pass
    origin = 1_000_000.0
    segments = [(first, origin, origin + 2.9), (middle, origin + 3.0, origin + 5.9),
                (third, origin + 6.0, origin + 8.9)]
    skipped = exported(segments, origin, origin + 9.0, clip := tmp_path / "clip.mp4")
    assert skipped == ["10-00-03.mp4"]
    digests = [digest for _, digest in packets(clip)]
    assert digests[:30] == [digest for _, digest in packets(first)]
    assert digests[-30:] == [digest for _, digest in packets(third)]
