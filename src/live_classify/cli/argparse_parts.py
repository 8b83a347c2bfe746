"""What argparse keeps to itself, read in this one place: a parser's actions, its mutually
exclusive groups, whether a flag repeats, and which flags a command line typed (argparse has no
public way to list its flags or to tell a given flag from its default)."""
from __future__ import annotations

import argparse
from collections.abc import Sequence


def actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Every flag and argument of ``parser``."""
    return list(parser._actions)


def exclusive_groups(parser: argparse.ArgumentParser) -> list[set[str]]:
    """The destinations of each mutually exclusive group."""
    return [{action.dest for action in group._group_actions} for group in parser._mutually_exclusive_groups]


def repeats(action: argparse.Action) -> bool:
    """A flag given once per value (``action="append"``)."""
    return isinstance(action, argparse._AppendAction)


def typed(parser: argparse.ArgumentParser, argv: Sequence[str] | None, raw: bool = False) -> dict[str, object]:
    """The destinations of the flags on the command line (none left at a default), with their
    values; ``raw``: as typed, neither converted nor checked against their choices."""
    for action in parser._actions:
        action.default = argparse.SUPPRESS
        if raw:
            action.type, action.choices = None, None
    return vars(parser.parse_args(argv))
