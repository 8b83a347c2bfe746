"""benchmarks/run.py's own command line: where a run writes, and what its report says was run."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git_ignores(path: Path) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT).returncode == 0


def test_a_run_never_writes_over_the_committed_reports_by_default(bench: ModuleType) -> None:
    out = bench.default_out("vm", time.gmtime(0))
    assert out.parent == ROOT / "benchmarks" / "results" and out.name == "local-vm-19700101-000000"
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot ask git what it ignores")
    assert git_ignores(out / "vm.md") and git_ignores(out / "vm-latency.png"), "a local run is never committed"
    assert not git_ignores(ROOT / "benchmarks" / "results" / "vm.md"), "the committed report stays tracked"


def test_the_report_names_the_command_that_made_it(bench: ModuleType) -> None:
    assert bench.produced_by({"quick": False, "only": list(bench.SECTIONS)}) == "python benchmarks/run.py"
    assert (bench.produced_by({"quick": True, "only": ["inference", "preprocess"]})
            == "python benchmarks/run.py --quick --only inference,preprocess")
    assert bench.produced_by({"quick": False}) == "python benchmarks/run.py", "older reports had no 'only'"


def test_the_help_says_where_it_writes_and_how_long_quick_takes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "--out DIR" in text and "local-<host>-<date>" in text
    assert "--quick" in text and "minutes" in text.split("--quick", 2)[-1].split("--only")[0]
