"""Quantize the bundled EfficientNet-Lite0 to int8 (static, QDQ) for CPU-only edge boxes, and measure it.

An edge box without a GPU runs the fp32 model on a couple of cores. Eight-bit integer arithmetic
can be faster there, but it is only worth shipping if it is clearly faster *and* gives the same
answers. So this script does both halves: it builds ``efficientnet_lite0_int8.onnx``, then runs it
side by side with the fp32 model and writes the figures that decide (``benchmarks/results/int8.json``).

Calibration uses the CC0 / public-domain photos in scikit-image's wheel (``skimage/data/``), read
from the wheel, not installed, so the whole build is offline apart from that one ``pip download``.
Some photos are held out of calibration (the two test photos in ``tests/data`` among them), so that
the agreement check is not made on calibration images only. Each calibration photo is augmented
(random crops, flips, brightness and contrast, a fixed seed) and goes through the product's own
preprocessing, read from the model's metadata, so the int8 ranges are the ones the engine will see.

Usage (dev-only; the project's environment has everything, onnxruntime ships the quantizer)::

    python models/quantize_int8.py                  # fetch the photos, quantize, evaluate
    python models/quantize_int8.py --photos DIR     # photos already unpacked (a skimage/data folder)
    python models/quantize_int8.py --eval-only      # measure an existing int8 model again
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)

from live_classify.binding import BoundSession
from live_classify.images import read_image
from live_classify.model import ModelSpec, Overrides, read_spec
from live_classify.postprocess import softmax
from live_classify.preprocess import Preprocessor

ROOT = Path(__file__).resolve().parents[1]
FP32_MODEL = ROOT / "models" / "efficientnet_lite0.onnx"
INT8_MODEL = ROOT / "models" / "efficientnet_lite0_int8.onnx"
RESULTS = ROOT / "benchmarks" / "results" / "int8.json"
TEST_PHOTOS = ROOT / "tests" / "data"

SKIMAGE_VERSION = "0.26.0"
PHOTO_SUFFIXES = (".png", ".jpg")

#: Never calibrated on: the two test photos (also in tests/data), and natural photos on which the
#: fp32 model is confident. The stereo pair goes out together: one is nearly the other.
HELD_OUT = frozenset({
    "chelsea.png", "coffee.png", "camera.png", "rocket.jpg",
    "motorcycle_left.png", "motorcycle_right.png", "microaneurysms.png",
})
#: Drawings and test patterns, not what a camera sees: evaluated, never calibrated on.
SYNTHETIC = frozenset({
    "chessboard_GRAY.png", "chessboard_RGB.png", "color.png", "horse.png", "logo.png", "phantom.png",
})

SEED = 20260
CROPS_PER_PHOTO = 30  # the photo itself, then 29 augmented views of it

#: The decision: keep the int8 model only if all of these hold.
MIN_SPEEDUP = 1.3  # fp32 median ms / int8 median ms
CONFIDENT = 0.5  # held-out photos where fp32's top-1 is above this must keep the same top-1
CAT_CLASSES = frozenset({"tabby", "tiger cat", "Egyptian cat"})


# --- photos ---------------------------------------------------------------------------------------


def fetch_skimage_photos(dest: Path) -> Path:
    """Unzip the photos of scikit-image's wheel into ``dest`` (pip download, nothing installed)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(dest),
         f"scikit-image=={SKIMAGE_VERSION}"],
        check=True,
    )
    wheel = next(dest.glob("scikit_image-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("skimage/data/") and name.endswith(PHOTO_SUFFIXES):
                archive.extract(name, dest)
    return dest / "skimage" / "data"


def list_photos(folder: Path) -> list[Path]:
    """Every photo in ``folder``, sorted by name."""
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    if not photos:
        sys.exit(f"no {'/'.join(PHOTO_SUFFIXES)} photos in {folder}")
    return photos


def group_of(photo: Path) -> str:
    """'held-out', 'synthetic' or 'calibration': what the photo is used for."""
    if photo.name in HELD_OUT:
        return "held-out"
    if photo.name in SYNTHETIC:
        return "synthetic"
    return "calibration"


# --- calibration ----------------------------------------------------------------------------------


def augment(bgr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random view of a photo, as a camera might frame it: crop, mirror, exposure, contrast.

    The crop keeps 15-100 % of the area at an aspect ratio between 3:4 and 4:3 (the views an
    Inception-style training pipeline sees); the product's centre crop and resize then follow.
    """
    height, width = bgr.shape[:2]
    area = rng.uniform(0.15, 1.0) * height * width
    aspect = float(np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3))))
    crop_h = int(min(height, max(16, round(np.sqrt(area / aspect)))))
    crop_w = int(min(width, max(16, round(np.sqrt(area * aspect)))))
    top = int(rng.integers(0, height - crop_h + 1))
    left = int(rng.integers(0, width - crop_w + 1))
    view = bgr[top : top + crop_h, left : left + crop_w]
    if rng.random() < 0.5:
        view = cv2.flip(view, 1)
    contrast, brightness = rng.uniform(0.6, 1.4), rng.uniform(-40, 40)
    mean = view.mean()
    adjusted = (view.astype(np.float32) - mean) * contrast + mean + brightness
    return np.clip(adjusted, 0, 255).astype(np.uint8)


def calibration_tensors(photos: list[Path], spec: ModelSpec, per_photo: int, seed: int) -> Iterator[np.ndarray]:
    """The model's input for each photo and ``per_photo - 1`` augmented views of it, deterministic."""
    rng = np.random.default_rng(seed)
    buffer = np.empty((1, 3, spec.preprocessing.height, spec.preprocessing.width), np.float32)
    preprocess = Preprocessor(spec.preprocessing, buffer)
    for photo in photos:
        bgr = read_image(photo)
        yield preprocess(bgr).copy()
        for _ in range(per_photo - 1):
            yield preprocess(augment(bgr, rng)).copy()


class TensorReader(CalibrationDataReader):
    """Feeds calibration tensors to onnxruntime's calibrator one at a time, generated lazily."""

    def __init__(self, input_name: str, tensors: Iterator[np.ndarray]) -> None:
        self.input_name = input_name
        self.tensors = tensors
        self.count = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        tensor = next(self.tensors, None)
        if tensor is None:
            return None
        self.count += 1
        return {self.input_name: tensor}


# --- quantization ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How the model is quantized; the defaults won on this project's CPU (see models/README.md)."""

    activations: str = "uint8"  # "uint8" (asymmetric) or "int8"
    reduce_range: bool = False  # 7-bit weights, against VPMADDUBSW saturation on CPUs without VNNI
    calibration: str = "minmax"  # "minmax", "percentile" or "entropy"
    pre_process: bool = True  # onnxruntime's shape inference and graph optimization first
    per_channel: bool = True  # one weight scale per output channel (depthwise convs need it)
    weights: str = "int8"  # symmetric int8 weights: what onnxruntime's CPU kernels expect

    def describe(self) -> str:
        """E.g. 'QDQ, activations uint8, weights int8 per channel, MinMax calibration'."""
        weights = f"weights {self.weights}" + (" per channel" if self.per_channel else "")
        weights += " (7-bit range)" if self.reduce_range else ""
        return f"QDQ, activations {self.activations}, {weights}, {self.calibration} calibration"


QUANT_TYPES = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
CALIBRATION_METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "percentile": CalibrationMethod.Percentile,
    "entropy": CalibrationMethod.Entropy,
}


def quantize(fp32: Path, out: Path, spec: ModelSpec, photos: list[Path], settings: Settings,
             per_photo: int, seed: int) -> int:
    """Write the int8 model to ``out``; returns how many calibration tensors were used."""
    reader = TensorReader(spec.input_name, calibration_tensors(photos, spec, per_photo, seed))
    with tempfile.TemporaryDirectory() as tmp:
        source = fp32
        if settings.pre_process:
            source = Path(tmp) / "preprocessed.onnx"
            # ONNX's own shape inference is enough (every shape is static but the batch); the
            # symbolic one would need sympy, which the product does not depend on.
            quant_pre_process(str(fp32), str(source), skip_symbolic_shape=True)
        quantize_static(
            str(source), str(out), reader,
            quant_format=QuantFormat.QDQ,
            per_channel=settings.per_channel,
            reduce_range=settings.reduce_range,
            activation_type=QUANT_TYPES[settings.activations],
            weight_type=QUANT_TYPES[settings.weights],
            calibrate_method=CALIBRATION_METHODS[settings.calibration],
            # MinMax keeps every activation of every tensor until the end (71 MB per input here)
            # unless told to fold them into running ranges every so often; the result is the same.
            extra_options={"CalibMaxIntermediateOutputs": 16},
        )
    return reader.count


def describe(fp32: Path, int8: Path, settings: Settings, calibration: str) -> None:
    """Give the int8 model the fp32 model's metadata (labels, preprocessing), and its own provenance."""
    meta = {prop.key: prop.value for prop in onnx.load(str(fp32), load_external_data=False).metadata_props}
    meta["name"] = "efficientnet_lite0_int8"
    meta["source"] = (
        f"quantized from efficientnet_lite0.onnx by models/quantize_int8.py with onnxruntime {ort.__version__} "
        f"quantize_static ({settings.describe()}); calibration: {calibration}. "
        f"efficientnet_lite0.onnx: {meta.get('source', 'unknown')}"
    )
    meta["license"] = "Apache-2.0"
    model = onnx.load(str(int8))
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, str(int8))


def check_interface(fp32: Path, int8: Path) -> None:
    """The int8 model must be a drop-in: same input, both outputs, the batch axis still dynamic."""
    def interface(path: Path) -> tuple[list[tuple[str, list[object]]], list[str]]:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return [(i.name, i.shape) for i in session.get_inputs()], [o.name for o in session.get_outputs()]

    if interface(fp32) != interface(int8):
        sys.exit(f"the int8 model's interface differs: {interface(int8)} != {interface(fp32)}")
    session = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    batch = np.zeros((3, 3, 224, 224), np.float32)
    shapes = [out.shape for out in session.run(None, {"input": batch})]
    if shapes != [(3, 1000), (3, 1280)]:
        sys.exit(f"the int8 model gives {shapes} for a batch of 3")


# --- evaluation -----------------------------------------------------------------------------------


def cpu_name() -> str:
    """The host CPU's model name, as /proc/cpuinfo gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_int8_features() -> list[str]:
    """The CPU flags that decide which int8 kernels onnxruntime can use (VNNI avoids saturation)."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return []
    wanted = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")
    return [flag for flag in wanted if flag in flags.split()]


def open_cpu_session(path: Path) -> ort.InferenceSession:
    """The same session options for both models: CPU, default graph optimization and threads."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def top5(labels: tuple[str, ...], logits: np.ndarray) -> list[tuple[str, float]]:
    probabilities = softmax(logits.astype(np.float64))
    order = np.argsort(-probabilities)[:5]
    return [(labels[i], round(float(probabilities[i]), 4)) for i in order]


def compare_on_photos(fp32: ort.InferenceSession, int8: ort.InferenceSession, spec: ModelSpec,
                      photos: list[Path]) -> list[dict[str, object]]:
    """Both models' top-5 on each photo (its plain centre crop, as the engine classifies it)."""
    buffer = np.empty((1, 3, spec.preprocessing.height, spec.preprocessing.width), np.float32)
    preprocess = Preprocessor(spec.preprocessing, buffer)
    rows = []
    for photo in photos:
        tensor = preprocess(read_image(photo))
        logits_a, features_a = fp32.run(["logits", "features"], {spec.input_name: tensor})
        logits_b, features_b = int8.run(["logits", "features"], {spec.input_name: tensor})
        a, b = top5(spec.labels, logits_a[0]), top5(spec.labels, logits_b[0])
        cosine = float(np.dot(features_a[0], features_b[0])
                       / (np.linalg.norm(features_a[0]) * np.linalg.norm(features_b[0])))
        rows.append({
            "photo": str(photo.relative_to(ROOT)) if photo.is_relative_to(ROOT) else photo.name,
            "group": group_of(photo),
            "fp32_top5": a,
            "int8_top5": b,
            "top1_agrees": a[0][0] == b[0][0],
            "top5_overlap": len({label for label, _ in a} & {label for label, _ in b}),
            "fp32_confident": a[0][1] > CONFIDENT,
            "features_cosine": round(cosine, 4),
        })
    return rows


def time_interleaved(models: dict[str, Path], input_name: str, tensor: np.ndarray, blocks: int, runs: int,
                     settle: int = 3) -> dict[str, list[float]]:
    """Per-frame inference ms of each model, timed in alternating blocks on one input.

    This machine is shared and noisy; alternating short blocks (and the order within each pair of
    blocks) exposes both models to the same noise, so their ratio is fair even when the absolute
    numbers drift. Each block starts with a few untimed runs so the other session's idle threads
    and the caches settle. Inference is the product's: I/O binding, buffers bound once.
    """
    bound = {}
    for name, path in models.items():
        session = open_cpu_session(path)
        bound[name] = BoundSession(session, input_name, "logits", tensor.shape, "cpu")
        bound[name].input[...] = tensor
        bound[name].warm_up(20)
    times: dict[str, list[float]] = {name: [] for name in models}
    names = list(models)
    for block in range(blocks):
        for name in names if block % 2 == 0 else names[::-1]:
            for _ in range(settle):
                bound[name].run()
            for _ in range(runs):
                start = time.perf_counter()
                bound[name].run()
                times[name].append((time.perf_counter() - start) * 1000)
    return times


def summarize(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "runs": len(ms),
        "median": round(statistics.median(ordered), 3),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "mean": round(statistics.fmean(ordered), 3),
        "min": round(ordered[0], 3),
    }


def decide(latency: dict[str, dict[str, float]], photos: list[dict[str, object]]) -> tuple[bool, list[str]]:
    """Apply the rule: clearly faster, same answer where fp32 is sure, the test photos still right."""
    reasons = []
    speedup = latency["fp32"]["median"] / latency["int8"]["median"]
    reasons.append(f"{'ok' if speedup >= MIN_SPEEDUP else 'FAIL'}: {speedup:.2f}x faster "
                   f"(median; needs >= {MIN_SPEEDUP}x)")
    sure = [row for row in photos if row["group"] == "held-out" and row["fp32_confident"]]
    differ = [row["photo"] for row in sure if not row["top1_agrees"]]
    reasons.append(f"{'FAIL' if differ else 'ok'}: top-1 agrees on {len(sure) - len(differ)}/{len(sure)} held-out "
                   f"photos where fp32 is over {CONFIDENT:.0%} sure" + (f" (differs: {', '.join(differ)})" if differ else ""))
    by_name = {Path(str(row["photo"])).name: row for row in photos if row["group"] == "held-out"}
    cat = by_name["chelsea.png"]["int8_top5"][0][0]
    coffee = by_name["coffee.png"]["int8_top5"][0][0]
    reasons.append(f"{'ok' if cat in CAT_CLASSES else 'FAIL'}: chelsea.png top-1 is {cat!r} (a cat class?)")
    reasons.append(f"{'ok' if coffee == 'espresso' else 'FAIL'}: coffee.png top-1 is {coffee!r} (espresso?)")
    return all(reason.startswith("ok") for reason in reasons), reasons


def evaluate(fp32: Path, int8: Path, spec: ModelSpec, photos: list[Path], blocks: int, runs: int) -> dict[str, object]:
    """Agreement on every photo, then interleaved timing; everything the decision needs."""
    rows = compare_on_photos(open_cpu_session(fp32), open_cpu_session(int8), spec, photos)
    chelsea = np.empty((1, 3, spec.preprocessing.height, spec.preprocessing.width), np.float32)
    Preprocessor(spec.preprocessing, chelsea)(read_image(TEST_PHOTOS / "chelsea.png"))
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    times = time_interleaved({"fp32": fp32, "int8": int8}, spec.input_name, chelsea, blocks, runs)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    latency = {name: summarize(ms) for name, ms in times.items()}
    keep, reasons = decide(latency, rows)
    groups = {}
    for group in ("held-out", "calibration", "synthetic"):
        members = [row for row in rows if row["group"] == group]
        sure = [row for row in members if row["fp32_confident"]]
        groups[group] = {
            "photos": len(members),
            "top1_agree": sum(row["top1_agrees"] for row in members),
            "top5_overlap_mean": round(statistics.fmean(row["top5_overlap"] for row in members), 2),
            "fp32_confident": len(sure),
            "fp32_confident_top1_agree": sum(row["top1_agrees"] for row in sure),
            "features_cosine_min": min(row["features_cosine"] for row in members),
        }
    return {
        "host": {
            "cpu": cpu_name(),
            "logical_cpus": os.cpu_count(),
            "int8_cpu_flags": cpu_int8_features(),
            "load_average_before_after": [load_before, load_after],
        },
        "onnxruntime": ort.__version__,
        "provider": "CPUExecutionProvider, default session options (intra-op threads: onnxruntime's default)",
        "latency_ms": {
            **latency,
            "speedup_median": round(latency["fp32"]["median"] / latency["int8"]["median"], 3),
            "speedup_p95": round(latency["fp32"]["p95"] / latency["int8"]["p95"], 3),
            "how": f"batch 1, one input (tests/data/chelsea.png), I/O binding as in the engine; {blocks} blocks "
                   f"of {runs} timed runs per model, alternating, order swapped every block",
        },
        "agreement": {"by_group": groups, "photos": rows},
        "decision": {"keep": keep, "reasons": reasons},
    }


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, help="folder of photos (skimage/data); default: from the wheel")
    parser.add_argument("--model", type=Path, default=FP32_MODEL, help="the fp32 model")
    parser.add_argument("--out", type=Path, default=INT8_MODEL, help="the int8 model to write")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the evaluation's JSON")
    parser.add_argument("--eval-only", action="store_true", help="measure an existing --out, do not build it")
    parser.add_argument("--no-eval", action="store_true", help="build only")
    defaults = Settings()
    parser.add_argument("--activations", choices=QUANT_TYPES, default=defaults.activations)
    parser.add_argument("--reduce-range", action=argparse.BooleanOptionalAction, default=defaults.reduce_range)
    parser.add_argument("--calibration", choices=CALIBRATION_METHODS, default=defaults.calibration)
    parser.add_argument("--pre-process", action=argparse.BooleanOptionalAction, default=defaults.pre_process)
    parser.add_argument("--crops-per-photo", type=int, default=CROPS_PER_PHOTO)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--blocks", type=int, default=24, help="timing: alternating blocks per model")
    parser.add_argument("--runs", type=int, default=25, help="timing: timed runs per block")
    args = parser.parse_args()
    settings = Settings(activations=args.activations, reduce_range=args.reduce_range,
                        calibration=args.calibration, pre_process=args.pre_process)

    spec = read_spec(args.model, open_cpu_session(args.model), Overrides())
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.photos or fetch_skimage_photos(Path(tmp))
        photos = list_photos(folder)
        calibration = [p for p in photos if group_of(p) == "calibration"]
        if not args.eval_only:
            start = time.perf_counter()
            count = quantize(args.model, args.out, spec, calibration, settings, args.crops_per_photo, args.seed)
            story = (f"{count} tensors from {len(calibration)} scikit-image {SKIMAGE_VERSION} photos "
                     f"({', '.join(p.name for p in calibration)}): each photo plus {args.crops_per_photo - 1} "
                     f"random views (crops of 15-100 % area at 3:4-4:3, mirrored half the time, contrast "
                     f"x0.6-1.4, brightness -40..+40, seed {args.seed}), through the model's own preprocessing")
            describe(args.model, args.out, settings, story)
            check_interface(args.model, args.out)
            print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - start:.0f} s: "
                  f"{settings.describe()}; calibration: {story}")
        if args.no_eval:
            return
        # tests/data holds the same chelsea.png and coffee.png: evaluate those copies, once.
        evaluated = sorted(TEST_PHOTOS.glob("*.png")) + [p for p in photos if not (TEST_PHOTOS / p.name).exists()]
        results = evaluate(args.model, args.out, spec, evaluated, args.blocks, args.runs)
    int8_meta = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"]).get_modelmeta()
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "models": {
            "fp32": {"file": args.model.name, "bytes": args.model.stat().st_size},
            "int8": {"file": args.out.name, "bytes": args.out.stat().st_size,
                     "source": int8_meta.custom_metadata_map.get("source")},
        },
        "settings": asdict(settings),
        **results,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    latency = results["latency_ms"]
    print(f"fp32 {latency['fp32']['median']:.2f} ms (p95 {latency['fp32']['p95']:.2f}), "
          f"int8 {latency['int8']['median']:.2f} ms (p95 {latency['int8']['p95']:.2f}): "
          f"{latency['speedup_median']:.2f}x")
    for group, figures in results["agreement"]["by_group"].items():
        print(f"{group:12s} top-1 agrees {figures['top1_agree']}/{figures['photos']}, "
              f"mean top-5 overlap {figures['top5_overlap_mean']}/5, "
              f"confident {figures['fp32_confident_top1_agree']}/{figures['fp32_confident']}")
    print("\n".join(results["decision"]["reasons"]))
    print(f"decision: {'KEEP' if results['decision']['keep'] else 'DROP'} (wrote {args.results})")


if __name__ == "__main__":
    main()
