"""The layers, read from every module's imports (with ``ast``, so nothing is imported to check them).

- ``argparse`` only in ``cli/`` (and ``train/cli.py``, the trainer's own command line): the domain
  raises :class:`~live_classify.errors.BadValue` or its own errors, ``cli/`` turns them into exit 2.
- The command line is the top: nothing outside ``cli/`` imports it (at load time or in a function)
  but ``__main__``, which runs it, and the trainer's command line (``train/cli.py``, which shares
  its argument types). What a run needs from the command line comes in the run's config.
- No import cycle at module level (imports inside functions and under ``if TYPE_CHECKING:`` do not
  run when the module loads, so they are left out).
- Sinks read the engine's answers, never the engine: of ``live_classify.engine`` they may import only
  ``ALLOWED_ENGINE_IN_SINKS`` (the result types and the top-k they hold, plain values with no
  onnxruntime behind them), and nothing of ``cli/``.
- The pipeline (frames in, predictions out) imports no sink and nothing of ``app/``, which wires
  the outputs to it.
- ``config`` is a leaf: of the package it imports only ``errors``; and every ``*Config`` or
  ``*Settings`` class of the layers below the command line lives in it (``cli/`` may name its own
  structures so, e.g. the tables of a configuration file, which become flags, not run values).
- The plain values (``config``, the engine's results, the stream's frames) load without
  onnxruntime or PyAV, and ``live-classify --help`` imports neither (nor OpenCV).
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "live_classify"
SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = SRC / PACKAGE
ARGPARSE_ALLOWED = ("live_classify.cli", "live_classify.train.cli")
CLI_USERS = ("live_classify.cli", "live_classify.__main__", "live_classify.train.cli")
ALLOWED_ENGINE_IN_SINKS = {"live_classify.engine.results", "live_classify.engine.postprocess"}
PLAIN_VALUES = ("live_classify.config", "live_classify.errors", "live_classify.log", "live_classify.engine.results",
                "live_classify.pipeline.frames", "live_classify.cli.flags")
HEAVY = ("onnxruntime", "av")
HELP_FREE = (*HEAVY, "cv2")  # --help answers in a tenth of a second


@dataclass(frozen=True)
class Import:
    """One import statement's target, and whether it runs when its module loads."""

    target: str  # a module of the package (resolved), or the top-level name of an outside one
    at_load: bool  # at module level, not in a function, not under ``if TYPE_CHECKING:``


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, at_load: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import under ``node``, and whether it runs at load time."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, at_load
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _walk(child, False)
        elif isinstance(child, ast.If) and _is_type_checking(child):
            yield from _walk(child, False)
        else:
            yield from _walk(child, at_load)


def _resolve(name: str, known: set[str]) -> str:
    """A package module by its dotted name, or an outside one by its top-level name."""
    if name == PACKAGE or name.startswith(PACKAGE + "."):
        while name not in known and "." in name:
            name = name.rpartition(".")[0]
        return name
    return name.partition(".")[0]


def imports(module: str, path: Path, known: set[str]) -> list[Import]:
    """What ``module`` imports, each ``from package import submodule`` resolved to the submodule."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node, at_load in _walk(ast.parse(path.read_text(encoding="utf-8")), True):
        if isinstance(node, ast.Import):
            found += [Import(_resolve(alias.name, known), at_load) for alias in node.names]
            continue
        base = node.module or ""
        if node.level:
            base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
        for alias in node.names:
            full = f"{base}.{alias.name}"
            found.append(Import(_resolve(full if full in known else base, known), at_load))
    return found


GRAPH = {name: imports(name, path, set(modules())) for name, path in modules().items()}


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_argparse_only_on_the_command_line() -> None:
    offenders = sorted(m for m, found in GRAPH.items()
                       if any(i.target == "argparse" for i in found) and not _under(m, ARGPARSE_ALLOWED))
    assert not offenders, f"argparse outside cli/: {offenders} (raise errors.BadValue; cli/argtypes.py wraps it)"


def test_only_the_command_line_imports_the_command_line() -> None:
    offenders = sorted((m, i.target) for m, found in GRAPH.items() if not _under(m, CLI_USERS)
                       for i in found if _under(i.target, ("live_classify.cli",)))
    assert not offenders, f"cli/ imported from below it: {offenders} (pass what the layer needs in its config)"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself): Tarjan."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def load_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports at load time."""
    return {m: {i.target for i in found if i.at_load and i.target in GRAPH} for m, found in GRAPH.items()}


def test_no_import_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # the finder finds one
    assert not cycles(load_graph()), "modules that import each other at load time"


def test_sinks_read_the_engine_s_answers_not_the_engine() -> None:
    offenders = sorted((m, i.target) for m, found in GRAPH.items() if _under(m, ("live_classify.sinks",))
                       for i in found
                       if (_under(i.target, ("live_classify.engine",)) and i.target not in ALLOWED_ENGINE_IN_SINKS)
                       or _under(i.target, ("live_classify.cli",)))
    assert not offenders, f"sinks importing the engine's internals or the command line: {offenders}"


def test_the_pipeline_knows_no_output_and_no_application() -> None:
    offenders = sorted((m, i.target) for m, found in GRAPH.items() if _under(m, ("live_classify.pipeline",))
                       for i in found if _under(i.target, ("live_classify.sinks", "live_classify.app")))
    assert not offenders, f"the pipeline importing an output or the application: {offenders}"


def test_config_is_a_leaf_and_holds_every_config() -> None:
    ours = {i.target for i in GRAPH["live_classify.config"] if _under(i.target, (PACKAGE,))}
    assert ours <= {"live_classify.errors", "live_classify.redact"}, f"config imports {sorted(ours)}"
    redact = {i.target for i in GRAPH["live_classify.redact"] if _under(i.target, (PACKAGE,))}
    assert not redact, f"redact, a leaf below config, imports {sorted(redact)}"
    elsewhere = sorted(f"{m}.{node.name}" for m, path in modules().items()
                       if m != "live_classify.config" and not _under(m, ("live_classify.cli",))
                       for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                       if isinstance(node, ast.ClassDef) and node.name.endswith(("Config", "Settings")))
    assert not elsewhere, f"config classes outside config.py: {elsewhere}"


def loaded_with(module: str) -> set[str]:
    """Everything ``module`` loads with it (package modules, their packages, outside top-level names)."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        parents = [current.rsplit(".", n)[0] for n in range(1, current.count(".") + 1)] if current in GRAPH else []
        todo += [i.target for i in GRAPH.get(current, ()) if i.at_load] + parents
    return seen


def test_plain_values_load_without_onnxruntime_or_pyav() -> None:
    heavy = {m: sorted(set(HEAVY) & loaded_with(m)) for m in PLAIN_VALUES}
    assert not any(heavy.values()), f"plain values that load a heavy library: {heavy}"


def test_help_imports_neither_onnxruntime_nor_pyav_nor_opencv() -> None:
    script = ("import sys\nfrom live_classify.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n"
              f"    pass\nprint('LOADED', *[name for name in {HELP_FREE!r} if name in sys.modules])")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "LOADED", run.stdout.splitlines()[-1]


# Underscore names that are public API (os._exit, a namedtuple's _replace); argparse's internals
# (it has no public way to list a parser's flags) are read in one module only.
OUTSIDE_PRIVATE = {"os._exit", "_replace", "_asdict", "_fields"}
ARGPARSE_INTERNALS = ("live_classify.cli.argparse_parts", {"_actions", "_mutually_exclusive_groups", "_group_actions",
                                                          "_AppendAction"})


def _private_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """``x._name`` where ``x`` is not ``self``, ``cls`` or ``super()``: another object's or module's internals."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        owner = node.value
        if (isinstance(owner, ast.Name) and owner.id in ("self", "cls")) or \
                (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super"):
            continue
        if node.attr not in OUTSIDE_PRIVATE and ast.unparse(node) not in OUTSIDE_PRIVATE:
            found.append((node.lineno, ast.unparse(node)))
    return found


def _attribute_writes(tree: ast.AST) -> list[tuple[int, str]]:
    """``x.name = ...`` where ``x`` is not ``self`` or ``cls``: writing into another object."""
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) and \
                        not (isinstance(sub.value, ast.Name) and sub.value.id in ("self", "cls")):
                    found.append((sub.lineno, ast.unparse(sub)))
    return found


def test_the_finders_find_what_they_look_for() -> None:
    tree = ast.parse("a._b\nself._c\nsuper()._d\nos._exit(1)\nx.y = 1\nself.z = 2\nw.v += 1\n")
    assert [text for _, text in _private_reads(tree)] == ["a._b"]
    assert [text for _, text in _attribute_writes(tree)] == ["x.y", "w.v"]


def test_no_module_reads_another_s_underscore_attributes() -> None:
    module, allowed = ARGPARSE_INTERNALS
    offenders = [f"{m}:{line} {text}" for m, path in modules().items()
                 for line, text in _private_reads(ast.parse(path.read_text(encoding="utf-8")))
                 if not (m == module and text.rpartition(".")[2] in allowed)]
    assert not offenders, f"reading another module's or object's internals: {offenders}"


def test_the_application_writes_into_no_other_object() -> None:
    """The run is assembled from components that change themselves (``reconfigure``): the
    application never patches an output's or a camera's attributes from outside."""
    offenders = [f"{m}:{line} {text}" for m, path in modules().items() if _under(m, ("live_classify.app",))
                 for line, text in _attribute_writes(ast.parse(path.read_text(encoding="utf-8")))]
    assert not offenders, f"the application writing into another object: {offenders}"
