"""The real command on still images, as a user runs it: output, trace, JSON, and every bad input."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CHELSEA, COFFEE, DATA, assert_clean_error, run_cli
from foreign_models import failing_model, pooled_classifier, vector_model


def test_a_photo_prints_its_top_classes() -> None:
    run = run_cli("--source", str(COFFEE), "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == str(COFFEE)
    assert lines[1].startswith("  1.") and lines[1].endswith("espresso")
    assert len(lines) == 6  # the name and the default top-5
    assert run.stderr.splitlines()[-1].endswith("live-classify: running on CPU (CPUExecutionProvider)"), run.stderr


def test_trace_shows_the_four_stages_with_shapes_and_times() -> None:
    run = run_cli("--source", str(CHELSEA), "--trace", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    stages = run.stdout.splitlines()[1:]
    assert [s.split("]")[0].strip(" [") for s in stages] == [
        "1 input", "2 preprocessing", "3 inference", "4 postprocessing"]
    assert "300x451x3 uint8" in stages[0]
    assert "1x3x224x224 float32" in stages[1] and "RGB" in stages[1]
    assert "1x1000 float32" in stages[2] and "CPUExecutionProvider" in stages[2]
    assert any(cat in stages[3] for cat in ("tiger cat", "tabby", "Egyptian cat"))
    assert all(" ms " in s for s in stages)


def test_json_for_a_directory_and_a_glob(tmp_path: Path) -> None:
    for name in ("b.png", "a.png"):
        shutil.copy(COFFEE if name == "a.png" else CHELSEA, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    for source in (str(tmp_path), str(tmp_path / "*.png")):
        run = run_cli("--source", source, "--json", "--top-k", "3", "--provider", "cpu")
        assert run.returncode == 0, run.stderr
        records = [json.loads(line) for line in run.stdout.splitlines()]
        assert [Path(r["source"]).name for r in records] == ["a.png", "b.png"]
        assert records[0]["top"][0]["label"] == "espresso"
        assert len(records[1]["top"]) == 3
        assert set(records[0]["times_ms"]) == {"preprocess", "inference", "postprocess"}


def test_min_confidence_answers_unknown_below_it_and_keeps_the_top_k(tmp_path: Path) -> None:
    shutil.copy(CHELSEA, tmp_path / "a.png")  # tiger cat 38%
    shutil.copy(COFFEE, tmp_path / "b.png")  # espresso 95%
    run = run_cli("--source", str(tmp_path), "--json", "--min-confidence", "0.5", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    cat, cup = (json.loads(line) for line in run.stdout.splitlines())
    assert cat["unknown"] is True and cat["top"][0]["score"] < 0.5
    assert cup["unknown"] is False and cup["top"][0]["label"] == "espresso"
    assert len(cat["top"]) == 5, "the top-k is kept as it is"
    plain = run_cli("--source", str(tmp_path), "--json", "--provider", "cpu")
    assert all("unknown" not in json.loads(line) for line in plain.stdout.splitlines()), "no field without the flag"
    text = run_cli("--source", str(CHELSEA), "--min-confidence", "0.5", "--provider", "cpu").stdout.splitlines()
    assert text[1].startswith("  unknown: the top score ") and text[1].endswith("% is below --min-confidence 0.5")
    assert text[2].startswith("  1.") and len(text) == 7
    trace = run_cli("--source", str(CHELSEA), "--trace", "--min-confidence", "0.5", "--provider", "cpu").stdout
    assert "[4 postprocessing] unknown ('" in trace.splitlines()[-1]


def test_the_bundled_model_is_found_from_any_directory(tmp_path: Path) -> None:
    run = run_cli("--source", str(COFFEE), "--json", "--provider", "cpu", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["top"][0]["label"] == "espresso"


def test_a_bad_image_among_good_ones_is_reported_and_the_rest_still_classified(tmp_path: Path) -> None:
    shutil.copy(COFFEE, tmp_path / "a.png")
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    run = run_cli("--source", str(tmp_path), "--json", "--provider", "cpu")
    assert_clean_error(run, "b.jpg")
    assert json.loads(run.stdout)["top"][0]["label"] == "espresso"


def test_a_foreign_model_with_labels_and_preprocessing_flags(tmp_path: Path) -> None:
    model = pooled_classifier(tmp_path / "tiny.onnx", classes=3)
    labels = tmp_path / "labels.txt"
    labels.write_text("red\ngreen\nblue\n")
    run = run_cli("--source", str(COFFEE), "--model", str(model), "--labels", str(labels), "--json",
                  "--input-size", "64x96", "--mean", "0", "--std", "255", "--color-order", "bgr", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    top = json.loads(run.stdout)["top"]
    assert sorted(t["label"] for t in top) == ["blue", "green", "red"]
    assert abs(sum(t["score"] for t in top) - 1) < 1e-4


def test_a_model_without_labels_names_classes_by_number(tmp_path: Path) -> None:
    model = pooled_classifier(tmp_path / "tiny.onnx", classes=5, softmax=True)
    run = run_cli("--source", str(COFFEE), "--model", str(model), "--json", "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["top"][0]["label"].startswith("class ")
    assert "--labels" in run.stderr and "ImageNet defaults" in run.stderr


BAD_INPUTS = {
    "missing model": (["--model", "{tmp}/nope.onnx"], "model file not found"),
    "empty model": (["--model", "{tmp}/empty.onnx"], "model file is empty"),
    "not onnx": (["--model", "{tmp}/junk.onnx"], "cannot load model"),
    "not an image model": (["--model", "{tmp}/vector.onnx"], "expected a 4-D image tensor"),
    "channels-last model": (["--model", "{tmp}/nhwc.onnx"],
                            "has shape ['N', 'H', 'W', 3]: expected a 4-D image tensor [N,3,H,W]"),
    "labels do not match": (["--labels", "{tmp}/ten.txt"], "10 labels given but the model outputs 1000 classes"),
    "missing labels file": (["--labels", "{tmp}/none.txt"], "cannot read labels file"),
    "unreadable image": (["--source", "{tmp}/broken.png"], "cannot decode image"),
    "missing source": (["--source", "{tmp}/nothing.png"], "source not found"),
    "empty directory": (["--source", "{tmp}/emptydir"], "no images"),
    "unknown provider": (["--provider", "opencl"], "invalid choice: 'opencl'"),
    "bad size": (["--input-size", "0x3"], "--input-size"),
    "model fails when run": (["--model", "{tmp}/failing.onnx"], "the model fails on a 1x3x224x224 input"),
    "size the model cannot take": (["--input-size", "96x128"], "the model's input is fixed at 224x224"),
    "bad mean": (["--mean", "1,2"], "--mean"),
    "bad crop": (["--crop-fraction", "1.5"], "--crop-fraction"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(case: str, tmp_path: Path) -> None:
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "junk.onnx").write_text("this is not a protobuf")
    vector_model(tmp_path / "vector.onnx")
    failing_model(tmp_path / "failing.onnx")
    pooled_classifier(tmp_path / "nhwc.onnx", input_shape=["N", "H", "W", 3])
    (tmp_path / "ten.txt").write_text("\n".join(f"c{i}" for i in range(10)))
    (tmp_path / "broken.png").write_bytes((DATA / "chelsea.png").read_bytes()[:200])
    (tmp_path / "emptydir").mkdir()
    flags, message = BAD_INPUTS[case]
    args = [a.format(tmp=tmp_path) for a in flags]
    if "--source" not in args:
        args += ["--source", str(COFFEE)]
    if "--provider" not in args:
        args += ["--provider", "cpu"]
    assert_clean_error(run_cli(*args), message)


@pytest.mark.parametrize("flags", [
    ["--top-k", "0"], ["--top-k", "many"], ["--threads", "-1"], ["--smooth", "0"], ["--smooth", "nan"],
    ["--mean", "1,2,3,4"], ["--std", "inf"], ["--input-size", "224x"], ["--fps", "-5"], ["--read-timeout", "0"],
    ["--min-confidence", "1.5"], ["--min-confidence", "0"],
])
def test_bad_values_are_usage_errors(flags: list[str]) -> None:
    run = run_cli("--source", str(COFFEE), *flags)
    assert_clean_error(run, flags[0])
    assert run.returncode == 2


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    for i in range(30):
        shutil.copy(COFFEE, tmp_path / f"{i:02d}.png")
    done = subprocess.run(f"{sys.executable} -m live_classify --source {tmp_path} --json --provider cpu | head -1",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert json.loads(done.stdout)["top"][0]["label"] == "espresso"
    assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr, done.stderr
