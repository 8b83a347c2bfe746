"""The Markdown page of ``gpu_check.py``'s report: every figure with the card that gave it."""
from __future__ import annotations


def markdown(report: dict) -> str:
    m = report["machine"]
    out = [f"# live-classify on a GPU — {m['gpu']}", "",
           f"{m['date']}; onnxruntime {m['onnxruntime']}, OpenCV {m['opencv']}, numpy {m['numpy']}, "
           f"host CPU {m['cpu']} ({m['cores']} cores). Produced by `python benchmarks/gpu_check.py`. "
           "Every figure on this page is from this card.", "",
           f"Provider line: `{report.get('provider_line', '?')}`. TensorRT: {report['tensorrt']}.", ""]
    for key, title in SECTIONS.items():
        if key in report:
            out += [f"## {title}", ""]
            section = report[key]
            out += [f"Failed: `{section['error'].strip().splitlines()[-1]}`", ""] if "error" in section else RENDER[key](section)
    if report.get("cuda_graph_errors"):
        out += ["CUDA graph could not be used: " + "; ".join(f"{k}: {v}" for k, v in report["cuda_graph_errors"].items()), ""]
    return "\n".join(out)


def _outputs(rows: dict) -> list[str]:
    out = ["| photo | max abs logit diff GPU vs CPU | max abs probability diff | top-1 CPU | top-1 GPU |",
           "| --- | ---: | ---: | --- | --- |"]
    out += [f"| {k} | {v['max_abs_logit_diff']:.2e} | {v['max_abs_prob_diff']:.2e} | {v['top1_cpu']} | {v['top1_gpu']} |"
            for k, v in rows.items()]
    return out + [""]


def _timings(rows: dict) -> list[str]:
    out = ["| path | median ms | p95 ms | CPU ms |", "| --- | ---: | ---: | ---: |"]
    out += [f"| {k} | {v['median_ms']} | {v['p95_ms']} | {v['cpu_ms']} |" for k, v in rows.items() if not k.startswith("_")]
    if "_pinned" in rows:
        out += ["", f"Host buffers page-locked: {rows['_pinned']}."]
    return out + [""]


def _batches(sizes: dict) -> list[str]:
    names = list(next(iter(sizes.values())))
    out = ["| batch | " + " | ".join(f"{n}: ms per frame" for n in names) + " |", "| ---: |" + " ---: |" * len(names)]
    out += [f"| {size} | " + " | ".join(str(rows[n]["per_frame_ms"]) for n in names) + " |" for size, rows in sizes.items()]
    return out + [""]


def _pipeline(p: dict) -> list[str]:
    return ["| 720p file, headless, every frame classified | FPS |", "| --- | ---: |",
            f"| pipeline ({p['provider']}) | {p['pipeline']['fps']:.1f} (CPU {p['pipeline']['cpu_pct']:.0f} %) |",
            f"| decode only | {p['decode_only']['fps']:.1f} |",
            f"| inference only (stage 3, batch 1) | {p['inference_only']['fps']:.1f} |", ""]


def _cameras(rows: dict) -> list[str]:
    out = ["| simulated 30 fps 640x480 cameras | captured/s | classified/s | dropped | latency p50 ms | p95 ms | mean batch | CPU % |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    out += [f"| {k} | {r['captured_fps']} | {r['classified_fps']} | {r['dropped_pct']} % | {r['latency_p50_ms']} | "
            f"{r['latency_p95_ms']} | {r['mean_batch']} | {r['cpu_pct']} |" for k, r in rows.items()]
    return out + ["", "Latency runs from the moment a camera's JPEG arrived (before decoding) to its result.", ""]


SECTIONS = {
    "outputs_vs_cpu": "Same answers as the CPU",
    "inference_batch1": "Stage 3, batch 1 (bound buffers; the copy in and the scores out included)",
    "stages_720p": "Stages 2+3 from a 720p frame",
    "batches": "Batches",
    "pipeline_720p_file": "The pipeline on a 720p file",
    "cameras": "Many cameras, one batched engine",
}
RENDER = {"outputs_vs_cpu": _outputs, "inference_batch1": _timings, "stages_720p": _timings,
          "batches": _batches, "pipeline_720p_file": _pipeline, "cameras": _cameras}
