"""A long live run with faults injected every few minutes: does anything leak, lag or break?

    python benchmarks/soak.py --minutes 30          # writes benchmarks/results/soak-<host>.json/.md
    python benchmarks/soak.py --cameras 3           # soak-3-cameras-<host>.json/.md

The real command (``live-classify --source <camera> --record ... --jsonl ...``) runs against
fake MJPEG cameras of the tests, while this script, every ``--every`` seconds, does one of these
to the first camera: stop it and bring it back, stall it and resume, bring it back at another
resolution, send damaged JPEG parts for a while. It samples the process's RSS every 5 s (and fits
its growth per hour after the warm-up) and reads the JSON lines for latency; at the end it stops
the run with SIGINT and reads the recordings back.
"""
from __future__ import annotations

import argparse
import itertools
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "support"))

from benchlib import memory_mb, save_report  # noqa: E402
from mjpeg_server import MjpegServer  # noqa: E402

PHOTO = HERE.parent / "tests" / "data" / "chelsea.png"


def count_frames(video: Path) -> int:
    capture = cv2.VideoCapture(str(video))
    frames = 0
    while capture.read()[0]:
        frames += 1
    return frames


class Camera:
    """The fake camera on a fixed port, which the faults below tear down and bring back."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server = self._start()

    def _start(self, width: int = 640, height: int = 480, corrupt_every: int = 0) -> MjpegServer:
        return MjpegServer(PHOTO, fps=30, port=self.port, width=width, height=height,
                           corrupt_every=corrupt_every).__enter__()

    def restart(self, pause: float, **kwargs: int) -> None:
        self.server.stop()
        time.sleep(pause)
        self.server = self._start(**kwargs)

    def stop(self) -> None:
        self.server.stop()


def stall(camera: Camera) -> None:
    camera.server.stall()
    time.sleep(8)
    camera.server.resume()


def damage(camera: Camera) -> None:
    camera.restart(0, corrupt_every=4)
    time.sleep(20)
    camera.restart(0)


FAULTS = {
    "camera unplugged for 3 s": lambda camera: camera.restart(3),
    "stream stalled for 8 s": stall,
    "camera back at 320x240": lambda camera: camera.restart(1, width=320, height=240),
    "damaged JPEG parts for 20 s": damage,
    "camera back at 640x480": lambda camera: camera.restart(1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--every", type=float, default=180, help="seconds between faults")
    parser.add_argument("--cameras", type=int, default=1, help="how many cameras (the faults hit the first)")
    parser.add_argument("--warmup", type=float, default=120, help="seconds of RSS left out of the growth's fit")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    cameras = [Camera(free_port()) for _ in range(args.cameras)]
    camera = cameras[0]
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    record = work / "soak.avi" if args.cameras == 1 else work / "rec"  # several: one recording each, in a folder
    jsonl = work / "soak.jsonl"
    sources = [arg for i, c in enumerate(cameras) for arg in ("--source", c.server.url, "--name", f"cam{i}")]
    process = subprocess.Popen(
        [sys.executable, "-m", "live_classify", *sources, "--record", f"{record}/" if args.cameras > 1 else str(record),
         "--jsonl", str(jsonl), "--headless", "--read-timeout", "2", "--reconnect", "20", "--provider", "cpu"],
        stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    rss: list[tuple[float, float]] = []
    faults: list[tuple[float, str]] = []
    next_fault = started + args.every
    fault_names = itertools.cycle(FAULTS)
    while time.monotonic() - started < args.minutes * 60 and process.poll() is None:
        now = time.monotonic()
        rss.append((round(now - started, 1), round(memory_mb(process.pid)["rss"], 1)))
        if now >= next_fault:
            name = next(fault_names)
            faults.append((round(now - started, 1), name))
            print(f"[{now - started:7.0f} s] {name}", file=sys.stderr, flush=True)
            FAULTS[name](camera)
            next_fault = time.monotonic() + args.every
        time.sleep(5)
    alive = process.poll() is None
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=60)[1]
    for each in cameras:
        each.stop()

    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    elapsed = rows[-1]["time"] - rows[0]["time"]
    first = [r["latency_ms"] for r in rows if r["time"] - rows[0]["time"] < 60]
    last = [r["latency_ms"] for r in rows if rows[-1]["time"] - r["time"] < 60]
    summary = [line for line in stderr.splitlines() if "frames captured" in line or "recorded" in line]
    report = {
        "minutes": round((time.monotonic() - started) / 60, 1), "cameras": args.cameras,
        "survived": alive, "exit_code": process.returncode,
        "faults": faults, "reconnects_logged": stderr.count("reconnected"),
        "json_lines": len(rows), "json_seconds": round(elapsed, 1),
        "latency_p50_ms_first_minute": round(float(np.median(first)), 1),
        "latency_p50_ms_last_minute": round(float(np.median(last)), 1),
        "latency_p95_ms_first_minute": round(float(np.percentile(first, 95)), 1),
        "latency_p95_ms_last_minute": round(float(np.percentile(last, 95)), 1),
        "rss_mb_after_1_min": next(mb for t, mb in rss if t >= 60) if rss[-1][0] >= 60 else rss[-1][1],
        "rss_mb_at_end": rss[-1][1], "rss_mb_max": max(mb for _, mb in rss),
        "warmup_s": args.warmup, "rss_mb_per_hour_after_warmup": growth_per_hour(rss, args.warmup),
        "recorded_frames_read_back": sum(count_frames(v) for v in sorted(record.glob("*")) or [record]),
        "summary": summary, "rss_mb": rss,
    }
    name = "soak" if args.cameras == 1 else f"soak-{args.cameras}-cameras"
    save_report(args.out, f"{name}-{socket.gethostname()}", report, markdown(report))
    print(markdown(report))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def growth_per_hour(rss: list[tuple[float, float]], warmup_s: float) -> float | None:
    """The slope of a straight line through the RSS samples after the warm-up, in MB per hour."""
    after = [(t, mb) for t, mb in rss if t >= warmup_s]
    if len(after) < 3:
        return None
    slope = np.polyfit([t for t, _ in after], [mb for _, mb in after], 1)[0]
    return round(float(slope) * 3600, 2)


def markdown(r: dict) -> str:
    faults = "\n".join(f"- {t:.0f} s: {name}" for t, name in r["faults"])
    cameras = "a 30 fps live camera" if r["cameras"] == 1 else f"{r['cameras']} live cameras at 30 fps"
    return f"""# Soak with faults: {r['minutes']} minutes on {cameras}

Produced by `python benchmarks/soak.py`. The run {'survived to the end' if r['survived'] else 'DIED'} and
exited {r['exit_code']} on SIGINT.

| | first minute | last minute |
| --- | ---: | ---: |
| latency p50 ms (capture to result) | {r['latency_p50_ms_first_minute']} | {r['latency_p50_ms_last_minute']} |
| latency p95 ms | {r['latency_p95_ms_first_minute']} | {r['latency_p95_ms_last_minute']} |
| RSS MB (after 1 min / at the end; max {r['rss_mb_max']}) | {r['rss_mb_after_1_min']} | {r['rss_mb_at_end']} |

RSS growth after the first {r['warmup_s']:.0f} s (a straight line through the samples taken every 5 s):
{r['rss_mb_per_hour_after_warmup']} MB per hour.

{r['json_lines']} frames classified (JSON lines over {r['json_seconds']:.0f} s); {r['reconnects_logged']} reconnects;
{r['recorded_frames_read_back']} frames read back from the recording.

Faults injected:
{faults}

The command's own summary:
```
{chr(10).join(r['summary'])}
```
"""


if __name__ == "__main__":
    main()
