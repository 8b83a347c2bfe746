"""A plain (non-editable) install finds the bundled model from any working directory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import COFFEE, run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_the_model_and_finds_it_anywhere(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    wheel = next((tmp_path / "dist").glob("live_classify-*.whl"))
    assert "live_classify/models/efficientnet_lite0.onnx" in zipfile.ZipFile(wheel).namelist()

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import live_classify.engine.model as m; print(m.default_model_path())"],
        capture_output=True, text=True, cwd=elsewhere, env=env, check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(site), where
    run = run_cli("--source", str(COFFEE), "--json", "--provider", "cpu", cwd=elsewhere, env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["top"][0]["label"] == "espresso"
