"""What ``--gate motion`` saves: the gate's own cost per 720p frame, and N mostly still 720p cameras,
each changing scene now and then, with and without the gate, side by side in one run.

    python benchmarks/gate.py                              # 4 cameras at 15 fps, 30 s a run, one round (~2 min)
    python benchmarks/gate.py --cameras 8 --fps 30 --seconds 60 --rounds 2
    python benchmarks/gate.py --out benchmarks/results     # refresh the committed report

The cameras: MJPEG over HTTP on 127.0.0.1, 1280x720, each showing one of the test photos with
sensor noise (σ 2; eight noisy JPEGs per scene, made once and sent in turn, so serving costs next to
nothing), switching to the next photo every ``--period`` seconds, the cameras staggered. The real
command classifies them all in one process on the CPU (``--gate off``, then ``--gate motion``,
alternating each round, so the machine's other load falls on both alike).

For each run, over the measuring window after a warm-up:

- CPU seconds of the command per camera per second of video (from /proc), and the ratio gated / ungated;
- change-to-label latency: from the first send of a new scene to the result of the first frame
  classified as it (its capture time plus its capture-to-result latency, both in its JSON line);
  p50 / p95 over every change;
- changes missed: a scene that no JSON line named before the camera's next change (or the end).

A JSON line "names" a scene when its top label is among that photo's five likeliest classes and
not among any other photo's (the model classifies each photo once, in this process, to know them).
Writes ``gate-<host>.json`` and ``.md`` into ``--out`` (by default a new git-ignored folder
``benchmarks/results/local-<host>-<date>``).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "support"), str(HERE.parent / "src")]

from benchlib import cpu_seconds, default_out, machine, save_report  # noqa: E402
from mjpeg_server import MjpegServer  # noqa: E402

SIZE = (1280, 720)
PHOTOS = [DATA / "chelsea.png", DATA / "coffee.png", DATA / "rocket.jpg"]
VARIANTS = 8  # noisy JPEGs per scene, sent in turn: a camera's sensor noise
START_TIMEOUT_S = 180
ROUNDING_S = 0.0005  # a JSON line's time is rounded to the ms: a frame read 0.3 ms after its send may say before


def scenes() -> list[np.ndarray]:
    return [cv2.resize(cv2.imread(str(path)), SIZE, interpolation=cv2.INTER_AREA) for path in PHOTOS]


def noisy(picture: np.ndarray, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    return np.clip(picture + rng.normal(0, sigma, picture.shape), 0, 255).astype(np.uint8)


class SceneCamera:
    """The fake camera's pictures: the scene shown now, in noisy JPEGs made once; :meth:`switch`
    changes the scene, and the time its first frame is sent is kept in ``changes``."""

    def __init__(self, pictures: list[np.ndarray], first: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.jpegs = [[cv2.imencode(".jpg", noisy(p, rng), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
                       for _ in range(VARIANTS)] for p in pictures]
        self.scene = first
        self.count = 0
        self.sent_times: list[float] = []
        self.changes: list[tuple[float, int]] = []  # (first send, scene)
        self._pending: int | None = None

    def switch(self) -> None:
        self._pending = (self.scene + 1) % len(self.jpegs)

    def next_jpeg(self) -> bytes:
        if self._pending is not None:
            self.scene, self._pending = self._pending, None
            self.changes.append((time.time(), self.scene))
        self.count += 1
        return self.jpegs[self.scene][self.count % VARIANTS]


def scene_labels(pictures: list[np.ndarray]) -> list[set[str]]:
    """Each photo's five likeliest classes, less those another photo shares."""
    from live_classify.engine.classifier import Classifier
    from live_classify.engine.model import default_model_path

    classifier = Classifier.open(default_model_path(), provider="cpu")
    tops = [{classifier.labels[i] for i in np.argsort(classifier.classify(p).probabilities)[-5:]} for p in pictures]
    return [top - set().union(*(other for j, other in enumerate(tops) if j != i)) for i, top in enumerate(tops)]


def gate_cost(pictures: list[np.ndarray], frames: int = 300) -> dict:
    """The gate's cost per 720p frame on a still noisy scene (its usual case), and one
    classification's, in this process, one thread each."""
    from live_classify.config import GateConfig
    from live_classify.engine.classifier import Classifier
    from live_classify.engine.model import default_model_path
    from live_classify.engine.providers import ProviderOptions
    from live_classify.pipeline.gate import MotionGate

    rng = np.random.default_rng(1)
    images = [noisy(pictures[0], rng) for _ in range(VARIANTS)]
    gate = MotionGate(GateConfig())
    times = []
    for k in range(frames):
        start = time.perf_counter()
        gate.check(images[k % VARIANTS], k / 30)
        times.append(time.perf_counter() - start)
    classifier = Classifier.open(default_model_path(), provider="cpu", options=ProviderOptions(threads=1))
    classify = []
    for k in range(30):
        start = time.perf_counter()
        classifier.classify(images[k % VARIANTS])
        classify.append(time.perf_counter() - start)
    gate_ms, classify_ms = float(np.median(times)) * 1e3, float(np.median(classify)) * 1e3
    return {"gate_ms_p50": gate_ms, "gate_ms_p95": float(np.percentile(times, 95)) * 1e3,
            "classify_ms_p50": classify_ms, "gate_vs_classify": gate_ms / classify_ms}


def still_frame_cost(pictures: list[np.ndarray], frames: int = 300) -> dict:
    """What a still 720p frame of an MJPEG camera costs the camera's thread, the gate and the health
    checks (on by default) included, as ``Camera._hand_over`` runs them: its JPEG decoded in full (a
    window or a recording shows every frame), or only the small grey picture both checks share
    (nothing shows it), each frame looked at; and that, on average, where a live 30 fps camera's
    checks look at every other frame (``pace.py``). One thread's CPU time, the same JPEGs."""
    from live_classify.config import GateConfig, HealthConfig
    from live_classify.pipeline.frames import Frame
    from live_classify.pipeline.gate import CameraGate
    from live_classify.pipeline.health import CameraHealth
    from live_classify.sources.picture import Picture

    rng = np.random.default_rng(2)
    jpegs = [cv2.imencode(".jpg", noisy(pictures[0], rng), [cv2.IMWRITE_JPEG_QUALITY, 80])[1] for _ in range(VARIANTS)]
    cost = {}
    for name, shown, paced in (("decoded", True, False), ("undecoded", False, False), ("paced", False, True)):
        gate, health = CameraGate(GateConfig(), paced=paced), CameraHealth(HealthConfig())
        gate.show_every_picture(shown)
        times = []
        for k in range(frames):  # CPU time of this thread: what another process's load does not inflate
            start = time.thread_time()
            picture = Picture.of(jpegs[k % VARIANTS])
            assert picture is not None
            gate.look(Frame(k, k / 30, 0.0, picture), health.look)
            times.append(time.thread_time() - start)
        cost[f"{name}_ms_p50"] = float(np.median(times[1:])) * 1e3
        cost[f"{name}_ms_mean"] = float(np.mean(times[1:])) * 1e3
    return {**cost, "undecoded_vs_decoded": cost["undecoded_ms_p50"] / cost["decoded_ms_p50"]}


def read_lines(path: Path) -> list[dict]:
    found = []
    for text in path.read_text().splitlines() if path.exists() else []:
        try:
            found.append(json.loads(text))
        except json.JSONDecodeError:
            continue
    return found


def run_once(gate: str, count: int, fps: float, seconds: float, warmup: float, period: float,
             labels: list[set[str]], pictures: list[np.ndarray]) -> dict:
    """One run of the command on ``count`` fresh cameras: its CPU, its latencies, its misses."""
    with ExitStack() as stack, tempfile.TemporaryDirectory() as work:
        servers = []
        for i in range(count):
            server = MjpegServer(pictures[0], fps, width=SIZE[0], height=SIZE[1])
            server.camera = SceneCamera(pictures, i % len(pictures), seed=i)  # type: ignore[assignment]
            servers.append(stack.enter_context(server))
        out, log = Path(work) / "out.jsonl", Path(work) / "stderr.log"
        argv = [sys.executable, "-m", "live_classify", "--headless", "--provider", "cpu", "--jsonl", str(out),
                "--gate", gate]
        for i, server in enumerate(servers):
            argv += ["--source", server.url, "--name", f"cam{i}"]
        env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
        with open(log, "w") as err:
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            wait_flowing(process, out, log, count)
            time.sleep(warmup)
            t0, cpu0, sent0 = time.time(), cpu_seconds(process.pid), sum(s.sent for s in servers)
            switching = threading.Thread(target=switches, args=(servers, t0, seconds, period), daemon=True)
            switching.start()
            time.sleep(seconds)
            cpu1, t1, sent1 = cpu_seconds(process.pid), time.time(), sum(s.sent for s in servers)
            time.sleep(min(period / 2, 2.0))  # the last change's result may still come
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)
        lines = read_lines(out)
        summary = log.read_text().strip().splitlines()[-3:]
    figures = changes_seen(servers, lines, labels, t1)
    classified = sum(1 for line in lines if t0 <= line["time"] < t1)
    return {"gate": gate, "cameras": count, "fps": fps, "seconds": t1 - t0, "cpu_s": cpu1 - cpu0,
            "cpu_per_camera": (cpu1 - cpu0) / (t1 - t0) / count, "sent": sent1 - sent0, "classified": classified,
            **figures, "summary": summary}


def wait_flowing(process: subprocess.Popen, out: Path, log: Path, count: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited {process.returncode}: {log.read_text()[-500:]}")
        if len({line.get("camera") for line in read_lines(out)}) == count:
            return
        time.sleep(0.2)
    raise RuntimeError("not every camera was classified in time")


def switches(servers: list[MjpegServer], t0: float, seconds: float, period: float) -> None:
    """Each camera switches scene every ``period`` s, staggered so that the changes spread out."""
    plan = sorted((t0 + (i + 0.5) * period / len(servers) + k * period, i)
                  for i in range(len(servers)) for k in range(int(seconds / period) + 1))
    for when, i in plan:
        if when > t0 + seconds - 0.5:
            break
        time.sleep(max(0.0, when - time.time()))
        servers[i].camera.switch()  # type: ignore[attr-defined]


def changes_seen(servers: list[MjpegServer], lines: list[dict], labels: list[set[str]], end: float) -> dict:
    """Latency from each change to its first line naming the new scene; changes never named."""
    latencies, lags, missed, total = [], [], 0, 0
    for i, server in enumerate(servers):
        own = [line for line in lines if line.get("camera") == f"cam{i}"]
        changes = server.camera.changes  # type: ignore[attr-defined]
        for k, (when, scene) in enumerate(changes):
            until = changes[k + 1][0] if k + 1 < len(changes) else end + 2.0
            total += 1
            named = [line for line in own if when - ROUNDING_S <= line["time"] < until
                     and line["top"][0]["label"] in labels[scene]]
            if named:
                first = min(named, key=lambda line: line["time"])
                latencies.append(first["time"] + first["latency_ms"] / 1e3 - when)
                lags.append(first["time"] - when)  # of which: until the command had read the frame
            else:
                missed += 1

    def percentile(values: list[float], q: float) -> float | None:
        return float(np.percentile(values, q)) * 1e3 if values else None

    return {"changes": total, "missed": missed, "latency_ms_p50": percentile(latencies, 50),
            "latency_ms_p95": percentile(latencies, 95), "read_lag_ms_p95": percentile(lags, 95)}


def markdown(report: dict) -> str:
    m, cost, still = report["machine"], report["cost"], report["still"]
    lines = [f"# The motion gate: what it costs and what it saves ({report['cameras']} cameras, 1280x720 at "
             f"{report['fps']:g} fps, {report['seconds']:g} s a run, {report['rounds']} round(s))", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['date']}. {report['note']}", "",
             f"Produced by `{report['command']}`.", "",
             "## The gate's own cost, per 720p frame (one thread)", "",
             "| gate p50 | gate p95 | one classification p50 | gate / classification |", "|---|---|---|---|",
             f"| {cost['gate_ms_p50']:.2f} ms | {cost['gate_ms_p95']:.2f} ms | {cost['classify_ms_p50']:.1f} ms | "
             f"{cost['gate_vs_classify']:.1%} |", "",
             "## A still frame of an MJPEG camera, on the camera's thread (one thread, gate and health checks)", "",
             "| decoded in full (shown or recorded) p50 | left a JPEG, one small grey picture p50 | ratio | "
             "left a JPEG, every other frame looked at (30 fps), mean |",
             "|---|---|---|---|",
             f"| {still['decoded_ms_p50']:.2f} ms | {still['undecoded_ms_p50']:.2f} ms | "
             f"{still['undecoded_vs_decoded']:.0%} | {still['paced_ms_mean']:.2f} ms |", "",
             f"## {report['cameras']} mostly still cameras, each changing scene every {report['period']:g} s", "",
             "| round | --gate | frames classified / sent | CPU per camera (cores) | CPU vs ungated | changes | "
             "missed | change to label p50 | p95 | of which reading it, p95 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for k, pair in enumerate(report["runs"]):
        off = next(r for r in pair if r["gate"] == "off")
        for run in pair:
            ratio = run["cpu_per_camera"] / off["cpu_per_camera"]
            lines.append(f"| {k + 1} | {run['gate']} | {run['classified']} / {run['sent']} | "
                         f"{run['cpu_per_camera']:.3f} | {ratio:.0%} | {run['changes']} | {run['missed']} | "
                         f"{_ms(run['latency_ms_p50'])} | {_ms(run['latency_ms_p95'])} | "
                         f"{_ms(run.get('read_lag_ms_p95'))} |")
    lines += ["", "*CPU vs ungated* compares what each run used; where the ungated run classified only part "
              "of the frames sent (the cores could not keep up, the rest were dropped), classifying every frame "
              "would cost it more, so the ratio understates the saving. *Of which reading it*: from the change's "
              "first send to the moment the command had read that frame (the capture's lag behind the camera, "
              "which a busy CPU makes grow).", "", "The commands' last summary lines:", ""]
    for pair in report["runs"]:
        for run in pair:
            lines += [f"- `--gate {run['gate']}`: " + " / ".join(f"`{s.split('live-classify: ')[-1]}`"
                                                                 for s in run["summary"])]
    return "\n".join(lines) + "\n"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured per run (after the warm-up)")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--period", type=float, default=6.0, help="each camera changes scene this often (s)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--note", default="", help="a line for the report, e.g. how loaded the machine was")
    parser.add_argument("--out", type=Path)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    pictures = scenes()
    labels = scene_labels(pictures)
    if not all(labels):
        raise SystemExit(f"the photos' likeliest classes overlap: {labels}")
    cost, still = gate_cost(pictures), still_frame_cost(pictures)
    print(f"gate {cost['gate_ms_p50']:.2f} ms per 720p frame, classification {cost['classify_ms_p50']:.1f} ms; "
          f"a still MJPEG frame {still['decoded_ms_p50']:.2f} ms decoded, {still['undecoded_ms_p50']:.2f} ms not",
          file=sys.stderr)
    runs = []
    for k in range(args.rounds):
        pair = []
        for gate in (("off", "motion") if k % 2 == 0 else ("motion", "off")):
            run = run_once(gate, args.cameras, args.fps, args.seconds, args.warmup, args.period, labels, pictures)
            print(f"round {k + 1} --gate {gate}: {run['cpu_per_camera']:.3f} cores per camera, {run['missed']} of "
                  f"{run['changes']} changes missed, p95 {run['latency_ms_p95']}", file=sys.stderr)
            pair.append(run)
        runs.append(pair)
    command = shlex.join(["python", "benchmarks/gate.py", *sys.argv[1:]])
    report = {"machine": machine(), "cameras": args.cameras, "fps": args.fps, "seconds": args.seconds,
              "period": args.period, "rounds": args.rounds, "note": args.note, "cost": cost, "still": still,
              "runs": runs, "command": command}
    save_report(args.out or default_out(report["machine"]["host"], time.gmtime()), f"gate-{report['machine']['host']}",
                report, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
