"""A real Triton Inference Server on 127.0.0.1 serving an ONNX classifier, for the tests and benchmarks.

Runs in its OWN virtual environment (``nvidia-pytriton`` pins numpy 1.26 and brings its own
onnxruntime), never in the project's: ``tests/support/triton_env.py`` builds that environment and starts
this script. PyTriton's ``tritonserver`` 2.51 serves, through its Python backend, an onnxruntime
session of the model here, under several names:

* ``MODEL`` (the model's own name): batches of up to ``--max-batch``, dynamic batching on;
* ``MODEL_unbatched``: the same model, every request run alone (no dynamic batching);
* ``wrong_shape``: a model whose input is 3x160x160 (a server with another model than ours);
* ``slow``: the same signature as ``MODEL``, but it sleeps ``--slow-s`` seconds first.

Stop it with SIGTERM (``tritonserver`` ignores SIGINT). Prints ``ready`` once every model loads.
"""
from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig


def main() -> None:
    args = _parse()
    session = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
    image, scores = session.get_inputs()[0], session.get_outputs()[0]
    name = session.get_modelmeta().custom_metadata_map.get("name", args.model.stem)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # leaves the `with`: tritonserver stopped, workspace cleaned

    shape, classes = tuple(image.shape[1:]), tuple(scores.shape[1:])

    def scores_of(batch_of_images: np.ndarray) -> np.ndarray:
        return session.run([scores.name], {image.name: batch_of_images})[0]

    def slowly(batch_of_images: np.ndarray) -> np.ndarray:
        time.sleep(args.slow_s)
        return scores_of(batch_of_images)

    def zeros(batch_of_images: np.ndarray) -> np.ndarray:
        return np.zeros((len(batch_of_images), *classes), np.float32)

    config = TritonConfig(grpc_address="127.0.0.1", grpc_port=args.grpc_port, http_address="127.0.0.1",
                          http_port=args.http_port, allow_metrics=False, log_verbose=0)
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="live-classify-pytriton-")) / "pytriton"
    with Triton(config=config, workspace=workspace) as triton:  # stopping it removes the workspace
        for model, function, input_shape, batcher in [
            (name, scores_of, shape, DynamicBatcher(max_queue_delay_microseconds=args.queue_delay_us)),
            (f"{name}_unbatched", scores_of, shape, None),
            ("wrong_shape", zeros, (3, 160, 160), None),
            ("slow", slowly, shape, None),
        ]:
            infer = _batched(function, image.name, scores.name, model if args.log_batches else None)
            triton.bind(model_name=model, infer_func=infer,
                        inputs=[Tensor(name=image.name, dtype=np.float32, shape=input_shape)],
                        outputs=[Tensor(name=scores.name, dtype=np.float32, shape=classes)],
                        config=ModelConfig(max_batch_size=args.max_batch, batcher=batcher), strict=True)
        triton.run()
        print("ready", flush=True)
        triton.serve()


def _batched(function: Callable[[np.ndarray], np.ndarray], input_name: str, output_name: str,
             log_as: str | None) -> Callable:
    """A PyTriton inference function: the requests the server grouped, as one batch (its size
    printed as ``batch MODEL N`` when ``log_as`` names the model)."""

    @batch
    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        if log_as:
            print(f"batch {log_as} {len(inputs[input_name])}", flush=True)
        return {output_name: function(inputs[input_name])}

    return infer


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="the ONNX classifier to serve")
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--workspace", type=Path, help="PyTriton's files, removed at the end (must not exist)")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--queue-delay-us", type=int, default=0,
                        help="dynamic batching: wait this long for more requests")
    parser.add_argument("--log-batches", action="store_true", help="print each batch's size (for benchmarks/triton.py)")
    parser.add_argument("--slow-s", type=float, default=3.0, help="how long the 'slow' model sleeps")
    return parser.parse_args()


if __name__ == "__main__":
    main()
