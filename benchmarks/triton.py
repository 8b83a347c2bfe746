"""Triton: what sending frames to an inference server costs and gives, next to onnxruntime here, in one run.

    python benchmarks/triton.py                           # about 5 minutes on 2 cores
    python benchmarks/triton.py --quick                   # about 1.5 minutes, for a first look
    python benchmarks/triton.py --out benchmarks/results  # refresh the committed report

The server is ``tests/support/triton_server.py``: PyTriton's ``tritonserver`` 2.51 on 127.0.0.1, CPU-only,
running the bundled model in onnxruntime inside its Python backend (its environment is built
once by ``tests/support/triton_env.py``). Server and clients share this machine's cores, so every figure
is the CPU against itself plus the cost of the trip; read the ratios, and the load beside them.

Sections:
  latency     stage 3 at batch 1 (a preprocessed photo in, scores out): onnxruntime here, Triton
              over gRPC, over HTTP, round by round in turn; the median and p95 of each, and the
              client process's own CPU time per frame (what the box spends: for Triton, the
              request and the wait; for onnxruntime, the whole inference)
  throughput  frames/s with 1 and 4 client processes (4 boxes) sending one frame per request
              back to back, to the model with dynamic batching and to the same model without;
              and one process running onnxruntime here, for reference
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "support"))  # the server's environment and script live with the tests

from benchlib import default_out, machine, save_report  # noqa: E402  (the same machine line, the same folders)
from triton_env import TritonServer  # noqa: E402

from live_classify.engine.backend import Backend  # noqa: E402
from live_classify.engine.model import default_model_path, describe_model  # noqa: E402
from live_classify.engine.onnx_backend import OnnxBackend  # noqa: E402
from live_classify.engine.preprocess import Preprocessor  # noqa: E402
from live_classify.engine.providers import ProviderOptions  # noqa: E402
from live_classify.engine.triton_backend import TritonBackend  # noqa: E402
from live_classify.engine.triton_target import backend_url  # noqa: E402
from live_classify.errors import LiveClassifyError  # noqa: E402

PHOTO = HERE.parent / "tests" / "data" / "chelsea.png"
MODEL = "efficientnet_lite0"
LOCAL = "local"
SECTIONS = ("latency", "throughput")


def open_backend(where: str) -> Backend:
    """``local`` (onnxruntime on the CPU, as the command runs it live) or a ``--backend`` URL; the
    batch-1 buffer holds the preprocessed photo."""
    spec = describe_model(default_model_path())
    if where == LOCAL:
        backend: Backend = OnnxBackend.open(spec.path, spec, "cpu", ProviderOptions(spin=False))
    else:
        backend = TritonBackend.open(backend_url(where), spec, timeout=30)
    Preprocessor(spec.preprocessing, backend.batch_buffer(1))(cv2.imread(str(PHOTO)), 0)
    return backend


def bench_latency(server: TritonServer, quick: bool) -> dict:
    paths = {"onnxruntime here": LOCAL, "Triton, gRPC": server.url(MODEL), "Triton, HTTP": server.url(MODEL, http=True)}
    backends = {name: open_backend(where) for name, where in paths.items()}
    for backend in backends.values():  # warm up
        for _ in range(5):
            backend.infer(1)
    wall: dict[str, list[float]] = {name: [] for name in backends}
    cpu: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(60 if quick else 300):
        for name, backend in backends.items():
            c0, t0 = time.process_time(), time.perf_counter()
            backend.infer(1)
            wall[name].append((time.perf_counter() - t0) * 1e3)
            cpu[name].append((time.process_time() - c0) * 1e3)
    rows = {name: {"median_ms": round(float(np.median(wall[name])), 2),
                   "p95_ms": round(float(np.percentile(wall[name], 95)), 2),
                   "client_cpu_ms": round(float(np.mean(cpu[name])), 2)} for name in backends}
    here = rows["onnxruntime here"]
    for name in ("Triton, gRPC", "Triton, HTTP"):
        rows[name]["added_ms"] = round(rows[name]["median_ms"] - here["median_ms"], 2)
        rows[name]["ratio_to_here"] = round(rows[name]["median_ms"] / here["median_ms"], 2)
    return {"rounds": len(wall["onnxruntime here"]), "rows": rows}


def _client(where: str, start_at: float, seconds: float, results: multiprocessing.Queue) -> None:
    """One box: open the backend, then from ``start_at`` infer back to back for ``seconds``."""
    for _ in range(3):  # under a heavy load a first connection can time out
        try:
            backend = open_backend(where)
            break
        except LiveClassifyError as error:
            print(f"  a client could not open {where} ({error}); trying again", file=sys.stderr, flush=True)
    else:
        results.put(0)
        return
    backend.infer(1)
    time.sleep(max(0.0, start_at - time.time()))
    frames, end = 0, start_at + seconds
    while time.time() < end:
        backend.infer(1)
        frames += 1
    results.put(frames)


def _rate(server: TritonServer, where: str, clients: int, seconds: float) -> tuple[float, float | None]:
    """Frames/s of ``clients`` processes together (they start at the same moment, once all are
    ready), and the mean size of the batches the server ran meanwhile (None: not on the server)."""
    logged = server.log.stat().st_size
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 8  # spawning and opening a backend take a few seconds here
    processes = [context.Process(target=_client, args=(where, start_at, seconds, results)) for _ in range(clients)]
    for process in processes:
        process.start()
    total = sum(results.get(timeout=seconds + 120) for _ in processes)
    for process in processes:
        process.join(30)
    with open(server.log, errors="replace") as log:
        log.seek(logged)
        sizes = [int(line.split()[2]) for line in log if line.startswith("batch ")]
    return round(total / seconds, 1), (round(float(np.mean(sizes)), 2) if where != LOCAL and sizes else None)


def bench_throughput(server: TritonServer, quick: bool) -> dict:
    seconds, repeats = (4.0, 1) if quick else (5.0, 4)
    runs = {"onnxruntime here, 1 process": (LOCAL, 1)}
    for clients in ("1 client", "4 clients"):
        runs[f"Triton, dynamic batching, {clients}"] = (server.url(MODEL), int(clients[0]))
        runs[f"Triton, no batching, {clients}"] = (server.url(f"{MODEL}_unbatched"), int(clients[0]))
    rates: dict[str, list[float]] = {name: [] for name in runs}
    batches: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(repeats):  # every other pass in the opposite order, against drift in the load
        for name in list(runs) if repeat % 2 == 0 else list(reversed(runs)):
            rate, batch = _rate(server, *runs[name], seconds)
            rates[name].append(rate)
            batches[name] += [batch] if batch else []
            print(f"  {name}: {rate} frames/s, mean batch {batch}", file=sys.stderr, flush=True)
    fps = {name: round(float(np.median(values)), 1) for name, values in rates.items()}
    mean_batch = {name: round(float(np.mean(values)), 2) if values else None for name, values in batches.items()}
    ratio = lambda a, b: round(fps[a] / fps[b], 2)  # noqa: E731
    return {"seconds": seconds, "repeats": repeats, "fps": fps, "each_run": rates, "mean_batch": mean_batch, "ratios": {
        "4 clients / 1, dynamic batching":
            ratio("Triton, dynamic batching, 4 clients", "Triton, dynamic batching, 1 client"),
        "4 clients / 1, no batching": ratio("Triton, no batching, 4 clients", "Triton, no batching, 1 client"),
        "dynamic batching / none, 4 clients":
            ratio("Triton, dynamic batching, 4 clients", "Triton, no batching, 4 clients"),
        "dynamic batching / none, 1 client":
            ratio("Triton, dynamic batching, 1 client", "Triton, no batching, 1 client"),
        "Triton 1 client / onnxruntime here":
            ratio("Triton, dynamic batching, 1 client", "onnxruntime here, 1 process"),
    }}


def markdown(report: dict) -> str:
    m = report["machine"]
    out = [f"# Triton Inference Server backend — {m['cpu']}, {m['cores']} cores, no GPU", "",
           f"{m['date']}; client onnxruntime {m['onnxruntime']}; server: PyTriton's tritonserver 2.51 on 127.0.0.1, "
           f"CPU-only, the same model in onnxruntime inside its Python backend (max batch 8, queue delay 0). "
           f"Produced by `python benchmarks/triton.py{' --quick' if report['quick'] else ''}`. "
           f"Load average (1 min) {report['load']['before']} before, {report['load']['after']} after: "
           "the machine is shared, so read the ratios.", ""]
    if "latency" in report:
        r = report["latency"]
        out += [f"## Stage 3 at batch 1 ({r['rounds']} rounds, in turn)", "",
                "| path | median ms | p95 ms | client CPU ms/frame | added ms | × here |",
                "| --- | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {name} | {v['median_ms']} | {v['p95_ms']} | {v['client_cpu_ms']} | {v.get('added_ms', '')} | "
                f"{v.get('ratio_to_here', '')} |" for name, v in r["rows"].items()]
        out += [""]
    if "throughput" in report:
        r = report["throughput"]
        out += [f"## Throughput ({r['seconds']:g} s per run, {r['repeats']} pass(es); the median)", "",
                "| run | frames/s | each pass | mean batch the server ran |", "| --- | ---: | --- | ---: |"]
        out += [f"| {name} | {fps} | {', '.join(map(str, r['each_run'][name]))} | {r['mean_batch'][name] or ''} |"
                for name, fps in r["fps"].items()]
        out += ["", "| ratio | |", "| --- | ---: |"] + [f"| {name} | {value}x |" for name, value in r["ratios"].items()]
        out += [""]
    out += ["Here the server and its clients share two cores, so sending a frame away only adds the trip "
            "(serializing 600 KB, gRPC or HTTP, the Python backend's hand-over) to the same CPU work. A GPU "
            "server changes the trade: inference there is a fraction of the trip, dynamic batching fills the "
            "GPU from many boxes, and each box keeps its CPU for capture, preprocessing and recording. That was "
            "not measured here (no GPU server), and no figure for it is guessed.", ""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter runs: about 1.5 minutes instead of about 5 on 2 cores")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write triton-<host>.json and .md (default: a new git-ignored folder "
                             "benchmarks/results/local-<host>-<date>; pass benchmarks/results to refresh the committed "
                             "report)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the server on the way out, as on Ctrl+C
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := set(chosen) - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    report: dict = {"machine": machine(), "quick": args.quick, "only": chosen,
                    "load": {"before": round(os.getloadavg()[0], 2)}}
    with tempfile.TemporaryDirectory() as folder, \
            TritonServer(default_model_path(), Path(folder) / "server.log", log_batches=True) as server:
        for section in chosen:
            print(f"[{time.strftime('%H:%M:%S')}] {section} ...", file=sys.stderr, flush=True)
            report[section] = globals()[f"bench_{section}"](server, args.quick)
    report["load"]["after"] = round(os.getloadavg()[0], 2)
    name = f"triton-{report['machine']['host']}"
    out = args.out or default_out(report["machine"]["host"], time.gmtime())
    save_report(out, name, report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
