"""The GPU-first engine, checked on the CPU provider (same code path): normalization inside a graph
on uint8 pixels, batches bound once per size, and CUDA graphs that fall back without leaving the GPU."""
from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE
from foreign_models import pooled_classifier

from live_classify.engine import providers
from live_classify.engine.classifier import Classifier
from live_classify.engine.model import Overrides
from live_classify.engine.providers import ProviderOptions
from live_classify.errors import LiveClassifyError

PHOTOS = [cv2.imread(str(CHELSEA)), cv2.imread(str(COFFEE))]
NO_OVERRIDES = Overrides()  # frozen: safe as a shared default


def open_cpu(model: Path, normalize: str, overrides: Overrides = NO_OVERRIDES) -> Classifier:
    return Classifier.open(model, "cpu", overrides, ProviderOptions(normalize=normalize))


@pytest.fixture(scope="module")
def on_device(model_path: Path) -> Classifier:
    return open_cpu(model_path, "device")


def test_uint8_pixels_go_in_when_normalizing_on_the_device(on_device: Classifier) -> None:
    assert on_device.backend.bound.input.dtype == np.uint8 and on_device.backend.bound.input.shape == (1, 224, 224, 3)


def test_device_normalization_gives_the_host_answers(classifier: Classifier, on_device: Classifier) -> None:
    for photo in PHOTOS:
        host = classifier.classify(photo)
        device = on_device.classify(photo)
        np.testing.assert_allclose(device.probabilities, host.probabilities, atol=1e-5)
        assert device.top.class_ids == host.top.class_ids


@pytest.mark.parametrize("overrides", [
    Overrides(color_order="BGR"),
    Overrides(mean=(10.0, 120.0, 250.0), std=(20.0, 60.0, 90.0)),
], ids=["bgr", "per-channel-mean-std"])
def test_device_normalization_follows_the_models_recipe(tmp_path: Path, overrides: Overrides) -> None:
    """Channel order and per-channel statistics reach the graph: the model's input is the host's, bit for bit."""
    model = pooled_classifier(tmp_path / "tiny.onnx", classes=4)
    host, device = open_cpu(model, "host", overrides), open_cpu(model, "device", overrides)
    for photo in PHOTOS:
        host.preprocess(photo)
        device.preprocess(photo)
        np.testing.assert_allclose(device.backend.bound.run(), host.backend.bound.run(), rtol=1e-6, atol=1e-6)
        assert not np.array_equal(host.backend.bound.run(), np.zeros_like(host.backend.bound.run()))


@pytest.mark.parametrize("normalize", ["host", "device"])
def test_a_batch_gives_each_frames_own_answer(model_path: Path, normalize: str) -> None:
    engine = open_cpu(model_path, normalize)
    alone = [engine.classify(photo) for photo in PHOTOS]
    frames = [PHOTOS[0], PHOTOS[1], PHOTOS[1], PHOTOS[0]]
    batch = engine.classify_batch(frames)
    assert [r.top.class_ids for r in batch] == [alone[i].top.class_ids for i in (0, 1, 1, 0)]
    for result, i in zip(batch, (0, 1, 1, 0), strict=True):
        np.testing.assert_allclose(result.probabilities, alone[i].probabilities, atol=1e-5)


def test_batch_buffers_are_bound_once_per_size(classifier: Classifier) -> None:
    first = classifier.backend.bound.buffers(4)
    classifier.classify_batch(PHOTOS * 2)
    again = classifier.backend.bound.buffers(4)
    assert again is first and again.host.shape == (4, 3, 224, 224)
    assert classifier.backend.bound.buffers(1) is not first


def test_a_fixed_batch_model_refuses_bigger_batches(tmp_path: Path) -> None:
    engine = open_cpu(pooled_classifier(tmp_path / "one.onnx", input_shape=[1, 3, 224, 224]), "host")
    assert engine.backend.bound.max_batch == 1
    with pytest.raises(ValueError, match="batch of 2"):
        engine.classify_batch(PHOTOS)


def test_the_shipped_normalization_graph_is_what_its_script_makes() -> None:
    script = Path(__file__).resolve().parents[3] / "models" / "make_normalize_graph.py"
    spec = importlib.util.spec_from_file_location("make_normalize_graph", script)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    shipped = (resources.files("live_classify.engine") / "normalize.onnx").read_bytes()
    assert shipped == module.build().SerializeToString()


class _CudaSession:
    """Stands in for a session that onnxruntime opened on CUDA (this machine has no GPU)."""

    def get_providers(self) -> list[str]:
        return [providers.CUDA, providers.CPU]


def _graph_refused(attempts: list[ProviderOptions]):  # noqa: ANN202 - a stand-in for providers._try_provider
    def attempt(model: Path, provider: str, options: ProviderOptions):  # noqa: ANN202
        attempts.append(options)
        if options.cuda_graph is not False:
            return None, "This session cannot use the graph capture feature as requested by the user"
        return _CudaSession(), ""
    return attempt


def test_a_model_that_cannot_be_captured_runs_on_cuda_without_the_graph(model_path: Path, monkeypatch) -> None:
    """The default (graph where possible) must not send such a model to the CPU."""
    attempts: list[ProviderOptions] = []
    monkeypatch.setattr(providers, "_try_provider", _graph_refused(attempts))
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: [providers.CUDA, providers.CPU])
    opened = providers.open_session(model_path, "cuda", ProviderOptions())
    assert opened.provider == providers.CUDA and not opened.cuda_graph
    assert [a.cuda_graph for a in attempts] == [None, False]
    assert "CUDA graph off: This session cannot use the graph capture" in opened.describe()
    assert "\n" not in opened.describe()


def test_a_cuda_graph_asked_for_explicitly_is_not_dropped_quietly(model_path: Path, monkeypatch) -> None:
    attempts: list[ProviderOptions] = []
    monkeypatch.setattr(providers, "_try_provider", _graph_refused(attempts))
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: [providers.CUDA, providers.CPU])
    with pytest.raises(LiveClassifyError, match="CUDA cannot start: This session cannot use the graph capture"):
        providers.open_session(model_path, "cuda", ProviderOptions(cuda_graph=True))
    assert len(attempts) == 1
