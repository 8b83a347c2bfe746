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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
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


def case(camera: MjpegServer, viewers: int, stalled: bool) -> str:
    port = free_port()
    run = subprocess.Popen([sys.executable, "-m", "live_classify", "--source", camera.url, "--provider", "cpu",
                            "--jsonl", os.devnull, "--serve", str(port)], stderr=subprocess.DEVNULL, env=headless_env())
    try:
        time.sleep(WARMUP_S)
        stop, counts = threading.Event(), [0] * viewers
        for i in range(viewers):
            threading.Thread(target=watch, args=(port, counts, i, stop, stalled and i == 0), daemon=True).start()
        time.sleep(2)
        cpu0, first, seen0, t0 = cpu_seconds(run.pid), status(port), list(counts), time.monotonic()
        time.sleep(MEASURE_S)
        cpu1, last, seen1, t1 = cpu_seconds(run.pid), status(port), list(counts), time.monotonic()
        stop.set()
    finally:
        run.terminate()
        run.wait(20)
    elapsed, frames = t1 - t0, last["captured"] - first["captured"]
    rates = [round((b - a) / elapsed, 1) for a, b in zip(seen0, seen1)]
    return (f"{viewers} viewers{' (1 stalled)' if stalled else ''}: capture {frames / elapsed:.1f} fps, inference "
            f"{(last['classified'] - first['classified']) / elapsed:.1f} fps, CPU {1e3 * (cpu1 - cpu0) / frames:.1f} "
            f"ms/frame, latency p50 {last['latency_ms']['p50']:.1f} ms, per viewer {rates} fps")


def several(cameras: list[MjpegServer], watched: int) -> str:
    """The command on several cameras, the first ``watched`` of them each with one viewer."""
    port, names = free_port(), [f"cam{i}" for i in range(len(cameras))]
    run = subprocess.Popen([sys.executable, "-m", "live_classify", *(a for c in cameras for a in ("--source", c.url)),
                            "--provider", "cpu", "--jsonl", os.devnull, "--serve", str(port)],
                           stderr=subprocess.DEVNULL, env=headless_env())
    try:
        time.sleep(WARMUP_S)
        stop, counts = threading.Event(), [0] * watched
        for i in range(watched):
            threading.Thread(target=watch, args=(port, counts, i, stop, False, f"/stream.mjpg?camera={names[i]}"),
                             daemon=True).start()
        time.sleep(2)
        cpu0, first, seen0, t0 = cpu_s(run.pid), status(port), list(counts), time.monotonic()
        time.sleep(MEASURE_S)
        cpu1, last, seen1, t1 = cpu_s(run.pid), status(port), list(counts), time.monotonic()
        stop.set()
    finally:
        run.terminate()
        run.wait(20)
    elapsed = t1 - t0
    frames = sum(b["captured"] - a["captured"] for a, b in zip(first["cameras"], last["cameras"]))
    classified = sum(b["classified"] - a["classified"] for a, b in zip(first["cameras"], last["cameras"]))
    encoded = [round((b["encoded"] - a["encoded"]) / elapsed, 1) for a, b in zip(first["cameras"], last["cameras"])]
    rates = [round((b - a) / elapsed, 1) for a, b in zip(seen0, seen1)]
    return (f"{len(cameras)} cameras, {watched} watched: capture {frames / elapsed:.1f} fps in all, inference "
            f"{classified / elapsed:.1f} fps in all, CPU "
            f"{1e3 * (cpu1 - cpu0) / frames:.1f} ms/frame, JPEGs encoded per camera {encoded} fps, "
            f"per viewer {rates} fps")


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
