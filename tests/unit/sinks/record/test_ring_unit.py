"""The pre-roll ring: bounded by time and by bytes, in whole groups, and a clip's first packet a keyframe."""
from __future__ import annotations

from live_classify.sinks.record.ring import Packet, Ring

FPS = 30


def feed(ring: Ring, seconds: float, size: int = 1000, fps: int = FPS) -> None:
    """``seconds`` of packets at ``fps``, a keyframe each second (as mp4.py forces them)."""
    for i in range(round(seconds * fps)):
        ring.add(Packet(i / fps, i % fps == 0, b"x" * size, 0))


def test_the_ring_keeps_the_span_and_a_group_more_never_the_whole_stream() -> None:
    ring = Ring(span_s=5.0)
    feed(ring, 60)
    assert 5.0 <= ring.seconds < 6.0
    assert ring.bytes == ring.peak_bytes == round(ring.seconds * FPS + 1) * 1000


def test_its_bytes_are_capped_whatever_the_span() -> None:
    ring = Ring(span_s=60.0, max_bytes=3 * FPS * 1000)
    feed(ring, 30)
    assert ring.bytes <= 3 * FPS * 1000 and ring.peak_bytes <= 3 * FPS * 1000 + 1000
    assert ring.seconds < 3.0


def test_a_clip_starts_at_the_last_keyframe_at_or_before_the_time_asked() -> None:
    ring = Ring(span_s=5.0)
    feed(ring, 8)
    packets = ring.since(5.5)
    assert packets[0].key and packets[0].t == 5.0 and packets[-1].t == 8 - 1 / FPS
    assert [p.t for p in packets] == sorted(p.t for p in packets) and len(packets) == 3 * FPS
    assert ring.since(1.0)[0].t == 2.0  # not kept so far back: the oldest keyframe it has


def test_packets_before_the_first_keyframe_are_not_kept() -> None:
    ring = Ring(span_s=5.0)
    ring.add(Packet(0.0, False, b"p", 0))
    assert ring.bytes == 0 and ring.since(0.0) == []
