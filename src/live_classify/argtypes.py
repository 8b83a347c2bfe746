"""Value checkers for the command line: each turns a flag's text into a value or one clear error."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2) instead of the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def fraction(text: str) -> float:
    """A number in (0, 1]."""
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], not {text}")
    return value


def holdout_fraction(text: str) -> float:
    """A number in [0, 1): the share of data held out."""
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), not {text}")
    return value


def fourcc(text: str) -> str:
    """A camera pixel format such as MJPG or YUYV."""
    if len(text) != 4 or not text.isascii() or not text.isprintable():
        raise argparse.ArgumentTypeError(f"a pixel format is 4 characters, such as MJPG or YUYV, not {text!r}")
    return text.upper()


def size(text: str) -> tuple[int, int]:
    """``N`` (square) or ``HxW``, as (height, width)."""
    parts = text.lower().split("x")
    if len(parts) not in (1, 2) or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected N or HxW with positive numbers, not {text!r}")
    return (int(parts[0]), int(parts[-1]))


def triple(text: str) -> tuple[float, float, float]:
    """One number for all three channels, or three (R,G,B)."""
    parts = text.split(",")
    if len(parts) not in (1, 3):
        raise argparse.ArgumentTypeError(f"expected one number or three (R,G,B), not {text!r}")
    values = [_number(p) for p in parts] * (3 // len(parts))
    return (values[0], values[1], values[2])


def file_with_suffix(suffixes: tuple[str, ...], why: str) -> Callable[[str], Path]:
    """A file name that must end in one of ``suffixes`` (any case); a directory is left to the
    caller, whose "is a directory" says more than a missing suffix."""

    def check(text: str) -> Path:
        path = Path(text)
        if path.suffix.lower() not in suffixes and not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text}: use a {' or '.join(suffixes)} file ({why})")
        return path

    return check
