"""Side-by-side performance of live-classify, measured in one run and reported as ratios.

    pip install '.[bench]'                   # matplotlib, for the latency plot
    python benchmarks/run.py                 # everything (about 11 minutes on 2 cores)
    python benchmarks/run.py --quick         # shorter runs, for a first look (about 2.5 minutes)
    python benchmarks/run.py --only inference,preprocess
    python benchmarks/run.py --out benchmarks/results   # refresh the committed report of this machine

Writes ``<host>.json``, ``<host>.md`` and ``<host>-latency.png`` into ``--out``: by default a new
folder ``benchmarks/results/local-<host>-<date>`` (git-ignored), so a run never overwrites the
committed reports (``benchmarks/results/vm.*`` was made on a machine whose host name is vm). These machines
are noisy, so every comparison runs its contenders in the same run, alternating where it can, and
the ratios are what to read; absolute numbers hold only for the machine named in the report.

Sections:
  inference   plain ``session.run`` vs the I/O-binding path: per-frame ms and CPU ms
  preprocess  ours vs ``cv2.dnn.blobFromImage`` vs the textbook numpy way, on a 1280x720 frame,
              and proof that ours gives the same tensor as a step-by-step reference
  throughput  a 720p video file, headless: our threaded pipeline, a naive single-threaded loop,
              OpenCV's DNN module on the same ONNX, and the inference-only bound
  latency     a live MJPEG-over-HTTP camera: latency from the moment the camera sent each frame
              (stamped in its pixels) to its result, for our pipeline and the naive loop, at 30 fps
              and with a camera faster than inference
  soak        RSS and latency at the start and the end of a long live run
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests" / "support")]  # the fake camera lives with the tests

from benchlib import default_out, machine, save_report  # noqa: E402  (shared with the other benchmarks)
from engines import Run  # noqa: E402  (one camera and its scheduler, as the tests drive them)
from mjpeg_server import MjpegServer, read_time  # noqa: E402

from live_classify.engine.classifier import Classifier  # noqa: E402
from live_classify.engine.model import default_model_path  # noqa: E402
from live_classify.engine.postprocess import softmax, top_k  # noqa: E402
from live_classify.engine.preprocess import Preprocessor, center_crop_box, resize_antialiased  # noqa: E402
from live_classify.engine.providers import ProviderOptions  # noqa: E402
from live_classify.pipeline.frames import Flow  # noqa: E402
from live_classify.sinks.display import overlay  # noqa: E402
from live_classify.sources.capture import VideoSource, parse_video_source  # noqa: E402
from live_classify.sources.picture import pixels  # noqa: E402

PHOTO = ROOT / "tests" / "data" / "chelsea.png"
SECTIONS = ("inference", "preprocess", "throughput", "latency", "soak")
PRODUCT = "pipeline (as shipped: one 1-thread engine per core)"
QUICK_MINUTES = 2.5  # --quick: 139 s on a 2-core development VM with busy neighbours, mostly fixed-length runs


# -- small measuring tools -------------------------------------------------------------------

def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], float]:
    """Per-call wall ms for ``runs`` calls, and the process CPU ms per call (all threads)."""
    walls = []
    cpu0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        walls.append((time.perf_counter() - t0) * 1e3)
    return walls, (time.process_time() - cpu0) * 1e3 / runs


def summary(ms: list[float]) -> dict[str, float]:
    return {"median_ms": round(float(np.median(ms)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3)}


def alternate(contenders: dict[str, Callable[[], object]], runs: int, rounds: int = 5) -> dict[str, dict[str, float]]:
    """Run the contenders in alternating blocks so that machine noise hits them all alike."""
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    cpus: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():
        fn()  # warm up
    for _ in range(rounds):
        for name, fn in contenders.items():
            w, c = timed(fn, runs // rounds)
            walls[name] += w
            cpus[name].append(c)
    return {name: {**summary(walls[name]), "cpu_ms": round(float(np.mean(cpus[name])), 3)} for name in contenders}


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """This process's peak RSS since it started (VmHWM; ru_maxrss would include the parent's before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_classifier(threads: int = 0, spin: bool = True) -> Classifier:
    return Classifier.open(default_model_path(), "cpu", options=ProviderOptions(threads=threads, spin=spin))


def frame_720p() -> np.ndarray:
    return cv2.resize(cv2.imread(str(PHOTO)), (1280, 720), interpolation=cv2.INTER_AREA)


# -- inference --------------------------------------------------------------------------------

def bench_inference(quick: bool) -> dict:
    classifier = open_classifier()
    bound = classifier.backend.bound
    session = classifier.backend.opened.session
    classifier.preprocess(frame_720p())
    tensor = bound.input.copy()
    name_in, name_out = classifier.spec.input_name, classifier.spec.output_name
    results = alternate({
        "session.run": lambda: session.run([name_out], {name_in: tensor}),
        "I/O binding": bound.run,
    }, runs=200 if quick else 1000)
    same = float(np.abs(session.run([name_out], {name_in: bound.input})[0] - bound.run()).max())
    return {"rows": results, "max_abs_diff": same,
            "ratio_plain_over_binding": round(results["session.run"]["median_ms"]
                                              / results["I/O binding"]["median_ms"], 3)}


# -- preprocessing ----------------------------------------------------------------------------

def bench_preprocess(quick: bool) -> dict:
    classifier = open_classifier()
    pre = classifier.spec.preprocessing
    frame = frame_720p()
    ours = Preprocessor(pre, np.empty((1, 3, pre.height, pre.width), np.float32))
    top, left, h, w = center_crop_box(*frame.shape[:2], pre)
    mean, std = np.array(pre.mean), np.array(pre.std)

    def reference() -> np.ndarray:
        """Step by step with fresh arrays and the same resize: what ours must equal."""
        crop = frame[top : top + h, left : left + w].copy()
        resized = resize_antialiased(crop, np.empty((pre.height, pre.width, 3), np.uint8))
        rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB).astype(np.float64)
        return ((rgb - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)

    def textbook() -> np.ndarray:
        """The tutorial way: INTER_AREA resize, cvtColor, astype, normalize, transpose, copy."""
        crop = frame[top : top + h, left : left + w]
        resized = cv2.resize(crop, (pre.width, pre.height), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB).astype(np.float32)
        return np.ascontiguousarray(((rgb - mean.astype(np.float32)) / std.astype(np.float32)).transpose(2, 0, 1)[None])

    def blob() -> np.ndarray:
        """OpenCV's DNN helper on the same crop (it resizes with INTER_LINEAR)."""
        crop = frame[top : top + h, left : left + w]
        return cv2.dnn.blobFromImage(crop, 1 / pre.std[0], (pre.width, pre.height), pre.mean, swapRB=True)

    rows = alternate({"ours (preallocated)": lambda: ours(frame), "numpy, INTER_AREA": textbook,
                      "cv2.dnn.blobFromImage": blob}, runs=200 if quick else 1000)
    want = reference()
    return {
        "rows": rows,
        "max_abs_diff_vs_reference": {
            "ours": float(np.abs(ours(frame) - want).max()),
            "numpy, INTER_AREA": float(np.abs(textbook() - want).max()),
            "cv2.dnn.blobFromImage": float(np.abs(blob() - want).max()),
        },
    }


# -- throughput on a file ---------------------------------------------------------------------

def make_720p_clip(path: Path, frames: int) -> Path:
    """A 720p mp4v file panning across the photo, so every frame decodes for real."""
    big = cv2.resize(cv2.imread(str(PHOTO)), (1600, 1000), interpolation=cv2.INTER_CUBIC)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (1280, 720))
    for i in range(frames):
        x = int((1600 - 1280) * (0.5 + 0.5 * np.sin(i / 20)))
        y = int((1000 - 720) * (0.5 + 0.5 * np.cos(i / 25)))
        writer.write(big[y : y + 720, x : x + 1280])
    writer.release()
    return path


def status_for(pipeline_fps: float = 0.0) -> overlay.Status:
    return overlay.Status(pipeline_fps, pipeline_fps, pipeline_fps, 0, "CPU")


def run_pipeline_on_file(clip: Path, classifier: Classifier, workers: int = 1) -> dict:
    """The product's path for a file, headless with JSON lines: threads, overlay, one JSON line a frame."""
    source = VideoSource(parse_video_source(str(clip)))
    pipeline = Run(source, classifier, Flow.EVERY, workers=workers if workers > 1 else None)
    with open(os.devnull, "w") as sink:
        t0, cpu0 = time.perf_counter(), time.process_time()
        pipeline.start()
        frames = 0
        for shown in pipeline.frames():
            overlay.draw(shown.frame.image if shown.exclusive else shown.frame.image.copy(), shown.prediction,
                         status_for())
            sink.write(json.dumps({"frame": shown.frame.index, "label": shown.prediction.result.top.label}) + "\n")
            frames += 1
        pipeline.join()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"frames": frames, "fps": frames / wall, "cpu_pct": 100 * cpu / wall}


def run_naive_on_file(clip: Path, classifier: Classifier) -> dict:
    """The tutorial loop, one thread: read, classify, draw, write, repeat."""
    capture = cv2.VideoCapture(str(clip))
    with open(os.devnull, "w") as sink:
        t0, cpu0 = time.perf_counter(), time.process_time()
        frames = 0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            result = classifier.classify(image)
            overlay.draw(image, None, status_for())
            sink.write(json.dumps({"frame": frames, "label": result.top.label}) + "\n")
            frames += 1
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"frames": frames, "fps": frames / wall, "cpu_pct": 100 * cpu / wall}


def run_cv2_dnn_on_file(clip: Path, classifier: Classifier) -> dict:
    """OpenCV's own DNN module running the same ONNX file, in the naive loop."""
    try:
        net = cv2.dnn.readNetFromONNX(str(classifier.spec.path))
    except cv2.error as error:
        return {"error": f"cv2.dnn.readNetFromONNX failed: {str(error).strip().splitlines()[-1]}"}
    pre = classifier.spec.preprocessing
    capture = cv2.VideoCapture(str(clip))
    frames = 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            top, left, h, w = center_crop_box(*image.shape[:2], pre)
            net.setInput(cv2.dnn.blobFromImage(image[top : top + h, left : left + w], 1 / pre.std[0],
                                               (pre.width, pre.height), pre.mean, swapRB=True))
            top_k(softmax(net.forward().reshape(-1)), classifier.spec.labels, 5)
            overlay.draw(image, None, status_for())
            frames += 1
    except cv2.error as error:
        return {"error": f"cv2.dnn forward failed: {str(error).strip().splitlines()[-1]}"}
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"frames": frames, "fps": frames / wall, "cpu_pct": 100 * cpu / wall}


def run_bound(classifier: Classifier, frames: int, engines: int = 1) -> dict:
    """Inference alone on a preloaded tensor, by ``engines`` threads at once: a pipeline's ceiling."""
    bound = [classifier] + [classifier.sibling() for _ in range(engines - 1)]
    for engine in bound:
        engine.preprocess(frame_720p())

    def work(engine: Classifier) -> None:
        for _ in range(frames // engines):
            engine.backend.bound.run()

    threads = [threading.Thread(target=work, args=(engine,)) for engine in bound]
    t0, cpu0 = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    done = frames // engines * engines
    return {"frames": done, "fps": done / wall, "cpu_pct": 100 * cpu / wall}


def decode_only(clip: Path) -> dict:
    capture = cv2.VideoCapture(str(clip))
    frames = 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    while capture.read()[0]:
        frames += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"frames": frames, "fps": frames / wall, "cpu_pct": 100 * cpu / wall}


def bench_throughput(quick: bool) -> dict:
    frames = 150 if quick else 450
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_720p_clip(Path(tmp) / "clip.mp4", frames)
        cores = os.cpu_count() or 1
        spinning, calm, single = open_classifier(), open_classifier(spin=False), open_classifier(threads=1, spin=False)
        contenders: dict[str, Callable[[], dict]] = {
            PRODUCT: lambda: run_pipeline_on_file(clip, single, workers=cores),
            "pipeline, 1 engine x all threads": lambda: run_pipeline_on_file(clip, calm),
            "pipeline, 1 engine x all threads, spinning": lambda: run_pipeline_on_file(clip, spinning),
            "naive loop": lambda: run_naive_on_file(clip, spinning),
            "cv2.dnn (naive loop)": lambda: run_cv2_dnn_on_file(clip, spinning),
            "inference only, 1 engine x all threads": lambda: run_bound(spinning, frames),
            "inference only, one 1-thread engine per core": lambda: run_bound(single, frames, engines=cores),
            "decode only": lambda: decode_only(clip),
        }
        runs: dict[str, list[dict]] = {name: [] for name in contenders}
        for _ in range(rounds):
            for name, fn in contenders.items():
                runs[name].append(fn())
    rows = {}
    for name, results in runs.items():
        if "error" in results[0]:
            rows[name] = results[0]
            continue
        best = sorted(results, key=lambda r: r["fps"])[len(results) // 2]  # the median run
        rows[name] = {k: round(v, 1) for k, v in best.items()}
        rows[name]["cpu_ms_per_frame"] = round(10 * best["cpu_pct"] / best["fps"], 2)
    bound = max(rows["inference only, 1 engine x all threads"]["fps"],
                rows["inference only, one 1-thread engine per core"]["fps"])
    return {
        "frames": frames, "rounds": rounds, "rows": rows,
        "ratio_pipeline_over_naive": round(rows[PRODUCT]["fps"] / rows["naive loop"]["fps"], 3),
        "ratio_pipeline_over_bound": round(rows[PRODUCT]["fps"] / bound, 3),
        "ratio_one_engine_over_naive": round(rows["pipeline, 1 engine x all threads"]["fps"]
                                             / rows["naive loop"]["fps"], 3),
    }


# -- live latency (each run in its own process, for honest CPU and RSS figures) ---------------

def live_worker(mode: str, url: str, seconds: float, threads: int, spin: bool) -> dict:
    """Runs in a child process: classify a live stream for ``seconds``, report latency over time."""
    classifier = open_classifier(threads, spin)
    samples: list[tuple[float, float]] = []  # (seconds since start, source-to-result ms)
    rss: list[tuple[float, float]] = []
    shown = 0
    source = VideoSource(parse_video_source(url))
    t0, cpu0 = time.monotonic(), time.process_time()
    next_rss = t0

    def note_rss(now: float) -> None:
        nonlocal next_rss
        if now >= next_rss:
            rss.append((round(now - t0, 2), round(rss_mb(), 1)))
            next_rss = now + 5

    if mode == "pipeline":
        pipeline = Run(source, classifier, Flow.LATEST, log=lambda _: None).start()
        for item in pipeline.frames():
            overlay.draw(item.frame.image.copy(), item.prediction, status_for())
            shown += 1
            for p in item.new_predictions:
                done_wall = p.frame.wall_time + (p.t_done - p.frame.t_capture)
                samples.append((round(p.t_done - t0, 3), round((done_wall - read_time(p.frame.image)) * 1e3, 2)))
            now = time.monotonic()
            note_rss(now)
            if now - t0 > seconds:
                break
        pipeline.join()
        dropped = pipeline.stats.dropped
    else:
        dropped = 0
        while time.monotonic() - t0 < seconds:
            frame = source.read()
            if frame is None:
                break
            image = pixels(frame)  # an MJPEG camera's JPEG, decoded
            sent = read_time(image)  # before the overlay covers the stamp
            classifier.classify(image)
            overlay.draw(image, None, status_for())
            now = time.monotonic()
            samples.append((round(now - t0, 3), round((time.time() - sent) * 1e3, 2)))
            shown += 1
            note_rss(now)
        source.release()
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    latencies = [ms for _, ms in samples]
    return {
        "mode": mode, "seconds": round(wall, 1), "classified": len(samples), "dropped": dropped,
        "output_fps": round(shown / wall, 1), "classified_fps": round(len(samples) / wall, 1),
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "latency_p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "latency_first_5s_p50_ms": round(float(np.median([ms for t, ms in samples if t < 5] or [0])), 1),
        "latency_last_5s_p50_ms": round(float(np.median([ms for t, ms in samples if t > wall - 5] or [0])), 1),
        "cpu_pct": round(100 * cpu / wall, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_mb": rss, "samples": samples,
    }


def run_worker(mode: str, url: str, seconds: float, threads: int = 0) -> dict:
    """The pipeline as shipped (no spinning) or the naive loop (onnxruntime's defaults), in a child."""
    command = [sys.executable, __file__, "--worker", mode, "--url", url, "--seconds", str(seconds),
               "--threads", str(threads)] + (["--no-spin"] if mode == "pipeline" else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"worker {mode} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def bench_latency(quick: bool) -> dict:
    seconds = 8 if quick else 25
    scenarios = {
        "30 fps camera, 640x480": dict(fps=30, width=640, height=480, threads=0),
        "60 fps camera, 1280x720, 1 inference thread": dict(fps=60, width=1280, height=720, threads=1),
    }
    results = {}
    for name, s in scenarios.items():
        results[name] = {}
        for mode in ("pipeline", "naive"):
            with MjpegServer(PHOTO, fps=s["fps"], width=s["width"], height=s["height"]) as camera:
                results[name][mode] = run_worker(mode, camera.url, seconds, s["threads"])
                results[name][mode]["camera_sent_fps"] = round(camera.sent / results[name][mode]["seconds"], 1)
    return results


def bench_soak(quick: bool) -> dict:
    seconds = 60 if quick else 330
    with MjpegServer(PHOTO, fps=30) as camera:
        result = run_worker("pipeline", camera.url, seconds)
    samples = result["samples"]
    first = [ms for t, ms in samples if 5 <= t < 35]
    last = [ms for t, ms in samples if t > result["seconds"] - 30]
    rss = result["rss_mb"]
    return {
        "seconds": result["seconds"], "classified": result["classified"], "dropped": result["dropped"],
        "latency_p50_ms_first_30s": round(float(np.median(first)), 1),
        "latency_p50_ms_last_30s": round(float(np.median(last)), 1),
        "latency_p95_ms_first_30s": round(float(np.percentile(first, 95)), 1),
        "latency_p95_ms_last_30s": round(float(np.percentile(last, 95)), 1),
        "rss_mb_at_10s": next((mb for t, mb in rss if t >= 10), rss[0][1]),
        "rss_mb_at_end": rss[-1][1], "peak_rss_mb": result["peak_rss_mb"], "rss_mb": rss,
    }


# -- the report ---------------------------------------------------------------------------------

def produced_by(report: dict) -> str:
    """The command line that made this report: its --quick and its --only, when they were used."""
    command = "python benchmarks/run.py" + (" --quick" if report["quick"] else "")
    only = report.get("only", list(SECTIONS))
    return command + (f" --only {','.join(only)}" if list(only) != list(SECTIONS) else "")


def markdown(report: dict) -> str:
    m = report["machine"]
    out = [f"# live-classify benchmarks — {m['cpu']}, {m['cores']} cores, no GPU",
           "", f"{m['date']}; onnxruntime {m['onnxruntime']} (CPU provider), OpenCV {m['opencv']}, "
           f"Python {m['python']}. Produced by `{produced_by(report)}`.", ""]
    if "inference" in report:
        r = report["inference"]
        out += ["## Inference (batch 1, EfficientNet-Lite0 fp32)", "", "| path | median ms | p95 ms | CPU ms/frame |",
                "| --- | ---: | ---: | ---: |"]
        out += [f"| {k} | {v['median_ms']} | {v['p95_ms']} | {v['cpu_ms']} |" for k, v in r["rows"].items()]
        out += ["", f"session.run / I/O binding: **{r['ratio_plain_over_binding']}x**; "
                f"same output (max abs diff {r['max_abs_diff']:.1e}).", ""]
    if "preprocess" in report:
        r = report["preprocess"]
        out += ["## Preprocessing a 1280x720 frame", "", "| path | median ms | p95 ms | max abs diff vs reference |",
                "| --- | ---: | ---: | ---: |"]
        out += [f"| {k} | {v['median_ms']} | {v['p95_ms']} | "
                f"{r['max_abs_diff_vs_reference'][k.replace(' (preallocated)', '')]:.2g} |"
                for k, v in r["rows"].items()]
        out += ["", "The reference is the same recipe step by step with fresh arrays; the others differ in their "
                "resize (INTER_AREA, INTER_LINEAR).", ""]
    if "throughput" in report:
        r = report["throughput"]
        out += [f"## Throughput on a 720p video file, headless ({r['frames']} frames, "
                f"median of {r['rounds']} runs)", "",
                "| way | FPS | CPU % | CPU ms per frame |", "| --- | ---: | ---: | ---: |"]
        for k, v in r["rows"].items():
            out.append(f"| {k} | {v['fps']} | {v['cpu_pct']} | {v['cpu_ms_per_frame']} |" if "fps" in v
                       else f"| {k} | — {v['error']} | | |")
        out += ["", f"pipeline / naive: **{r['ratio_pipeline_over_naive']}x**; "
                f"pipeline / inference-only bound (the faster of the two): **{r['ratio_pipeline_over_bound']}x**; "
                f"a single engine using all threads instead: {r['ratio_one_engine_over_naive']}x the naive loop.", ""]
    if "latency" in report:
        out += ["## Live latency, from the moment the camera sent the frame", "",
                "| camera | way | p50 ms | p95 ms | p99 ms | first 5 s p50 | last 5 s p50 | shown FPS "
                "| classified FPS | dropped | CPU % | peak RSS MB |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for scenario, modes in report["latency"].items():
            for mode, v in modes.items():
                out.append(f"| {scenario} | {mode} | {v['latency_p50_ms']} | {v['latency_p95_ms']} | "
                           f"{v['latency_p99_ms']} | {v['latency_first_5s_p50_ms']} | {v['latency_last_5s_p50_ms']} | "
                           f"{v['output_fps']} | {v['classified_fps']} | {v['dropped']} | {v['cpu_pct']} | "
                           f"{v['peak_rss_mb']} |")
        out += ["", f"Latency over time: `{report['machine']['host']}-latency.png`.", ""]
    if "soak" in report:
        r = report["soak"]
        out += [f"## Soak: {r['seconds']:.0f} s on a 30 fps live camera", "",
                "| | start | end |", "| --- | ---: | ---: |",
                f"| latency p50 ms (first / last 30 s) | {r['latency_p50_ms_first_30s']} | "
                f"{r['latency_p50_ms_last_30s']} |",
                f"| latency p95 ms (first / last 30 s) | {r['latency_p95_ms_first_30s']} | "
                f"{r['latency_p95_ms_last_30s']} |",
                f"| RSS MB (at 10 s / at the end) | {r['rss_mb_at_10s']} | {r['rss_mb_at_end']} |", "",
                f"{r['classified']} frames classified, {r['dropped']} dropped; peak RSS {r['peak_rss_mb']} MB.", ""]
    return "\n".join(out)


def plot(report: dict, path: Path) -> bool:
    """Latency over time, pipeline vs naive, one panel per camera scenario."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    scenarios = report["latency"]
    fig, axes = plt.subplots(1, len(scenarios), figsize=(6 * len(scenarios), 4), squeeze=False)
    for ax, (name, modes) in zip(axes[0], scenarios.items(), strict=True):
        for mode, v in modes.items():
            t, ms = zip(*v["samples"], strict=True)
            ax.plot(t, ms, ".", markersize=2, label=f"{mode} (p50 {v['latency_p50_ms']:.0f} ms)")
        ax.set_title(name)
        ax.set_xlabel("seconds")
        ax.set_ylabel("camera-to-result latency, ms")
        ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"shorter runs, for a first look: about {QUICK_MINUTES} minutes instead of about 11 "
                             "on 2 cores")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write <host>.json, .md and -latency.png (default: a new git-ignored folder "
                             "benchmarks/results/local-<host>-<date>; pass benchmarks/results to refresh the committed "
                             "report)")
    parser.add_argument("--worker", choices=["pipeline", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--no-spin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(live_worker(args.worker, args.url, args.seconds, args.threads, not args.no_spin)))
        return

    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    report: dict = {"machine": machine(), "quick": args.quick, "only": chosen}
    for section in chosen:
        print(f"[{time.strftime('%H:%M:%S')}] {section} ...", file=sys.stderr, flush=True)
        report[section] = globals()[f"bench_{section}"](args.quick)
    name = report["machine"]["host"]
    args.out = args.out or default_out(name, time.gmtime())
    save_report(args.out, name, report, markdown(report))
    if "latency" in report and plot(report, args.out / f"{name}-latency.png"):
        print(f"wrote {args.out / (name + '-latency.png')}", file=sys.stderr)
    print(markdown(report))


if __name__ == "__main__":
    main()
