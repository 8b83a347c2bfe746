"""The server's declared model against the local file's, field by field (no server needed)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from live_classify.engine.model import ModelSpec, default_model_path, describe_model
from live_classify.engine.triton_signature import ServerModel, ServerTensor, check_compatible
from live_classify.errors import LiveClassifyError


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return describe_model(default_model_path())


def served(input_shape: list[str], max_batch: int = 8, output_type: str = "FP32") -> ServerModel:
    metadata = {"inputs": [{"name": "input", "datatype": "FP32", "shape": input_shape}],
                "outputs": [{"name": "logits", "datatype": output_type, "shape": ["-1", "1000"]}]}
    return ServerModel.of(metadata, {"max_batch_size": str(max_batch)})


def refusal(server: ServerModel, spec: ModelSpec) -> str:
    with pytest.raises(LiveClassifyError) as raised:
        check_compatible(server, spec, "server")
    return str(raised.value)


def test_tritons_answers_become_tensors_with_open_dimensions_as_none() -> None:
    """gRPC leaves out empty lists and zeros: a model without inputs, a tensor without a shape."""
    assert ServerModel.of({}, {}) == ServerModel((), (), 0)
    model = ServerModel.of({"inputs": [{"name": "x", "datatype": "FP16"}],
                            "outputs": [{"name": "y", "datatype": "FP64", "shape": ["1", "0", "-1", 7]}]},
                           {"max_batch_size": "3"})
    assert model == ServerModel((ServerTensor("x", "FP16", ()),), (ServerTensor("y", "FP64", (1, None, None, 7)),), 3)


def test_a_fixed_local_batch_caps_the_servers(spec: ModelSpec) -> None:
    fixed = replace(spec, input_shape=(4, 3, 224, 224))
    assert check_compatible(served(["-1", "3", "224", "224"], max_batch=8), fixed, "server") == 4
    assert check_compatible(served(["-1", "3", "224", "224"], max_batch=2), fixed, "server") == 2
    undeclared = replace(spec, input_shape=())  # a spec made without the file's shapes: any batch
    assert check_compatible(served(["-1", "3", "224", "224"], max_batch=8), undeclared, "server") == 8


def test_each_refusal_names_the_tensor_its_role_and_both_sides(spec: ModelSpec) -> None:
    assert refusal(served(["-1", "3", "160", "160"]), spec) == (
        "server has input 'input' as Nx3x160x160; the local model efficientnet_lite0.onnx has Nx3x224x224")
    assert refusal(served([], max_batch=0), spec) == (
        "server has input 'input' as a scalar; the local model efficientnet_lite0.onnx has Nx3x224x224")
    assert refusal(served(["-1", "3", "224", "224"], output_type="FP16"), spec) == (
        "server has output 'logits' as FP16; the local model efficientnet_lite0.onnx has FP32")
    server = ServerModel.of({"inputs": [{"name": "input", "datatype": "FP32", "shape": ["-1", "3", "224", "224"]}],
                             "outputs": [{"name": "logits", "datatype": "FP32", "shape": ["-1", "10"]}]}, {})
    assert refusal(server, spec) == (
        "server has output 'logits' as Nx10; the local model efficientnet_lite0.onnx has Nx1000")


def test_a_scores_type_triton_has_no_name_for_is_compared_as_the_file_says(spec: ModelSpec) -> None:
    odd = replace(spec, output_type="tensor(uint8)")
    assert refusal(served(["-1", "3", "224", "224"]), odd).endswith("has tensor(uint8)")
