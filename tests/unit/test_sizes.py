"""Size limits that keep the code readable (issue 21): no module under src/ over 300 lines, no
function over 50.

The rule, as counted here: a module's lines are its physical lines, blank and comment lines
included. A function's lines run from its ``def`` line to its last line (``end_lineno - lineno + 1``
in ``ast``): signature, docstring, body and any blank lines inside, decorators not counted. Every
function and method is measured, nested ones too (a nested function also counts towards the one
that holds it).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def function_sizes(tree: ast.Module) -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, lines) of every function and method in ``tree``."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                yield name, child.lineno, (child.end_lineno or child.lineno) - child.lineno + 1
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def offenders() -> list[str]:
    """One line per module or function over its limit, e.g. 'app/run.py: 412 lines'."""
    found = []
    for path in modules():
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(SRC / "live_classify")
        if (lines := len(text.splitlines())) > MAX_MODULE_LINES:
            found.append(f"{where}: {lines} lines")
        for name, first, size in function_sizes(ast.parse(text, str(path))):
            if size > MAX_FUNCTION_LINES:
                found.append(f"{where}:{first} {name}(): {size} lines")
    return found


def test_the_rule_counts_a_function_from_its_def_to_its_last_line() -> None:
    tree = ast.parse("@decorator\ndef f(\n    a,\n):\n    '''Doc.'''\n\n    return a\n\n\n"
                     "class C:\n    def m(self):\n        def inner():\n            pass\n        return inner\n")
    assert list(function_sizes(tree)) == [("f", 2, 6), ("C.m", 11, 4), ("C.m.inner", 12, 2)]


def test_the_sources_are_found() -> None:
    assert SRC / "live_classify" / "__init__.py" in modules()


def test_no_module_over_300_lines_and_no_function_over_50() -> None:
    found = offenders()
    assert not found, "over the size limits:\n" + "\n".join(found)
