"""Shared fixtures: the bundled model, the test photos, the real CLI as a subprocess, tiny foreign models."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from live_classify.classifier import Classifier
from live_classify.model import default_model_path

DATA = Path(__file__).parent / "data"
CHELSEA = DATA / "chelsea.png"
COFFEE = DATA / "coffee.png"


@dataclass
class Run:
    """What one run of the real command printed, and how it ended."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120, env: dict[str, str] | None = None) -> Run:
    """Run ``live-classify`` for real, in its own process, as a user would."""
    done = subprocess.run(
        [sys.executable, "-m", "live_classify", *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def assert_clean_error(run: Run, *fragments: str) -> None:
    """A user error: non-zero exit, one line on stderr naming the problem, no traceback."""
    assert run.returncode != 0, run
    assert "Traceback" not in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, run.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.fixture(scope="session")
def model_path() -> Path:
    return default_model_path()


@pytest.fixture(scope="session")
def classifier(model_path: Path) -> Classifier:
    return Classifier.open(model_path, provider="cpu")
