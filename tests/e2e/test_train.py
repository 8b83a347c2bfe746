"""Teaching it new classes, for real: a small photo dataset built offline, trained, exported and
classified through the normal command, plus the mistakes a user makes with the dataset folder."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE, headless_env

from live_classify.engine.model import default_model_path
from live_classify.errors import LiveClassifyError
from live_classify.sources.photos import read_image
from live_classify.train.dataset import check_label, load_dataset, split_stratified
from live_classify.train.features import FeatureExtractor
from live_classify.train.head import TrainOptions
from live_classify.train.report import suggest_min_confidence
from live_classify.train.run import train

PER_CLASS = 15
# Unicode and a space on purpose: both must survive into the model's labels and the CLI's JSON.
CLASSES = ("chat tigré", "espresso cup", "sunny field")


def _variant(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A crop of 60-100% of each side, maybe flipped, brighter or darker, rescaled: a new 'shot'."""
    h, w = image.shape[:2]
    ch, cw = int(h * rng.uniform(0.6, 1.0)), int(w * rng.uniform(0.6, 1.0))
    top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    out = image[top : top + ch, left : left + cw]
    if rng.random() < 0.5:
        out = out[:, ::-1]
    out = cv2.convertScaleAbs(np.ascontiguousarray(out), alpha=rng.uniform(0.7, 1.3), beta=rng.uniform(-20, 20))
    scale = rng.uniform(0.6, 1.0)
    return cv2.resize(out, (max(32, int(out.shape[1] * scale)), max(32, int(out.shape[0] * scale))))


def _field(rng: np.random.Generator) -> np.ndarray:
    """A generated outdoor scene, nothing like a cat or a cup: sky, sun, green hills, grass noise."""
    h, w = int(rng.integers(200, 300)), int(rng.integers(260, 400))
    image = np.zeros((h, w, 3), np.uint8)
    horizon = int(h * rng.uniform(0.4, 0.6))
    sky = np.linspace(255, 170, horizon, dtype=np.float32)[:, None]
    image[:horizon] = np.stack([sky, sky * 0.8, sky * 0.45], axis=-1).astype(np.uint8)  # BGR: blue sky
    cv2.circle(image, (int(rng.integers(30, w - 30)), int(rng.integers(20, horizon))), int(rng.integers(12, 30)),
               (60, 230, 255), -1)
    grass = rng.normal(0, 25, (h - horizon, w, 1))
    image[horizon:] = np.clip(np.array([40, 150, 60]) + grass * np.array([0.3, 1.0, 0.4]), 0, 255).astype(np.uint8)
    for _ in range(3):
        center = (int(rng.integers(0, w)), horizon + int(rng.integers(0, 20)))
        axes = (int(rng.integers(60, 160)), int(rng.integers(15, 40)))
        cv2.ellipse(image, center, axes, 0, 180, 360, (30, 120, 40), -1)
    return image


def make_dataset(root: Path, per_class: int = PER_CLASS, seed: int = 1) -> Path:
    """``root/<class>/NN.png``: variants of the two test photos and of generated fields."""
    rng = np.random.default_rng(seed)
    sources = {CLASSES[0]: read_image(CHELSEA), CLASSES[1]: read_image(COFFEE)}
    for label in CLASSES:
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(per_class):
            image = _variant(sources[label], rng) if label in sources else _field(rng)
            assert cv2.imwrite(str(folder / f"{i:02d}.png"), image)
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object, list[str]]:
    """One real training run shared by the tests that look at its results."""
    root = tmp_path_factory.mktemp("train")
    data = make_dataset(root / "data")
    out = root / "mine.onnx"
    lines: list[str] = []
    result = train(data, out, options=TrainOptions(epochs=30), val_fraction=0.2, augmentations=2, seed=0,
                   plot=root / "curves.png", echo=lines.append)
    return root, out, result, lines


def test_training_lowers_the_loss_and_generalizes(trained: tuple[Path, Path, object, list[str]]) -> None:
    root, _, result, lines = trained
    history = result.history
    assert history[0].loss > 3 * history[-1].loss, [s.loss for s in history]
    assert history[-1].loss < 0.2
    # 3 of 15 per class held out, never trained on: 9 images. All of them, but allow one miss.
    assert result.val_accuracy is not None and result.val_accuracy >= 8 / 9, result.val_accuracy
    assert result.confusion.sum() == 9 and np.trace(result.confusion) >= 8
    assert (root / "curves.png").stat().st_size > 1000
    text = "\n".join(lines)
    assert "epoch  1/30 [" in text and "loss" in text
    assert " epoch       loss  train acc   val loss  val acc" in text
    assert "validation accuracy" in text and "true \\ predicted" in text
    for label in CLASSES:
        assert label in text


def test_the_stop_message_states_the_rule_the_table_follows(trained: tuple[Path, Path, object, list[str]]) -> None:
    """Kept: the last epoch whose validation loss was 1% below the best before it; no later epoch beats
    the kept one by 1%, and the message says so with the numbers the table shows."""
    _, _, result, lines = trained
    losses = {s.epoch: s.val_loss for s in result.history}
    kept = losses[result.best_epoch]
    assert all(loss >= kept * 0.99 for epoch, loss in losses.items() if epoch > result.best_epoch)
    assert all(loss > kept for epoch, loss in losses.items() if epoch < result.best_epoch)
    stop = next(line for line in lines if line.startswith(("early stop", "ran all")))
    if result.best_epoch == result.history[-1].epoch:
        assert stop.endswith(f"keeping the last (validation loss {kept:.4g})")
    else:
        assert f"not 1% below its best, {kept:.4g} at epoch {result.best_epoch}" in stop
        assert f"keeping epoch {result.best_epoch}" in stop
    if stop.startswith("early stop"):
        assert result.history[-1].epoch == result.best_epoch + TrainOptions().patience
    table = "\n".join(lines).splitlines()
    row = next(line for line in table if line.strip().startswith(f"{result.best_epoch} ") and line.endswith("*"))
    assert f"{kept:.4g}" in row, "the table shows the kept loss as the message does"


def test_a_threshold_is_suggested_from_the_validation_set(trained: tuple[Path, Path, object, list[str]]) -> None:
    _, _, result, lines = trained
    assert result.min_confidence is not None and 0 < result.min_confidence <= 0.99
    line = next(line for line in lines if line.startswith("suggested --min-confidence"))
    assert line.startswith(f"suggested --min-confidence {result.min_confidence:.2f}: ")
    assert "at least 95% of the correct validation answers" in line


def test_the_suggested_threshold_keeps_95_percent_of_the_correct_answers() -> None:
    rng = np.random.default_rng(3)

    def answers(tops: list[float], wrong: int = 0) -> tuple[np.ndarray, np.ndarray]:
        probabilities = np.array([[t, 1 - t] for t in tops])
        targets = np.array([0] * (len(tops) - wrong) + [1] * wrong)
        return probabilities, targets

    tops = sorted(rng.uniform(0.6, 1.0, 40).tolist())
    tops[0] = 0.52  # one outlier among 40 correct: 95% may leave it out
    threshold = suggest_min_confidence(*answers(tops))
    kept = sum(t >= threshold for t in tops)
    assert kept >= 0.95 * 40 and threshold >= tops[1] - 0.01, "the highest that keeps 95%, not the lowest score"
    few = [0.55, 0.9, 0.97]
    assert suggest_min_confidence(*answers(few)) == 0.55, "with few answers, all of them are kept"
    assert suggest_min_confidence(*answers([0.7, 0.8], wrong=2)) is None, "nothing correct, nothing to suggest"
    assert suggest_min_confidence(*answers([1.0] * 5)) == 0.99, "never 1: a score of 0.9999 is not unknown"


def test_the_exported_model_answers_like_the_head_through_the_normal_command(
        trained: tuple[Path, Path, object, list[str]]) -> None:
    root, out, result, _ = trained
    photos = root / "photos"
    photos.mkdir()
    # Fresh shots the head never saw, plus the original photos.
    rng = np.random.default_rng(99)
    cv2.imwrite(str(photos / "chelsea.png"), read_image(CHELSEA))
    cv2.imwrite(str(photos / "coffee.png"), read_image(COFFEE))
    cv2.imwrite(str(photos / "field.png"), _field(rng))
    for i in range(3):
        cv2.imwrite(str(photos / f"cat_{i}.png"), _variant(read_image(CHELSEA), rng))
        cv2.imwrite(str(photos / f"cup_{i}.png"), _variant(read_image(COFFEE), rng))
    paths = sorted(photos.iterdir())
    extractor = FeatureExtractor(default_model_path())
    probabilities = result.head.probabilities(extractor([read_image(p) for p in paths]))

    done = subprocess.run([sys.executable, "-m", "live_classify", "--model", str(out), "--source", str(photos),
                           "--json", "--provider", "cpu"], check=False, capture_output=True, text=True, timeout=120,
                          env=headless_env())
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [Path(r["source"]).name for r in records] == [p.name for p in paths]
    cli_top = [r["top"][0]["label"] for r in records]
    head_top = [CLASSES[i] for i in probabilities.argmax(axis=1)]
    assert cli_top == head_top
    expected = {"chelsea": CLASSES[0], "cat": CLASSES[0], "coffee": CLASSES[1], "cup": CLASSES[1], "field": CLASSES[2]}
    assert cli_top == [expected[p.stem.split("_")[0]] for p in paths]
    for record, probs in zip(records, probabilities, strict=True):
        assert record["top"][0]["score"] == pytest.approx(float(probs.max()), abs=1e-3)
        assert len(record["top"]) == len(CLASSES)  # top-5 asked, only 3 classes exist


def test_the_exported_model_carries_labels_and_preprocessing(trained: tuple[Path, Path, object, list[str]]) -> None:
    import onnxruntime as ort

    _, out, _, _ = trained
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    source = ort.InferenceSession(str(default_model_path()), providers=["CPUExecutionProvider"])
    source_meta = source.get_modelmeta().custom_metadata_map
    assert json.loads(meta["labels"]) == list(CLASSES)
    for key in ("input_size", "crop_fraction", "color_order", "mean", "std"):
        assert meta[key] == source_meta[key]
    assert meta["name"] == "mine" and "softmax head" in meta["source"]
    assert [(o.name, o.shape[1]) for o in session.get_outputs()] == [("logits", 3), ("features", 1280)]


def test_the_command_line_trains_and_reports_bad_folders(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)
    done = subprocess.run([sys.executable, "-m", "live_classify.train", str(data), "--out", str(tmp_path / "m.onnx"),
                           "--epochs", "3", "--augment", "0", "--val-fraction", "0.25"],
                          check=False, capture_output=True, text=True, timeout=120, env=headless_env())
    assert done.returncode == 0, done.stderr
    assert "epoch 3/3 [" in done.stdout and "wrote " in done.stdout
    # Never silent while it works: progress on stderr with counts and time left, a line per quarter to a pipe.
    assert re.search(r"^features: \d+/\d+ images \(\d+%\), \d+ s left$", done.stderr, re.MULTILINE), done.stderr
    epochs = re.findall(r"^training: (\d)/3 epochs at most \(\d+%\), \d+ s left$", done.stderr, re.MULTILINE)
    assert epochs == ["1", "2"]
    assert "\r" not in done.stderr  # no terminal redraws in a log
    assert (tmp_path / "m.onnx").is_file()

    trained_before = (tmp_path / "m.onnx").read_bytes()
    again = [sys.executable, "-m", "live_classify.train", str(data), "--out", str(tmp_path / "m.onnx"),
             "--epochs", "1", "--augment", "0", "--val-fraction", "0", "--seed", "5"]
    refused = subprocess.run(again, check=False, capture_output=True, text=True, timeout=120, env=headless_env())
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"live-classify-train: error: --out {tmp_path / 'm.onnx'}: the file exists (pass --overwrite to replace it)"]
    assert (tmp_path / "m.onnx").read_bytes() == trained_before, "the model already there is kept"
    replaced = subprocess.run([*again, "--overwrite"], check=False, capture_output=True, text=True, timeout=120,
                              env=headless_env())
    assert replaced.returncode == 0, replaced.stderr
    assert (tmp_path / "m.onnx").read_bytes() != trained_before

    missing = subprocess.run([sys.executable, "-m", "live_classify.train", str(tmp_path / "nope"), "--out",
                              str(tmp_path / "x.onnx")], check=False, capture_output=True, text=True, timeout=60,
                             env=headless_env())
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"live-classify-train: error: dataset folder not found: {tmp_path / 'nope'}"]


def _folder(root: Path, classes: dict[str, int]) -> Path:
    for label, count in classes.items():
        (root / label).mkdir(parents=True)
        for i in range(count):
            cv2.imwrite(str(root / label / f"{i}.png"), np.full((40, 40, 3), 40 * i, np.uint8))
    return root


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LiveClassifyError, match="dataset folder not found"):
        load_dataset(tmp_path / "nope")


def test_one_class_is_not_enough(tmp_path: Path) -> None:
    with pytest.raises(LiveClassifyError, match="at least 2 class subfolders .* found 1: cats"):
        load_dataset(_folder(tmp_path, {"cats": 3}))


def test_an_empty_class_folder_is_named(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"cats": 3, "dogs": 0})
    (root / "dogs" / "notes.txt").write_text("no images here")
    with pytest.raises(LiveClassifyError, match=r"class folder .*dogs has no images"):
        load_dataset(root)


def test_unreadable_images_are_skipped_with_a_warning(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"cats": 3, "dogs": 2})
    (root / "dogs" / "broken.png").write_bytes(b"not a png")
    warnings: list[str] = []
    dataset = load_dataset(root, warn=warnings.append)
    assert len(dataset.images) == 5 and dataset.labels == ("cats", "dogs")
    assert len(warnings) == 1 and "broken.png" in warnings[0]


def test_a_class_of_only_unreadable_images_is_an_error(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"cats": 3, "dogs": 0})
    (root / "dogs" / "a.jpg").write_bytes(b"")
    (root / "dogs" / "b.png").write_bytes(b"garbage")
    warnings: list[str] = []
    with pytest.raises(LiveClassifyError, match=r"dogs has no readable images \(2 could not be decoded\)"):
        load_dataset(root, warn=warnings.append)
    assert len(warnings) == 2


def test_labels_with_control_characters_are_refused_but_spaces_and_unicode_are_fine() -> None:
    assert check_label("coffee mug") == "coffee mug"
    assert check_label("Kätzchen 猫") == "Kätzchen 猫"
    for bad in ("two\nlines", "tab\there", "bell\x07", "   "):
        with pytest.raises(LiveClassifyError, match="class folder name"):
            check_label(bad)


def test_a_folder_name_with_a_newline_stops_loading(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"cats": 2, "bad\nname": 2})
    with pytest.raises(LiveClassifyError, match="control or unprintable character"):
        load_dataset(root)


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.0])
def test_the_split_is_disjoint_complete_and_stratified(fraction: float) -> None:
    """No image is both trained on and held out; none is left out; each class holds out its share."""
    targets = np.repeat(np.arange(4), [2, 5, 13, 40])
    np.random.default_rng(7).shuffle(targets)
    train_idx, val_idx = split_stratified(targets, fraction, np.random.default_rng(0))
    assert not set(train_idx) & set(val_idx), "a training image is in the held-out set"
    assert sorted([*train_idx, *val_idx]) == list(range(len(targets)))
    for cls, n in enumerate([2, 5, 13, 40]):
        held_out = int((targets[val_idx] == cls).sum())
        assert held_out == (0 if fraction == 0 else max(1, round(n * fraction))), (cls, held_out)
        assert (targets[train_idx] == cls).sum() == n - held_out


def test_a_class_too_small_to_hold_one_out(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"cats": 3, "dogs": 1})
    with pytest.raises(LiveClassifyError, match="'dogs' has 1 image"):
        train(root, tmp_path / "m.onnx", val_fraction=0.2, echo=lambda _: None)


def test_without_matplotlib_there_is_no_plot_and_no_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from live_classify.train.report import EpochStats, save_plot

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    history = [EpochStats(1, 1.0, 0.5, 1.0, 0.5), EpochStats(2, 0.5, 1.0, 0.6, 1.0)]
    assert save_plot(history, tmp_path / "curves.png") is False
    assert not (tmp_path / "curves.png").exists()


def test_the_folded_head_is_the_head_that_was_validated() -> None:
    """Standardization is folded into W and b: the exported head must score the validation set
    exactly as the standardized head did at the kept epoch (a wrong fold changes the loss)."""
    from live_classify.train.head import train_head

    rng = np.random.default_rng(3)
    centers = rng.normal(0, 1, (3, 64)) * rng.uniform(0.1, 5, 64)  # units of very different scales
    y = rng.integers(0, 3, 300)
    x = (centers[y] + rng.normal(0, 1.5, (300, 64)) + 7).astype(np.float32)
    x[:, :4] = 0  # dead units, as the backbone has
    head, history, best = train_head(x[:240], y[:240], x[240:], y[240:], 3, TrainOptions(epochs=40),
                                     np.random.default_rng(0))
    logits = head.logits(x[240:]).astype(np.float64)
    log_probs = logits - logits.max(1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(1, keepdims=True))
    loss = -log_probs[np.arange(60), y[240:]].mean()
    assert loss == pytest.approx(history[best - 1].val_loss, rel=1e-3)
    assert (head.predict(x[240:]) == y[240:]).mean() == history[best - 1].val_acc


def test_the_standardization_is_fitted_on_exactly_the_training_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fitted on the validation rows too, the scale would leak them into training and the
    validation loss would flatter the head."""
    from live_classify.train import head as head_module

    fitted_on = []
    real_of = head_module._Standardization.of.__func__
    monkeypatch.setattr(head_module._Standardization, "of",
                        classmethod(lambda cls, x: fitted_on.append(x.copy()) or real_of(cls, x)))
    rng = np.random.default_rng(5)
    x_train, x_val = rng.normal(0, 1, (50, 8)).astype(np.float32), rng.normal(30, 9, (20, 8)).astype(np.float32)
    head_module.train_head(x_train, rng.integers(0, 2, 50), x_val, rng.integers(0, 2, 20), 2,
                           TrainOptions(epochs=2), np.random.default_rng(0))
    assert len(fitted_on) == 1 and np.array_equal(fitted_on[0], x_train)
