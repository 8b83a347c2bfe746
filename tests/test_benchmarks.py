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


# -- benchmarks/recording.py ------------------------------------------------------------------

@pytest.fixture(scope="module")
def recording() -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("bench_recording", ROOT / "benchmarks" / "recording.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_recording_benchmark_says_what_it_measures_and_where_it_writes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "recording.py"), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "--out DIR" in text and "local-<host>-<date>" in text and "--quick" in text


def test_the_recording_quality_is_measured_against_the_very_frames_written(recording: ModuleType,
                                                                        tmp_path: Path) -> None:
    row = recording.measure_scene("pan", (320, 240), 12, tmp_path)
    for kind in ("mp4", "avi"):
        assert row[kind]["frames_read_back"] == 12, kind
        assert row[kind]["psnr_min_db"] > 30, f"{kind}: a frame compared with another than the one written"
    assert row["avi_over_mp4"] > 1 and row["mp4"]["mb_per_hour"] > 0


def test_the_encoding_clip_plays_back_and_forth_without_a_cut(recording: ModuleType) -> None:
    indices = list(recording.ping_pong(20, 5))
    assert set(indices) == set(range(5)) and indices[:6] == [0, 1, 2, 3, 4, 3]
    assert all(abs(a - b) == 1 for a, b in zip(indices, indices[1:]))


def test_the_summary_lines_of_the_command_are_read(recording: ModuleType) -> None:
    stderr = ("live-classify: 600 frames captured, 540 classified, 60 dropped, 0 reconnects in 20.0 s\n"
              "live-classify: capture 30.0 fps, inference 27.0 fps; latency p50 16 ms, p95 40 ms; CPUExecutionProvider\n"
              "live-classify: recorded 590 frames to x.mp4 at 30 fps (the source's times), 10 dropped: the encoder fell behind\n")
    row = recording.parse_summary(stderr)
    assert (row["captured"], row["classified"], row["dropped"], row["elapsed_s"]) == (600, 540, 60, 20.0)
    assert (row["capture_fps"], row["inference_fps"], row["recorded"], row["encoder_dropped"]) == (30.0, 27.0, 590, 10)
    assert recording.parse_summary(stderr.splitlines()[0])["recorded"] == 0
