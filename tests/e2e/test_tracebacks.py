"""A bug in an output is one line by default and, with ``--verbose``, its traceback too (issue 21).

The real command runs in its own process with one planted bug: the JSON-lines sink's ``write``
(called by the main loop, caught by ``Sinks``) or the MJPEG recorder's ``write`` (called on the
recording's own thread, caught by ``BackgroundWriter``) raises. The run, whose only output it is,
ends with one line either way; only ``--verbose`` adds where it came from.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import headless_env

BUG = "a bug planted by the test"
PLANT = """
import sys
from live_classify.sinks.jsonl import JsonLines
from live_classify.sinks.record.mjpeg import MjpegWriter
def _planted_bug(*args, **kwargs):
    raise RuntimeError({bug!r})
{cls}.write = _planted_bug
from live_classify.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
CASES = {  # the class whose write() fails, and the flags that use it (the run's only output: it ends the run)
    "json lines": ("JsonLines", ["--jsonl", "{tmp}/out.jsonl"]),
    "recording": ("MjpegWriter", ["--record", "{tmp}/out.avi"]),
}


def run_with_bug(case: str, tmp_path: Path, video: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cls, flags = CASES[case]
    argv = [*(flag.format(tmp=tmp_path) for flag in flags), "--source", str(video), "--headless",
            "--provider", "cpu", *extra]
    script = PLANT.format(bug=BUG, cls=cls)
    return subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=120,
                          env=headless_env())


@pytest.mark.parametrize("case", list(CASES))
def test_a_bug_in_an_output_is_one_line_and_its_traceback_with_verbose(case: str, tmp_path: Path,
                                                                       video_file: Path) -> None:
    quiet = run_with_bug(case, tmp_path, video_file)
    assert quiet.returncode == 1, quiet.stderr
    assert quiet.stderr.splitlines()[-1].endswith(f"live-classify: error: {BUG}")
    assert "Traceback" not in quiet.stderr and "_planted_bug" not in quiet.stderr

    loud = run_with_bug(case, tmp_path, video_file, "--verbose")
    assert loud.returncode == 1, loud.stderr
    assert loud.stderr.splitlines()[-1].endswith(f"live-classify: error: {BUG}")
    assert "Traceback (most recent call last)" in loud.stderr
    assert "in _planted_bug" in loud.stderr and f"RuntimeError: {BUG}" in loud.stderr  # its last line
