"""The live view in H.264 (``/live.mp4``) beside MJPEG (``/stream.mjpg``), in one run of the real command
on a 720p 30 fps fake camera with a little sensor noise (a still photo is H.264's best case; real
sensors are never still):

    python benchmarks/live_view.py              # about 5 minutes
    python benchmarks/live_view.py --out DIR    # where the report goes (default: a local, git-ignored folder)
    python benchmarks/live_view.py --size 640x480   # a smaller camera (a loaded machine keeps up better)
    python benchmarks/live_view.py --before OLD/src # also 1 and 20 viewers' CPU with an older tree, in turns
    python benchmarks/live_view.py --latency-rounds 4   # only the latency, 4 rounds (about 2 minutes)

1. **Bytes per second** of one reader of each, at once (goal: H.264 at most 1/8 of MJPEG).
2. **Latency** from the camera's send time (stamped in the frame's bottom rows) to the frame's arrival
   in a reader that decodes it (PyAV for H.264, OpenCV for JPEG), both at once, each decoding one frame a
   second (H.264's keyframes, which decode alone; every 30th JPEG) (goal: p95 at most 0.5 s).
3. **Time to first frame** for a new viewer, with the encoder stopped (cold) and running (warm)
   (goal: at most 1.5 s).
4. **The process's CPU** with 0, 1, 6 and 20 readers of each (readers that only read: a player decodes on
   its own machine) (goal: 20 H.264 viewers cost at most 25 % more than one).
5. **A slow reader** (a small socket window, read at 5 KB/s) beside a fast one: the slow one is skipped
   to keyframes or dropped; the fast one's latency and rate do not change.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "support")]  # the photos, the fake camera, the readers live with the tests
from benchlib import cpu_seconds, default_out, machine, save_report  # noqa: E402
from conftest import CHELSEA, headless_env  # noqa: E402
from live_reader import LiveReader  # noqa: E402
from mjpeg_server import STRIP_HEIGHT, Camera, MjpegServer, read_time, stamp_time  # noqa: E402
from web_client import free_port, mjpeg_parts, open_stream, status, wait_until  # noqa: E402

FPS, NOISE = 30, 2.0  # NOISE: the sensor's, standard deviation in grey levels
WINDOW_S = 12.0  # each measurement
SETTLE_S = 3.0  # after the readers start, before a window
TRIALS = 4  # time-to-first-frame tries of each kind
SLOW_BPS = 5_000  # the slow reader's pace: far below the stream's


class NoisyStampedCamera(Camera):
    """The fake camera's photo with sensor noise, its frame number, and its send time in the bottom
    rows (the top rows are under the overlay's panel)."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(CHELSEA, width, height)
        self._noise = [np.random.default_rng(i).normal(0, NOISE, self.base.shape).astype(np.int16) for i in range(8)]

    def next_jpeg(self) -> bytes:
        noisy = self.base.astype(np.int16) + self._noise[self.count % len(self._noise)]
        image = np.clip(noisy, 0, 255).astype(np.uint8)
        cv2.putText(image, f"#{self.count}", (10, image.shape[0] - 30), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255,) * 3, 2)
        self.count += 1
        self.sent_times.append(time.time())
        stamp_time(image[-STRIP_HEIGHT:], self.sent_times[-1])
        return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def sent_time(image: np.ndarray) -> float:
    return read_time(image[-STRIP_HEIGHT:])


class Reader(threading.Thread):
    """One viewer in a thread: bytes received, and each decoded frame's latency (``decode``; ``sparse``:
    one a second)."""

    def __init__(self, port: int, path: str, decode: bool, rcvbuf: int | None = None, rate_bps: float | None = None,
                 sparse: bool = False):
        super().__init__(daemon=True)
        self.port, self.path, self.decode, self.rcvbuf, self.rate_bps = port, path, decode, rcvbuf, rate_bps
        self.sparse = sparse  # decode one frame a second: H.264's keyframes (they decode alone), each 30th JPEG
        self.bytes, self.frames, self.latencies, self.ended = 0, 0, [], False
        self.stop = threading.Event()
        self.first_frame_s: float | None = None
        self.started = time.monotonic()

    def run(self) -> None:
        try:
            if self.path.startswith("/live.mp4"):
                self._live()
            else:
                self._mjpeg()
        except (OSError, http.client.HTTPException):
            pass
        self.ended = True

    def _seen(self, image: np.ndarray | None, arrived: float) -> None:
        if self.first_frame_s is None:
            self.first_frame_s = time.monotonic() - self.started
        self.frames += 1
        if image is not None:
            self.latencies.append(arrived - sent_time(image))

    def _live(self) -> None:
        reader = LiveReader(self.port, self.path, self.rcvbuf)
        if not self.decode:
            for kind, _box in reader.boxes():
                self.bytes = reader.bytes
                if kind == b"mdat":
                    self._seen(None, time.time())
                if self.stop.is_set():
                    break
                self._throttle()
            return
        for image, arrived in reader.frames(keyframes_only=self.sparse):
            self.bytes = reader.bytes
            self.frames = reader.kinds.count(b"mdat") - 1 if self.sparse else self.frames
            self._seen(image, arrived)
            if self.stop.is_set():
                break
        reader.close()

    def _mjpeg(self) -> None:
        response = open_stream(self.port, self.path, self.rcvbuf)
        for n, jpeg in enumerate(mjpeg_parts(response)):
            self.bytes += len(jpeg) + 80  # the part's headers, about
            decode = self.decode and not (self.sparse and n % FPS)
            image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) if decode else None
            self._seen(image, time.time())
            if self.stop.is_set():
                break

    def _throttle(self) -> None:
        if self.rate_bps:
            time.sleep(max(0.0, self.bytes / self.rate_bps - (time.monotonic() - self.started)))


def window(port: int, pid: int, readers: list[Reader]) -> dict:
    """The readers started, settled, then measured over WINDOW_S: bytes/s each, CPU, latencies."""
    for reader in readers:
        reader.start()
    time.sleep(SETTLE_S)
    b0, f0, l0 = [r.bytes for r in readers], [r.frames for r in readers], [len(r.latencies) for r in readers]
    cpu0, s0, t0 = cpu_seconds(pid), status(port), time.monotonic()
    time.sleep(WINDOW_S)
    cpu1, s1, t1 = cpu_seconds(pid), status(port), time.monotonic()
    live0, live1, captured = s0["live"], s1["live"], s1["captured"] - s0["captured"]
    for reader in readers:
        reader.stop.set()
    elapsed = t1 - t0
    return {"cpu_per_s": round((cpu1 - cpu0) / elapsed, 3), "captured_fps": round(captured / elapsed, 1),
            "cpu_ms_per_frame": round(1000 * (cpu1 - cpu0) / captured, 1) if captured else None,
            "bytes_per_s": [round((r.bytes - b) / elapsed) for r, b in zip(readers, b0, strict=True)],
            "fps": [round((r.frames - f) / elapsed, 1) for r, f in zip(readers, f0, strict=True)],
            "latency_s": [r.latencies[n:] for r, n in zip(readers, l0, strict=True)],
            "encoded_fps": round((live1["fragments"] - live0["fragments"]) / elapsed, 1),
            "skipped": live1["skipped"] - live0["skipped"], "viewers_at_end": live1["viewers"]}


def latencies(port: int, pid: int) -> dict[str, dict]:
    """Both streams' latency at once, each reader decoding one frame a second: decoding every frame of
    both took the 2 cores from the command at 720p and measured that (1.5 s p95 for both), not the
    streams. With the load average as the window began (the machine is shared)."""
    idle(port)
    load = round(os.getloadavg()[0], 1)
    readers = [Reader(port, "/live.mp4", True, sparse=True), Reader(port, "/stream.mjpg", True, sparse=True)]
    m = window(port, pid, readers)
    return {name: {**percentiles(values), "load": load, "captured_fps": m["captured_fps"],
                   "values": [round(v, 4) for v in values]}
            for name, values in zip(("h264", "mjpeg"), m["latency_s"], strict=True)}


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "n": 0}
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 3), "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
            "n": len(ordered)}


def idle(port: int) -> None:
    """Every reader gone and the encoder stopped."""
    wait_until(lambda: status(port)["live"]["encoders"] == 0 and status(port)["viewers"] == 0, "no viewer left",
               timeout=30)


def first_frames(port: int, warm: bool) -> list[float]:
    """Seconds from a new viewer's request to its first decoded frame, TRIALS times."""
    times = []
    for _ in range(TRIALS):
        keeper = Reader(port, "/live.mp4", decode=False) if warm else None
        if keeper:
            keeper.start()
            wait_until(lambda: status(port)["live"]["encoders"] == 1, "the encoder running")
            time.sleep(1.3)  # somewhere in a keyframe interval
        else:
            idle(port)
        reader = Reader(port, "/live.mp4", decode=True)
        reader.start()
        wait_until(lambda r=reader: r.first_frame_s is not None or r.ended, "a first frame", timeout=30)
        times.append(round(reader.first_frame_s or float("nan"), 3))
        reader.stop.set()
        if keeper:
            keeper.stop.set()
        time.sleep(0.5)
    return times


def cpu_cases(port: int, pid: int, say: Callable[[str], None]) -> dict:
    cases = {}
    for path in ("/live.mp4", "/stream.mjpg"):
        for n in (0, 1, 6, 20) if path == "/live.mp4" else (1, 6, 20):
            idle(port)
            m = window(port, pid, [Reader(port, path, decode=False) for _ in range(n)])
            cases[f"{path} x{n}"] = {"cpu_per_s": m["cpu_per_s"], "captured_fps": m["captured_fps"],
                                     "cpu_ms_per_frame": m["cpu_ms_per_frame"], "fps_min": min(m["fps"], default=None),
                                     "bytes_per_s_each": round(statistics.mean(m["bytes_per_s"])) if n else 0}
            say(f"CPU {path} x{n}: {cases[f'{path} x{n}']}")
            idle(port)
    return cases


def run(out: Path, width: int, height: int, before: str | None, latency_rounds: int = 0) -> None:
    report: dict = {"machine": machine(), "camera": f"{width}x{height} {FPS} fps, noise sd {NOISE}",
                    "load_average_1min": {"start": round(os.getloadavg()[0], 1)}}

    def say(line: str) -> None:
        print(line, flush=True)

    with MjpegServer(CHELSEA, fps=FPS, width=width, height=height) as camera:
        camera.camera = NoisyStampedCamera(width, height)
        if latency_rounds:
            with command(camera.url) as (port, pid):
                report["latency_rounds"] = [say_back(latencies(port, pid), say) for _ in range(latency_rounds)]
            report["load_average_1min"]["end"] = round(os.getloadavg()[0], 1)
            save_report(out, f"live-latency-{report['machine']['host']}-{height}p", report, latency_markdown(report))
            return
        with command(camera.url) as (port, pid):
            side = window(port, pid, [Reader(port, "/live.mp4", False), Reader(port, "/stream.mjpg", False)])
            report["side_by_side"] = {"bytes_per_s": dict(zip(("h264", "mjpeg"), side["bytes_per_s"], strict=True)),
                                      "fps": dict(zip(("h264", "mjpeg"), side["fps"], strict=True)),
                                      "latency_s": latencies(port, pid)}
            h264, mjpeg = side["bytes_per_s"]
            report["side_by_side"]["ratio"] = round(h264 / mjpeg, 4) if mjpeg else None
            say(f"side by side: {report['side_by_side']}")
            idle(port)
            report["first_frame_s"] = {"cold": first_frames(port, warm=False), "warm": first_frames(port, warm=True)}
            say(f"time to first frame: {report['first_frame_s']}")
            report["cpu"] = cpu_cases(port, pid, say)
            slow = window(port, pid, [Reader(port, "/live.mp4", True),
                                      Reader(port, "/live.mp4", False, rcvbuf=4096, rate_bps=SLOW_BPS)])
            report["slow_reader"] = {"fast_fps": slow["fps"][0], "encoded_fps": slow["encoded_fps"],
                                     "fast_latency_s": percentiles(slow["latency_s"][0]),
                                     "slow_bytes_per_s": slow["bytes_per_s"][1], "skipped": slow["skipped"],
                                     "viewers_at_end": slow["viewers_at_end"]}
            say(f"slow reader: {report['slow_reader']}")
        report["load_average_1min"]["end"] = round(os.getloadavg()[0], 1)
        save_report(out, f"live-view-{report['machine']['host']}-{height}p", report, markdown(report))
        if before:  # then again, with the trees
            report["trees"] = trees(camera.url, before, say)
            report["load_average_1min"]["end"] = round(os.getloadavg()[0], 1)
            save_report(out, f"live-view-{report['machine']['host']}-{height}p", report, markdown(report))


def say_back(value: dict, say: Callable[[str], None]) -> dict:
    say(f"latency: { {name: {k: v for k, v in t.items() if k != 'values'} for name, t in value.items()} }")
    return value


@contextlib.contextmanager
def command(url: str, tree: str | None = None) -> Iterator[tuple[int, int]]:
    """The real command on camera ``url``, serving on a free port (its code from ``tree``, a src
    folder, else this one's): (port, pid)."""
    port = free_port()
    extra = {"PYTHONPATH": str(Path(tree).resolve())} if tree else {}
    process = subprocess.Popen([sys.executable, "-m", "live_classify", "--source", url, "--provider", "cpu",
                                "--jsonl", os.devnull, "--serve", f"127.0.0.1:{port}", "--serve-clients", "64"],
                               stderr=subprocess.DEVNULL, env=headless_env(**extra))
    try:
        wait_until(lambda: _up(port) and status(port)["classified"] > 0, "the command serving", timeout=120)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(30)


def trees(url: str, before: str, say: Callable[[str], None]) -> dict:
    """CPU per captured frame with 1 and 20 H.264 readers, the command from ``before``'s tree and from
    this one, in turns (before, this, this, before: a neighbour's load hits both alike)."""
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for name in ("before", "after", "after", "before"):
        with command(url, before if name == "before" else None) as (port, pid):
            cases = {}
            for n in (1, 20):
                idle(port)
                m = window(port, pid, [Reader(port, "/live.mp4", decode=False) for _ in range(n)])
                cases[n] = {"cpu_ms_per_frame": m["cpu_ms_per_frame"], "captured_fps": m["captured_fps"],
                            "fps_min": min(m["fps"]), "load": round(os.getloadavg()[0], 1)}
            ratio = round(cases[20]["cpu_ms_per_frame"] / cases[1]["cpu_ms_per_frame"], 3)
            runs[name].append({**cases, "ratio": ratio})
            say(f"tree {name}: {runs[name][-1]}")
    return {"before_src": before, **runs}


def _up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def markdown(r: dict) -> str:
    s, cpu, slow, host = r["side_by_side"], r["cpu"], r["slow_reader"], r["machine"]
    h264, mjpeg = s["latency_s"]["h264"], s["latency_s"]["mjpeg"]
    one, twenty = cpu["/live.mp4 x1"]["cpu_ms_per_frame"], cpu["/live.mp4 x20"]["cpu_ms_per_frame"]
    rows = "\n".join(f"| {case} | {v['cpu_per_s']} | {v['captured_fps']} | {v['cpu_ms_per_frame']} | {v['fps_min']} | "
                     f"{v['bytes_per_s_each']} |" for case, v in cpu.items())
    return f"""# The live view: H.264 (/live.mp4) beside MJPEG (/stream.mjpg)

`python benchmarks/live_view.py --size {r['camera'].split()[0]}` on {host['host']} ({host['cores']} cores,
{host['cpu']}), {host['date']}; camera {r['camera']}. The machine was shared with other work while it ran: load average
{r['load_average_1min']['start']} at the start, {r['load_average_1min']['end']} at the end.

| | H.264 | MJPEG |
|---|---|---|
| bytes/s (one reader each, at once, not decoding) | {s['bytes_per_s']['h264']} | {s['bytes_per_s']['mjpeg']} |
| H.264 / MJPEG | {s['ratio']} | |
| frames/s received | {s['fps']['h264']} | {s['fps']['mjpeg']} |
| latency send -> decoded, a frame a second each, p50 / p95 (s) | {h264['p50']} / {h264['p95']} | \
{mjpeg['p50']} / {mjpeg['p95']} |
| load average as the latency window began | {h264['load']} | {mjpeg['load']} |

Time to first decoded frame (s): cold (encoder stopped) {r['first_frame_s']['cold']}; warm {r['first_frame_s']['warm']}.

The command's CPU (CPU seconds per second) by readers (they only read):

| readers | CPU s/s | frames captured/s | CPU ms per captured frame | slowest reader fps | bytes/s each |
|---|---|---|---|---|---|
{rows}

CPU per captured frame, 20 H.264 viewers / 1: {round(twenty / one, 3) if one and twenty else None}.

A slow reader (4 KB window, 5 KB/s) beside a fast one: the fast one got {slow['fast_fps']} fps of
{slow['encoded_fps']} encoded, latency p50/p95 {slow['fast_latency_s']['p50']} / {slow['fast_latency_s']['p95']} s;
the slow one was skipped to a keyframe {slow['skipped']} times ({slow['slow_bytes_per_s']} bytes/s reached it);
viewers at the end {slow['viewers_at_end']}.
{trees_markdown(r.get("trees"))}"""


def latency_markdown(r: dict) -> str:
    rows = "\n".join(f"| {n + 1} | {t['h264']['p50']} / {t['h264']['p95']} | "
                     f"{t['mjpeg']['p50']} / {t['mjpeg']['p95']} | {t['h264']['load']} | {t['h264']['captured_fps']} |"
                     for n, t in enumerate(r["latency_rounds"]))
    pooled = {name: percentiles([v for t in r["latency_rounds"] for v in t[name]["values"]])
              for name in ("h264", "mjpeg")}
    rows += (f"\n| all rounds | {pooled['h264']['p50']} / {pooled['h264']['p95']} (n {pooled['h264']['n']}) | "
             f"{pooled['mjpeg']['p50']} / {pooled['mjpeg']['p95']} (n {pooled['mjpeg']['n']}) | | |")
    host = r["machine"]
    return f"""# The live view's latency: H.264 (/live.mp4) and MJPEG (/stream.mjpg)

`python benchmarks/live_view.py --size {r['camera'].split()[0]} --latency-rounds {len(r['latency_rounds'])}` on
{host['host']} ({host['cores']} cores, {host['cpu']}), {host['date']}; camera {r['camera']}. Seconds from the
camera's send time (stamped in the picture) to the frame decoded, a reader of each at once, each decoding a frame
a second (H.264's keyframes, every 30th JPEG), {WINDOW_S:.0f} s a window, with the machine's load average (shared
with other work) as each window began, and the frames the command captured a second (of the camera's 30: one that
falls behind leaves frames waiting in the camera's socket, for both streams alike).

| round | H.264 p50 / p95 (s) | MJPEG p50 / p95 (s) | load average | frames the command captured/s |
|---|---|---|---|---|
{rows}
"""


def trees_markdown(t: dict | None) -> str:
    if not t:
        return ""
    rows = "\n".join(f"| {name} | {run[1]['cpu_ms_per_frame']} | {run[20]['cpu_ms_per_frame']} | {run['ratio']} | "
                     f"{run[1]['captured_fps']} / {run[20]['captured_fps']} | {run[20]['fps_min']} | {run[1]['load']} |"
                     for name in ("before", "after") for run in t[name])
    return f"""
The command from the older tree `{t['before_src']}` (before) and from this one (after), in turns, H.264 readers:

| tree | CPU ms/frame, 1 viewer | 20 viewers | 20 / 1 | frames captured/s (1 / 20) | slowest of 20, fps | load |
|---|---|---|---|---|---|---|
{rows}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--size", default=(1280, 720), type=size, help="the camera's WIDTHxHEIGHT (1280x720)")
    parser.add_argument("--latency-rounds", type=int, default=0, metavar="N",
                        help="only the latency, N rounds of H.264 then MJPEG (each with its load average)")
    parser.add_argument("--before", metavar="SRC", help="also the CPU of 1 and 20 viewers with the command from "
                        "this older src folder, in turns with this one's")
    args = parser.parse_args()
    run(args.out or default_out(machine()["host"], time.gmtime()), *args.size, args.before, args.latency_rounds)


def size(text: str) -> tuple[int, int]:
    """``640x480`` as (640, 480): even sides from 64 up."""
    width, _, height = text.partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) >= 64 and int(height) >= 64):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 640x480")
    return int(width) // 2 * 2, int(height) // 2 * 2


if __name__ == "__main__":
    main()
