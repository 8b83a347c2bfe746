"""Prove the GPU path on a machine with an NVIDIA GPU, and measure it.

    PYTHONPATH=src python benchmarks/gpu_check.py [--out DIR] [--frames N]

1. The CUDA provider really runs: a session asked for CUDA must report CUDA first (no silent CPU
   fallback), or this script fails with onnxruntime's own reason.
2. CUDA + I/O binding gives the CPU's answers on the test photos (max |logit diff|, same top-1).
3. Per-frame time on the GPU: plain ``session.run``, I/O binding, I/O binding + CUDA graph, and
   TensorRT fp16 when its libraries are there — same model, batch 1, alternating blocks.
4. The whole pipeline, headless, on a 720p video file: FPS against decode alone and inference
   alone, CPU % and the engine's stage times — where the time goes.

Writes ``<out>/gpu-<card>.json`` and ``.md``. On the lent GPU machine of this workplace, see
../shared/gpu/README.md for getting onnxruntime-gpu there (``PYTHONPATH=/tmp/ortsite:src``).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import alternate, decode_only, machine, make_720p_clip, run_bound, run_pipeline_on_file  # noqa: E402

from live_classify.classifier import Classifier  # noqa: E402
from live_classify.errors import LiveClassifyError  # noqa: E402
from live_classify.model import default_model_path  # noqa: E402
from live_classify.providers import CUDA, TENSORRT, ProviderOptions  # noqa: E402

PHOTOS = sorted((HERE.parent / "tests" / "data").glob("*.png"))


def gpu_name() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
        return out.splitlines()[0] if out else "unknown GPU"
    except (OSError, subprocess.SubprocessError):
        return "unknown GPU (no nvidia-smi)"


def open_on(provider: str, **options: object) -> Classifier:
    return Classifier.open(default_model_path(), provider, options=ProviderOptions(**options))


def check_outputs(cpu: Classifier, gpu: Classifier) -> dict:
    """The GPU gives the CPU's answers, photo by photo."""
    rows = {}
    for photo in PHOTOS:
        image = cv2.imread(str(photo))
        cpu.preprocess(image)
        gpu.preprocess(image)
        want, got = cpu.bound.run().copy(), gpu.bound.run()
        rows[photo.name] = {"max_abs_logit_diff": float(np.abs(want - got).max()),
                            "top1_cpu": cpu.spec.labels[int(want.argmax())], "top1_gpu": gpu.spec.labels[int(got.argmax())]}
    return rows


def time_gpu(gpu: Classifier, graph: Classifier | None, trt: Classifier | None, runs: int) -> dict:
    session = gpu.opened.session
    tensor = gpu.bound.input.copy()
    name_in, name_out = gpu.spec.input_name, gpu.spec.output_name
    contenders = {
        "CUDA session.run (host arrays)": lambda: session.run([name_out], {name_in: tensor}),
        "CUDA I/O binding": gpu.bound.run,
    }
    if graph is not None:
        contenders["CUDA I/O binding + CUDA graph"] = graph.bound.run
    if trt is not None:
        contenders["TensorRT fp16 I/O binding"] = trt.bound.run
    return alternate(contenders, runs=runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--frames", type=int, default=900, help="frames in the 720p test video")
    parser.add_argument("--runs", type=int, default=2000, help="timed inference runs per contender")
    parser.add_argument("--rehearse-on-cpu", action="store_true",
                        help="run every step on the CPU provider to check this script where no GPU is (no report)")
    args = parser.parse_args()
    main_provider = "cpu" if args.rehearse_on_cpu else "cuda"

    report: dict = {"machine": {**machine(), "gpu": gpu_name()}, "available_providers": ort.get_available_providers()}
    print(f"onnxruntime {ort.__version__}: {ort.get_available_providers()} on {report['machine']['gpu']}", flush=True)
    try:
        gpu = open_on(main_provider)
    except LiveClassifyError as error:
        print(f"FAIL: the CUDA provider does not run: {error}", file=sys.stderr)
        return 1
    if not args.rehearse_on_cpu:
        assert gpu.opened.session.get_providers()[0] == CUDA, gpu.opened.session.get_providers()
    report["cuda_runs"] = not args.rehearse_on_cpu
    cpu = open_on("cpu")
    report["outputs_vs_cpu"] = check_outputs(cpu, gpu)

    graph = trt = None
    try:
        graph = open_on(main_provider, cuda_graph=True)
    except LiveClassifyError as error:
        report["cuda_graph_error"] = str(error)
    if TENSORRT in ort.get_available_providers() and not args.rehearse_on_cpu:
        try:
            trt = open_on("tensorrt", tensorrt_cache=Path(tempfile.mkdtemp()) / "trt")
        except LiveClassifyError as error:
            report["tensorrt_error"] = str(error)
    report["inference"] = time_gpu(gpu, graph, trt, args.runs)

    with tempfile.TemporaryDirectory() as tmp:
        clip = make_720p_clip(Path(tmp) / "clip.mp4", args.frames)
        fastest = trt or gpu
        times = []
        original = fastest.classify

        def timed_classify(image: np.ndarray):  # noqa: ANN202 - records the engine's own stage times
            result = original(image)
            times.append(result.times)
            return result

        fastest.classify = timed_classify  # type: ignore[method-assign]
        pipeline = run_pipeline_on_file(clip, fastest)
        fastest.classify = original  # type: ignore[method-assign]
        report["pipeline_720p_file"] = {
            "provider": fastest.opened.provider,
            "pipeline": pipeline,
            "decode_only": decode_only(clip),
            "inference_only": run_bound(fastest, args.frames),
            "preprocess_ms_median": float(np.median([t.preprocess_ms for t in times])),
            "inference_ms_median": float(np.median([t.inference_ms for t in times])),
            "postprocess_ms_median": float(np.median([t.postprocess_ms for t in times])),
        }
    if args.rehearse_on_cpu:
        print(markdown(report))
        print("rehearsal on the CPU: every step ran; nothing written", file=sys.stderr)
        return 0
    card = re.sub(r"[^A-Za-z0-9]+", "-", report["machine"]["gpu"].split(",")[0]).strip("-").lower()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"gpu-{card}.json").write_text(json.dumps(report, indent=1))
    (args.out / f"gpu-{card}.md").write_text(markdown(report))
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    m = report["machine"]
    out = [f"# live-classify on a GPU — {m['gpu']}", "",
           f"{m['date']}; onnxruntime {m['onnxruntime']}, host CPU {m['cpu']} ({m['cores']} cores). "
           "Produced by `python benchmarks/gpu_check.py`.", "",
           f"CUDA provider runs (checked with `session.get_providers()`): {'yes' if report['cuda_runs'] else 'no (a rehearsal on the CPU)'}.", "",
           "| photo | max abs logit diff GPU vs CPU | top-1 CPU | top-1 GPU |", "| --- | ---: | --- | --- |"]
    out += [f"| {k} | {v['max_abs_logit_diff']:.2e} | {v['top1_cpu']} | {v['top1_gpu']} |"
            for k, v in report["outputs_vs_cpu"].items()]
    out += ["", "| inference path (batch 1) | median ms | p95 ms | CPU ms |", "| --- | ---: | ---: | ---: |"]
    out += [f"| {k} | {v['median_ms']} | {v['p95_ms']} | {v['cpu_ms']} |" for k, v in report["inference"].items()]
    for key in ("cuda_graph_error", "tensorrt_error"):
        if key in report:
            out += ["", f"{key}: {report[key]}"]
    p = report["pipeline_720p_file"]
    out += ["", f"## Pipeline on a 720p file, headless ({p['provider']})", "",
            "| | FPS |", "| --- | ---: |",
            f"| pipeline | {p['pipeline']['fps']:.1f} (CPU {p['pipeline']['cpu_pct']:.0f} %) |",
            f"| decode only | {p['decode_only']['fps']:.1f} |",
            f"| inference only | {p['inference_only']['fps']:.1f} |", "",
            f"Engine stage medians in the pipeline: preprocess {p['preprocess_ms_median']:.2f} ms, "
            f"inference {p['inference_ms_median']:.2f} ms, postprocess {p['postprocess_ms_median']:.2f} ms.", ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
