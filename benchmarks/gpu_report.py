"""The Markdown page of ``gpu_check.py``'s report: every figure with the card that gave it."""
from __future__ import annotations


def markdown(report: dict) -> str:
    m = report["machine"]
    out = [f"# live-classify on a GPU — {m['gpu']}", "",
           f"{m['date']}; onnxruntime {m['onnxruntime']}, OpenCV {m['opencv']}, numpy {m['numpy']}, "
           f"host CPU {m['cpu']} ({m['cores']} cores). Produced by `python benchmarks/gpu_check.py`. "
           "Every figure on this page is from this card.", "",
           f"Provider line: `{report.get('provider_line', '?')}`. TensorRT: {report['tensorrt']}.", ""]
    if "runs" in report:
        out += ["Gathered in several runs, each on a fresh lent machine of this kind; compare figures side by side "
                "only within one table:", ""] + [f"{k}. {v}" for k, v in report["runs"].items()] + [""]
    for key, title in SECTIONS.items():
        if key in report:
            out += [f"## {title}", ""]
            section = report[key]
            out += ([f"Failed: `{section['error'].strip().splitlines()[-1]}`", ""] if "error" in section
                    else RENDER[key](section))
    if report.get("cuda_graph_errors"):
        out += ["CUDA graph could not be used: "
                + "; ".join(f"{k}: {v}" for k, v in report["cuda_graph_errors"].items()), ""]
    return "\n".join(out)


def _outputs(rows: dict) -> list[str]:
    out = ["| photo | max abs logit diff GPU vs CPU | max abs probability diff | top-1 CPU | top-1 GPU |",
           "| --- | ---: | ---: | --- | --- |"]
    out += [f"| {k} | {v['max_abs_logit_diff']:.2e} | {v['max_abs_prob_diff']:.2e} | "
            f"{v['top1_cpu']} | {v['top1_gpu']} |"
            for k, v in rows.items()]
    return out + [""]


def _timings(rows: dict) -> list[str]:
    out = ["| path | median ms | p95 ms | CPU ms |", "| --- | ---: | ---: | ---: |"]
    out += [f"| {k} | {v['median_ms']} | {v['p95_ms']} | {v['cpu_ms']} |"
            for k, v in rows.items() if not k.startswith("_")]
    if "_pinned" in rows:
        out += ["", f"Host buffers page-locked: {rows['_pinned']}."]
    return out + [""]


def _batches(sizes: dict) -> list[str]:
    names = list(next(iter(sizes.values())))
    out = ["| batch | " + " | ".join(f"{n}: ms per frame" for n in names) + " |", "| ---: |" + " ---: |" * len(names)]
    out += [f"| {size} | " + " | ".join(str(rows[n]["per_frame_ms"]) for n in names) + " |"
            for size, rows in sizes.items()]
    return out + [""]


def _pipeline(p: dict) -> list[str]:
    return ["| 720p file, headless, every frame classified | FPS |", "| --- | ---: |",
            f"| pipeline ({p['provider']}) | {p['pipeline']['fps']:.1f} (CPU {p['pipeline']['cpu_pct']:.0f} %) |",
            f"| decode only | {p['decode_only']['fps']:.1f} |",
            f"| inference only (stage 3, batch 1) | {p['inference_only']['fps']:.1f} |", ""]


def _cameras(rows: dict) -> list[str]:
    out = ["| simulated 30 fps 640x480 cameras | captured/s | classified/s | dropped | latency p50 ms | p95 ms "
           "| mean batch | CPU % |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for k, r in rows.items():
        out.append(f"| {k} | failed: {r['error']} |" if "error" in r else
                   f"| {k} | {r['captured_fps']} | {r['classified_fps']} | {r['dropped_pct']} % | "
                   f"{r['latency_p50_ms']} | {r['latency_p95_ms']} | {r['mean_batch']} | {r['cpu_pct']} |")
    return out + ["", "Latency runs from the moment a camera's JPEG arrived (before decoding) to its result; "
                  "CPU % is of one core (the host has more).", ""]


def _rows(rows: dict) -> list[str]:
    """Any flat mapping of name -> value or name -> {field: value}, one bullet each."""
    return [f"- {k}: {v}" for k, v in rows.items()] + [""]


def _pipeline_graph(p: dict) -> list[str]:
    return [f"{p['frames']} frames, every frame classified: {p['pipeline']['fps']:.1f} FPS "
            f"(CPU {p['pipeline']['cpu_pct']:.0f} % of one core).", ""]


SECTIONS = {
    "outputs_vs_cpu": "Same answers as the CPU",
    "inference_batch1": "Stage 3, batch 1 (bound buffers; the copy in and the scores out included)",
    "stages_720p": "Stages 2+3 from a 720p frame",
    "batches": "Batches",
    "pipeline_720p_file": "The pipeline on a 720p file",
    "pipeline_720p_file_cuda_graph": "The pipeline on the same 720p file, with a CUDA graph",
    "cameras": "Many cameras, one batched engine (no CUDA graph, batch of whatever arrived)",
    "cameras_batch_shape": "Many cameras: the batch shape without a CUDA graph, and more cameras with one",
    "cameras_cuda_graph": "Many cameras with CUDA graphs (each in a process of its own)",
    "cuda_graph_answers": "A CUDA graph gives the same answers (photos in turn, batch 1 and 4)",
    "cuda_graph_fallback": "A model with shape operators, default options",
    "tf32_off": "The GPU-CPU difference is TF32: the same check with use_tf32=0",
    "cli": "The real command on this card",
}
RENDER = {"outputs_vs_cpu": _outputs, "inference_batch1": _timings, "stages_720p": _timings,
          "batches": _batches, "pipeline_720p_file": _pipeline, "pipeline_720p_file_cuda_graph": _pipeline_graph,
          "cameras": _cameras, "cameras_batch_shape": _cameras, "cameras_cuda_graph": _cameras,
          "cuda_graph_answers": _rows, "cuda_graph_fallback": _rows, "tf32_off": _rows, "cli": _rows}
