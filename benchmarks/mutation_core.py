"""Mutation testing of batching, stats, queues and the engine's fallback and Triton backend with mutmut.

A benchmark, not part of CI (minutes to an hour on two cores). mutmut reads its settings only from
``pyproject.toml`` (or ``setup.cfg``), and the engine's run keeps its own ``[tool.mutmut]`` there, so
this one runs in a scratch copy of the repository, ``out/mutation-core/``: ``src/``, ``tests/`` and
``models/`` copied, and a ``pyproject.toml`` whose ``[tool.mutmut]`` is :data:`CONFIG`. The
``mutants/`` folder it writes stays there (``out/`` is ignored). Report: ``benchmarks/results/mutation-core.md``.

    python benchmarks/mutation_core.py                 # mutmut run --max-children 1, then the results
    python benchmarks/mutation_core.py results         # any other mutmut command, in the scratch copy
    python benchmarks/mutation_core.py show NAME
    python benchmarks/mutation_core.py --fresh         # forget the previous run's verdicts first

Only fast in-process unit tests are selected: a test that runs the real command as a subprocess
imports the unmutated package and cannot see a mutant.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / "out" / "mutation-core"
TRITON_UNIT = [  # test_triton.py's tests that need no server
    "test_a_backend_url_names_protocol_host_port_and_model",
    "test_a_bad_backend_url_is_a_bad_command_line",
    "test_without_tritonclient_one_line_says_how_to_install_it",
    "test_the_fallback_classifies_here_while_the_server_is_down_and_goes_back",
    "test_the_fallbacks_retry_interval_grows_to_five_seconds_and_no_further",
    "test_once_the_server_answers_again_it_is_said_once_and_the_backoff_starts_over",
]
SLOW = [  # threads and real seconds: each has a fake-clock counterpart in its file, and mutmut runs the
    # selection once per mutant, so these would triple the run (they stay in the ordinary suite)
    "tests/test_batching.py::test_a_camera_never_takes_two_places_in_one_batch",
    "tests/test_batching.py::test_live_frames_are_dropped_while_the_server_is_away_and_classifying_resumes",
    "tests/test_batching.py::test_a_file_waits_for_the_server_instead_of_skipping_frames",
    "tests/test_stats.py::test_memory_stays_flat_however_many_frames_are_classified",
]
CONFIG = {
    "source_paths": ["src/"],
    "only_mutate": [f"src/live_classify/{name}.py" for name in
                    ("batching", "stats", "queues", "engine/fallback", "engine/triton_backend")],
    "pytest_add_cli_args_test_selection": [
        "tests/test_batching.py", "tests/test_stats.py", "tests/test_queues.py", "tests/test_fallback.py",
        "tests/test_triton_backend.py", *(f"tests/test_triton.py::{name}" for name in TRITON_UNIT),
        *(f"--deselect={test}" for test in SLOW),
    ],
    "also_copy": ["models/"],
}


def toml_block(config: dict[str, list[str]]) -> str:
    lines = ["[tool.mutmut]"]
    for key, values in config.items():
        lines.append(f"{key} = [" + ", ".join(f'"{v}"' for v in values) + "]")
    return "\n".join(lines) + "\n"


def prepare(fresh: bool) -> None:
    """The scratch copy, up to date with the working tree; its mutants/ kept unless ``fresh``."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    if fresh:
        shutil.rmtree(SCRATCH / "mutants", ignore_errors=True)
    for folder in ("src", "tests", "models"):
        shutil.rmtree(SCRATCH / folder, ignore_errors=True)
        shutil.copytree(ROOT / folder, SCRATCH / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(SCRATCH / "mutants" / "tests", ignore_errors=True)  # mutmut keeps stale copies otherwise
    selection = CONFIG["pytest_add_cli_args_test_selection"]
    config = {**CONFIG, "pytest_add_cli_args_test_selection": [  # a file not written yet is left out
        test for test in selection if test.startswith("-") or (ROOT / test.split("::")[0]).exists()]}
    pyproject = (ROOT / "pyproject.toml").read_text()
    pyproject = re.sub(r"\n\[tool\.mutmut\]\n.*?(?=\n\[|\Z)", "\n", pyproject, flags=re.S)  # the engine's, if merged
    (SCRATCH / "pyproject.toml").write_text(pyproject.rstrip() + "\n\n" + toml_block(config))


def main(argv: list[str]) -> int:
    fresh = "--fresh" in argv
    argv = [a for a in argv if a != "--fresh"]
    prepare(fresh)
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    if argv:
        return subprocess.call([mutmut, *argv], cwd=SCRATCH)
    code = subprocess.call([mutmut, "run", "--max-children", "1"], cwd=SCRATCH)
    subprocess.call([mutmut, "results"], cwd=SCRATCH)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
