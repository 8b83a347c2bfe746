"""What ``--serve`` costs: the real command on a 30 fps 720p fake camera with 0, 1 and 8 viewers of
``/stream.mjpg``, and 8 of which one is stalled (reads nothing).

    python benchmarks/serve.py              # one line per case, about a minute
    python benchmarks/serve.py --cameras 3  # three 640x480 cameras: none, one, every one watched

For each case: the capture and inference rates, the process's CPU time per captured frame, the
latency p50 from /api/status, and the frames per second each viewer received. A stalled viewer
must not change the others' rate.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "support")]  # the photos and the fake camera live with the tests
from benchlib import cpu_seconds  # noqa: E402
from conftest import CHELSEA, headless_env  # noqa: E402
from mjpeg_server import MjpegServer  # noqa: E402

WARMUP_S, MEASURE_S = 8.0, 10.0


def status(port: int) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/api/status")
    return json.loads(connection.getresponse().read())


def watch(port: int, counts: list[int], i: int, stop: threading.Event, stalled: bool,
          path: str = "/stream.mjpg") -> None:
    """One viewer: counts the JPEG parts it reads (a stalled one reads nothing)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    stream = connection.getresponse().fp
    while not stop.is_set():
        if stalled:
            time.sleep(0.1)
        elif (line := stream.readline()).startswith(b"Content-Length"):
            length = int(line.split(b":")[1])
            stream.readline()
            stream.read(length)
            counts[i] += 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Measured:
    """What the command and its viewers did over the measuring window."""

    elapsed: float
    first: dict  # /api/status at the start of the window
    last: dict  # and at its end
    cpu_s: float  # the command's CPU time in the window
    rates: list[float]  # frames per second each viewer received


def measure(sources: list[str], paths: list[str], stalled: int | None = None) -> Measured:
    """The command serving ``sources``, one viewer per path (viewer ``stalled`` reads nothing), measured
    for MEASURE_S after a warm-up."""
    port = free_port()
    run = subprocess.Popen([sys.executable, "-m", "live_classify", *(a for s in sources for a in ("--source", s)),
                            "--provider", "cpu", "--jsonl", os.devnull, "--serve", str(port)],
                           stderr=subprocess.DEVNULL, env=headless_env())
    try:
        time.sleep(WARMUP_S)
        stop, counts = threading.Event(), [0] * len(paths)
        for i, path in enumerate(paths):
            threading.Thread(target=watch, args=(port, counts, i, stop, i == stalled, path), daemon=True).start()
        time.sleep(2)
        cpu0, first, seen0, t0 = cpu_seconds(run.pid), status(port), list(counts), time.monotonic()
        time.sleep(MEASURE_S)
        cpu1, last, seen1, t1 = cpu_seconds(run.pid), status(port), list(counts), time.monotonic()
        stop.set()
    finally:
        run.terminate()
        run.wait(20)
    elapsed = t1 - t0
    rates = [round((b - a) / elapsed, 1) for a, b in zip(seen0, seen1, strict=True)]
    return Measured(elapsed, first, last, cpu1 - cpu0, rates)


def case(camera: MjpegServer, viewers: int, stalled: bool) -> str:
    m = measure([camera.url], ["/stream.mjpg"] * viewers, 0 if stalled else None)
    frames = m.last["captured"] - m.first["captured"]
    return (f"{viewers} viewers{' (1 stalled)' if stalled else ''}: capture {frames / m.elapsed:.1f} fps, inference "
            f"{(m.last['classified'] - m.first['classified']) / m.elapsed:.1f} fps, CPU {1e3 * m.cpu_s / frames:.1f} "
            f"ms/frame, latency p50 {m.last['latency_ms']['p50']:.1f} ms, per viewer {m.rates} fps")


def several(cameras: list[MjpegServer], watched: int) -> str:
    """The command on several cameras, the first ``watched`` of them each with one viewer."""
    m = measure([c.url for c in cameras], [f"/stream.mjpg?camera=cam{i}" for i in range(watched)])
    pairs = list(zip(m.first["cameras"], m.last["cameras"], strict=True))
    frames = sum(b["captured"] - a["captured"] for a, b in pairs)
    classified = sum(b["classified"] - a["classified"] for a, b in pairs)
    encoded = [round((b["encoded"] - a["encoded"]) / m.elapsed, 1) for a, b in pairs]
    return (f"{len(cameras)} cameras, {watched} watched: capture {frames / m.elapsed:.1f} fps in all, inference "
            f"{classified / m.elapsed:.1f} fps in all, CPU {1e3 * m.cpu_s / frames:.1f} ms/frame, "
            f"JPEGs encoded per camera {encoded} fps, per viewer {m.rates} fps")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--cameras":
        with contextlib.ExitStack() as stack:
            cameras = [stack.enter_context(MjpegServer(CHELSEA, fps=30)) for _ in range(int(sys.argv[2]))]
            for watched in (0, 1, len(cameras)):
                print(several(cameras, watched), flush=True)
        return
    with MjpegServer(CHELSEA, fps=30, width=1280, height=720) as camera:
        for viewers, stalled in [(0, False), (1, False), (8, False), (8, True)]:
            print(case(camera, viewers, stalled), flush=True)


if __name__ == "__main__":
    main()
