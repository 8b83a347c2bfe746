"""``DIR/classes``: the labels it takes, its files, and that the trainer reads it as a dataset."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from live_classify.teach.store import FEATURES, BadLabel, ClassStore, Examples, check_label, example_name
from live_classify.train.dataset import load_dataset


@pytest.mark.parametrize("label, why", [
    ("", "the label is empty"), ("   ", "the label is empty"),
    ("x" * 65, "the label is 65 characters long; at most 64"),
    ("a\nb", "the label holds a control character"),
    ("a/b", "the label cannot hold / or \\ nor start with a dot (it names a folder)"),
    ("..", "the label cannot hold / or \\ nor start with a dot (it names a folder)"),
    ("a\\b", "the label cannot hold / or \\ nor start with a dot (it names a folder)"),
])
def test_a_label_that_cannot_name_a_class_is_refused_saying_why(label: str, why: str) -> None:
    with pytest.raises(BadLabel) as refused:
        check_label(label)
    assert str(refused.value) == why


def test_a_good_label_is_kept_stripped_whatever_its_script() -> None:
    assert check_label("  our delivery van ") == "our delivery van"
    assert check_label("x" * 64) == "x" * 64
    assert check_label("chat de Léa, 猫") == "chat de Léa, 猫"


def test_an_examples_file_names_its_camera_and_moment() -> None:
    assert example_name("door", 1700000000.1234) == "door-1700000000123.jpg"
    assert example_name("../back door", 1.0) == ".._back_door-1000.jpg"


def _jpeg(value: int) -> bytes:
    return cv2.imencode(".jpg", np.full((32, 32, 3), value, np.uint8))[1].tobytes()


def test_a_class_is_saved_loaded_and_removed_with_its_frames(tmp_path: Path) -> None:
    store = ClassStore(tmp_path)
    assert store.labels() == [] and store.remove("mug") is False
    features = np.arange(6, dtype=np.float32).reshape(2, 3)
    store.save("mug", Examples(("a-1.jpg", "a-2.jpg"), features, "model-1"), {"a-1.jpg": _jpeg(1), "a-2.jpg": _jpeg(2)})
    (tmp_path / "classes" / "half").mkdir()  # a folder without its features (a crash mid-way): no class
    assert store.labels() == ["mug"]
    loaded = store.load("mug")
    assert loaded.names == ("a-1.jpg", "a-2.jpg") and loaded.model == "model-1"
    np.testing.assert_array_equal(loaded.features, features)
    assert sorted(p.name for p in (tmp_path / "classes" / "mug").iterdir()) == ["a-1.jpg", "a-2.jpg", FEATURES]
    assert store.remove("mug") is True and store.labels() == [] and not (tmp_path / "classes" / "mug").exists()


def test_the_taught_classes_are_a_dataset_the_trainer_reads(tmp_path: Path) -> None:
    store = ClassStore(tmp_path)
    for label, value in (("mug", 10), ("van", 200)):
        name = f"a-{value}.jpg"
        store.save(label, Examples((name,), np.ones((1, 3), np.float32), "m"), {name: _jpeg(value)})
    dataset = load_dataset(tmp_path / "classes")
    assert dataset.labels == ("mug", "van") and [p.name for p in dataset.paths] == ["a-10.jpg", "a-200.jpg"]
