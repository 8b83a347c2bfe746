"""Value checkers for the command line: each turns a flag's text into a value or one clear error."""
from __future__ import annotations

import argparse
import math
import re


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


def non_negative_float(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
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


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SIZE_UNITS = {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
              "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _amount(text: str, units: dict[str, int], what: str) -> float:
    """A positive number followed by one of ``units`` (any case, a space allowed), in the base unit."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*", text.lower())
    if not match or match[2] not in units:
        raise argparse.ArgumentTypeError(f"{what}, not {text!r}")
    value = float(match[1]) * units[match[2]]
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text!r}")
    return value


def duration(text: str) -> float:
    """``30s``, ``10m``, ``2h``, ``7d``: seconds."""
    return _amount(text, DURATION_UNITS, "expected a duration such as 30s, 10m, 2h or 7d")


def data_size(text: str) -> int:
    """``500MB``, ``50GB`` (powers of 1000; ``GiB`` and kin for powers of 1024): bytes."""
    return round(_amount(text, SIZE_UNITS, "expected a size such as 500MB or 50GB"))


def segment_length(text: str) -> float:
    """``--segment``: a duration of at least a second (a segment is named by its start, to the second)."""
    value = duration(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"a segment is at least 1s long, not {text!r}")
    return value


def retention_limit(text: str) -> tuple[str, float]:
    """``--retain``: ("size", bytes) for ``50GB``, ("age", seconds) for ``7d``."""
    unit = re.sub(r"[\d.\s]", "", text.lower())
    if unit in SIZE_UNITS:
        return ("size", data_size(text))
    if unit in DURATION_UNITS:
        return ("age", duration(text))
    raise argparse.ArgumentTypeError(f"expected a size such as 50GB or an age such as 7d, not {text!r}")


def bitrate(text: str) -> int:
    """``2M``, ``800k``, ``1500000``: bits per second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([km]?)\s*", text.lower())
    value = float(match[1]) * {"": 1, "k": 10**3, "m": 10**6}[match[2]] if match else 0
    if value < 1000:
        raise argparse.ArgumentTypeError(f"expected a bitrate such as 2M or 800k (bits per second), not {text!r}")
    return round(value)


def crf(text: str) -> int:
    """libx264's constant rate factor: 0 (lossless) to 51 (worst)."""
    value = non_negative_int(text)
    if value > 51:
        raise argparse.ArgumentTypeError(f"must be 0 (best) to 51 (smallest), not {text}")
    return value
