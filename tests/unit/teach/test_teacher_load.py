"""The taught classes kept in a recording directory, loaded at a start: matched at once, their
features computed anew from their frames when another model file made them."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from conftest import CHELSEA, COFFEE

from live_classify.engine.model import default_model_path
from live_classify.engine.taught import Taught
from live_classify.teach.store import ClassStore, Examples, fingerprint
from live_classify.teach.teacher import Teacher


def test_classes_made_with_another_model_are_computed_anew_from_their_frames_and_matched(tmp_path: Path) -> None:
    store, model = ClassStore(tmp_path), default_model_path()
    jpeg = cv2.imencode(".jpg", cv2.imread(str(COFFEE)))[1].tobytes()
    store.save("our mug", Examples(("door-1000.jpg",), np.ones((1, 8), np.float32), "another model"),
               {"door-1000.jpg": jpeg})
    taught, said = Taught(), []
    Teacher(tmp_path, model, taught, ["espresso"], log=said.append).load()
    kept = store.load("our mug")
    assert kept.model == fingerprint(model) and kept.features.shape == (1, 1280), "computed anew and kept"
    assert said == ["taught classes: our mug"] and taught.matcher.labels == ("our mug",)
    from live_classify.train.features import FeatureExtractor

    features = FeatureExtractor(model)([cv2.imread(str(COFFEE)), cv2.imread(str(CHELSEA))])
    assert [m and m[0] for m in taught.matcher.match(features)] == ["our mug", None]
    again = Taught()
    Teacher(tmp_path, model, again, []).load()  # the same model now: read as kept
    np.testing.assert_array_equal(again.matcher.classes[0].examples, taught.matcher.classes[0].examples)
