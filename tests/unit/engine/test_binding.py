"""I/O binding details the end-to-end tests cannot see: defaults, batch limits, the normalization
session's settings and the device id on every device allocation (faked where a GPU would be needed)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from foreign_models import pooled_classifier

from live_classify.engine import binding
from live_classify.engine.binding import BoundSession
from live_classify.engine.model import Preprocessing

PRE = Preprocessing(8, 8, 1.0, "RGB", (10.0, 20.0, 30.0), (2.0, 4.0, 8.0))


def cpu_session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_the_defaults_are_host_normalization_device_zero_no_graph_pinned(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binding, "_open_normalizer", lambda device, device_id: pytest.fail("no normalization graph"))
    session = cpu_session(pooled_classifier(tmp_path / "tiny.onnx", classes=6))
    bound = BoundSession(session, "image", "scores", PRE, "cpu")
    assert (bound.device_id, bound.normalize_on_device, bound.cuda_graph, bound.pin) == (0, False, False, True)
    assert bound.input.dtype == np.float32 and bound.input.shape == (1, 3, 8, 8)
    assert bound.classes == 6 and bound.max_batch is None and bound.pinned is False


class FixedBatch:
    """A session whose input declares ``batch`` as its first dimension."""

    def __init__(self, batch: object) -> None:
        self.batch = batch

    def get_inputs(self) -> list[ort.NodeArg]:
        return [type("Input", (), {"shape": [self.batch, 3, 8, 8]})()]

    def get_outputs(self) -> list[ort.NodeArg]:
        return [type("Output", (), {"name": "scores"})()]

    def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [np.zeros((1, 5), np.float32)]


@pytest.mark.parametrize("batch, max_batch", [(4, 4), (1, 1), (0, None), (-1, None), ("N", None), (None, None)])
def test_the_largest_batch_is_the_models_fixed_one(batch: object, max_batch: int | None) -> None:
    assert BoundSession(FixedBatch(batch), "image", "scores", PRE, "cpu").max_batch == max_batch  # type: ignore[arg-type]


def test_a_batch_outside_the_models_range_is_refused() -> None:
    bound = BoundSession(FixedBatch(2), "image", "scores", PRE, "cpu")  # type: ignore[arg-type]
    for n, message in ((3, "batch of 3: the model takes 1 to 2 images"),
                       (0, "batch of 0: the model takes 1 to 2 images")):
        with pytest.raises(ValueError) as raised:
            bound.buffers(n)
        assert str(raised.value) == message
    with pytest.raises(ValueError, match="^batch of 0: the model takes 1 to any number of images$"):
        BoundSession(FixedBatch("N"), "image", "scores", PRE, "cpu").buffers(0)  # type: ignore[arg-type]


def test_the_class_count_is_the_named_outputs_not_the_first(tmp_path: Path) -> None:
    from onnx import TensorProto, helper, save
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["first"], axes=[2, 3], keepdims=0),
         helper.make_node("Identity", ["image"], ["scores"])], "two",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("first", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 3, "H", "W"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, tmp_path / "two.onnx")
    assert BoundSession(cpu_session(tmp_path / "two.onnx"), "image", "scores", PRE, "cpu").classes == 3 * 8 * 8


def test_the_normalization_parameters_follow_the_color_order() -> None:
    rgb = binding._normalize_parameters(PRE)
    np.testing.assert_array_equal(rgb["channels"], [2, 1, 0])
    assert rgb["channels"].dtype == np.int64
    np.testing.assert_array_equal(rgb["mean"].reshape(-1), [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(rgb["inv_std"].reshape(-1), [0.5, 0.25, 0.125])
    assert rgb["mean"].shape == rgb["inv_std"].shape == (1, 3, 1, 1)
    bgr = Preprocessing(8, 8, 1.0, "BGR", (1.0,) * 3, (1.0,) * 3)
    np.testing.assert_array_equal(binding._normalize_parameters(bgr)["channels"], [0, 1, 2])


class Opened:
    """Stands in for ``ort.InferenceSession``: records how the normalization graph was opened."""

    def __init__(self, graph: bytes, options: ort.SessionOptions, providers: list[object]) -> None:
        self.graph, self.options, self.providers = graph, options, providers


@pytest.mark.parametrize("device, device_id, providers", [
    ("cpu", 0, ["CPUExecutionProvider"]),
    ("cuda", 2, [("CUDAExecutionProvider", {"device_id": 2})]),
])
def test_the_normalization_graph_opens_on_the_models_device_with_one_quiet_thread(
        monkeypatch: pytest.MonkeyPatch, device: str, device_id: int, providers: list[object]) -> None:
    monkeypatch.setattr(binding.ort, "InferenceSession", Opened)
    opened = binding._open_normalizer(device, device_id)
    assert opened.graph == (resources.files("live_classify.engine") / "normalize.onnx").read_bytes()
    assert opened.providers == providers
    assert opened.options.intra_op_num_threads == 1 and opened.options.log_severity_level == 3
    assert opened.options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_every_device_buffer_is_made_on_the_sessions_device_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A box with several GPUs: buffers on GPU 0 for a model on GPU 1 fail or copy across. The CPU
    provider ignores the id, so the allocations are watched (and made on device 0)."""
    devices: list[tuple[str, int]] = []
    from_shape, from_numpy = ort.OrtValue.ortvalue_from_shape_and_type, ort.OrtValue.ortvalue_from_numpy

    def shaped(shape, dtype, device="cpu", device_id=0):  # noqa: ANN001, ANN202
        devices.append((device, device_id))
        return from_shape(shape, dtype, device, 0)

    def wrapped(array, device="cpu", device_id=0):  # noqa: ANN001, ANN202
        devices.append((device, device_id))
        return from_numpy(array, device, 0)

    monkeypatch.setattr(binding.ort.OrtValue, "ortvalue_from_shape_and_type", staticmethod(shaped))
    monkeypatch.setattr(binding.ort.OrtValue, "ortvalue_from_numpy", staticmethod(wrapped))
    opened: list[tuple[str, int]] = []

    def normalizer(device: str, device_id: int) -> ort.InferenceSession:
        opened.append((device, device_id))
        graph = (resources.files("live_classify.engine") / "normalize.onnx").read_bytes()
        return binding.ort.InferenceSession(graph, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(binding, "_open_normalizer", normalizer)
    session = cpu_session(pooled_classifier(tmp_path / "tiny.onnx"))
    bound = BoundSession(session, "image", "scores", PRE, "cpu", device_id=1, normalize_on_device=True)
    bound.buffers(2)
    device_side = [d for d in devices if d != ("cpu", 0)]
    assert device_side and all(d == ("cpu", 1) for d in device_side), devices
    assert len(device_side) == 4  # the model's input and the three normalization parameters
    assert opened == [("cpu", 1)]


def test_host_buffers_of_a_cpu_session_are_never_page_locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Page-locking is for copies to a GPU; the CPU provider reads the buffer where it is."""
    locked: list[np.ndarray] = []
    monkeypatch.setattr(binding, "page_lock", lambda array: locked.append(array) or True)
    bound = BoundSession(cpu_session(pooled_classifier(tmp_path / "tiny.onnx")), "image", "scores", PRE, "cpu")
    assert bound.pinned is False and locked == []
