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


def packets(ring: Ring, *times_and_keys: tuple[float, bool], size: int = 10) -> None:
    for t, key in times_and_keys:
        ring.add(Packet(t, key, b"x" * size, 0))


def test_exact_boundaries_a_keyframe_at_the_time_asked_and_a_ring_exactly_full() -> None:
    ring = Ring(span_s=100.0, max_bytes=40)
    packets(ring, (0.0, True), (0.5, False), (1.0, True), (1.5, False))
    assert ring.bytes == ring.peak_bytes == 40, "exactly full: nothing goes"
    assert [p.t for p in ring.since(1.0)] == [1.0, 1.5], "from the keyframe at the time asked"
    assert [p.t for p in ring.since(0.7)] == [0.0, 0.5, 1.0, 1.5], "a time between two packets of a group"
    assert [p.t for p in ring.since(-1.0)] == [0.0, 0.5, 1.0, 1.5], "before the ring: from its oldest"
    packets(ring, (2.0, True))
    assert [p.t for p in ring.since(0.0)] == [1.0, 1.5, 2.0] and ring.bytes == 30 and ring.peak_bytes == 40


def test_of_two_groups_the_older_goes_once_the_newer_alone_covers_the_span() -> None:
    ring = Ring(span_s=1.0)
    packets(ring, (0.0, True), (1.0, True), (1.5, False))
    assert [p.t for p in ring.since(0.0)] == [0.0, 1.0, 1.5], "the span from 0.5 s needs the group at 0 s"
    packets(ring, (2.5, False))
    assert [p.t for p in ring.since(0.0)] == [1.0, 1.5, 2.5], "the span from 1.5 s starts in the group at 1 s"


def test_a_cleared_ring_starts_empty_and_holds_a_full_pre_roll_again() -> None:
    ring = Ring(span_s=100.0, max_bytes=40)
    packets(ring, (0.0, True), (0.5, False), (1.0, True), (1.5, False))
    ring.clear()  # the recording stopped: nothing of it counts against the next pre-roll
    assert ring.bytes == 0 and ring.seconds == 0.0 and ring.since(0.0) == []
    packets(ring, (10.0, True), (10.5, False), (11.0, True))
    assert [p.t for p in ring.since(0.0)] == [10.0, 10.5, 11.0] and ring.bytes == 30, "none dropped for the old bytes"
