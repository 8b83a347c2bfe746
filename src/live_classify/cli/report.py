"""How results are written for people (text, the four-stage trace) and for programs (JSON)."""
from __future__ import annotations

import json

import numpy as np

from live_classify.engine.classifier import Classifier
from live_classify.engine.onnx_backend import OnnxBackend
from live_classify.engine.postprocess import UNKNOWN, is_unknown
from live_classify.engine.results import Classification, stage_times, top_records, unknown_field


def as_text(name: str, result: Classification, min_confidence: float | None = None) -> str:
    """The top-k for one image, one class per line, the ranks right-aligned (1. to 1000.); first
    "unknown" when the top score is too low."""
    rows = [name]
    width = len(str(len(result.top.labels)))
    if is_unknown(result.top, min_confidence):
        rows.append(f"  {UNKNOWN}: the top score {result.top.score:.1%} is below --min-confidence {min_confidence:g}")
    for rank, (label, score) in enumerate(zip(result.top.labels, result.top.scores, strict=True), start=1):
        rows.append(f"  {rank:>{width}}. {score:6.1%}  {label}")
    return "\n".join(rows)


def as_record(name: str, result: Classification, min_confidence: float | None = None) -> dict[str, object]:
    """One JSON-ready record: the source, the top-k (and whether it is "unknown") and the stage times."""
    return {
        "source": name,
        "top": top_records(result.top),
        **unknown_field(result.top, min_confidence),
        "times_ms": stage_times(result),
    }


def as_json(name: str, result: Classification, min_confidence: float | None = None) -> str:
    return json.dumps(as_record(name, result, min_confidence), ensure_ascii=False)


def as_trace(name: str, image: np.ndarray, decode_ms: float, result: Classification, classifier: Classifier,
             min_confidence: float | None = None) -> str:
    """The four stages a frame goes through, with the tensor after each and its time."""
    spec = classifier.spec
    answer = f"{result.top.label!r} {result.top.score:.1%}"
    if is_unknown(result.top, min_confidence):
        answer = f"{UNKNOWN} ({answer})"
    backend = classifier.backend
    tensor = backend.batch_buffer(1)
    scores_shape = f"1x{backend.classes}"
    h, w = image.shape[:2]
    rows = [
        name,
        _stage("1 input", f"{h}x{w}x3 {image.dtype}", decode_ms, "decoded, BGR"),
        _stage("2 preprocessing", f"{'x'.join(map(str, tensor.shape))} {tensor.dtype}",
               result.times.preprocess_ms, spec.preprocessing.describe()
               + ("; normalized in the graph" if backend.normalize_on_device else "")),
        _stage("3 inference", f"{scores_shape} float32", result.times.inference_ms,
               f"{spec.name} on {backend.provider}" + (", I/O binding" if isinstance(backend, OnnxBackend) else "")),
        _stage("4 postprocessing", answer, result.times.postprocess_ms,
               f"{'softmax, ' if spec.outputs_logits is not False else ''}top-{len(result.top.labels)}"),
    ]
    return "\n".join(rows)


def _stage(stage: str, shape: str, ms: float, detail: str) -> str:
    return f"  [{stage:<16}] {shape:<26} {ms:8.2f} ms  {detail}"
