"""Recording: what H.264 MP4 costs and saves next to Motion-JPEG AVI, measured side by side in one run.

    python benchmarks/recording.py                # everything (about 5 minutes on 2 cores)
    python benchmarks/recording.py --quick        # shorter runs, for a first look (about 1 minute)
    python benchmarks/recording.py --only size,cpu
    python benchmarks/recording.py --out benchmarks/results   # refresh the committed report

Writes ``recording-<host>.json`` and ``.md`` into ``--out``: by default a new git-ignored folder
``benchmarks/results/local-<host>-<date>``, so a run never overwrites the committed reports
(``benchmarks/results/recording-vm.*`` was made on a machine whose host name is vm).

Sections:
  size     bytes per hour of 720p30 and quality: frames as the test camera sends them (its photo,
           frame number and time strip, JPEG-compressed and decoded), still, panning, and panning
           with sensor noise, fed to both writers; PSNR of the recorded frames read back against
           the very frames that went in
  cpu      CPU ms per frame of each writer alone (process CPU time around its write calls, its
           close included), at 640x480 and 1280x720
  command  the whole command, headless, on a 30 fps 1280x720 panning test camera: no recording,
           ``--record x.mp4`` and ``--record x.avi`` in alternating order; captured, classified
           and recorded rates from its summary lines, its CPU time, the machine's load
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "support")]  # the fake camera lives with the tests

from benchlib import cpu_seconds, default_out, machine, save_report, wait_for  # noqa: E402  (the same machine line, the same folders)
from mjpeg_server import Camera, MjpegServer, stamp_time  # noqa: E402

from live_classify.config import EncoderSettings  # noqa: E402
from live_classify.sinks.record.mjpeg import MjpegWriter  # noqa: E402
from live_classify.sinks.record.mp4 import Mp4Writer  # noqa: E402

PHOTO = HERE.parent / "tests" / "data" / "chelsea.png"
SECTIONS = ("size", "cpu", "command")
FPS = 30
FORMATS = {"mp4": "H.264 MP4 (libx264)", "avi": "Motion-JPEG AVI"}
CONFIGS = ("no recording", "--record x.mp4", "--record x.avi")
MB = 1e6


# -- the frames: what the test camera sends, still or moving ----------------------------------

class Scene:
    """The test camera's picture at ``size``, frame by frame, made the same way each time asked.

    ``still``: its photo, as the camera serves it. ``pan``: a slow patrol across the photo (at most
    ~3 px a frame, 10 s each way). ``noisy``: the pan with sensor-like noise (sigma 3), the hard
    case for an encoder that predicts each frame from the last.
    """

    JPEG_QUALITY = 85  # the test camera's
    T0 = 1.8e9  # the time stamped into the strip of frame 0

    def __init__(self, motion: str, size: tuple[int, int]) -> None:
        self.motion = motion
        self.size = size
        margin = 1.0 if motion == "still" else 1.25
        photo = cv2.imread(str(PHOTO))
        self._photo = cv2.resize(photo, (round(size[0] * margin), round(size[1] * margin)),
                                 interpolation=cv2.INTER_AREA)
        rng = np.random.default_rng(7)
        self._noise = rng.normal(0, 3, (16, size[1], size[0], 3)).astype(np.int16) if motion == "noisy" else None

    def view(self, i: int) -> np.ndarray:
        """The picture before the camera's frame number and time strip."""
        (w, h), (big_h, big_w) = self.size, self._photo.shape[:2]
        phase = 0.5 - 0.5 * np.cos(2 * np.pi * i / (20 * FPS))
        x, y = round((big_w - w) * phase), round((big_h - h) * phase)
        image = self._photo[y:y + h, x:x + w]
        if self._noise is not None:
            image = (image + self._noise[i % len(self._noise)]).clip(0, 255).astype(np.uint8)
        return image

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` as the command gets it: numbered and stamped like the test camera's, sent as
        JPEG, decoded."""
        image = self.view(i).copy()
        cv2.putText(image, f"#{i}", (10, image.shape[0] - 20), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2,
                    cv2.LINE_AA)
        stamp_time(image, self.T0 + i / FPS)
        jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.JPEG_QUALITY])[1]
        return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


class MovingCamera(Camera):
    """The test camera serving a :class:`Scene` instead of its still photo."""

    def __init__(self, scene: Scene) -> None:  # noqa: D107 - no photo to load: the scene is the picture
        self.scene = scene
        self.count = 0
        self.base = scene.view(0)

    def next_jpeg(self) -> bytes:
        self.base = self.scene.view(self.count)
        return super().next_jpeg()


def open_writer(kind: str, path: Path, size: tuple[int, int]) -> Mp4Writer | MjpegWriter:
    """The writer ``--record`` uses for this suffix, as it is configured there."""
    if kind == "mp4":
        return Mp4Writer(path, size, EncoderSettings(encoder="libx264"), encoder="libx264")
    return MjpegWriter(path, float(FPS), log=lambda line: print(line, file=sys.stderr))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two 8-bit images, in dB (100 for identical ones)."""
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 100.0 if mse == 0 else 10 * np.log10(255**2 / mse)


# -- size and quality -------------------------------------------------------------------------

def record_scene(scene: Scene, frames: int, work: Path) -> dict[str, Path]:
    """The same frames through both writers, at 30 fps on the capture clock."""
    paths = {kind: work / f"{scene.motion}.{kind}" for kind in FORMATS}
    writers = {kind: open_writer(kind, path, scene.size) for kind, path in paths.items()}
    for i in range(frames):
        image = scene.frame(i)
        for writer in writers.values():
            writer.write(image, i / FPS)
    for writer in writers.values():
        writer.close()
    return paths


def read_back(scene: Scene, paths: dict[str, Path]) -> dict[str, list[float]]:
    """Per-frame PSNR of each recording against the frames that went in."""
    captures = {kind: cv2.VideoCapture(str(path)) for kind, path in paths.items()}
    scores: dict[str, list[float]] = {kind: [] for kind in paths}
    i = 0
    while True:
        got = {kind: capture.read() for kind, capture in captures.items()}
        if not any(ok for ok, _ in got.values()):
            return scores
        reference = scene.frame(i)
        for kind, (ok, image) in got.items():
            if ok:
                scores[kind].append(psnr(image, reference))
        i += 1


def measure_scene(motion: str, size: tuple[int, int], frames: int, work: Path) -> dict:
    """One scene through both writers: each file's MB per hour, its PSNR, the frames read back."""
    scene = Scene(motion, size)
    paths = record_scene(scene, frames, work)
    scores = read_back(scene, paths)
    row: dict = {"seconds": frames / FPS}
    for kind, path in paths.items():
        size_bytes = path.stat().st_size
        row[kind] = {"bytes": size_bytes, "mb_per_hour": round(size_bytes / MB * 3600 / (frames / FPS), 1),
                     "frames_read_back": len(scores[kind]),
                     "psnr_mean_db": round(float(np.mean(scores[kind])), 2),
                     "psnr_min_db": round(float(np.min(scores[kind])), 2)}
    row["avi_over_mp4"] = round(row["avi"]["bytes"] / row["mp4"]["bytes"], 1)
    return row


def bench_size(quick: bool) -> dict:
    """MB per hour of 720p30 and PSNR, per scene, MP4 vs AVI."""
    frames = (3 if quick else 20) * FPS
    with tempfile.TemporaryDirectory(prefix="recbench-") as tmp:
        rows = {motion: measure_scene(motion, (1280, 720), frames, Path(tmp)) for motion in ("still", "pan", "noisy")}
    return {"frames": frames, "size": "1280x720", "rows": rows}


# -- CPU per frame ----------------------------------------------------------------------------

def ping_pong(n: int, clip: int) -> Iterator[int]:
    """Indices 0, 1, ..., clip-1, clip-2, ..., 1, 0, 1, ...: a clip played back and forth, no cut."""
    period = 2 * (clip - 1)
    for k in range(n):
        j = k % period
        yield j if j < clip else period - j


def time_writer(kind: str, clip: list[np.ndarray], frames: int, path: Path) -> dict[str, float]:
    """Process CPU ms and wall ms per frame of one writer alone, from its first write to its close."""
    size = (clip[0].shape[1], clip[0].shape[0])
    writer = open_writer(kind, path, size)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for k, i in enumerate(ping_pong(frames, len(clip))):
        writer.write(clip[i], k / FPS)
    writer.close()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    path.unlink()
    return {"cpu_ms": cpu * 1e3 / frames, "wall_ms": wall * 1e3 / frames}


def bench_cpu(quick: bool) -> dict:
    """Each writer alone on a panning clip, alternating rounds; the median round is reported."""
    frames, rounds = (30, 1) if quick else (150, 3)
    rows: dict = {}
    with tempfile.TemporaryDirectory(prefix="recbench-") as tmp:
        for size in ((640, 480), (1280, 720)):
            scene = Scene("pan", size)
            clip = [scene.frame(i) for i in range(min(frames, 60))]
            runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in FORMATS}
            for _ in range(rounds):
                for kind in FORMATS:
                    runs[kind].append(time_writer(kind, clip, frames, Path(tmp) / f"cpu.{kind}"))
            rows[f"{size[0]}x{size[1]}"] = {kind: median_run(r) for kind, r in runs.items()}
    return {"frames": frames, "rounds": rounds, "threads": os.cpu_count(), "rows": rows}


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    cpu = [r["cpu_ms"] for r in runs]
    best = sorted(runs, key=lambda r: r["cpu_ms"])[len(runs) // 2]
    return {"cpu_ms_per_frame": round(best["cpu_ms"], 2), "wall_ms_per_frame": round(best["wall_ms"], 2),
            "fps_alone": round(1e3 / best["wall_ms"], 1), "cpu_ms_spread": [round(min(cpu), 2), round(max(cpu), 2)]}


# -- the whole command ------------------------------------------------------------------------

SUMMARY_LINES = {
    "captured": r"(\d+) frames captured", "classified": r"(\d+) classified", "dropped": r"classified, (\d+) dropped",
    "elapsed_s": r"reconnects? in ([\d.]+) s", "capture_fps": r"capture ([\d.]+) fps",
    "inference_fps": r"inference ([\d.]+) fps", "latency_p50_ms": r"latency p50 (\d+) ms",
    "recorded": r"recorded (\d+) frames", "encoder_dropped": r"(\d+) dropped: the encoder",
}


def parse_summary(stderr: str) -> dict[str, float]:
    """The numbers of the command's summary lines (absent ones: 0)."""
    found = {key: re.search(pattern, stderr) for key, pattern in SUMMARY_LINES.items()}
    return {key: float(match.group(1)) if match else 0.0 for key, match in found.items()}


def run_command(server: MjpegServer, config: str, seconds: float, work: Path) -> dict:
    """One headless run of the real command for ``seconds`` after its camera opened, stopped by SIGINT."""
    record = work / config.split()[-1] if config != CONFIGS[0] else None
    command = [sys.executable, "-m", "live_classify", "--source", server.url, "--headless", "--provider", "cpu",
               "--jsonl", str(work / "x.jsonl")] + (["--record", str(record), "--overwrite"] if record else [])
    log = work / "stderr.txt"
    load = os.getloadavg()[0]
    with log.open("w") as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, text=True)
        try:
            if not wait_for(log, "running on", 60):
                raise RuntimeError(f"the command did not start: {log.read_text().strip()}")
            cpu0, sent0, t0 = cpu_seconds(process.pid), server.sent, time.monotonic()
            time.sleep(seconds)
            cpu, sent, wall = cpu_seconds(process.pid) - cpu0, server.sent - sent0, time.monotonic() - t0
            process.send_signal(signal.SIGINT)
            process.wait(60)
        finally:
            if process.poll() is None:
                process.kill()
    row = parse_summary(log.read_text())
    row.update(config=config, exit_code=process.returncode, load_1min=round(load, 2),
               camera_sent_fps=round(sent / wall, 1), cpu_pct=round(100 * cpu / wall, 1),
               cpu_ms_per_frame=round(1e3 * cpu / max(sent, 1), 1),
               recorded_fps=round(row["recorded"] / max(row["elapsed_s"], 1e-9), 1))
    if record:
        row["mb_per_hour"] = round(record.stat().st_size / MB * 3600 / max(row["elapsed_s"], 1e-9), 1)
    return row


def bench_command(quick: bool) -> dict:
    """No recording, MP4, AVI, alternating (A B C C B A ...) so that a neighbour's load hits all alike."""
    seconds, rounds = (5, 1) if quick else (20, 2)
    runs = []
    with MjpegServer(PHOTO, FPS, 0, 1280, 720) as server, tempfile.TemporaryDirectory(prefix="recbench-") as tmp:
        server.camera = MovingCamera(Scene("pan", (1280, 720)))
        for r in range(rounds):
            for config in CONFIGS if r % 2 == 0 else reversed(CONFIGS):
                print(f"[{time.strftime('%H:%M:%S')}]   {config} ...", file=sys.stderr, flush=True)
                runs.append(run_command(server, config, seconds, Path(tmp)))
    means = {config: {key: round(float(np.mean([r[key] for r in runs if r["config"] == config])), 1)
                      for key in ("capture_fps", "inference_fps", "recorded_fps", "cpu_pct", "cpu_ms_per_frame")}
             for config in CONFIGS}
    base = means[CONFIGS[0]]["inference_fps"]
    for config in CONFIGS[1:]:
        means[config]["inference_change_pct"] = round(100 * (means[config]["inference_fps"] / base - 1), 1)
    return {"seconds": seconds, "rounds": rounds, "size": "1280x720", "camera_fps": FPS, "runs": runs, "means": means}


# -- the report ---------------------------------------------------------------------------------

def produced_by(report: dict) -> str:
    """The command line that made this report."""
    command = "python benchmarks/recording.py" + (" --quick" if report["quick"] else "")
    return command + (f" --only {','.join(report['only'])}" if list(report["only"]) != list(SECTIONS) else "")


def markdown_size(r: dict) -> list[str]:
    out = [f"## Size and quality: {r['size']} at {FPS} fps, {r['frames'] / FPS:.0f} s per scene, "
           "extrapolated to an hour",
           "", "| scene | MP4 MB/hour | AVI MB/hour | AVI / MP4 | MP4 PSNR dB (mean / min) | AVI PSNR dB (mean / min) |"
           " frames read back (MP4 / AVI) |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scene, row in r["rows"].items():
        mp4, avi = row["mp4"], row["avi"]
        out.append(f"| {scene} | {mp4['mb_per_hour']:,.0f} | {avi['mb_per_hour']:,.0f} | **{row['avi_over_mp4']}x** | "
                   f"{mp4['psnr_mean_db']} / {mp4['psnr_min_db']} | {avi['psnr_mean_db']} / {avi['psnr_min_db']} | "
                   f"{mp4['frames_read_back']} / {avi['frames_read_back']} |")
    return out + ["", "MB = 10^6 bytes. The frames are the test camera's (its photo, frame number and time strip, "
                  "sent as JPEG q85 and decoded); `still` as it serves them, `pan` a slow pan across the photo, "
                  "`noisy` the pan with sensor-like noise (sigma 3). PSNR is of each frame read back (OpenCV) against "
                  "the very frame written; MP4 is yuv420p, so its colour is at half resolution.", ""]


def markdown_cpu(r: dict) -> list[str]:
    out = [f"## Encoding cost, each writer alone ({r['frames']} frames of a panning clip, "
           f"median of {r['rounds']} rounds)",
           "", "| size | writer | CPU ms per frame | wall ms per frame | fps alone | CPU ms spread |",
           "| --- | --- | ---: | ---: | ---: | --- |"]
    for size, kinds in r["rows"].items():
        for kind, v in kinds.items():
            low, high = v["cpu_ms_spread"]
            out.append(f"| {size} | {FORMATS[kind]} | {v['cpu_ms_per_frame']} | {v['wall_ms_per_frame']} | "
                       f"{v['fps_alone']} | {low}–{high} |")
    return out + ["", "CPU time is the process's (every thread) from the first write to the close; libx264 preset "
                  "veryfast, crf 26, tune zerolatency, a keyframe each second, as `--record x.mp4` runs it.", ""]


def markdown_command(r: dict) -> list[str]:
    out = [f"## The whole command: a {FPS} fps {r['size']} panning test camera, headless, {r['seconds']} s a run", "",
           "| # | run | load (1 min) | camera sent fps | captured fps | classified fps | recorded fps | "
           "encoder drops | CPU % (of 200) | CPU ms per camera frame | file MB/hour |",
           "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for i, v in enumerate(r["runs"], 1):
        recorded = v["recorded_fps"] if v["config"] != CONFIGS[0] else "—"
        drops = f"{v['encoder_dropped']:.0f}" if v["config"] != CONFIGS[0] else "—"
        out.append(f"| {i} | {v['config']} | {v['load_1min']} | {v['camera_sent_fps']} | {v['capture_fps']} | "
                   f"{v['inference_fps']} | {recorded} | {drops} | {v['cpu_pct']} | {v['cpu_ms_per_frame']} | "
                   f"{v.get('mb_per_hour', '—')} |")
    out += ["", "| mean | captured fps | classified fps | inference vs no recording | recorded fps | CPU % "
            "| CPU ms per camera frame |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for config, m in r["means"].items():
        change = f"{m['inference_change_pct']:+.1f} %" if "inference_change_pct" in m else "—"
        recorded = m["recorded_fps"] if config != CONFIGS[0] else "—"
        out.append(f"| {config} | {m['capture_fps']} | {m['inference_fps']} | {change} | {recorded} | "
                   f"{m['cpu_pct']} | {m['cpu_ms_per_frame']} |")
    return out + ["", "Rates are the command's own summary lines (frames over its run time); CPU % is the command's "
                  "user + system time over the measured window (per camera frame: over the frames the camera "
                  "sent in it); the load is `uptime`'s 1-minute average as each run "
                  "started (other engineers share these 2 cores). The test camera runs in the benchmark's process "
                  "and JPEG-encodes each frame there, on the same 2 cores.", ""]


def markdown(report: dict) -> str:
    m = report["machine"]
    out = [f"# Recording: H.264 MP4 vs Motion-JPEG AVI — {m['cpu']}, {m['cores']} cores, no GPU", "",
           f"{m['date']}; PyAV {m['av']} (its bundled FFmpeg, libx264), OpenCV {m['opencv']}, Python {m['python']}. "
           f"Produced by `{produced_by(report)}`.", ""]
    for section in SECTIONS:
        if section in report:
            out += globals()[f"markdown_{section}"](report[section])
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter runs, for a first look: about 1 minute instead of about 5 on 2 cores")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write recording-<host>.json and .md (default: a new git-ignored folder "
                             "benchmarks/results/local-<host>-<date>; pass benchmarks/results to refresh the committed "
                             "report)")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    report: dict = {"machine": {**machine(), "av": av.__version__}, "quick": args.quick, "only": chosen}
    for section in chosen:
        print(f"[{time.strftime('%H:%M:%S')}] {section} ...", file=sys.stderr, flush=True)
        report[section] = globals()[f"bench_{section}"](args.quick)
    name = f"recording-{report['machine']['host']}"
    out = args.out or default_out(report["machine"]["host"], time.gmtime())
    save_report(out, name, report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
