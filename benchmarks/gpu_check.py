"""Prove the GPU path on a machine with an NVIDIA GPU, and measure it.

    PYTHONPATH=src python benchmarks/gpu_check.py [--out DIR] [--quick]

1. The CUDA provider really runs: a session asked for CUDA must report CUDA first (no silent CPU
   fallback), or this script fails with onnxruntime's own reason.
2. CUDA gives the CPU's answers on the test photos (max |logit diff|, same top-1), with the
   normalization on the host (float32 input) and on the device (uint8 input + normalize graph).
3. Per-frame time of stage 3 at batch 1: plain ``session.run``, I/O binding from pageable and from
   page-locked host memory, float32 vs uint8 input, with and without a CUDA graph, and TensorRT
   fp16 when its libraries are there — alternating blocks, so noise hits all alike.
4. Stages 2+3 from a 720p frame, normalizing on the host vs on the device.
5. Batches of 1, 4, 8, 16: time per frame.
6. The whole pipeline, headless, on a 720p video file, against decode alone and inference alone.
7. N simulated 30 fps 640x480 cameras into one batched engine (``cameras.py``): latency, drops, CPU.

Each step's result is written as soon as it is known (``<out>/gpu-<card>.json`` and ``.md``), so a
step that fails or a run cut short still leaves the others. ``--rehearse-on-cpu`` runs every step
on the CPU provider to check the script where no GPU is (writes ``rehearsal-cpu.*``).
On the lent GPU machine of this workplace, see ../shared/gpu/README.md for getting onnxruntime-gpu
there (``PYTHONPATH=/tmp/ortsite:src``).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cameras import jpeg_frames, run_fleet  # noqa: E402
from gpu_report import markdown  # noqa: E402
from run import alternate, decode_only, frame_720p, machine, make_720p_clip, run_bound, run_pipeline_on_file  # noqa: E402

from live_classify.engine.binding import BoundSession  # noqa: E402
from live_classify.engine.classifier import Classifier  # noqa: E402
from live_classify.engine.model import default_model_path  # noqa: E402
from live_classify.engine.providers import CUDA, TENSORRT, ProviderOptions  # noqa: E402

PHOTOS = sorted((HERE.parent / "tests" / "data").glob("*.png"))


def gpu_name() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
        return out.splitlines()[0] if out else "unknown GPU"
    except (OSError, subprocess.SubprocessError):
        return "unknown GPU (no nvidia-smi)"


class Check:
    """The engines under test, opened once, and the run's settings."""

    def __init__(self, provider: str, quick: bool) -> None:
        self.provider = provider
        self.quick = quick
        self.runs = 300 if quick else 2000
        self.host = self.open(normalize="host", cuda_graph=False)
        self.device = self.open(normalize="device", cuda_graph=False)
        self.cpu = Classifier.open(default_model_path(), "cpu", options=ProviderOptions(normalize="host"))
        self.graph_errors: dict[str, str] = {}
        self.graph_host = self.try_open("host")
        self.graph_device = self.try_open("device")

    def open(self, **options: object) -> Classifier:
        return Classifier.open(default_model_path(), self.provider, options=ProviderOptions(**options))

    def try_open(self, normalize: str) -> Classifier | None:
        """An engine with a CUDA graph, or None with the reason kept (the model may not allow one)."""
        try:
            engine = self.open(normalize=normalize, cuda_graph=True)
            if not engine.backend.opened.cuda_graph and self.provider != "cpu":  # a rehearsal has no graphs
                raise RuntimeError("the session runs without a CUDA graph")
            engine.classify_batch([frame_720p()])
            return engine
        except Exception as error:  # noqa: BLE001 - any failure is a finding to report, not a crash
            self.graph_errors[normalize] = str(error).strip().splitlines()[0][:300]
            return None


def check_outputs(check: Check) -> dict:
    """The GPU gives the CPU's answers, photo by photo, normalizing on the host and on the device."""
    rows = {}
    for photo in PHOTOS:
        image = cv2.imread(str(photo))
        want = check.cpu.classify(image)
        for name, engine in (("host", check.host), ("device", check.device)):
            got = engine.classify(image)
            check.cpu.preprocess(image)
            engine.preprocess(image)
            logits = np.abs(check.cpu.backend.bound.run().copy() - engine.backend.bound.run()).max()
            rows[f"{photo.name} ({name} normalization)"] = {
                "max_abs_logit_diff": float(logits),
                "max_abs_prob_diff": float(np.abs(want.probabilities - got.probabilities).max()),
                "top1_cpu": want.top.label, "top1_gpu": got.top.label}
    return rows


def pageable(engine: Classifier) -> BoundSession:
    """The same session bound from ordinary (pageable) host memory, to see what page-locking buys."""
    spec = engine.spec
    bound = BoundSession(engine.backend.opened.session, spec.input_name, spec.output_name, spec.preprocessing,
                         engine.backend.opened.device, 0, engine.backend.bound.normalize_on_device, pin=False)
    bound.input[...] = engine.backend.bound.input
    return bound


def time_batch1(check: Check) -> dict:
    """Stage 3 alone, batch 1, every way it can run."""
    for engine in (check.host, check.device, check.graph_host, check.graph_device):
        if engine is not None:
            engine.preprocess(frame_720p())
    session, spec = check.host.backend.opened.session, check.host.spec
    tensor = check.host.backend.bound.input.copy()
    contenders: dict[str, Callable[[], object]] = {
        "session.run, float32 from host arrays": lambda: session.run([spec.output_name], {spec.input_name: tensor}),
        "I/O binding, float32, pageable": pageable(check.host).run,
        "I/O binding, float32, page-locked": check.host.backend.bound.run,
        "I/O binding, uint8 + normalize graph, pageable": pageable(check.device).run,
        "I/O binding, uint8 + normalize graph, page-locked": check.device.backend.bound.run,
    }
    if check.graph_host is not None:
        contenders["I/O binding, float32, page-locked, CUDA graph"] = check.graph_host.backend.bound.run
    if check.graph_device is not None:
        contenders["I/O binding, uint8 + normalize graph, page-locked, CUDA graph"] = (
            check.graph_device.backend.bound.run)
    result = alternate(contenders, runs=check.runs)
    result["_pinned"] = {"float32": check.host.backend.bound.pinned, "uint8": check.device.backend.bound.pinned}
    return result


def time_stages_720p(check: Check) -> dict:
    """Stages 2+3 from a 720p frame: the host's float work and the bigger copy against the device's."""
    frame = frame_720p()

    def both(engine: Classifier) -> Callable[[], object]:
        return lambda: (engine.preprocess(frame), engine.backend.bound.run())

    contenders = {"normalize on host (float32 copy)": both(check.host),
                  "normalize on device (uint8 copy)": both(check.device)}
    if check.graph_device is not None:
        contenders["normalize on device, CUDA graph"] = both(check.graph_device)
    return alternate(contenders, runs=check.runs)


def time_batches(check: Check) -> dict:
    """Per-frame time of stage 3 (and of 2+3 from 640x480 camera frames) at batch 1, 4, 8, 16."""
    frames = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in jpeg_frames(16)]
    out = {}
    for n in (1, 4, 8, 16):
        contenders: dict[str, Callable[[], object]] = {
            "float32": lambda n=n: check.host.backend.bound.run(n),
            "uint8 + normalize graph": lambda n=n: check.device.backend.bound.run(n),
            "stages 2+3, uint8, from 640x480": lambda n=n: check.device.classify_batch(frames[:n]),
        }
        if check.graph_device is not None:
            contenders["uint8 + normalize graph, CUDA graph"] = lambda n=n: check.graph_device.backend.bound.run(n)
        timed = alternate(contenders, runs=max(50, check.runs // (2 * n)))
        out[str(n)] = {name: {**row, "per_frame_ms": round(row["median_ms"] / n, 4)} for name, row in timed.items()}
    return out


def time_pipeline(check: Check) -> dict:
    """The whole pipeline on a 720p file, with the default engine (normalization on the device)."""
    frames = 300 if check.quick else 900
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_720p_clip(Path(tmp) / "clip.mp4", frames)
        return {"provider": check.device.backend.opened.provider, "frames": frames,
                "pipeline": run_pipeline_on_file(clip, check.device), "decode_only": decode_only(clip),
                "inference_only": run_bound(check.device, frames)}


def time_cameras(check: Check) -> dict:
    """N simulated 30 fps cameras into one batched engine (no CUDA graph: a batch of any size)."""
    counts = (1, 4) if check.quick else (1, 4, 8, 16, 32, 64)
    seconds = 3.0 if check.quick else 6.0
    out = {}
    for n in counts:
        try:
            out[f"{n} cameras"] = run_fleet(check.device, n, seconds=seconds)
        except Exception as error:  # noqa: BLE001 - keep the counts that ran
            out[f"{n} cameras"] = {"error": str(error).splitlines()[0][:300]}
    return out


def time_cameras_graph(check: Check) -> dict:
    """16 cameras with CUDA graphs, each try in a process of its own (a failed graph kills the CUDA context):
    batches padded to 1, 2, 4, 8 or 16, and every size from 1 to 16."""
    tries = {"padded to 1, 2, 4, 8, 16": ["--sizes", "1", "2", "4", "8", "16"], "every size 1..16": []}
    out = {}
    for name, extra in tries.items():
        cmd = [sys.executable, str(HERE / "cameras.py"), "--provider", check.provider, "--cuda-graph",
               "--cameras", "16", "--seconds", "3" if check.quick else "6", *extra]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        lines = done.stdout.strip().splitlines()
        out[f"16 cameras, CUDA graph, {name}"] = json.loads(lines[-1]) if done.returncode == 0 and lines else {
            "error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return out


def time_pipeline_graph(check: Check) -> dict:
    """The pipeline on the 720p file with a CUDA graph (batch 1: one graph)."""
    if check.graph_device is None:
        return {"error": "no CUDA graph engine"}
    frames = 300 if check.quick else 900
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_720p_clip(Path(tmp) / "clip.mp4", frames)
        return {"frames": frames, "pipeline": run_pipeline_on_file(clip, check.graph_device)}


def tf32_off(check: Check) -> dict:
    """Where the GPU's logits differ from the CPU's: the same check with TF32 math switched off."""
    out = {}
    if check.provider != "cuda":
        return {"skipped": "CPU rehearsal"}
    session = ort.InferenceSession(str(default_model_path()), providers=[(CUDA, {"use_tf32": "0"})])
    spec = check.cpu.spec
    for photo in PHOTOS:
        check.cpu.preprocess(cv2.imread(str(photo)))
        tensor = check.cpu.backend.bound.input.copy()
        got = session.run([spec.output_name], {spec.input_name: tensor})[0]
        out[photo.name] = {"max_abs_logit_diff_tf32_off": float(np.abs(check.cpu.backend.bound.run() - got).max())}
    return out


def cuda_graph_answers(check: Check) -> dict:
    """A replayed graph reads each new input (not the one it was captured with): photos in turn, batch 1 and 4."""
    if check.graph_device is None or check.graph_host is None:
        return {"error": "no CUDA graph engine"}
    images = [cv2.imread(str(p)) for p in PHOTOS]
    out = {}
    for name, graph, plain in (("host", check.graph_host, check.host), ("device", check.graph_device, check.device)):
        worst, tops = 0.0, []
        for round_ in range(3):
            for image in images:
                got, want = graph.classify(image), plain.classify(image)
                worst = max(worst, float(np.abs(got.probabilities - want.probabilities).max()))
                tops.append(got.top.label)
            batch = [images[i % len(images)] for i in range(round_, round_ + 4)]
            for got, want in zip(graph.classify_batch(batch), plain.classify_batch(batch), strict=True):
                worst = max(worst, float(np.abs(got.probabilities - want.probabilities).max()))
                tops.append(got.top.label)
        out[f"{name} normalization"] = {"max_abs_prob_diff_graph_vs_plain": worst, "top1_in_turn": tops[:6]}
    return out


def cuda_graph_fallback(check: Check) -> dict:
    """A model that cannot be captured (shape ops on the CPU) still runs on CUDA, without a graph, and says so."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
             helper.make_node("Shape", ["pooled"], ["shape"]),
             helper.make_node("Slice", ["shape", "zero", "one"], ["batch"]),
             helper.make_node("Concat", ["batch", "minus_one"], ["flat_shape"], axis=0),
             helper.make_node("Reshape", ["pooled", "flat_shape"], ["flat"]),
             helper.make_node("MatMul", ["flat", "W"], ["scores"])]
    inits = [numpy_helper.from_array(np.array([0], np.int64), "zero"),
             numpy_helper.from_array(np.array([1], np.int64), "one"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus_one"),
             numpy_helper.from_array(np.ones((3, 4), np.float32), "W")]
    graph = helper.make_graph(nodes, "shapes",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 224, 224])],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shapes.onnx"
        onnx.save(model, path)
        engine = Classifier.open(path, check.provider)
        result = engine.classify(frame_720p())
        return {"describe": engine.backend.opened.describe(), "cuda_graph": engine.backend.opened.cuda_graph,
                "top": result.top.label}


STEPS: dict[str, Callable[[Check], dict]] = {
    "cuda_graph_answers": cuda_graph_answers, "cuda_graph_fallback": cuda_graph_fallback,
    "outputs_vs_cpu": check_outputs, "inference_batch1": time_batch1, "stages_720p": time_stages_720p,
    "batches": time_batches, "pipeline_720p_file": time_pipeline, "cameras": time_cameras, "tf32_off": tf32_off,
    "pipeline_720p_file_cuda_graph": time_pipeline_graph, "cameras_cuda_graph": time_cameras_graph,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results",
                        help="where the report goes (default: benchmarks/results)")
    parser.add_argument("--quick", action="store_true", help="fewer runs and cameras: about a minute")
    parser.add_argument("--only", nargs="+", choices=list(STEPS), help="run only these steps")
    parser.add_argument("--rehearse-on-cpu", action="store_true",
                        help="run every step on the CPU provider, to check this script where no GPU is")
    args = parser.parse_args()
    provider = "cpu" if args.rehearse_on_cpu else "cuda"
    report: dict = {"machine": {**machine(), "gpu": gpu_name()}, "available_providers": ort.get_available_providers(),
                    "tensorrt": "TensorRT libraries not in this onnxruntime build or not on this machine"}
    print(f"onnxruntime {ort.__version__}: {ort.get_available_providers()} on {report['machine']['gpu']}", flush=True)
    check = Check(provider, args.quick)
    if not args.rehearse_on_cpu and check.host.backend.opened.session.get_providers()[0] != CUDA:
        print(f"FAIL: the CUDA provider does not run: {check.host.backend.opened.describe()}", file=sys.stderr)
        return 1
    report["provider_line"] = check.host.backend.opened.describe()
    report["cuda_graph_errors"] = check.graph_errors
    name = "rehearsal-cpu" if args.rehearse_on_cpu else "gpu-" + card_slug(report["machine"]["gpu"])
    if TENSORRT in ort.get_available_providers() and not args.rehearse_on_cpu:
        report["tensorrt"] = "available: not measured by this script yet"
    for step, run in STEPS.items():
        if args.only and step not in args.only:
            continue
        t0 = time.monotonic()
        try:
            report[step] = run(check)
        except Exception:  # noqa: BLE001 - a failed step is reported; the next still runs
            report[step] = {"error": traceback.format_exc(limit=3)}
        print(f"{step}: {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
        save(report, args.out, name)
    print(markdown(report))
    return 0


def card_slug(gpu: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", gpu.split(",")[0]).strip("-").lower()


def save(report: dict, out: Path, name: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=1))
    (out / f"{name}.md").write_text(markdown(report))


if __name__ == "__main__":
    sys.exit(main())
