"""The classifier and the onnxruntime backend on a tiny model whose answers are computed by hand."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from foreign_models import failing_model, pooled_classifier

from live_classify.engine.classifier import Classifier
from live_classify.engine.model import Overrides, describe_model
from live_classify.engine.onnx_backend import OnnxBackend
from live_classify.engine.postprocess import Smoother, softmax
from live_classify.engine.providers import CPU, CUDA, OpenedSession, ProviderOptions, open_session
from live_classify.errors import LiveClassifyError

CLASSES = 10
WEIGHTS = np.random.default_rng(1).standard_normal((3, CLASSES)).astype(np.float32)  # pooled_classifier's own
METADATA = {"input_size": "16", "crop_fraction": "1", "color_order": "RGB", "mean": "[0, 0, 0]",
            "std": "[255, 255, 255]", "output": "logits"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pooled_classifier(tmp_path_factory.mktemp("tiny") / "tiny.onnx", classes=CLASSES, metadata=METADATA)


def uniform(b: int, g: int, r: int) -> np.ndarray:
    frame = np.empty((20, 30, 3), np.uint8)
    frame[...] = (b, g, r)
    return frame


def expected(b: int, g: int, r: int) -> np.ndarray:
    """A uniform frame pools to its RGB color / 255: the scores are that times the weights."""
    return softmax(np.array([r, g, b], np.float32) / 255 @ WEIGHTS)


def test_a_frame_gets_the_hand_computed_probabilities_and_the_top_five(tiny: Path) -> None:
    engine = Classifier.open(tiny, "cpu")
    result = engine.classify(uniform(10, 200, 90))
    want = expected(10, 200, 90)
    np.testing.assert_allclose(result.probabilities, want, rtol=1e-5)
    order = tuple(int(i) for i in np.argsort(-want)[:5])
    assert result.top.class_ids == order and result.top.labels == tuple(f"class {i}" for i in order)
    assert min(result.times.preprocess_ms, result.times.inference_ms, result.times.postprocess_ms) > 0


def test_a_batch_answers_each_frame_and_padding_adds_no_answers(tiny: Path) -> None:
    engine = Classifier.open(tiny, "cpu", top=3)
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    results = engine.classify_batch([uniform(*c) for c in colors], pad_to=5)
    assert len(results) == 3
    for result, color in zip(results, colors, strict=True):
        np.testing.assert_allclose(result.probabilities, expected(*color), rtol=1e-5)
        assert len(result.top.class_ids) == 3
    assert engine.backend.batch_buffer(5).shape == (5, 3, 16, 16)
    assert len(engine.classify_batch([uniform(1, 2, 3)], pad_to=None)) == 1


def test_smoothing_averages_the_probabilities_and_reranks(tiny: Path) -> None:
    engine = Classifier.open(tiny, "cpu")
    smoother = Smoother(0.5)
    first = engine.smoothed(engine.classify(uniform(255, 0, 0)), smoother)
    np.testing.assert_allclose(first.probabilities, expected(255, 0, 0), rtol=1e-5)
    raw = engine.classify(uniform(0, 0, 255))
    second = engine.smoothed(raw, smoother)
    mean = (expected(255, 0, 0) + expected(0, 0, 255)) / 2
    np.testing.assert_allclose(second.probabilities, mean, rtol=1e-5)
    assert second.top.class_ids == tuple(int(i) for i in np.argsort(-mean)[:5])
    assert second.times == raw.times


def test_a_sibling_has_its_own_buffers_and_the_same_answers(tiny: Path) -> None:
    engine = Classifier.open(tiny, "cpu", Overrides(crop_fraction=0.5), top=2)
    sibling = engine.sibling()
    assert sibling.spec == engine.spec and sibling.top == 2
    assert sibling.backend.batch_buffer(1) is not engine.backend.batch_buffer(1)
    assert sibling.backend.spec == engine.backend.spec and sibling.backend.options == engine.backend.options
    frame = uniform(30, 60, 90)
    np.testing.assert_allclose(sibling.classify(frame).probabilities, engine.classify(frame).probabilities)


def test_open_uses_the_overrides_and_the_best_provider_by_default(tiny: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"thing {i}\n" for i in range(CLASSES)), encoding="utf-8")
    engine = Classifier.open(tiny, overrides=Overrides(labels_file=labels))
    assert engine.spec.labels[0] == "thing 0"
    assert engine.backend.provider in (CPU, CUDA, "TensorrtExecutionProvider")
    assert engine.top == 5
    assert Classifier(engine.spec, engine.backend).top == 5


def test_the_backend_passes_on_what_runs_it_and_its_graph_setting(tiny: Path) -> None:
    opened = open_session(tiny, "cpu", ProviderOptions())
    claimed = OpenedSession(opened.session, CPU, {CUDA: "no CUDA-capable device is detected"}, cuda_graph=True)
    backend = OnnxBackend(claimed, describe_model(tiny), ProviderOptions(normalize="host"))
    assert (backend.provider, backend.short_name, backend.classes, backend.max_batch) == (CPU, "CPU", CLASSES, None)
    assert backend.normalize_on_device is False and backend.bound.cuda_graph is True
    assert backend.describe() == ("running on CPU (CPUExecutionProvider) with CUDA graphs — "
                                  "CUDA unavailable: no CUDA-capable device is detected")
    assert backend.describe(verbose=False) == ("running on CPU (CPUExecutionProvider) with CUDA graphs; "
                                               "CUDA not available (--verbose says why)")
    assert backend.infer(1).shape == (1, CLASSES)


def test_a_model_that_fails_on_its_first_run_is_one_line(tmp_path: Path) -> None:
    model = failing_model(tmp_path / "failing.onnx")
    with pytest.raises(LiveClassifyError) as raised:
        Classifier.open(model, "cpu")
    message = str(raised.value)
    assert message.startswith("the model fails on a 1x3x224x224 input: [ONNXRuntimeError]"), message
    assert "\n" not in message and "Reshape" in message


def test_stage_times_are_milliseconds_between_the_stages(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Classifier.open(tiny, "cpu")
    clock = iter([10.0, 10.002, 10.0055, 10.006])  # preprocess 2 ms, inference 3.5 ms, postprocess 0.5 ms
    monkeypatch.setattr("live_classify.engine.classifier.time.perf_counter", lambda: next(clock))
    times = engine.classify(uniform(1, 2, 3)).times
    assert times.preprocess_ms == pytest.approx(2.0) and times.inference_ms == pytest.approx(3.5)
    assert times.postprocess_ms == pytest.approx(0.5)


def test_scores_the_model_calls_probabilities_are_taken_as_they_are(tmp_path: Path) -> None:
    """Not guessed from their values: these sum to anything and have negatives, yet are not softmaxed."""
    model = pooled_classifier(tmp_path / "p.onnx", classes=CLASSES, metadata={**METADATA, "output": "probabilities"})
    result = Classifier.open(model, "cpu").classify(uniform(10, 200, 90))
    np.testing.assert_allclose(result.probabilities, np.array([90, 200, 10], np.float32) / 255 @ WEIGHTS, rtol=1e-5)
