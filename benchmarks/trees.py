"""The same command from two source trees, side by side in one run: did a change make it slower?

    python benchmarks/trees.py --before /path/to/old/src --after src          # about 6 minutes on 2 cores
    python benchmarks/trees.py --before OLD/src --after src --rounds 3 --out benchmarks/results

Written for issue 21 (one run loop for one camera and for many), whose rule is "no slower". Each
round runs, for each tree in turn (the order reversed every other round, so a neighbour's load
hits both alike), the real command (``python -m live_classify`` with ``PYTHONPATH`` set to the tree):

  file     one video file, every frame classified, headless with JSON lines: frames per second of
           wall-clock time from the start of the command to its end (model loading included)
  live-N   N fake 30 fps cameras (``many_cameras.py``'s configuration a: one process, batched):
           classified frames per second of each camera, latency p50 / p95, CPU ms per frame

The figures are reported per tree and as ratios after / before (above 1: faster; latency and CPU
below 1: better). Writes ``trees-<host>.json`` and ``.md`` into ``--out`` (by default a new
git-ignored folder ``benchmarks/results/local-<host>-<date>``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "support")]

from benchlib import default_out, machine, save_report  # noqa: E402
from many_cameras import DATA, Timing, run_config  # noqa: E402

FILE_FRAMES = 300


def make_video(path: Path, frames: int) -> Path:
    """A 640x480 30 fps MJPEG AVI of the test photos, alternating every 15 frames."""
    photos = [cv2.resize(cv2.imread(str(p)), (640, 480)) for p in sorted(DATA.glob("*.png"))]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    for n in range(frames):
        writer.write(photos[(n // 15) % len(photos)])
    writer.release()
    return path


def file_run(video: Path, work: Path) -> dict:
    """One file, every frame: wall-clock frames per second of the whole command."""
    jsonl = work / "file.jsonl"
    jsonl.unlink(missing_ok=True)  # the command appends: a second run in the same folder counts only its own lines
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "live_classify", "--source", str(video), "--headless",
                           "--jsonl", str(jsonl)], capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        raise RuntimeError(f"the file run exited {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    lines = len(jsonl.read_text().splitlines())
    return {"frames": lines, "seconds": round(elapsed, 2), "fps": round(lines / elapsed, 2)}


def one_round(trees: dict[str, Path], counts: list[int], timing: Timing, video: Path, flip: bool) -> dict:
    """Every measurement once for each tree, the trees in turn (reversed when ``flip``)."""
    results: dict[str, dict] = {label: {} for label in trees}
    order = list(trees.items())[::-1] if flip else list(trees.items())
    for label, src in order:
        os.environ["PYTHONPATH"] = str(src)
        with tempfile.TemporaryDirectory(prefix="trees-") as tmp:
            results[label]["file"] = file_run(video, Path(tmp))
        for count in counts:
            run = run_config("a", count, timing, 30.0, [])
            results[label][f"live-{count}"] = {key: run[key] for key in (
                "fps_mean", "fps_min", "latency_p50_ms", "latency_p95_ms", "cpu_ms_per_frame", "dropped_pct")}
        print(f"{label}: {results[label]}", file=sys.stderr, flush=True)
    return results


def summarize(rounds: list[dict], labels: list[str]) -> dict:
    """Median over the rounds of each figure, per tree, and after / before."""
    before, after = labels
    figures: dict[str, dict] = {}
    for case in rounds[0][before]:
        figures[case] = {}
        for key in rounds[0][before][case]:
            values = {label: [r[label][case][key] for r in rounds if r[label][case][key] is not None]
                      for label in labels}
            medians = {label: round(statistics.median(v), 2) if v else None for label, v in values.items()}
            ratio = round(medians[after] / medians[before], 3) if medians[before] and medians[after] else None
            figures[case][key] = {**medians, "after/before": ratio}
    return figures


def markdown(report: dict) -> str:
    """The table: each case's figures for both trees and their ratio."""
    before, after = report["labels"]
    rows = ["| case | figure | before | after | after / before |", "| --- | --- | ---: | ---: | ---: |"]
    for case, figures in report["figures"].items():
        for key, values in figures.items():
            rows.append(f"| {case} | {key} | {values[before]} | {values[after]} | {values['after/before']} |")
    return (f"# Two source trees, side by side\n\n`{report['command']}` on {report['machine']['cpu']} "
            f"({report['machine']['cores']} cores), {report['rounds']} rounds, medians.\n\n"
            f"before: `{report['trees'][before]}`, after: `{report['trees'][after]}`\n\n" + "\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the src/ folder of the old tree")
    parser.add_argument("--after", type=Path, required=True, help="the src/ folder of the new tree")
    parser.add_argument("--cameras", default="1,3", help="numbers of live cameras, comma-separated (default: 1,3)")
    parser.add_argument("--rounds", type=int, default=2, help="times everything is repeated (default: 2)")
    parser.add_argument("--seconds", type=float, default=10.0, help="each live run's measuring window (default: 10)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where to write trees-<host>.json and .md")
    args = parser.parse_args()
    for tree in (args.before, args.after):
        if not (tree / "live_classify" / "__init__.py").is_file():
            parser.error(f"{tree} is not a src/ folder with live_classify in it")
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    counts = [int(n) for n in args.cameras.split(",")]
    timing = Timing(seconds=args.seconds, warmup=3, rounds=1)
    with tempfile.TemporaryDirectory(prefix="trees-video-") as tmp:
        video = make_video(Path(tmp) / "clip.avi", FILE_FRAMES)
        rounds = [one_round(trees, counts, timing, video, flip=bool(n % 2)) for n in range(args.rounds)]
    host = machine()
    report = {"command": " ".join(["python benchmarks/trees.py", *sys.argv[1:]]), "machine": host,
              "rounds": args.rounds, "labels": list(trees), "trees": {k: str(v) for k, v in trees.items()},
              "figures": summarize(rounds, list(trees)), "raw": rounds}
    out = args.out or default_out(host["host"], time.localtime())
    save_report(out, f"trees-{host['host']}", report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
