"""Teaching a class from five moments of a recording: is it recognised, is it never mistaken, and
how long does teaching take?

    python benchmarks/teach.py                             # ~1 min
    python benchmarks/teach.py --out benchmarks/results    # refresh the committed report

A video of three scenes (each test photo in turn, 10 s each, 640x480 at 10 fps, with sensor noise
and a small drift, as a fixed camera sees a still thing) is recorded by the real command in 2 s
segments (so the recorded frames carry the overlay, as every recording does). Then, in this
process, with the product's own :class:`Teacher` on that recording directory:

- **recognised**: each photo taught from 5 moments of its scene; the held-out views are the photo
  itself as a camera would give it (no overlay), altered: mirrored, cropped (60-90 %), darker and
  brighter (x0.5 to x1.5), and combinations, ``--views`` of them; the share claimed by its class;
- **never mistaken**: the held-out views of the two other photos (tests/data) taken for it (must be 0);
- **teaching time**: 20 moments of one scene taught at once (frames read from the segments,
  features computed, files written, the matcher swapped in), the first time (the model's session
  opened too) and again (warm), ``--rounds`` times: wall-clock, and the CPU seconds of the process
  (all its threads), which a machine shared with other work inflates far less than the wall-clock.

No other camera angle of the same things is in the test data, so that part of issue 36 is not measured.
Writes ``teach-<host>.json`` and ``.md`` into ``--out`` (by default a new git-ignored folder
``benchmarks/results/local-<host>-<date>``).
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
import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]

from benchlib import default_out, machine, save_report  # noqa: E402

from live_classify.engine.model import default_model_path, describe_model  # noqa: E402
from live_classify.engine.taught import Taught, normalised  # noqa: E402
from live_classify.teach.teacher import Teacher  # noqa: E402
from live_classify.train.features import FeatureExtractor  # noqa: E402

PHOTOS = {"cat": DATA / "chelsea.png", "cup": DATA / "coffee.png", "rocket": DATA / "rocket.jpg"}
SIZE, FPS, SCENE_S = (640, 480), 10, 10


def camera_frames(photo: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A fixed camera on a still thing: a drift of a few pixels and sensor noise (sigma 3)."""
    frames = []
    for i in range(count):
        dx, dy = 4 * np.sin(i / 7), 3 * np.cos(i / 11)
        moved = cv2.warpAffine(photo, np.float32([[1, 0, dx], [0, 1, dy]]), SIZE, borderMode=cv2.BORDER_REFLECT)
        frames.append(np.clip(moved + rng.normal(0, 3, moved.shape), 0, 255).astype(np.uint8))
    return frames


def altered(photo: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Held-out views: mirrored, cropped, darker or brighter, or several of those at once."""
    views = []
    for i in range(count):
        view = photo
        if i % 2:
            view = cv2.flip(view, 1)
        if i % 3:
            f = rng.uniform(0.6, 0.9)
            h, w = view.shape[:2]
            y, x = int(rng.uniform(0, 1 - f) * h), int(rng.uniform(0, 1 - f) * w)
            view = view[y:y + int(f * h), x:x + int(f * w)]
        if i % 4 != 1:
            view = cv2.convertScaleAbs(view, alpha=rng.uniform(0.5, 1.5))
        views.append(np.ascontiguousarray(view))
    return views


def record(folder: Path, photos: dict[str, np.ndarray]) -> Path:
    """The three scenes as a video, recorded by the real command in 2 s segments; the recording folder."""
    video, rng = folder / "scenes.mp4", np.random.default_rng(1)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for photo in photos.values():
        for frame in camera_frames(photo, SCENE_S * FPS, rng):
            writer.write(frame)
    writer.release()
    rec = folder / "rec"
    subprocess.run([sys.executable, "-m", "live_classify", "--source", str(video), "--name", "door", "--headless",
                    "--provider", "cpu", "--record", f"{rec}/", "--segment", "2s"], check=True, capture_output=True)
    return rec


def scene_moments(teacher: Teacher, scene: int, count: int) -> list[tuple[str, float]]:
    """``count`` moments spread over the middle of scene number ``scene`` of the recording."""
    start = min(s[1] for s in teacher.history.segments("door", 0, 1e12))
    first, last = start + scene * SCENE_S + 1, start + (scene + 1) * SCENE_S - 1.5
    return [("door", first + (last - first) * i / max(1, count - 1)) for i in range(count)]


def measure(rounds: int, views: int) -> dict:
    rng = np.random.default_rng(7)
    photos = {name: cv2.resize(cv2.imread(str(path)), SIZE, interpolation=cv2.INTER_AREA)
              for name, path in PHOTOS.items()}
    model = default_model_path()
    labels = describe_model(model).labels or ()
    extractor = FeatureExtractor(model)
    held = {name: extractor(altered(photo, views, rng)) for name, photo in photos.items()}
    with tempfile.TemporaryDirectory() as folder:
        rec = record(Path(folder), photos)
        taught = Taught()
        teacher = Teacher(rec, model, taught, labels, log=lambda _: None)
        thresholds = {name: teacher.teach(name, scene_moments(teacher, i, 5))["threshold"]
                      for i, name in enumerate(photos)}
        results = {}
        for name in photos:
            claimed = [taught.matcher.match(held[other]) for other in photos]
            results[name] = {"threshold": thresholds[name], "views": views,
                             "recognised": sum(1 for m in claimed[list(photos).index(name)] if m and m[0] == name),
                             "mistaken": sum(1 for other, found in zip(photos, claimed, strict=True) if other != name
                                             for m in found if m and m[0] == name),
                             "similarity_own_min": _nearest(taught, name, held[name]).min(),
                             "similarity_other_max": max(_nearest(taught, name, held[o]).max()
                                                         for o in photos if o != name)}
        timings: dict[str, list[float]] = {"first": [], "warm": [], "first_cpu": [], "warm_cpu": []}
        load = os.getloadavg()[0]
        for _ in range(rounds):
            fresh = Teacher(rec, model, Taught(), labels, log=lambda _: None)
            for kind in ("first", "warm"):
                moments = scene_moments(fresh, 1, 20)
                started, cpu = time.perf_counter(), time.process_time()
                fresh.teach(f"timing {kind}", moments)
                timings[kind].append(time.perf_counter() - started)
                timings[f"{kind}_cpu"].append(time.process_time() - cpu)
    return {"machine": {**machine(), "load_average_1min": load}, "classes": results,
            "teach_20_s": {k: {"median": statistics.median(v), "max": max(v), "runs": v} for k, v in timings.items()}}


def _nearest(taught: Taught, label: str, features: np.ndarray) -> np.ndarray:
    examples = next(c.examples for c in taught.matcher.classes if c.label == label)
    return (normalised(features) @ examples.T).max(axis=1).astype(float)


def markdown(report: dict, command: str) -> str:
    m = report["machine"]
    lines = [f"# Teaching a class from five moments ({m['host']}, {m['cores']} cores, {m['date']})", "",
             f"`{command}` · {m['cpu']} · onnxruntime {m['onnxruntime']}", "",
             "| class | threshold | held-out views recognised | other photos' views taken for it "
             "| lowest own similarity | highest other similarity |", "|---|---|---|---|---|---|"]
    for name, r in report["classes"].items():
        lines.append(f"| {name} | {r['threshold']:.3f} | {r['recognised']}/{r['views']} "
                     f"({100 * r['recognised'] / r['views']:.0f} %) | {r['mistaken']}/{2 * r['views']} "
                     f"| {r['similarity_own_min']:.3f} | {r['similarity_other_max']:.3f} |")
    t = report["teach_20_s"]
    lines += ["", f"Teaching 20 moments (load average {m['load_average_1min']:.1f} on {m['cores']} cores when "
              "measured; "
              "CPU seconds: every thread of the process, what a quiet machine would spend):", "",
              "| teaching 20 moments | wall median | wall worst | CPU median | CPU worst |", "|---|---|---|---|---|"]
    for kind, what in (("first", "first (the model's session opened too)"), ("warm", "again (warm)")):
        wall, cpu = t[kind], t[f"{kind}_cpu"]
        lines.append(f"| {what} | {wall['median']:.2f} s | {wall['max']:.2f} s | {cpu['median']:.2f} s "
                     f"| {cpu['max']:.2f} s |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="teaching-time runs (default: 3)")
    parser.add_argument("--views", type=int, default=40, help="held-out altered views per photo (default: 40)")
    parser.add_argument("--out", type=Path, help="where to write (default: a new folder under benchmarks/results)")
    args = parser.parse_args()
    report = measure(args.rounds, args.views)
    report["command"] = "python benchmarks/teach.py " + " ".join(sys.argv[1:])
    out = args.out or default_out(report["machine"]["host"], time.gmtime())
    save_report(out, "teach-vm" if args.out else f"teach-{report['machine']['host']}", report,
                markdown(report, report["command"]))
    print(markdown(report, report["command"]))


if __name__ == "__main__":
    main()
