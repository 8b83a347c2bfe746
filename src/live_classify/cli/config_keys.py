"""The file's vocabulary is the command line's: every long flag is a key of the same name, and a
key's value becomes that flag's tokens (``min-confidence = 0.5`` is ``--min-confidence=0.5``), so the
flag's own type checks it and says what is wrong in the command line's words."""
from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from live_classify.cli.argparse_parts import actions, exclusive_groups, repeats, typed
from live_classify.cli.config_toml import ConfigError, shown
from live_classify.sources.names import is_stream

#: Keys a ``[[camera]]`` may set for itself, overriding the top level for that camera.
PER_CAMERA = ("width", "height", "fps", "fourcc", "rtsp-transport", "record", "segment", "min-confidence",
              "open-timeout", "read-timeout", "reconnect", "smooth", "realtime", "event", "event-threshold",
              "event-hold", "event-gap", "gate", "gate-refresh", "gate-mask", "gate-threshold", "gate-area",
              "health", "health-after", "health-learn", "health-dark", "health-blur", "health-moved")
#: Keys only a ``[[camera]]`` has: what it is and what it is called.
CAMERA_ONLY = ("name", "camera", "source", "password-file")
#: Flags that mean nothing inside the file.
NOT_KEYS = ("help", "version", "config", "check")
#: Flags whose value is a secret: never shown.
SECRET_KEYS = ("serve-token", "webhook-token")
SECRET_DESTS = ("serve_token", "webhook_token")


@dataclass
class Entry:
    """One key of the file, resolved: its value (after ``${VAR}`` and ``-file``), its tokens, its line."""

    key: str
    value: object
    tokens: list[str]
    origin: str  # "box.toml:7"
    dest: str  # the parser's name for it: what a flag on the command line overrides


class Refused(Exception):
    """What argparse would have said on the command line (raised instead of exiting)."""


def applies(key: str, given: Entry) -> bool:
    """Whether a per-camera key means anything for a camera of this kind: the run asks only a USB
    camera for a size, only an RTSP stream for a transport, so cameras of other kinds need not agree."""
    text = str(given.value).lower()
    stream = given.key == "source" and is_stream(text)
    file = given.key == "source" and not stream
    only = {"width": given.key == "camera", "height": given.key == "camera", "fps": given.key == "camera",
            "fourcc": given.key == "camera", "rtsp-transport": stream and text.startswith(("rtsp:", "rtsps:")),
            "open-timeout": stream, "read-timeout": not file, "reconnect": not file, "realtime": file}
    return only.get(key, True)


def raising_parser(build: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``build`` with its errors raised as :class:`Refused`, so one key's error can carry its line."""
    def refuse(message: str) -> None:
        raise Refused(message)

    setattr(build, "error", refuse)  # noqa: B010 (an instance attribute replaces the method)
    return build


def vocabulary(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Key -> the flag's action: every long flag, but ``--no-X`` (write ``X = false``) and NOT_KEYS."""
    keys = {}
    for action in actions(parser):
        for option in action.option_strings:
            key = option[2:]
            negative = isinstance(action, argparse.BooleanOptionalAction) and key.startswith("no-")
            if option.startswith("--") and key not in NOT_KEYS and not negative:
                keys[key] = action
    return keys


def suggestion(key: str, candidates: Sequence[str]) -> str:
    """`` (did you mean 'segment'?)`` for a near miss, else nothing."""
    close = difflib.get_close_matches(key, candidates, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def tokens(key: str, value: object, action: argparse.Action, where: str) -> list[str]:
    """The flag's tokens for a value: booleans for on/off flags, arrays for repeatable ones."""
    option = f"--{key}"
    if isinstance(action, argparse.BooleanOptionalAction):
        return [option if _boolean(key, value, where) else f"--no-{key}"]
    if action.nargs == 0:
        return [option] if _boolean(key, value, where) else []
    repeatable = repeats(action)
    if isinstance(value, list) and not repeatable:
        raise ConfigError(f"{where}: {key} takes one value, not an array")
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        return []
    result = []
    for item in values:
        if isinstance(item, bool) and action.nargs == "?":  # serve = true: the flag alone
            result += [option] if item else []
        elif isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ConfigError(f"{where}: {key} takes a value, not {shown(item)}")
        else:
            result.append(f"{option}={item!r}" if isinstance(item, float) else f"{option}={item}")
    return result


def _boolean(key: str, value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} is true or false, not {shown(value)}")
    return value


def refused_message(where: str, message: str) -> str:
    """argparse's ``argument --min-confidence: must be ...`` as ``box.toml:3: min-confidence must be ...``
    (another refusal as ``box.toml:3: key: why``)."""
    message = re.sub(r"^argument (?:-\w/)?(?:--)?([\w-]+)(?:/-?-[\w-]+)?: (must )?", lambda m: m[1] + (
        " must " if m[2] else ": "), message)
    message = re.sub(r"argument --([\w-]+)", r"'\1'", message)
    return f"{where}: {message}"


def typed_flags(argv: Sequence[str], build: Callable[[], argparse.ArgumentParser]) -> dict[str, object]:
    """The flags typed, as typed (no defaults, no conversion): what overrides the file, and what
    --check shows for them."""
    given = typed(build(), argv, raw=True)
    return {dest: value for dest, value in given.items() if dest not in ("config", "check")}


def overridden_by(parser: argparse.ArgumentParser, typed: Mapping[str, object]) -> set[str]:
    """The destinations the command line sets, and those it excludes (``--quiet`` drops the file's ``verbose``)."""
    dests = set(typed)
    for members in exclusive_groups(parser):
        if members & dests:
            dests |= members
    return dests
