"""What the latency history costs in memory: an hour of three 30 fps cameras fed to ``Stats``.

    python benchmarks/latency_memory.py        # writes benchmarks/results/latency-memory-<host>.json/.md

A soak needs the real rate to show it (324,000 predictions an hour); on a loaded machine the run
classifies far fewer. This feeds the predictions straight to the counters, with the history of
every latency (up to 100,000 per camera, as before) and with the fixed-size histogram (now), and
measures what each holds with ``tracemalloc``.
"""
from __future__ import annotations

import socket
import sys
import tracemalloc
from collections import deque
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchlib import save_report  # noqa: E402

from live_classify.pipeline.stats import Stats  # noqa: E402

CAMERAS, FPS, STEPS = 3, 30, 6  # an hour, measured every 10 minutes


def held_kib(old: bool) -> list[float]:
    """KiB held by three cameras' counters after each 10 minutes of predictions."""
    latencies = np.random.default_rng(0).lognormal(np.log(30), 0.5, FPS * 600)
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    stats = [Stats() for _ in range(CAMERAS)]
    if old:
        for s in stats:
            s.latencies_ms = deque(maxlen=100_000)
    held = []
    for step in range(STEPS):
        for i, ms in enumerate(latencies.tolist()):
            t_done = step * 600 + i / FPS  # the rate meter keeps the last 2 s of these
            for s in stats:
                s.count_classified(SimpleNamespace(latency_ms=ms * 1.0, t_done=t_done))  # a float of its own
        held.append(round((tracemalloc.get_traced_memory()[0] - start) / 1024, 1))
    tracemalloc.stop()
    return held


def main() -> None:
    report = {"cameras": CAMERAS, "fps": FPS, "minutes": [10 * (i + 1) for i in range(STEPS)],
              "every_latency_kept_kib": held_kib(old=True), "histogram_kib": held_kib(old=False)}
    rows = "\n".join(f"| {m} | {a} | {b} |" for m, a, b in
                     zip(report["minutes"], report["every_latency_kept_kib"], report["histogram_kib"], strict=True))
    markdown = f"""# The latency history's memory: {CAMERAS} cameras at {FPS} fps for an hour

Produced by `python benchmarks/latency_memory.py`: the predictions fed straight to `Stats` (no camera,
no model), memory held measured with `tracemalloc`.

| minutes | every latency kept (up to 100,000 a camera), KiB | histogram + newest 1000, KiB |
| ---: | ---: | ---: |
{rows}
"""
    save_report(HERE / "results", f"latency-memory-{socket.gethostname()}", report, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
