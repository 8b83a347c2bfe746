"""Stages 2–4 together: I/O binding against plain session.run, providers, accuracy on real photos."""
from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from conftest import CHELSEA, COFFEE

from live_classify.engine.classifier import Classifier
from live_classify.engine.model import default_model_path
from live_classify.engine.preprocess import center_crop_box, resize_antialiased
from live_classify.engine.providers import CPU, CUDA, ProviderOptions, open_session
from live_classify.errors import LiveClassifyError

CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


def gpu_works() -> bool:
    """True only on a machine where the CUDA provider really starts."""
    try:
        return open_session(default_model_path(), "cuda", ProviderOptions()).provider == CUDA
    except LiveClassifyError:
        return False


def test_io_binding_gives_what_plain_run_gives(classifier: Classifier) -> None:
    session = classifier.backend.opened.session
    for photo in (CHELSEA, COFFEE):
        classifier.preprocess(cv2.imread(str(photo)))
        feed = {classifier.spec.input_name: classifier.backend.bound.input}
        plain = session.run([classifier.spec.output_name], feed)[0]
        bound = classifier.backend.bound.run()
        assert bound.shape == plain.shape == (1, 1000)
        np.testing.assert_allclose(bound, plain, atol=1e-5)


def test_bound_buffers_are_reused_not_reallocated(classifier: Classifier) -> None:
    """Preprocessing writes into the very memory the session reads: no copy, no re-bind per frame."""
    buffer = classifier.backend.bound.input
    classifier.preprocess(cv2.imread(str(CHELSEA)))
    first = classifier.backend.bound.run().copy()
    classifier.preprocess(cv2.imread(str(COFFEE)))
    assert classifier.backend.bound.input is buffer
    assert not np.allclose(classifier.backend.bound.run(), first)


def test_a_batch_padded_to_a_fixed_size_answers_as_the_frames_alone(classifier: Classifier) -> None:
    frames = [cv2.imread(str(CHELSEA)), cv2.imread(str(COFFEE))]
    classifier.classify_batch([frames[1]] * 4)  # the spare rows hold another batch's pixels
    padded = classifier.classify_batch(frames, pad_to=4)
    alone = [classifier.classify(frame) for frame in frames]
    assert len(padded) == 2
    for p, a in zip(padded, alone, strict=True):
        assert p.top.labels == a.top.labels
        np.testing.assert_allclose(p.probabilities, a.probabilities, atol=1e-5)


def test_photos_are_classified_correctly(classifier: Classifier) -> None:
    cat = classifier.classify(cv2.imread(str(CHELSEA)))
    assert cat.top.label in CAT_CLASSES, cat.top
    assert set(cat.top.labels[:3]) <= CAT_CLASSES | {"lynx"}
    coffee = classifier.classify(cv2.imread(str(COFFEE)))
    assert coffee.top.label == "espresso" and coffee.top.score > 0.8, coffee.top
    assert sum(coffee.top.scores) <= 1.0 + 1e-6
    assert min(coffee.times.preprocess_ms, coffee.times.inference_ms) > 0


def test_the_engine_feeds_the_model_rgb_and_the_crop(classifier: Classifier) -> None:
    """The tensor the engine binds follows EfficientNet-Lite0's recipe (center crop 0.875, RGB,
    (x - 127) / 128), and the recipe matters: the same tensor with its channels swapped, or made
    from the frame squashed without the crop, changes the answer."""
    bgr = cv2.imread(str(CHELSEA))
    classifier.preprocess(bgr)
    tensor = classifier.backend.bound.input.copy()
    top, left, h, w = center_crop_box(*bgr.shape[:2], classifier.spec.preprocessing)
    assert h == w == round(min(bgr.shape[:2]) * 0.875)
    resized = resize_antialiased(bgr[top : top + h, left : left + w], np.empty((224, 224, 3), np.uint8))
    rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB).astype(np.float32)
    np.testing.assert_allclose(tensor, ((rgb - 127) / 128).transpose(2, 0, 1)[None], atol=1e-5)
    right = classifier.backend.bound.run().copy()
    assert classifier.spec.labels[int(right.argmax())] in CAT_CLASSES
    classifier.backend.bound.input[:] = tensor[:, ::-1]  # the model now sees BGR
    assert np.abs(classifier.backend.bound.run() - right).max() > 0.5
    classifier.preprocess(cv2.resize(bgr, (224, 224)))  # squashed, no crop
    assert np.abs(classifier.backend.bound.run() - right).max() > 0.5


def test_cpu_provider_runs_and_says_so_in_one_line(model_path) -> None:
    opened = open_session(model_path, "cpu", ProviderOptions())
    assert opened.session.get_providers()[0] == CPU
    assert opened.device == "cpu"
    assert "\n" not in opened.describe() and "CPU" in opened.describe()


@pytest.mark.skipif("CUDAExecutionProvider" not in ort.get_available_providers(), reason="CPU-only onnxruntime build")
def test_auto_falls_back_quietly_and_says_why(model_path, capfd) -> None:
    if gpu_works():
        pytest.skip("a GPU really works here; the fallback cannot be seen")
    capfd.readouterr()
    opened = open_session(model_path, "auto", ProviderOptions())
    out, err = capfd.readouterr()
    assert opened.provider == CPU
    assert out == "" and err == "", "onnxruntime's wall of errors leaked"
    assert "CUDA unavailable:" in opened.describe() and "\n" not in opened.describe()


@pytest.mark.skipif("CUDAExecutionProvider" not in ort.get_available_providers(), reason="CPU-only onnxruntime build")
@pytest.mark.parametrize("choice", ["cuda", "tensorrt"])
def test_a_gpu_named_explicitly_never_falls_back(model_path, choice) -> None:
    if gpu_works():
        pytest.skip("a GPU really works here")
    with pytest.raises(LiveClassifyError, match="cannot start"):
        open_session(model_path, choice, ProviderOptions())


def test_unknown_provider_is_an_error(model_path) -> None:
    with pytest.raises(LiveClassifyError, match="unknown provider"):
        open_session(model_path, "opencl", ProviderOptions())
