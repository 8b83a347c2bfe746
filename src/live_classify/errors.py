"""The one exception type the commands turn into a one-line message and a non-zero exit."""
from __future__ import annotations

import sys
from collections.abc import Callable

from live_classify.log import one_line


class LiveClassifyError(Exception):
    """A problem the user can fix (bad file, bad flag, missing device); never a bug."""


class BadValue(ValueError):
    """A value given in text (a flag's, a URL, a size) that cannot be read: its message is the one line
    the user sees. ``cli/argtypes.py`` turns it into argparse's usage error (exit 2)."""


class UsageError(LiveClassifyError):
    """A command line refused as it stands, found only once the run starts (exit 2, as argparse's)."""


def exit_code(prog: str, action: Callable[[], int], *, timed: bool = False) -> int:
    """Run a command's work: a user error is one line on stderr and exit 1 (2 for a refused command
    line), Ctrl+C is exit 130.
    ``timed``: the line as the program's log lines are (with the time, where stderr is no terminal)."""
    line = one_line if timed else lambda name, message: f"{name}: {message}"
    try:
        return action()
    except LiveClassifyError as error:
        print(line(prog, f"error: {error}"), file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1
    except KeyboardInterrupt:
        print(line(prog, "interrupted"), file=sys.stderr)
        return 130


def first_line(error: BaseException) -> str:
    """The first line of an error's message (onnxruntime's run to many lines), or its type's name."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
