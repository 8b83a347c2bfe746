"""The words of the end-of-run summary that more than one output needs: a count with its noun in
the right number, the events per label, a camera's rates over its own lifetime (a camera a
reload added late is not divided by the time before it existed)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from live_classify.pipeline.stats import Stats


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 camera``, ``2 cameras``, ``0 event clips`` (``many``: a plural that is not noun + s)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def events_line(per_label: Counter[str], watched: Iterable[str]) -> str:
    """``47 events: 46 espresso, 1 rocket`` (the most first); none: the labels watched for."""
    total = sum(per_label.values())
    if not total:
        return f"0 events (watching for {', '.join(sorted(set(watched))) or 'nothing'})"
    counts = ", ".join(f"{count} {label}" for label, count in per_label.most_common())
    return f"{plural(total, 'event')}: {counts}"


def lifetime_s(stats: Stats, now: float) -> float:
    """How long a camera has been in the run: since its own start, not the run's."""
    return max(1e-9, now - stats.started)


def camera_line(name: str, stats: Stats, now: float, gated: str = "") -> str:
    """One camera of several: its counts, and its inference rate over its own lifetime (``gated``:
    the motion gate's part, "" without one)."""
    alive = lifetime_s(stats, now)
    return (f"{name}: {stats.captured} captured, {stats.classified} classified ({stats.classified / alive:.1f} fps "
            f"over its {alive:.1f} s), {gated}{stats.dropped} dropped, {plural(stats.reconnects, 'reconnect')}; "
            f"{stats.latency_summary()}")
