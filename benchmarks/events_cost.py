"""What event clips cost: the real command on a synthetic 1280x720 30 fps scene, with ``--record-mode
events`` and ``both`` against ``continuous`` alone, side by side in one run; and the pre-roll
ring's memory at 720p30.

    python benchmarks/events_cost.py                  # 30 s of video per mode, one round (~2 minutes)
    python benchmarks/events_cost.py --seconds 60 --rounds 2
    python benchmarks/events_cost.py --out benchmarks/results   # refresh the committed report

The scene: the cat and the coffee cup in turns (``--phase`` seconds each), panning 2 px a frame with
sensor noise (σ 3), so that H.264 has real work and the ring real bytes; played at its own rate
(``--realtime``), classified on the CPU with ``--event espresso`` in every mode, so that only the
recording differs. For each run: the process's CPU seconds and peak resident memory (``wait4``),
the frames recorded, the clips, and the most the ring held (from the summary). Modes alternate
within each round so that the machine's other load falls on all of them alike.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]
from benchlib import default_out, machine, save_report  # noqa: E402

PHOTOS = [HERE.parent / "tests" / "data" / name for name in ("chelsea.png", "coffee.png")]
SIZE, FPS = (1280, 720), 30
MODES = ("continuous", "events", "both")


def make_scene(path: Path, seconds: int, phase: int) -> None:
    """The cat and the cup in turns, panning with noise, as an MP4 file (OpenCV's mp4v)."""
    rng = np.random.default_rng(0)
    big = [cv2.resize(cv2.imread(str(p)), (SIZE[0] + 2 * FPS * phase, SIZE[1] + 40)) for p in PHOTOS]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for i in range(seconds * FPS):
        photo, x = big[(i // (phase * FPS)) % 2], 2 * (i % (phase * FPS))
        frame = photo[20:20 + SIZE[1], x:x + SIZE[0]].astype(np.int16) + rng.normal(0, 3, (SIZE[1], SIZE[0], 3))
        writer.write(np.clip(frame, 0, 255).astype(np.uint8))
    writer.release()


def run_mode(scene: Path, mode: str, folder: Path) -> dict:
    """One run of the command: its CPU, its peak memory, what its summary says."""
    command = [sys.executable, "-m", "live_classify", "--source", str(scene), "--realtime", "--headless",
               "--provider", "cpu", "--event", "espresso", "--jsonl", os.devnull, "--record", f"{folder}/",
               "--segment", "10s", "--record-mode", mode, "--pre-roll", "5s", "--post-roll", "3s"]
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{mode}: exit {process.returncode}\n{stderr}")
    found = {key: re.search(pattern, stderr) for key, pattern in {
        "recorded": r"recorded (\d+) frames", "clips": r"(\d+) event clips", "ring_mb": r"held at most ([\d.]+) MB",
        "classified": r"(\d+) classified"}.items()}
    figures = {key: float(match.group(1)) if match else None for key, match in found.items()}
    return {"mode": mode, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            **figures}


def markdown(report: dict) -> str:
    rows = report["modes"]
    lines = [f"# Event clips: what they cost ({report['seconds']} s of 1280x720 at 30 fps, "
             f"{report['rounds']} round(s))", "", f"Machine: {report['machine']['cpu']}, "
             f"{report['machine']['cores']} cores, {report['machine']['date']}", "",
             "| --record-mode | CPU s | CPU vs continuous | peak RSS MB | RSS vs continuous | clips | ring peak MB |",
             "|---|---|---|---|---|---|---|"]
    for mode in MODES:
        row = rows[mode]
        lines.append(f"| {mode} | {row['cpu_s']:.1f} | {row['cpu_ratio']:.2f} | {row['peak_rss_mb']:.0f} | "
                     f"{row['rss_ratio']:.2f} | {row['clips'] or 0:.0f} | {row['ring_mb'] or 0:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--phase", type=int, default=5, help="seconds of each scene (cat, cup) in turn")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    host = machine()
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(tmp) / "scene.mp4"
        make_scene(scene, args.seconds, args.phase)
        for round_ in range(args.rounds):
            for mode in MODES[round_ % 3:] + MODES[:round_ % 3]:
                result = run_mode(scene, mode, Path(tmp) / f"{mode}-{round_}")
                runs[mode].append(result)
                print(f"{mode}: {result}", file=sys.stderr)
    modes = {mode: {key: float(np.mean([r[key] or 0 for r in results])) for key in results[0] if key != "mode"}
             for mode, results in runs.items()}
    for row in modes.values():
        row["cpu_ratio"] = row["cpu_s"] / modes["continuous"]["cpu_s"]
        row["rss_ratio"] = row["peak_rss_mb"] / modes["continuous"]["peak_rss_mb"]
    report = {"machine": host, "seconds": args.seconds, "rounds": args.rounds, "modes": modes, "runs": runs}
    text = markdown(report)
    print(text)
    save_report(args.out or default_out(host["host"], time.gmtime()), f"events-cost-{host['host']}", report, text)


if __name__ == "__main__":
    main()
