"""Mutation testing of batching, stats, queues and the engine's fallback and Triton backend with mutmut.

A benchmark, not part of CI (about 8 minutes on two shared cores). mutmut reads its settings only from
``pyproject.toml`` (or ``setup.cfg``), and the engine's run keeps its own ``[tool.mutmut]`` there, so
this one runs in a scratch copy of the repository, ``out/mutation-core/``: ``src/``, ``tests/`` and
``models/`` copied, and a ``pyproject.toml`` whose ``[tool.mutmut]`` is :data:`CONFIG`. The
``mutants/`` folder it writes stays there (``out/`` is ignored). Report: ``benchmarks/results/mutation-core.md``.

    python benchmarks/mutation_core.py                 # mutmut run --max-children 1, then the results
    python benchmarks/mutation_core.py results         # any other mutmut command, in the scratch copy
    python benchmarks/mutation_core.py survivors       # each survivor with the line it changes
    python benchmarks/mutation_core.py show NAME
    python benchmarks/mutation_core.py run NAME...     # those mutants again, with the tests as they are now
    python benchmarks/mutation_core.py --fresh         # forget the previous run's verdicts first
    python benchmarks/mutation_core.py --only=stream/stats   # one module, in out/mutation-core-stream-stats/

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
SLOW = [  # seconds each (mutmut runs them once per mutant; they stay in the ordinary suite): the threaded
    # batching ones have fake-clock counterparts in test_batching_clock.py; the memory one is no unit test
    "tests/unit/pipeline/test_batching.py::test_a_camera_never_takes_two_places_in_one_batch",
    "tests/unit/pipeline/test_batching.py::test_live_frames_are_dropped_while_the_server_is_away_and_classifying_resumes",
    "tests/unit/pipeline/test_batching.py::test_a_file_waits_for_the_server_instead_of_skipping_frames",
    "tests/unit/pipeline/test_stats.py::test_memory_stays_flat_however_many_frames_are_classified",
]
MODULES = ("stream/batching", "stream/stats", "stream/queues", "engine/fallback", "engine/triton_backend")
CONFIG = {
    "source_paths": ["src/"],
    "only_mutate": [f"src/live_classify/{name}.py" for name in MODULES],
    "pytest_add_cli_args_test_selection": [
        "tests/unit/pipeline/test_batching.py", "tests/unit/pipeline/test_batching_clock.py",
        "tests/unit/pipeline/test_stats.py", "tests/unit/pipeline/test_queues.py",
        "tests/unit/engine/test_fallback.py", "tests/unit/engine/test_triton_backend.py",
        *(f"tests/e2e/test_triton.py::{name}" for name in TRITON_UNIT),
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
    config = {**CONFIG, "pytest_add_cli_args_test_selection": [  # (a file missing from an older checkout is left out)
        test for test in selection if test.startswith("-") or (ROOT / test.split("::")[0]).exists()]}
    pyproject = (ROOT / "pyproject.toml").read_text()
    pyproject = re.sub(r"\n\[tool\.mutmut\]\n.*?(?=\n\[|\Z)", "\n", pyproject, flags=re.S)  # the engine's, if merged
    (SCRATCH / "pyproject.toml").write_text(pyproject.rstrip() + "\n\n" + toml_block(config))


def mutant_diffs(module: str) -> dict[str, str]:
    """Each mutant of ``module`` (e.g. "stream/batching") as the line it changes, "old -> new", read from
    mutmut's trampolined copy at once (``mutmut show`` takes seconds per mutant)."""
    text = (SCRATCH / "mutants" / "src" / "live_classify" / f"{module}.py").read_text()
    functions = {m.group(2): m.group(0) for m in
                 re.finditer(r"\n(    )?def (x\S+?)\(.*?(?=\n(    )?def |\n\S|\Z)", text, re.S)}
    diffs = {}
    for name, body in functions.items():
        match = re.match(r"(.*)__mutmut_(\d+)$", name)
        original = functions.get(f"{match.group(1)}__mutmut_orig") if match else None
        if original is None:
            continue
        old = original.replace(f"{match.group(1)}__mutmut_orig", "f").splitlines()
        new = body.replace(name, "f").splitlines()
        # A line added or removed shifts the rest: only the first difference is shown.
        changed = [(a.strip(), b.strip()) for a, b in zip(old, new, strict=False) if a != b]
        diffs[name] = "; ".join(f"{a}  ->  {b}" for a, b in changed[:1]) or "(a line removed)"
    return diffs


def survivors(mutmut: str) -> int:
    """The surviving (and timed-out) mutants with the line each changes."""
    results = subprocess.run([mutmut, "results"], cwd=SCRATCH, capture_output=True, text=True).stdout
    diffs: dict[str, dict[str, str]] = {}
    for line in results.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if status not in ("survived", "timeout", "suspicious"):
            continue
        module = name.split(".x")[0].removeprefix("live_classify.").replace(".", "/")
        diffs.setdefault(module, mutant_diffs(module))
        short = name.split("ǁ")[-1] if "ǁ" in name else name.split(".x_")[-1]
        print(f"{status:9} {module}: {short}: {diffs[module].get(name.split('.')[-1], '?')}")
    return 0


def main(argv: list[str]) -> int:
    global SCRATCH
    fresh = "--fresh" in argv
    only = [a.split("=", 1)[1] for a in argv if a.startswith("--only=")]
    argv = [a for a in argv if a != "--fresh" and not a.startswith("--only=")]
    if only:  # one module, in a scratch copy of its own (the full run's verdicts stay)
        assert set(only) <= set(MODULES), f"--only: one of {MODULES}"
        CONFIG["only_mutate"] = [f"src/live_classify/{name}.py" for name in only]
        SCRATCH = SCRATCH.with_name(f"{SCRATCH.name}-{'-'.join(only).replace('/', '-')}")
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    if argv == ["survivors"]:
        return survivors(mutmut)
    if argv and argv[0] == "run":  # run NAME...: those mutants again, against the tests as they are now
        prepare(fresh)
    if argv:  # results, show NAME ...: on the last run as it stands
        return subprocess.call([mutmut, *argv], cwd=SCRATCH)
    prepare(fresh)
    code = subprocess.call([mutmut, "run", "--max-children", "1"], cwd=SCRATCH)
    subprocess.call([mutmut, "results"], cwd=SCRATCH)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
