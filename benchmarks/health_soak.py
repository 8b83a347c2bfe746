"""The camera health checks: what they cost per 720p frame, and whether they cry wolf.

    python benchmarks/health_soak.py                         # 4 cameras, an hour each, on a simulated clock
    python benchmarks/health_soak.py --minutes 20 --after 10 --learn 20 --out benchmarks/results

The soak feeds the checks (``live_classify.pipeline.health``, as the capture thread does: each
frame's small luma, the motion gate's) with scenes on a simulated clock, so an hour takes minutes:
each camera shows one of the test photos with fresh sensor noise, people walking through (a dark
figure a quarter of the picture wide, for ten seconds every two minutes), a box put down and taken
away, a white lorry parked across the front (the lower third of the picture and the corner above it:
flat and bright, it must not read as a blur on the dark scene), the lights switched off (to a third)
and on every five minutes, and day turning to night and back over the run (down to a tenth of the
light: the camera's exposure makes up for up to eight times, with as much more noise). In the run's
last part each camera gets each fault in turn, with normal scenes between: black (covered), blurred (σ 6 px at 720p), a
repeated picture (frozen), another background (moved), no frames (offline).

Counted: false alerts (a problem shown outside a fault, or the wrong one during it) and, per fault,
the time from its start to its problem shown (the goal: within ``--after`` + 10 s). Writes
``health-soak-<host>.json`` and ``.md`` into ``--out`` (by default a git-ignored folder).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]

from benchlib import default_out, machine, save_report  # noqa: E402

from live_classify.config import HealthConfig  # noqa: E402
from live_classify.pipeline.gate import small_luma  # noqa: E402
from live_classify.pipeline.health import CameraHealth  # noqa: E402

PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg"]
SIZE = (320, 180)  # the soak's frames (the checks look at ~100 px high whatever comes in; the cost is measured at 720p)
FAULTS = ("dark", "blurred", "frozen", "moved", "offline")


def photo(name: str, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(cv2.imread(str(DATA / name)), size, interpolation=cv2.INTER_AREA)


def cost(frames: int = 1000) -> dict[str, float]:
    """Per 720p frame at 30 fps: the small luma (made once for the gate and the checks) and the checks
    beyond it; this thread's CPU time (another process's load does not inflate it)."""
    rng = np.random.default_rng(0)
    base = photo("chelsea.png", (1280, 720))
    noisy = [np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8) for _ in range(8)]
    health = CameraHealth(HealthConfig(learn_s=5.0))
    luma, checks = [], []
    for k in range(frames):
        t0 = time.thread_time()
        small = small_luma(noisy[k % len(noisy)])
        t1 = time.thread_time()
        health.see(small, k / 30)
        health.problem(k / 30, receiving=True)
        luma.append(t1 - t0)
        checks.append(time.thread_time() - t1)
    ms = lambda xs, q: float(np.percentile(xs, q) * 1e3)  # noqa: E731
    return {"luma_p50_ms": ms(luma, 50), "checks_p50_ms": ms(checks, 50), "checks_p95_ms": ms(checks, 95),
            "checks_mean_ms": float(np.mean(checks) * 1e3), "frames": frames}


class Scene:
    """One camera's normal day, at ``t`` seconds of a run of ``length`` seconds."""

    def __init__(self, index: int, length: float) -> None:
        self.base = photo(PHOTOS[index % len(PHOTOS)], SIZE)
        self.other = photo(PHOTOS[(index + 1) % len(PHOTOS)], SIZE)
        self.length, self.offset = length, 37.0 * index  # the cameras' days staggered
        rng = np.random.default_rng(index)
        self.noise = [rng.normal(0, 1, self.base.shape).astype(np.float32) for _ in range(6)]

    def picture(self, t: float) -> np.ndarray:
        u = t + self.offset
        out = self.base.astype(np.float32)
        if u % 120 < 10:  # someone walks through
            x = int((u % 120) / 10 * (SIZE[0] + 80)) - 80
            cv2.rectangle(out, (x, SIZE[1] // 8), (x + SIZE[0] // 4, SIZE[1]), (40, 60, 90), -1)
        if u % 900 > 600:  # a box, put down for five minutes
            cv2.rectangle(out, (SIZE[0] * 2 // 3, SIZE[1] // 2), (SIZE[0] - 5, SIZE[1] - 5), (200, 200, 210), -1)
        if 150 < u % 1800 < 590:  # a white lorry parked across the front, 7 minutes in 30 (never with the box)
            cv2.rectangle(out, (0, SIZE[1] * 2 // 3), (SIZE[0] - 1, SIZE[1] - 1), (200, 200, 205), -1)
            cv2.rectangle(out, (SIZE[0] * 3 // 4, SIZE[1] // 3), (SIZE[0] - 1, SIZE[1] * 2 // 3), (200, 200, 205), -1)
        return out * self.gain(t) * self.light(t)

    def light(self, t: float) -> float:
        """Daylight (noon, night at a tenth, noon again) times the lamps (off to a third a minute in five)."""
        day = 0.1 + 0.9 * (0.5 + 0.5 * np.cos(2 * np.pi * t / self.length))
        return float(day * (0.35 if (t + self.offset) % 300 > 240 else 1.0))

    def gain(self, t: float) -> float:
        """The camera's exposure: up to eight times in the dark (a camera's auto exposure), slowly."""
        return min(8.0, 1.0 / self.light(t))

    def frame(self, t: float, k: int) -> np.ndarray:
        sigma = 2.0 * self.gain(t)  # gain up, noise up
        return np.clip(self.picture(t) + sigma * self.noise[k % len(self.noise)], 0, 255).astype(np.uint8)


def faulted(scene: Scene, fault: str, t: float, k: int, frozen: np.ndarray) -> np.ndarray | None:
    """The frame a camera gives during ``fault`` (None: none comes)."""
    if fault == "offline":
        return None
    if fault == "frozen":
        return frozen
    if fault == "dark":
        return np.clip(np.full_like(scene.base, 10) + scene.noise[k % 6] * 2, 0, 255).astype(np.uint8)
    if fault == "blurred":
        picture = cv2.GaussianBlur(scene.picture(t), (0, 0), 6 * SIZE[0] / 1280)
        return np.clip(picture + 2.0 * scene.gain(t) * scene.noise[k % 6], 0, 255).astype(np.uint8)
    return np.clip(scene.other * 0.9 + scene.noise[k % 6] * 2, 0, 255).astype(np.uint8)  # moved


def soak(cameras: int, minutes: float, fps: float, config: HealthConfig) -> dict:
    """Each camera's day and faults; the false alerts and times to raise, counted."""
    length = minutes * 60
    fault_s, between_s = config.after_s + 15, 2 * config.after_s + 10
    faults_from = length - len(FAULTS) * (fault_s + between_s)
    plan = [(fault, faults_from + i * (fault_s + between_s)) for i, fault in enumerate(FAULTS)]
    false_alerts: list[dict] = []
    raised: list[dict] = []
    for index in range(cameras):
        scene, health, k = Scene(index, length), CameraHealth(config), 0
        frozen = scene.frame(faults_from, 0)
        shown_before: str | None = None
        first_seen: dict[str, float] = {}
        seen_during: dict[str, set[str | None]] = {}
        for k in range(int(length * fps)):
            t = k / fps
            fault = next((f for f, start in plan if start <= t < start + fault_s), None)
            settling = any(start + fault_s <= t < start + fault_s + config.after_s + 2 for _, start in plan)
            image = scene.frame(t, k) if fault is None else faulted(scene, fault, t, k, frozen)
            if image is not None:
                health.see(small_luma(image), t)
            shown = health.problem(t, receiving=image is not None)
            if fault is not None:
                seen_during.setdefault(fault, set()).add(shown)
            if fault is not None and shown == fault and fault not in first_seen:
                first_seen[fault] = t - dict(plan)[fault]
            wrong = shown is not None and shown != fault and not settling
            if wrong and shown != shown_before:
                false_alerts.append({"camera": index, "t": round(t, 1), "problem": shown, "during": fault})
            shown_before = shown
        raised += [{"camera": index, "fault": f, "raised_after_s": first_seen.get(f),
                    "shown": sorted(str(p) for p in seen_during.get(f, ()))} for f in FAULTS]
    return {"false_alerts": false_alerts, "raised": raised, "normal_s_per_camera": faults_from}


def markdown(report: dict, args: argparse.Namespace) -> str:
    c, s, m = report["cost"], report["soak"], report["machine"]
    lines = [f"# Camera health checks: cost and soak ({args.cameras} cameras, {args.minutes:g} min each, simulated)",
             "", f"Machine: {m['cpu']}, {m['cores']} cores, {m['date']}. {args.note}".rstrip(), "",
             f"Produced by `python benchmarks/health_soak.py --cameras {args.cameras} --minutes {args.minutes:g} "
             f"--fps {args.fps:g} --after {args.after:g} --learn {args.learn:g}`.", "",
             "## Cost per 720p frame (one thread)", "",
             "| small luma (the gate's, made once) p50 | checks beyond it p50 | p95 | mean |", "|---|---|---|---|",
             f"| {c['luma_p50_ms']:.3f} ms | {c['checks_p50_ms']:.3f} ms | {c['checks_p95_ms']:.3f} ms | "
             f"{c['checks_mean_ms']:.3f} ms |", "",
             "## Soak", "",
             f"{s['normal_s_per_camera'] / 60:.1f} min of normal scenes per camera (people, a box, a lorry, "
             f"lights, dusk and dawn), then each fault for --health-after + 15 s. "
             f"False alerts: **{len(s['false_alerts'])}**.", "",
             "| fault | raised after (s), per camera | goal |", "|---|---|---|"]
    for fault in FAULTS:
        times = [r["raised_after_s"] for r in s["raised"] if r["fault"] == fault]
        shown = ", ".join("never" if t is None else f"{t:.1f}" for t in times)
        shown += "".join(f" (camera {r['camera']} showed {'/'.join(r['shown'])})" for r in s["raised"]
                         if r["fault"] == fault and r["raised_after_s"] is None)
        lines.append(f"| {fault} | {shown} | ≤ {args.after + 10:g} |")
    if s["false_alerts"]:
        lines += ["", "False alerts: " + "; ".join(f"camera {a['camera']} {a['problem']} at {a['t']} s"
                                                   for a in s["false_alerts"])]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated minutes per camera")
    parser.add_argument("--fps", type=float, default=5.0, help="simulated frames per second")
    parser.add_argument("--after", type=float, default=30.0, help="--health-after, seconds")
    parser.add_argument("--learn", type=float, default=60.0, help="--health-learn, seconds")
    parser.add_argument("--note", default="", help="a sentence for the report (the machine's load)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    config = HealthConfig(after_s=args.after, learn_s=args.learn)
    info = machine()
    started = time.monotonic()
    report = {"machine": info, "cost": cost(), "soak": soak(args.cameras, args.minutes, args.fps, config)}
    report["wall_s"] = time.monotonic() - started
    out = args.out or default_out(info["host"], time.gmtime())
    save_report(out, f"health-soak-{info['host']}", report, markdown(report, args))
    print(markdown(report, args))


if __name__ == "__main__":
    main()
