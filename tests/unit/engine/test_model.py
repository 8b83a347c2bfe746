"""What a model file says about itself (metadata, shapes) and what the flags change, field by field."""
from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from foreign_models import pooled_classifier, vector_model
from onnx import TensorProto, helper

from live_classify.engine import model as model_module
from live_classify.engine.model import (
    TORCHVISION_MEAN,
    TORCHVISION_STD,
    ModelSpec,
    Overrides,
    Preprocessing,
    check_model_file,
    default_model_path,
    describe_model,
    with_class_count,
)
from live_classify.errors import LiveClassifyError

DEFAULTS_NOTICE = ("the model's metadata lacks crop_fraction, color_order, mean, std: using ImageNet defaults "
                   "(override with --crop-fraction, --color-order, --mean, --std)")
NO_OVERRIDES = Overrides()  # frozen: safe as a shared default
FULL = {"name": "tiny-net", "input_size": "96", "crop_fraction": "0.5", "color_order": "bgr", "mean": "[1, 2, 3]",
        "std": "[4, 5.5, 6]", "labels": json.dumps(["a", "b", "c", "d"]), "output": "logits"}


def error_of(path: Path, overrides: Overrides = NO_OVERRIDES) -> str:
    with pytest.raises(LiveClassifyError) as raised:
        describe_model(path, overrides)
    return str(raised.value)


def two_outputs(path: Path, first: str, second: str) -> Path:
    """A model with two outputs, in the given order: [N,3] scores, then the [N,3,H,W] image itself."""
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], [first], axes=[2, 3], keepdims=0),
         helper.make_node("Identity", ["image"], [second])], "two",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info(first, TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info(second, TensorProto.FLOAT, ["N", 3, "H", "W"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_every_field_of_the_metadata_is_read(tmp_path: Path) -> None:
    path = pooled_classifier(tmp_path / "tiny.onnx", metadata=FULL)
    assert describe_model(path) == ModelSpec(
        path=path, name="tiny-net", input_name="image", output_name="scores", labels=("a", "b", "c", "d"),
        preprocessing=Preprocessing(96, 96, 0.5, "BGR", (1.0, 2.0, 3.0), (4.0, 5.5, 6.0)), outputs_logits=True,
        notices=(), input_shape=(None, 3, None, None), output_shape=(None, 4), output_type="tensor(float)")


def test_a_model_without_metadata_gets_torchvisions_recipe_its_own_size_and_a_notice(tmp_path: Path) -> None:
    path = pooled_classifier(tmp_path / "bare.onnx", input_shape=[2, 3, 64, 48])
    assert describe_model(path) == ModelSpec(
        path=path, name="bare", input_name="image", output_name="scores", labels=None,
        preprocessing=Preprocessing(64, 48, 0.875, "RGB", TORCHVISION_MEAN, TORCHVISION_STD), outputs_logits=None,
        notices=(DEFAULTS_NOTICE,), input_shape=(2, 3, 64, 48), output_shape=(2, 4))
    open_size = describe_model(pooled_classifier(tmp_path / "open.onnx", input_shape=["N", 3, 0, 0]))
    assert (open_size.preprocessing.height, open_size.preprocessing.width) == (224, 224)
    assert open_size.input_shape == (None, 3, None, None)  # a zero is a size left open
    one = describe_model(pooled_classifier(tmp_path / "one.onnx", input_shape=[1, 3, 1, 1]))
    assert (one.preprocessing.height, one.preprocessing.width, one.input_shape) == (1, 1, (1, 3, 1, 1))


def test_one_open_side_means_the_default_square(tmp_path: Path) -> None:
    spec = describe_model(pooled_classifier(tmp_path / "half.onnx", input_shape=["N", 3, 64, "W"]))
    assert (spec.preprocessing.height, spec.preprocessing.width) == (224, 224)


def test_the_scores_type_is_the_files(tmp_path: Path) -> None:
    """A remote backend compares it with the server's: float64 scores must be said so."""
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["mean"], axes=[2, 3], keepdims=0),
         helper.make_node("Cast", ["mean"], ["scores"], to=TensorProto.DOUBLE)], "doubles",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("scores", TensorProto.DOUBLE, ["N", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "doubles.onnx")
    assert describe_model(tmp_path / "doubles.onnx").output_type == "tensor(double)"


def test_the_notice_names_only_what_is_missing_and_one_number_is_all_three_channels(tmp_path: Path) -> None:
    path = pooled_classifier(tmp_path / "half.onnx",
                             metadata={"mean": "127", "crop_fraction": "1", "output": "probabilities"})
    spec = describe_model(path)
    assert spec.preprocessing.mean == (127.0, 127.0, 127.0) and spec.preprocessing.crop_fraction == 1.0
    assert spec.outputs_logits is False
    assert spec.notices == ("the model's metadata lacks color_order, std: using ImageNet defaults "
                            "(override with --crop-fraction, --color-order, --mean, --std)",)


@pytest.mark.parametrize("first, second, chosen", [("probs", "logits", "logits"), ("a", "b", "a")])
def test_the_scores_are_the_output_named_logits_else_the_first(tmp_path: Path, first: str, second: str,
                                                                chosen: str) -> None:
    spec = describe_model(two_outputs(tmp_path / "two.onnx", first, second))
    assert spec.output_name == chosen
    assert spec.output_shape == ((None, 3) if chosen == first else (None, 3, None, None))


def test_flags_replace_each_field_and_the_labels(tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text(" cat \ndog\n\nbird\nfish\n\n \n\t\n", encoding="utf-8")
    overrides = Overrides(labels_file=labels, size=(32, 40), crop_fraction=0.75, color_order="RGB",
                          mean=(9.0, 8.0, 7.0), std=(1.0, 2.0, 3.0))
    spec = describe_model(pooled_classifier(tmp_path / "tiny.onnx", metadata=FULL), overrides)
    assert spec.preprocessing == Preprocessing(32, 40, 0.75, "RGB", (9.0, 8.0, 7.0), (1.0, 2.0, 3.0))
    assert spec.labels == ("cat", "dog", "", "bird", "fish")  # inner blank lines are classes, trailing ones are not
    labels.write_text("BOX\nfish X\n", encoding="utf-8")
    described = describe_model(pooled_classifier(tmp_path / "x.onnx"), Overrides(labels_file=labels))
    assert described.labels == ("BOX", "fish X")
    assert spec.name == "tiny-net" and spec.outputs_logits is True


def test_a_fixed_input_refuses_another_size(tmp_path: Path) -> None:
    path = pooled_classifier(tmp_path / "fixed.onnx", input_shape=[1, 3, 64, 48])
    assert error_of(path, Overrides(size=(32, 40))) == (
        "the model's input is fixed at 64x48: an input size of 32x40 does not fit it")
    assert describe_model(path, Overrides(size=(64, 48))).preprocessing.height == 64


@pytest.mark.parametrize("overrides, message", [
    (Overrides(color_order="RGBA"), "color order must be RGB or BGR, not 'RGBA'"),
    (Overrides(crop_fraction=0.0), "crop fraction must be in (0, 1], not 0.0"),
    (Overrides(crop_fraction=1.01), "crop fraction must be in (0, 1], not 1.01"),
    (Overrides(std=(1.0, 0.0, 1.0)), "std must not be zero"),
])
def test_impossible_recipes_are_refused(tmp_path: Path, overrides: Overrides, message: str) -> None:
    assert error_of(pooled_classifier(tmp_path / "tiny.onnx"), overrides) == message


@pytest.mark.parametrize("metadata, message", [
    ({"labels": "not json"}, "the model's 'labels' metadata is not a JSON list"),
    ({"labels": '{"a": 1}'}, "the model's 'labels' metadata is not a JSON list of strings"),
    ({"labels": '["a", 2]'}, "the model's 'labels' metadata is not a JSON list of strings"),
    ({"mean": "[1, 2]"}, "the model's preprocessing metadata is malformed: expected 3 values, got 2"),
    ({"std": '"x"'}, "the model's preprocessing metadata is malformed: could not convert string to float: 'x'"),
    ({"crop_fraction": "half"}, "the model's preprocessing metadata is malformed: "
                                "could not convert string to float: 'half'"),
    ({"mean": "null"}, "the model's preprocessing metadata is malformed: 'NoneType' object is not iterable"),
])
def test_malformed_metadata_is_one_line(tmp_path: Path, metadata: dict[str, str], message: str) -> None:
    assert error_of(pooled_classifier(tmp_path / "bad.onnx", metadata=metadata)) == message


def test_inputs_that_are_not_one_float_image_are_refused(tmp_path: Path) -> None:
    assert error_of(vector_model(tmp_path / "vector.onnx")) == (
        "the model's input 'x' has shape ['N', 10]: expected a 4-D image tensor [N,3,H,W]")
    assert error_of(pooled_classifier(tmp_path / "nhwc.onnx", input_shape=["N", "H", "W", 3])) == (
        "the model's input 'image' has shape ['N', 'H', 'W', 3]: expected a 4-D image tensor [N,3,H,W]")
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])], "two",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 3, 8, 8]) for n in "ab"],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 8, 8])])
    doubles = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["y"])], "doubles",
        [helper.make_tensor_value_info("image", TensorProto.DOUBLE, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", 3, 8, 8])])
    for name, g in (("two.onnx", graph), ("doubles.onnx", doubles)):
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        onnx.save(m, tmp_path / name)
    assert error_of(tmp_path / "two.onnx") == "the model has 2 inputs: expected one image tensor [N,3,H,W]"
    assert error_of(tmp_path / "doubles.onnx") == "the model's input 'image' is tensor(double): expected tensor(float)"


def test_files_that_are_not_models_are_refused_before_onnxruntime_speaks(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.onnx") == f"model file not found: {tmp_path / 'nope.onnx'}"
    assert error_of(tmp_path) == f"model path is not a file: {tmp_path}"
    (tmp_path / "empty.onnx").write_bytes(b"")
    assert error_of(tmp_path / "empty.onnx") == f"model file is empty: {tmp_path / 'empty.onnx'}"
    (tmp_path / "one.onnx").write_bytes(b"x")
    assert error_of(tmp_path / "one.onnx").startswith(f"cannot load model {tmp_path / 'one.onnx'}: [ONNXRuntimeError]")
    check_model_file(pooled_classifier(tmp_path / "tiny.onnx"))  # a real one passes


def test_labels_files_that_cannot_be_used(tmp_path: Path) -> None:
    model = pooled_classifier(tmp_path / "tiny.onnx")
    missing = tmp_path / "missing.txt"
    assert error_of(model, Overrides(labels_file=missing)) == (
        f"cannot read labels file {missing}: No such file or directory")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n \n\n", encoding="utf-8")
    assert error_of(model, Overrides(labels_file=blank)) == f"labels file is empty: {blank}"
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert error_of(model, Overrides(labels_file=empty)) == f"labels file is empty: {empty}"
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    assert error_of(model, Overrides(labels_file=latin)).startswith(f"cannot read labels file {latin}: 'utf-8' codec")


def test_the_class_count_names_unlabelled_classes_and_checks_labelled_ones(tmp_path: Path) -> None:
    spec = describe_model(pooled_classifier(tmp_path / "bare.onnx"))
    named = with_class_count(spec, 3)
    assert named.labels == ("class 0", "class 1", "class 2")
    assert named.notices == spec.notices + (
        "the model carries no labels: classes are shown as numbers (pass --labels FILE)",)
    labelled = describe_model(pooled_classifier(tmp_path / "full.onnx", metadata=FULL))
    assert with_class_count(labelled, 4) is labelled
    with pytest.raises(LiveClassifyError, match=r"^4 labels given but the model outputs 5 classes$"):
        with_class_count(labelled, 5)


def test_the_recipe_in_one_line() -> None:
    assert Preprocessing(224, 224, 0.875, "RGB", (127.0,) * 3, (128.0,) * 3).describe() == (
        "crop 0.875, 224x224, RGB, (x - 127) / 128")
    assert Preprocessing(96, 128, 1.0, "BGR", (1.5, 2.0, 3.0), (4.0, 5.0, 6.25)).describe() == (
        "crop 1, 128x96, BGR, (x - [1.5, 2, 3]) / [4, 5, 6.25]")


def test_the_bundled_model_is_found_installed_or_in_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # This run's own: package data in an installed copy (CI's), models/ in an editable checkout.
    checkout = Path(model_module.__file__).resolve().parents[3] / "models" / "efficientnet_lite0.onnx"
    packaged = Path(str(model_module.resources.files("live_classify"))) / "models" / "efficientnet_lite0.onnx"
    assert default_model_path() == (packaged if packaged.is_file() else checkout)
    installed = tmp_path / "site" / "live_classify"
    (installed / "models").mkdir(parents=True)
    (installed / "models" / "efficientnet_lite0.onnx").write_bytes(b"onnx")
    monkeypatch.setattr(model_module.resources, "files", lambda package: installed)
    assert default_model_path() == installed / "models" / "efficientnet_lite0.onnx"
    (installed / "models" / "efficientnet_lite0.onnx").unlink()
    tree = tmp_path / "repo"  # a checkout: <repo>/src/live_classify/engine/model.py and <repo>/models/
    (tree / "models").mkdir(parents=True)
    (tree / "models" / "efficientnet_lite0.onnx").write_bytes(b"onnx")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "efficientnet_lite0.onnx").write_bytes(b"onnx")  # one level too high: not it
    monkeypatch.setattr(model_module, "__file__", str(tree / "src" / "live_classify" / "engine" / "model.py"))
    assert default_model_path() == tree / "models" / "efficientnet_lite0.onnx"
    (tree / "models" / "efficientnet_lite0.onnx").unlink()
    with pytest.raises(LiveClassifyError) as raised:
        default_model_path()
    assert str(raised.value) == "the bundled model efficientnet_lite0.onnx is missing from this install; pass --model"
