"""``--check`` is the reload's own validation (issue 31): the model's classes and input are checked
too, so that a file passes ``--check`` exactly when a reload would take it."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from boxes import box, lines
from conftest import LiveCli, run_cli
from foreign_models import pooled_classifier
from mjpeg_server import MjpegServer


def three_classes(path: Path) -> Path:
    """A model of three classes, none of them espresso."""
    labels = json.dumps([f"tiny-{i}" for i in range(3)])
    partial = pooled_classifier(path.with_suffix(".part"), classes=3, softmax=True, metadata={"labels": labels})
    os.replace(partial, path)
    return path


def test_check_refuses_what_a_reload_refuses_and_passes_what_it_takes(camera: MjpegServer, live_cli: type[LiveCli],
                                                                     tmp_path: Path) -> None:
    model, config, out = three_classes(tmp_path / "tiny.onnx"), tmp_path / "box.toml", tmp_path / "p.jsonl"
    good = box({"door": camera}, f'model = "{model}"\nevent = ["tiny-1"]\n')
    bad = box({"door": camera}, f'model = "{model}"\nevent = ["espresso"]\n')
    config.write_text(bad)
    check = run_cli("--config", str(config), "--check", cwd=tmp_path)
    assert check.returncode == 2 and "Traceback" not in check.stderr, check
    assert "--event espresso: the model has no class of that name" in check.stderr and not check.stdout, check
    config.write_text(good)
    check = run_cli("--config", str(config), "--check", cwd=tmp_path)
    assert check.returncode == 0 and 'event = ["tiny-1"]' in check.stdout, check

    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for(lambda: len(lines(out)) >= 5, 60, "the first lines")
    config.write_text(bad)
    cli.signal(signal.SIGHUP)
    cli.wait_for_stderr("reload refused")
    refused = next(line for line in cli.stderr_lines if "reload refused" in line)
    assert "--event espresso: the model has no class of that name" in refused, refused
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr


def test_check_describes_the_model_a_file_names(tmp_path: Path, camera: MjpegServer) -> None:
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    (tmp_path / "box.toml").write_text(box({"door": camera}, 'model = "broken.onnx"\n'))
    check = run_cli("--config", str(tmp_path / "box.toml"), "--check", cwd=tmp_path)
    assert check.returncode == 1 and "Traceback" not in check.stderr and "broken.onnx" in check.stderr, check


def test_check_judges_event_labels_by_the_labels_file_the_run_uses(tmp_path: Path, camera: MjpegServer) -> None:
    """``labels = "mine.txt"`` renames the model's classes: the run (and a reload) knows ``cup``, not
    ``tiny-1``; ``--check`` judges the events by the same names, not by the model file's own."""
    model = three_classes(tmp_path / "tiny.onnx")
    (tmp_path / "mine.txt").write_text("cup\nplate\nbowl\n")
    config = tmp_path / "box.toml"
    for label, code in (("cup", 0), ("tiny-1", 2)):
        config.write_text(box({"door": camera}, f'model = "{model}"\nlabels = "mine.txt"\nevent = ["{label}"]\n'))
        check = run_cli("--config", str(config), "--check", cwd=tmp_path)
        assert check.returncode == code and "Traceback" not in check.stderr, (label, check)
    assert "--event tiny-1: the model has no class of that name" in check.stderr, check
