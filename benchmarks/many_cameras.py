"""Many cameras, one box: one batched process vs one inference per frame vs one process per camera.

    pip install '.[bench]'                                # matplotlib, for the plot
    python benchmarks/many_cameras.py                     # N = 1, 2, 4, 8; two rounds (about 13 minutes on 2 cores)
    python benchmarks/many_cameras.py --quick             # one shorter round, for a first look (about 4 minutes)
    python benchmarks/many_cameras.py --out benchmarks/results   # refresh the committed report

N fake cameras (MJPEG over HTTP on 127.0.0.1, each a different picture) feed the real command in
three configurations, interleaved so that a neighbour's load hits them all alike:

  a  one process, every camera's newest frame in one batch: ``live-classify --source URL --name cam0
     --source URL --name cam1 ... --max-batch N --headless --jsonl FILE`` (N said, as the CPU's
     default is 1)
  b  the same process with ``--max-batch 1``: one inference per frame, no batching
  c  N separate ``live-classify --source URL --headless --jsonl FILE`` processes (one per camera)

The cameras keep the time each frame was sent; the command's JSON lines give each classified
frame's number, capture time and capture-to-result latency, so each result's latency from its
camera's send time follows. Over a measuring window, after a warm-up: classified frames per second
of each camera (min / mean / max over the cameras: fairness), latency p50 / p95, frames sent but
never classified (dropped), CPU seconds of the command's processes per classified frame (from
/proc), and their total memory (PSS, which adds up across processes, and RSS, which double-counts
shared pages). A camera is "classified at its own rate" when at least 90 % of the frames it sent in
the window were classified.

Writes ``many-cameras-<host>.json``, ``.md`` and ``.png`` into ``--out`` (by default a new
git-ignored folder ``benchmarks/results/local-<host>-<date>``).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "support")]  # the fake camera lives with the tests

from benchlib import cpu_seconds, default_out, machine, memory_mb  # noqa: E402
from many_cameras_report import OWN_RATE, markdown, plot, summarize  # noqa: E402
from mjpeg_server import Camera, MjpegServer  # noqa: E402

CONFIGS = {"a": "one process, batched", "b": "one process, --max-batch 1", "c": "one process per camera"}
START_TIMEOUT_S = 180  # eight processes loading the model on two busy cores take a while
GRACE_S = 1.0  # the commands run on past the window, so a frame sent at its end still gets its result


@dataclass(frozen=True)
class Timing:
    """How long each run is measured, after how long a warm-up, and how often the whole set is repeated."""

    seconds: float
    warmup: float
    rounds: int


FULL, QUICK = Timing(seconds=20, warmup=5, rounds=2), Timing(seconds=8, warmup=3, rounds=1)


# -- the cameras -------------------------------------------------------------------------------

def pictures(count: int) -> list[np.ndarray]:
    """``count`` different pictures: each test photo, then each mirrored, upside down, and both."""
    photos = [cv2.imread(str(path)) for path in sorted(DATA.glob("*.png"))]
    variants = [photo if flip is None else cv2.flip(photo, flip) for flip in (None, 1, 0, -1) for photo in photos]
    if count > len(variants):
        raise ValueError(f"at most {len(variants)} different cameras, not {count}")
    return variants[:count]


class ReplayCamera(Camera):
    """The test camera without a JPEG encoding per frame: ``frames`` numbered frames are made once
    and sent in a loop, and each send time is kept in ``sent_times``. Eight cameras encoding live
    would take about half a core of the two that the commands under test share. (The time strip in
    a replayed frame's pixels is that of when it was made: ``sent_times`` is the send time.)"""

    def __init__(self, picture: np.ndarray, frames: int = 30) -> None:
        super().__init__(picture)
        self._jpegs = [Camera.next_jpeg(self) for _ in range(frames)]
        self.count, self.sent_times = 0, []

    def next_jpeg(self) -> bytes:
        jpeg = self._jpegs[self.count % len(self._jpegs)]
        self.count += 1
        self.sent_times.append(time.time())
        return jpeg


@contextmanager
def cameras(count: int, fps: float) -> Iterator[list[MjpegServer]]:
    """``count`` fake cameras at ``fps``, each showing its own picture, each serving one client."""
    with ExitStack() as stack:
        servers = []
        for picture in pictures(count):
            server = MjpegServer(picture, fps)
            server.camera = ReplayCamera(picture)
            servers.append(stack.enter_context(server))
        yield servers


# -- the commands ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Launch:
    """One process to start: its command line, its JSON lines file, whose lines those are
    (``camera=None``: each line names its camera), and where its stderr goes."""

    argv: list[str]
    jsonl: Path
    camera: str | None
    log: Path


def launches(config: str, urls: list[str], work: Path, extra: list[str]) -> list[Launch]:
    """The processes of a configuration: one for all cameras (a, b) or one per camera (c)."""
    base = [sys.executable, "-m", "live_classify", "--headless", *extra]
    names = [f"cam{i}" for i in range(len(urls))]
    if config == "c":
        return [Launch([*base, "--source", url, "--jsonl", str(work / f"{name}.jsonl")], work / f"{name}.jsonl", name,
                       work / f"{name}.err") for url, name in zip(urls, names, strict=True)]
    sources = [arg for url, name in zip(urls, names, strict=True) for arg in ("--source", url, "--name", name)]
    batch = [] if len(urls) == 1 else ["--max-batch", "1" if config == "b" else str(len(urls))]
    only = names[0] if len(names) == 1 else None  # one camera's lines need not name it
    return [Launch([*base, *sources, *batch, "--jsonl", str(work / "all.jsonl")], work / "all.jsonl", only,
                   work / "all.err")]


def read_lines(launch: Launch) -> dict[str, list[dict]]:
    """The JSON lines of one process, by camera (a line cut short by the stop is left out)."""
    by_camera: dict[str, list[dict]] = {}
    if not launch.jsonl.exists():
        return by_camera
    for text in launch.jsonl.read_text().splitlines():
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            continue
        by_camera.setdefault(launch.camera or line["camera"], []).append(line)
    return by_camera


def wait_until_flowing(runs: list[tuple[Launch, subprocess.Popen]], names: set[str]) -> None:
    """Until every camera has a classified frame. A process that dies first is an error, with its
    stderr; so is a line for a camera not started (the command names its cameras otherwise)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for launch, process in runs:
            if process.poll() is not None:
                err = launch.log.read_text().strip().splitlines()[-5:]
                raise RuntimeError(f"{' '.join(launch.argv[3:])} exited {process.returncode}: {' / '.join(err)}")
        seen = {name for launch, _ in runs for name in read_lines(launch)}
        if seen - names:
            raise RuntimeError(f"JSON lines for cameras never started: {', '.join(sorted(seen - names))}")
        if seen == names:
            return
        time.sleep(0.2)
    raise RuntimeError(f"not every camera was classified within {START_TIMEOUT_S} s")


def stop(processes: list[subprocess.Popen]) -> list[int]:
    """SIGINT to all at once (they finish their files), then wait; a process that hangs is killed."""
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return [process.returncode for process in processes]


# -- the figures -------------------------------------------------------------------------------

def camera_figures(lines: list[dict], sent_times: list[float], t0: float, t1: float) -> dict:
    """One camera's figures over the window [t0, t1) of wall-clock time.

    A result counts when it was ready in the window (its capture time plus its latency); its
    latency runs from the send time of its frame (the camera's frame n is the command's frame n:
    one client, nothing lost on TCP). A frame sent in the window and never classified is dropped.
    """
    done = [(line["frame"], line["time"] + line["latency_ms"] / 1e3)
            for line in lines if line["frame"] < len(sent_times)]
    in_window = [(frame, t) for frame, t in done if t0 <= t < t1]
    sent = [frame for frame, t in enumerate(sent_times) if t0 <= t < t1]
    classified = {frame for frame, _ in done}
    latencies = [1e3 * (t - sent_times[frame]) for frame, t in in_window]
    captured_unsent = sum(line["time"] < sent_times[line["frame"]] - 0.002
                          for line in lines if line["frame"] < len(sent_times))
    return {"classified": len(in_window), "classified_fps": round(len(in_window) / (t1 - t0), 2),
            "sent_fps": round(len(sent) / (t1 - t0), 2), "sent": len(sent),
            "dropped": sum(frame not in classified for frame in sent),
            "captured_before_sent": captured_unsent,  # not 0: the frame numbers do not match (a reconnect?)
            "latency_p50_ms": percentile(latencies, 50), "latency_p95_ms": percentile(latencies, 95),
            "latencies_ms": latencies}


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def keeps_up(per_camera: dict[str, dict]) -> bool:
    """Every camera classified at its own rate: at least OWN_RATE of the frames it sent in the window."""
    return all(c["classified_fps"] >= OWN_RATE * c["sent_fps"] for c in per_camera.values())


def run_figures(per_camera: dict[str, dict], cpu_s: float, memory: list[dict[str, float]]) -> dict:
    """A run's figures from its cameras': fairness (min / mean / max fps), pooled latency, costs."""
    fps = [c["classified_fps"] for c in per_camera.values()]
    latencies = [ms for c in per_camera.values() for ms in c.pop("latencies_ms")]
    classified, sent = sum(c["classified"] for c in per_camera.values()), sum(c["sent"] for c in per_camera.values())
    dropped = sum(c["dropped"] for c in per_camera.values())
    return {"fps_min": min(fps), "fps_mean": round(float(np.mean(fps)), 2), "fps_max": max(fps),
            "latency_p50_ms": percentile(latencies, 50), "latency_p95_ms": percentile(latencies, 95),
            "dropped": dropped, "dropped_pct": round(100 * dropped / max(sent, 1), 1),
            "cpu_ms_per_frame": round(1e3 * cpu_s / max(classified, 1), 2),
            "pss_mb": round(sum(m["pss"] for m in memory), 1), "rss_mb": round(sum(m["rss"] for m in memory), 1),
            "keeps_up": keeps_up(per_camera), "cameras": per_camera}


# -- one run -----------------------------------------------------------------------------------

def measure(processes: list[subprocess.Popen], seconds: float) -> dict:
    """The window: its wall-clock bounds, the CPU the processes used in it, their memory at its end."""
    pids = [p.pid for p in processes]
    cpu0, harness0, t0 = sum(map(cpu_seconds, pids)), time.process_time(), time.time()
    time.sleep(seconds)
    cpu1, harness1, t1 = sum(map(cpu_seconds, pids)), time.process_time(), time.time()
    return {"t0": t0, "t1": t1, "cpu_s": cpu1 - cpu0, "memory": [memory_mb(pid) for pid in pids],
            "harness_cpu_pct": round(100 * (harness1 - harness0) / (t1 - t0), 1)}


def run_config(config: str, count: int, timing: Timing, fps: float, extra: list[str]) -> dict:
    """One configuration with ``count`` cameras: start, warm up, measure, stop, read the JSON lines."""
    with cameras(count, fps) as servers, tempfile.TemporaryDirectory(prefix="manycams-") as tmp, ExitStack() as files:
        runs = [(launch, subprocess.Popen(launch.argv, stdout=subprocess.DEVNULL,
                                          stderr=files.enter_context(launch.log.open("w"))))
                for launch in launches(config, [s.url for s in servers], Path(tmp), extra)]
        try:
            wait_until_flowing(runs, {f"cam{i}" for i in range(count)})
            time.sleep(timing.warmup)
            load = os.getloadavg()[0]
            window = measure([p for _, p in runs], timing.seconds)
            time.sleep(GRACE_S)
        finally:
            exits = stop([p for _, p in runs])
        lines = {name: got for launch, _ in runs for name, got in read_lines(launch).items()}
    per_camera = {f"cam{i}": camera_figures(lines.get(f"cam{i}", []), server.camera.sent_times,
                                            window["t0"], window["t1"])
                  for i, server in enumerate(servers)}
    return {"config": config, "cameras_n": count, "load_1min": round(load, 2), "exit_codes": exits,
            "harness_cpu_pct": window["harness_cpu_pct"], "seconds": round(window["t1"] - window["t0"], 2),
            **run_figures(per_camera, window["cpu_s"], window["memory"])}


def interleaved(configs: list[str], counts: list[int], rounds: int) -> Iterator[tuple[str, int]]:
    """Every (configuration, N) once per round, the configurations' order reversed every other time."""
    flip = False
    for _ in range(rounds):
        for count in counts:
            yield from ((config, count) for config in (reversed(configs) if flip else configs))
            flip = not flip


# -- the command line --------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one shorter round, for a first look: about 4 minutes instead of about 13 on 2 cores")
    parser.add_argument("--cameras", default="1,2,4,8",
                        help="the numbers of cameras, comma-separated (default: 1,2,4,8)")
    parser.add_argument("--configs", default="a,b,c",
                        help="which of a (batched), b (--max-batch 1), c (a process per camera)")
    parser.add_argument("--seconds", type=float, help="measuring window of each run (default: 20, --quick: 8)")
    parser.add_argument("--warmup", type=float,
                        help="seconds between every camera's first result and the window (5, --quick: 3)")
    parser.add_argument("--rounds", type=int, help="times the whole set is repeated (default: 2, --quick: 1)")
    parser.add_argument("--fps", type=float, default=30.0, help="each camera's frame rate (default: 30)")
    parser.add_argument("--provider", help="passed on to live-classify (default: its own, auto)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write many-cameras-<host>.json, .md and .png (default: a new git-ignored folder "
                             "benchmarks/results/local-<host>-<date>; pass benchmarks/results to refresh the committed "
                             "report)")
    args = parser.parse_args()
    try:
        args.counts = [int(n) for n in args.cameras.split(",")]
        pictures(max(args.counts))
    except ValueError as error:
        parser.error(f"--cameras: {error}")
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if not args.configs or set(args.configs) - set(CONFIGS):
        parser.error(f"--configs takes some of {', '.join(CONFIGS)}, not {','.join(args.configs)!r}")
    base = QUICK if args.quick else FULL
    args.timing = Timing(args.seconds or base.seconds, base.warmup if args.warmup is None else args.warmup,
                         args.rounds or base.rounds)
    return args


def main() -> int:
    """Every run in turn, then the report; a run that fails ends the benchmark (exit 1) after the
    report of the runs done before it is written."""
    args = parse_args()
    extra = ["--provider", args.provider] if args.provider else []
    report: dict = {"machine": machine(), "command": " ".join(["python benchmarks/many_cameras.py", *sys.argv[1:]]),
                    "configs": {c: CONFIGS[c] for c in args.configs}, "fps": args.fps, "timing": vars(args.timing),
                    "load_1min_before": round(os.getloadavg()[0], 2), "runs": []}
    failed = None
    for config, count in interleaved(args.configs, args.counts, args.timing.rounds):
        print(f"[{time.strftime('%H:%M:%S')}] ({config}) {CONFIGS[config]}, {count} cameras ...", file=sys.stderr,
              flush=True)
        try:
            report["runs"].append(run_config(config, count, args.timing, args.fps, extra))
        except RuntimeError as error:
            failed = report["failed"] = f"({config}) with {count} cameras: {error}"
            print(f"many_cameras: {failed}", file=sys.stderr)
            break
    if report["runs"]:
        write_report(report, args.out)
    return 1 if failed else 0


def write_report(report: dict, out: Path | None) -> None:
    """The JSON, the markdown and the plot, into ``out`` (by default a new git-ignored folder)."""
    report.update(summarize(report["runs"]))
    name = f"many-cameras-{report['machine']['host']}"
    out = out or default_out(report["machine"]["host"], time.gmtime())
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=1))
    (out / f"{name}.md").write_text(markdown(report, name))
    written = "json, .md" + (" and .png" if plot(report, out / f"{name}.png") else " (no matplotlib: no plot)")
    print(f"wrote {out / name}.{written}", file=sys.stderr)
    print(markdown(report, name))


if __name__ == "__main__":
    sys.exit(main())
