"""Quantize the bundled EfficientNet-Lite0 to int8 (static, QDQ) for CPU-only edge boxes, and measure it.

An edge box without a GPU runs the fp32 model on a couple of cores. Eight-bit integer arithmetic
can be faster there, but an int8 model is only worth shipping if it is clearly faster *and* gives
the same answers. So this script does both halves: it builds ``efficientnet_lite0_int8.onnx``, then
runs it side by side with the fp32 model and writes the figures that decide, and the decision, to
``benchmarks/results/int8.json``. ``--sweep`` also builds and measures the other sensible settings,
so the choice of settings is documented by figures too.

Calibration uses the CC0 / public-domain photos in scikit-image's wheel (``skimage/data/``), read
from the wheel, not installed: the build is offline apart from that one ``pip download``. Some
photos are held out of calibration, the two test photos in ``tests/data`` among them, so that the
agreement check is not made on calibration images only. Each calibration photo is augmented (random
crops, mirroring, contrast and brightness; a fixed seed) and goes through the product's own
preprocessing, read from the model's metadata, so the int8 ranges are the ones the engine will see.

Usage (dev-only; the project's environment has everything, onnxruntime ships the quantizer)::

    python models/quantize_int8.py                  # fetch the photos, quantize, evaluate
    python models/quantize_int8.py --photos DIR     # photos already unpacked (a skimage/data folder)
    python models/quantize_int8.py --sweep          # also compare other quantization settings
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
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

from live_classify.engine.binding import BoundSession
from live_classify.sources.photos import read_image
from live_classify.engine.model import ModelSpec, describe_model
from live_classify.engine.postprocess import softmax
from live_classify.engine.preprocess import Preprocessor

ROOT = Path(__file__).resolve().parents[1]
FP32_MODEL = ROOT / "models" / "efficientnet_lite0.onnx"
INT8_MODEL = ROOT / "models" / "efficientnet_lite0_int8.onnx"
RESULTS = ROOT / "benchmarks" / "results" / "int8.json"
TEST_PHOTOS = ROOT / "tests" / "data"

SKIMAGE_VERSION = "0.26.0"
PHOTO_SUFFIXES = (".png", ".jpg")

#: Never calibrated on: the two test photos (also in tests/data), and other natural photos, most of
#: them ones the fp32 model is sure about. The stereo pair goes together: one is nearly the other.
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
CONFIDENT = 0.5  # on held-out photos where fp32's top-1 is above this, int8 must give the same top-1
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
    """'held-out', 'synthetic' or 'calibration': what a photo is used for."""
    if photo.name in HELD_OUT:
        return "held-out"
    if photo.name in SYNTHETIC:
        return "synthetic"
    return "calibration"


# --- calibration ----------------------------------------------------------------------------------


def augment(bgr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random view of a photo, as a camera might frame it: crop, mirror, contrast, exposure.

    The crop keeps 15-100 % of the area at an aspect ratio between 3:4 and 4:3, like the views an
    Inception-style training pipeline sees; the product's centre crop and resize follow.
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
    mean = float(view.mean())
    adjusted = (view.astype(np.float32) - mean) * contrast + mean + brightness
    return np.clip(adjusted, 0, 255).astype(np.uint8)


def calibration_tensors(photos: list[Path], spec: ModelSpec, per_photo: int, seed: int) -> Iterator[np.ndarray]:
    """The model's input for each photo and ``per_photo - 1`` augmented views of it, deterministic."""
    rng = np.random.default_rng(seed)
    preprocess = Preprocessor(spec.preprocessing, input_buffer(spec))
    for photo in photos:
        bgr = read_image(photo)
        yield preprocess(bgr).copy()
        for _ in range(per_photo - 1):
            yield preprocess(augment(bgr, rng)).copy()


def input_buffer(spec: ModelSpec) -> np.ndarray:
    """A (1, 3, H, W) float32 buffer for the product's Preprocessor to write into."""
    return np.empty((1, 3, spec.preprocessing.height, spec.preprocessing.width), np.float32)


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
    """How the model is quantized. The defaults are the most accurate of the settings that run at
    about fp32's speed on this project's CPU (AVX2, no VNNI); ``--sweep`` shows the others."""

    activations: str = "uint8"  # asymmetric uint8: what onnxruntime's x86 int8 kernels are built for
    weights: str = "int8"  # symmetric int8
    per_channel: bool = True  # one weight scale per output channel: depthwise convs need it
    # Without VNNI, x86 multiplies uint8 x int8 pairs into saturating int16 sums (VPMADDUBSW):
    # 7-bit weights cannot overflow them. onnxruntime recommends it for such CPUs, and it measured
    # more accurate here than 8-bit weights.
    reduce_range: bool = True
    calibration: str = "minmax"  # "percentile" and "entropy" hold every activation in memory

    def describe(self) -> str:
        """E.g. 'QDQ, activations uint8, weights int8 per channel (7-bit), minmax calibration'."""
        weights = f"weights {self.weights}" + (" per channel" if self.per_channel else " per tensor")
        weights += " (7-bit)" if self.reduce_range else ""
        return f"QDQ, activations {self.activations}, {weights}, {self.calibration} calibration"


QUANT_TYPES = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
CALIBRATION_METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "percentile": CalibrationMethod.Percentile,
    "entropy": CalibrationMethod.Entropy,
}

#: What --sweep compares with the defaults: the other choices onnxruntime documents for CPUs.
SWEEP = {
    "8-bit weights": Settings(reduce_range=False),
    "per-tensor weights": Settings(per_channel=False, reduce_range=False),
    "int8 activations": Settings(activations="int8", reduce_range=False),
    "uint8 weights": Settings(weights="uint8", reduce_range=False),
}


def quantize(fp32: Path, out: Path, spec: ModelSpec, photos: list[Path], settings: Settings,
             per_photo: int, seed: int) -> int:
    """Write the int8 model to ``out``; returns how many calibration tensors were used.

    No ``quant_pre_process``: it changed neither the answers nor the speed of this model (its batch
    norms are already folded into the convolutions). No ``CalibMaxIntermediateOutputs`` either: in
    onnxruntime 1.31 MinMax then throws away all but the last batch of ranges (microsoft/onnxruntime
    #18893), and MinMax keeps only two numbers per tensor per input anyway.
    """
    reader = TensorReader(spec.input_name, calibration_tensors(photos, spec, per_photo, seed))
    quantize_static(
        str(fp32), str(out), reader,
        quant_format=QuantFormat.QDQ,
        per_channel=settings.per_channel,
        reduce_range=settings.reduce_range,
        activation_type=QUANT_TYPES[settings.activations],
        weight_type=QUANT_TYPES[settings.weights],
        calibrate_method=CALIBRATION_METHODS[settings.calibration],
    )
    return reader.count


def describe(fp32: Path, int8: Path, settings: Settings, calibration: str) -> None:
    """Give the int8 model the fp32 model's metadata (labels, preprocessing), and its own provenance."""
    meta = {prop.key: prop.value for prop in onnx.load(str(fp32)).metadata_props}
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
    """The int8 model must be a drop-in: the same input and outputs, the batch axis still dynamic."""
    def interface(path: Path) -> tuple[list[tuple[str, list[object]]], list[tuple[str, list[object]]]]:
        session = open_cpu_session(path)
        return ([(i.name, i.shape) for i in session.get_inputs()],
                [(o.name, o.shape) for o in session.get_outputs()])

    if interface(int8) != interface(fp32):
        sys.exit(f"the int8 model's interface {interface(int8)} differs from fp32's {interface(fp32)}")
    session = open_cpu_session(int8)
    name = session.get_inputs()[0].name
    shapes = [out.shape for out in session.run(None, {name: np.zeros((3, 3, 224, 224), np.float32)})]
    if shapes != [(3, 1000), (3, 1280)]:
        sys.exit(f"the int8 model gives {shapes} for a batch of 3")


def build(fp32: Path, out: Path, spec: ModelSpec, photos: list[Path], settings: Settings,
          per_photo: int, seed: int) -> str:
    """Quantize, label and check one int8 model; returns how it was calibrated, in words."""
    calibration = [photo for photo in photos if group_of(photo) == "calibration"]
    count = quantize(fp32, out, spec, calibration, settings, per_photo, seed)
    story = (f"{count} tensors from {len(calibration)} scikit-image {SKIMAGE_VERSION} photos "
             f"({', '.join(p.name for p in calibration)}): each photo plus {per_photo - 1} random views "
             f"(crops of 15-100 % of the area at 3:4 to 4:3, mirrored half the time, contrast x0.6-1.4, "
             f"brightness -40..+40, seed {seed}), through the model's own preprocessing")
    describe(fp32, out, settings, story)
    check_interface(fp32, out)
    return story


# --- evaluation -----------------------------------------------------------------------------------


def host() -> dict[str, object]:
    """The CPU (from /proc/cpuinfo), its int8-relevant flags, and how busy the machine is."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    lines = cpuinfo.splitlines()
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), None)
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    wanted = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")
    return {
        "cpu": name or platform.processor() or "unknown",
        "logical_cpus": os.cpu_count(),
        "int8_cpu_flags": [flag for flag in wanted if flag in flags],
        "load_average": os.getloadavg()[:3] if hasattr(os, "getloadavg") else None,
    }


def open_cpu_session(path: Path) -> ort.InferenceSession:
    """The same session options for every model: CPU, onnxruntime's default optimization and threads."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def top5(labels: tuple[str, ...], logits: np.ndarray) -> list[tuple[str, float]]:
    """The five most likely labels and their probabilities."""
    probabilities = softmax(logits.astype(np.float64))
    return [(labels[i], round(float(probabilities[i]), 4)) for i in np.argsort(-probabilities)[:5]]


def compare_on_photos(fp32: ort.InferenceSession, int8: ort.InferenceSession, spec: ModelSpec,
                      photos: list[Path]) -> list[dict[str, object]]:
    """Both models' top-5, and how close their pooled features are, on each photo as the engine sees it."""
    preprocess = Preprocessor(spec.preprocessing, input_buffer(spec))
    rows = []
    for photo in photos:
        feed = {spec.input_name: preprocess(read_image(photo))}
        logits_a, features_a = (out[0] for out in fp32.run(["logits", "features"], feed))
        logits_b, features_b = (out[0] for out in int8.run(["logits", "features"], feed))
        a, b = top5(spec.labels, logits_a), top5(spec.labels, logits_b)
        cosine = np.dot(features_a, features_b) / (np.linalg.norm(features_a) * np.linalg.norm(features_b))
        rows.append({
            "photo": str(photo.relative_to(ROOT)) if photo.is_relative_to(ROOT) else photo.name,
            "group": group_of(photo),
            "fp32_top5": a,
            "int8_top5": b,
            "top1_agrees": a[0][0] == b[0][0],
            "top5_overlap": len({label for label, _ in a} & {label for label, _ in b}),
            "fp32_confident": a[0][1] > CONFIDENT,
            "features_cosine": round(float(cosine), 4),
        })
    return rows


def agreement_by_group(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    """Top-1 and top-5 agreement counts for held-out, calibration and synthetic photos, and all."""
    groups = {}
    for group in ("held-out", "calibration", "synthetic", "all"):
        members = [row for row in rows if group in ("all", row["group"])]
        sure = [row for row in members if row["fp32_confident"]]
        groups[group] = {
            "photos": len(members),
            "top1_agree": sum(row["top1_agrees"] for row in members),
            "top5_overlap_mean": round(statistics.fmean(row["top5_overlap"] for row in members), 2),
            "fp32_confident": len(sure),
            "fp32_confident_top1_agree": sum(row["top1_agrees"] for row in sure),
            "features_cosine_mean": round(statistics.fmean(row["features_cosine"] for row in members), 3),
        }
    return groups


def time_interleaved(models: dict[str, Path], spec: ModelSpec, tensor: np.ndarray, blocks: int, runs: int,
                     settle: int = 2) -> dict[str, list[float]]:
    """Per-frame inference ms of each model, timed in alternating blocks on one input.

    The machine is shared and its load comes in bursts of seconds: many short alternating blocks,
    their order reversed every other block, spread each burst over all models, so their ratio is
    fair even when the absolute numbers drift. Two untimed runs start each block, while the
    previous session's idle threads stop spinning. Inference is the product's own: I/O binding,
    buffers bound once.
    """
    bound = {}
    for name, path in models.items():
        bound[name] = BoundSession(open_cpu_session(path), spec.input_name, "logits", spec.preprocessing, "cpu")
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


def latency_summary(ms: list[float]) -> dict[str, float]:
    return {
        "runs": len(ms),
        "median": round(float(np.median(ms)), 3),
        "p95": round(float(np.percentile(ms, 95)), 3),
        "mean": round(float(np.mean(ms)), 3),
        "min": round(float(np.min(ms)), 3),
    }


def decide(speedup: float, rows: list[dict[str, object]]) -> tuple[bool, list[str]]:
    """The rule: clearly faster, the same answer where fp32 is sure, the two test photos still right."""
    reasons = [f"{'ok' if speedup >= MIN_SPEEDUP else 'FAIL'}: {speedup:.2f}x fp32's speed "
               f"(median ms; needs {MIN_SPEEDUP}x)"]
    sure = [row for row in rows if row["group"] == "held-out" and row["fp32_confident"]]
    differ = [str(row["photo"]) for row in sure if not row["top1_agrees"]]
    reasons.append(f"{'FAIL' if differ else 'ok'}: same top-1 on {len(sure) - len(differ)}/{len(sure)} held-out "
                   f"photos where fp32 is over {CONFIDENT:.0%} sure"
                   + (f" (not on {', '.join(differ)})" if differ else ""))
    by_name = {Path(str(row["photo"])).name: row for row in rows}
    cat = by_name["chelsea.png"]["int8_top5"][0]
    coffee = by_name["coffee.png"]["int8_top5"][0]
    reasons.append(f"{'ok' if cat[0] in CAT_CLASSES else 'FAIL'}: chelsea.png top-1 {cat[0]!r} {cat[1]:.1%} (a cat)")
    reasons.append(f"{'ok' if coffee[0] == 'espresso' else 'FAIL'}: coffee.png top-1 {coffee[0]!r} {coffee[1]:.1%} "
                   "(espresso)")
    return all(reason.startswith("ok") for reason in reasons), reasons


def evaluate(fp32: Path, int8: Path, spec: ModelSpec, photos: list[Path], blocks: int, runs: int) -> dict[str, object]:
    """Agreement on every photo, then fp32 and int8 timed in one interleaved run, then the decision."""
    rows = compare_on_photos(open_cpu_session(fp32), open_cpu_session(int8), spec, photos)
    chelsea = Preprocessor(spec.preprocessing, input_buffer(spec))(read_image(TEST_PHOTOS / "chelsea.png"))
    before = host()
    times = time_interleaved({"fp32": fp32, "int8": int8}, spec, chelsea, blocks, runs)
    latency = {name: latency_summary(ms) for name, ms in times.items()}
    speedup = latency["fp32"]["median"] / latency["int8"]["median"]
    keep, reasons = decide(speedup, rows)
    return {
        "host": {**before, "load_average_after": host()["load_average"]},
        "latency_ms": {
            **latency,
            "speedup_median": round(speedup, 3),
            "speedup_p95": round(latency["fp32"]["p95"] / latency["int8"]["p95"], 3),
            "how": f"batch 1, tests/data/chelsea.png, I/O binding as in the engine, {blocks} alternating blocks "
                   f"of {runs} timed runs per model (order reversed every other block), one process",
        },
        "agreement": {"by_group": agreement_by_group(rows), "photos": rows},
        "decision": {"keep": keep, "reasons": reasons},
    }


def sweep(fp32: Path, spec: ModelSpec, photos: list[Path], evaluated: list[Path], chosen: tuple[str, Settings, Path],
          per_photo: int, seed: int, blocks: int, runs: int) -> dict[str, object]:
    """Build the SWEEP settings too, and measure all of them against fp32 in one interleaved run."""
    with tempfile.TemporaryDirectory() as tmp:
        models: dict[str, tuple[Settings, Path]] = {chosen[0]: (chosen[1], chosen[2])}
        for name, settings in SWEEP.items():
            path = Path(tmp) / f"{len(models)}.onnx"
            build(fp32, path, spec, photos, settings, per_photo, seed)
            models[name] = (settings, path)
            print(f"sweep: built {name}: {settings.describe()}")
        chelsea = Preprocessor(spec.preprocessing, input_buffer(spec))(read_image(TEST_PHOTOS / "chelsea.png"))
        paths = {"fp32": fp32, **{name: path for name, (_, path) in models.items()}}
        times = time_interleaved(paths, spec.input_name, chelsea, blocks, runs)
        fp32_session = open_cpu_session(fp32)
        fp32_ms = latency_summary(times["fp32"])
        rows = []
        for name, (settings, path) in models.items():
            latency = latency_summary(times[name])
            groups = agreement_by_group(compare_on_photos(fp32_session, open_cpu_session(path), spec, evaluated))
            rows.append({
                "name": name,
                "settings": asdict(settings),
                "bytes": path.stat().st_size,
                "ms": latency,
                "speedup_median": round(fp32_ms["median"] / latency["median"], 3),
                "agreement": {group: groups[group] for group in ("held-out", "all")},
            })
    return {"fp32_ms": fp32_ms, "how": f"as above, all {len(paths)} models in one run, {blocks} blocks", "rows": rows}


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, help="folder of photos (skimage/data); default: from the wheel")
    parser.add_argument("--model", type=Path, default=FP32_MODEL, help="the fp32 model")
    parser.add_argument("--out", type=Path, default=INT8_MODEL, help="the int8 model to write")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the figures go (JSON)")
    parser.add_argument("--eval-only", action="store_true", help="measure an existing --out, do not build it")
    parser.add_argument("--no-eval", action="store_true", help="build only")
    parser.add_argument("--sweep", action="store_true", help="also build and measure the other settings")
    defaults = Settings()
    parser.add_argument("--activations", choices=QUANT_TYPES, default=defaults.activations)
    parser.add_argument("--weights", choices=QUANT_TYPES, default=defaults.weights)
    parser.add_argument("--per-channel", action=argparse.BooleanOptionalAction, default=defaults.per_channel)
    parser.add_argument("--reduce-range", action=argparse.BooleanOptionalAction, default=defaults.reduce_range)
    parser.add_argument("--calibration", choices=CALIBRATION_METHODS, default=defaults.calibration)
    parser.add_argument("--crops-per-photo", type=int, default=CROPS_PER_PHOTO)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--blocks", type=int, default=120, help="timing: alternating blocks per model")
    parser.add_argument("--runs", type=int, default=5, help="timing: timed runs per model per block")
    args = parser.parse_args()
    settings = Settings(activations=args.activations, weights=args.weights, per_channel=args.per_channel,
                        reduce_range=args.reduce_range, calibration=args.calibration)

    spec = describe_model(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        photos = list_photos(args.photos or fetch_skimage_photos(Path(tmp)))
        if not args.eval_only:
            start = time.perf_counter()
            story = build(args.model, args.out, spec, photos, settings, args.crops_per_photo, args.seed)
            print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - start:.0f} s: "
                  f"{settings.describe()}; calibration: {story}")
        if args.no_eval:
            return
        # tests/data holds the same chelsea.png and coffee.png: evaluate those copies, once.
        evaluated = sorted(TEST_PHOTOS.glob("*.png")) + [p for p in photos if not (TEST_PHOTOS / p.name).exists()]
        results = evaluate(args.model, args.out, spec, evaluated, args.blocks, args.runs)
        if args.sweep:
            results["sweep"] = sweep(args.model, spec, photos, evaluated, ("chosen", settings, args.out),
                                     args.crops_per_photo, args.seed, max(2, args.blocks // 2), args.runs)
    source = open_cpu_session(args.out).get_modelmeta().custom_metadata_map.get("source")
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "onnxruntime": ort.__version__,
        "provider": "CPUExecutionProvider; default session options, so onnxruntime's default intra-op threads",
        "models": {
            "fp32": {"file": args.model.name, "bytes": args.model.stat().st_size},
            "int8": {"file": args.out.name, "bytes": args.out.stat().st_size, "settings": asdict(settings),
                     "source": source},
        },
        **results,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2) + "\n")
    print_summary(report)
    print(f"wrote {args.results}")


def print_summary(report: dict[str, object]) -> None:
    """The figures that matter, in a few lines."""
    latency = report["latency_ms"]
    print(f"fp32 {latency['fp32']['median']:.2f} ms (p95 {latency['fp32']['p95']:.2f}), "
          f"int8 {latency['int8']['median']:.2f} ms (p95 {latency['int8']['p95']:.2f}): "
          f"{latency['speedup_median']:.2f}x")
    for group, figures in report["agreement"]["by_group"].items():
        print(f"  {group:12s} top-1 agrees {figures['top1_agree']}/{figures['photos']}, "
              f"top-5 overlap {figures['top5_overlap_mean']}/5, where fp32 is sure "
              f"{figures['fp32_confident_top1_agree']}/{figures['fp32_confident']}, "
              f"features cosine {figures['features_cosine_mean']}")
    if "sweep" in report:
        print(f"  sweep {'fp32':20s} {report['sweep']['fp32_ms']['median']:7.2f} ms")
    for row in report.get("sweep", {}).get("rows", []):
        held_out = row["agreement"]["held-out"]
        print(f"  sweep {row['name']:20s} {row['ms']['median']:7.2f} ms {row['speedup_median']:.2f}x, "
              f"top-1 agrees {row['agreement']['all']['top1_agree']}/{row['agreement']['all']['photos']}, "
              f"held-out sure {held_out['fp32_confident_top1_agree']}/{held_out['fp32_confident']}")
    print("\n".join(f"  {reason}" for reason in report["decision"]["reasons"]))
    print(f"decision: {'KEEP' if report['decision']['keep'] else 'DROP'} the int8 model")


if __name__ == "__main__":
    main()
