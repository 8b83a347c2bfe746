"""What to classify, in the order the command line gives it: ``--camera`` and ``--source``, as
many as wanted in any mix, each optionally followed by ``--name`` (the name its JSON lines,
recordings and MQTT topics carry)."""
from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass
class Input:
    """One ``--camera`` or ``--source`` value, and the ``--name`` given after it."""

    kind: str  # "camera" or "source"
    value: str
    name: str | None = None


def camera_name(text: str) -> str:
    """A name that is safe as a folder, a file name and an MQTT topic level."""
    if not NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"a camera name is 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), not {text!r}")
    return text


class AddInput(argparse.Action):
    """``--camera`` / ``--source``: kept under the flag's own name, and in ``inputs`` in command-line order."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[str] | None, option_string: str | None = None) -> None:
        new = [values] if isinstance(values, str) else list(values or [])
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), *new])
        inputs = getattr(namespace, "inputs", None) or []
        namespace.inputs = [*inputs, *(Input(self.dest, value) for value in new)]


class NameInput(argparse.Action):
    """``--name``: names the ``--camera`` or ``--source`` given just before it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[str] | None, option_string: str | None = None) -> None:
        inputs = getattr(namespace, "inputs", None) or []
        if not inputs:
            parser.error("--name names the --camera or --source given before it: put it after one")
        if inputs[-1].name is not None:
            parser.error(f"--name given twice for {inputs[-1].value} ({inputs[-1].name!r} and {values!r})")
        inputs[-1].name = str(values)
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), str(values)])


def default_names(inputs: Sequence[Input], single: str) -> list[str]:
    """Each input's name: its ``--name``, else ``cam0``, ``cam1``... (``single`` when there is one input)."""
    if len(inputs) == 1:
        return [inputs[0].name or single]
    return [given.name or f"cam{index}" for index, given in enumerate(inputs)]


def name_problems(inputs: Sequence[Input], names: Sequence[str], collecting: bool) -> list[str]:
    """Names that cannot tell the cameras apart: duplicates, or collected frames without names."""
    problems = [f"two cameras are named {name!r}: give each --name once"
                for name in sorted({n for n in names if names.count(n) > 1})]
    if collecting and len(inputs) > 1 and any(given.name is None for given in inputs):
        problems.append("--collect/--classes with several cameras needs a --name after each one "
                        "(the frames are saved under it)")
    return problems
