"""Value checkers for the command line: each turns a flag's text into a value or one clear error.

The domain's own readers (an MQTT URL, a Triton URL, ``--record``'s target, ``--serve``'s address)
raise :class:`BadValue`; :func:`_usage` makes each an argparse type, so a bad value is the same one
line and exit 2 as any other bad flag. A value out of bounds says what the flag takes, the same words
on the command line (``--smooth must be a number between 0 and 1, not 1.5``) and in a configuration
file (``box.toml:3: min-confidence must be a number between 0 and 1, not "high"``).
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from live_classify.config import HEALTH_PROBLEMS, BrokerUrl
from live_classify.engine import triton_target
from live_classify.engine.triton_target import TritonTarget
from live_classify.errors import BadValue
from live_classify.sinks import mqtt_broker
from live_classify.sinks.events import mqtt_topics, webhook_address
from live_classify.sinks.record import target
from live_classify.sinks.web import listen, users
from live_classify.sinks.web.listen import MAX_CLIENTS, Address

T = TypeVar("T")


def _usage(read: Callable[[str], T]) -> Callable[[str], T]:
    """``read`` as an argparse type: its :class:`BadValue` becomes argparse's usage error, word for word."""
    @functools.wraps(read)
    def checked(text: str) -> T:
        try:
            return read(text)
        except BadValue as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return checked


broker_url: Callable[[str], BrokerUrl] = _usage(mqtt_broker.broker_url)  # --mqtt
ca_file: Callable[[str], Path] = _usage(mqtt_broker.ca_file)  # --mqtt-ca
backend_url: Callable[[str], TritonTarget] = _usage(triton_target.backend_url)  # --backend
record_target: Callable[[str], Path] = _usage(target.target)  # --record
serve_address: Callable[[str], Address] = _usage(listen.address)  # --serve
serve_password_file: Callable[[str], Path] = _usage(listen.password_file)  # --serve-password-file
serve_users_file: Callable[[str], Path] = _usage(users.users_file)  # --serve-users
serve_host: Callable[[str], str] = _usage(listen.serve_host)  # --serve-host
webhook_url: Callable[[str], str] = _usage(webhook_address.webhook_url)  # --webhook
public_url: Callable[[str], str] = _usage(webhook_address.public_url)  # --public-url
device_class: Callable[[str], tuple[str, str]] = _usage(mqtt_topics.device_class)  # --mqtt-device-class


def shown(text: str) -> str:
    """A refused value as a message shows it: a number as typed, anything else in quotes."""
    try:
        float(text)
    except ValueError:
        return json.dumps(text, ensure_ascii=False)
    return text.strip()


def _refuse(what: str, text: str) -> argparse.ArgumentTypeError:
    """``must be WHAT, not TEXT``: what the flag takes, and what it was given."""
    return argparse.ArgumentTypeError(f"must be {what}, not {shown(text)}")


def _bounded(text: str, what: str, within: Callable[[float], bool], whole: bool = False) -> float:
    """A number (``whole``: an integer) for which ``within`` holds, else one line saying ``what`` it must be."""
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        raise _refuse(what, text) from None
    if not math.isfinite(value) or not within(value):
        raise _refuse(what, text)
    return value


def serve_clients(text: str) -> int:
    """``--serve-clients N``: from 1 to MAX_CLIENTS."""
    return int(_bounded(text, f"a whole number from 1 to {MAX_CLIENTS}", lambda v: 1 <= v <= MAX_CLIENTS, True))


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2) instead of the usage block; a value out
    of bounds reads ``--smooth must be ...`` rather than ``argument --smooth: must be ...``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = re.sub(r"^argument (?:-\w/)?(--[\w-]+)(?:/-\w)?: must ", r"\1 must ", message)
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def non_negative_int(text: str) -> int:
    return int(_bounded(text, "a whole number, 0 or more", lambda v: v >= 0, whole=True))


def positive_int(text: str) -> int:
    return int(_bounded(text, "a whole number, 1 or more", lambda v: v >= 1, whole=True))


def positive_float(text: str) -> float:
    return _bounded(text, "a number above 0", lambda v: v > 0)


def non_negative_float(text: str) -> float:
    return _bounded(text, "a number, 0 or more", lambda v: v >= 0)


def fraction(text: str) -> float:
    """A number in (0, 1]."""
    return _bounded(text, "a number between 0 and 1", lambda v: 0 < v <= 1)


def holdout_fraction(text: str) -> float:
    """A number in [0, 1): the share of data held out."""
    return _bounded(text, "a number from 0 up to (not including) 1", lambda v: 0 <= v < 1)


def fourcc(text: str) -> str:
    """A camera pixel format such as MJPG or YUYV."""
    if len(text) != 4 or not text.isascii() or not text.isprintable():
        raise _refuse("a pixel format of 4 characters, such as MJPG or YUYV", text)
    return text.upper()


def size(text: str) -> tuple[int, int]:
    """``N`` (square) or ``HxW``, as (height, width)."""
    parts = text.lower().split("x")
    if len(parts) not in (1, 2) or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise _refuse("N or HxW with whole numbers above 0, such as 224 or 256x320", text)
    return (int(parts[0]), int(parts[-1]))


def triple(text: str) -> tuple[float, float, float]:
    """One number for all three channels, or three (R,G,B)."""
    parts = text.split(",")
    if len(parts) not in (1, 3):
        raise _refuse("one number or three (R,G,B)", text)
    values = [_bounded(p, "one number or three (R,G,B)", math.isfinite) for p in parts] * (3 // len(parts))
    return (values[0], values[1], values[2])


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SIZE_UNITS = {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
              "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _amount(text: str, units: dict[str, int], what: str) -> float:
    """A positive number followed by one of ``units`` (any case, a space allowed), in the base unit."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*", text.lower())
    if not match or match[2] not in units:
        raise _refuse(what, text)
    value = float(match[1]) * units[match[2]]
    if value <= 0:
        raise _refuse(f"more than 0 ({what})", text)
    return value


def duration(text: str) -> float:
    """``30s``, ``10m``, ``2h``, ``7d``: seconds."""
    return _amount(text, DURATION_UNITS, "a duration such as 30s, 10m, 2h or 7d")


def data_size(text: str) -> int:
    """``500MB``, ``50GB`` (powers of 1000; ``GiB`` and kin for powers of 1024): bytes."""
    return round(_amount(text, SIZE_UNITS, "a size such as 500MB or 50GB"))


def segment_length(text: str) -> float:
    """``--segment``: a duration of at least a second (a segment is named by its start, to the second)."""
    value = duration(text)
    if value < 1:
        raise _refuse("at least 1s (a segment is named by its start, to the second)", text)
    return value


def retention_limit(text: str) -> tuple[str, float]:
    """``--retain``: ("size", bytes) for ``50GB``, ("age", seconds) for ``7d``."""
    unit = re.sub(r"[\d.\s]", "", text.lower())
    if unit in SIZE_UNITS:
        return ("size", data_size(text))
    if unit in DURATION_UNITS:
        return ("age", duration(text))
    raise _refuse("a size such as 50GB or an age such as 7d", text)


def jsonl_rotation(text: str) -> int | str:
    """``--jsonl-rotate``: ``daily``, or a size such as ``100MB`` (bytes)."""
    if text.strip().lower() == "daily":
        return "daily"
    unit = re.sub(r"[\d.\s]", "", text.lower())
    if unit not in SIZE_UNITS:
        raise _refuse("daily, or a size such as 100MB", text)
    return data_size(text)


def bitrate(text: str) -> int:
    """``2M``, ``800k``, ``1500000``: bits per second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([km]?)\s*", text.lower())
    value = float(match[1]) * {"": 1, "k": 10**3, "m": 10**6}[match[2]] if match else 0
    if value < 1000:
        raise _refuse("a bitrate such as 2M or 800k (bits per second)", text)
    return round(value)


def crf(text: str) -> int:
    """libx264's constant rate factor: 0 (lossless) to 51 (worst)."""
    return int(_bounded(text, "a whole number from 0 (best) to 51 (smallest)", lambda v: 0 <= v <= 51, whole=True))


def gate_mask(text: str) -> tuple[int, int, int, int]:
    """``--gate-mask X,Y,W,H``: a rectangle in the source's pixels, inside it (checked once its size is known)."""
    parts = text.split(",")
    if len(parts) != 4 or not all(p.strip().isdigit() for p in parts) or int(parts[2]) < 1 or int(parts[3]) < 1:
        raise _refuse("X,Y,W,H in the source's pixels (whole numbers: X and Y 0 or more, W and H 1 or more)", text)
    x, y, w, h = (int(p) for p in parts)
    return (x, y, w, h)


def gate_refresh(text: str) -> float:
    """``--gate-refresh``: seconds (``10``) or a duration (``30s``, ``5m``), above 0."""
    if re.fullmatch(r"\s*[\d.]+\s*", text):
        return _bounded(text, "a number of seconds above 0, or a duration such as 30s", lambda v: v > 0)
    return duration(text)


def gate_threshold(text: str) -> int:
    """``--gate-threshold``: a luma difference, 1 to 255."""
    return int(_bounded(text, "a whole number from 1 to 255 (luma levels)", lambda v: 1 <= v <= 255, whole=True))


def percent(text: str) -> float:
    """A percentage above 0, at most 100."""
    return _bounded(text, "a percentage above 0, at most 100", lambda v: 0 < v <= 100)


def health_choice(text: str) -> tuple[str, ...]:
    """``--health``: ``on``, ``off``, or problems to watch (``dark,moved``, or the flag repeated)."""
    words = tuple(word.strip().lower() for word in text.split(",") if word.strip())
    if len(words) == 1 and words[0] in ("on", "off") or words and all(word in HEALTH_PROBLEMS for word in words):
        return words
    raise _refuse(f"on, off, or problems among {', '.join(HEALTH_PROBLEMS)}", text)


def seconds(text: str) -> float:
    """Seconds (``30``) or a duration (``30s``, ``2m``), above 0."""
    return gate_refresh(text)


def below_one(text: str) -> float:
    """A number above 0 and below 1."""
    return _bounded(text, "a number above 0 and below 1", lambda v: 0 < v < 1)


def correlation(text: str) -> float:
    """A correlation above -1 and below 1."""
    return _bounded(text, "a number above -1 and below 1", lambda v: -1 < v < 1)


def luma(text: str) -> float:
    """A luma level above 0, at most 255."""
    return _bounded(text, "a luma level above 0, at most 255", lambda v: 0 < v <= 255)
