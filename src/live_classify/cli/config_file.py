"""``--config box.toml``: the file becomes command-line tokens, checked by the same parser as typed
flags, so there is one set of checks and one set of messages; a flag on the command line overrides
the file. The result is the command line to run, and what each camera would get on its own (top
level, then its ``[[camera]]`` keys, then the flags), with where every value came from."""
from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from live_classify.cli.config_keys import (
    CAMERA_ONLY,
    PER_CAMERA,
    SECRET_DESTS,
    SECRET_KEYS,
    Entry,
    Refused,
    applies,
    overridden_by,
    raising_parser,
    refused_message,
    suggestion,
    tokens,
    typed_flags,
    vocabulary,
)
from live_classify.cli.config_toml import (
    TOP,
    ConfigError,
    Lines,
    expand,
    exposed,
    load,
    normal,
    read_secret,
    scrub,
    secret_path,
    url_secrets,
    with_password,
)
from live_classify.cli.flags import PROG, build_parser


@dataclass
class CameraConfig:
    """One camera: what it is, its own keys, and the flags it would run with on its own."""

    name: str | None
    entries: list[Entry]  # camera/source and name first, then its per-camera keys
    args: argparse.Namespace  # top level + its keys + the command line, checked by the parser


@dataclass
class ConfigFile:
    """The file resolved: the command line to run, and each value's origin for --check."""

    path: str
    argv: list[str]  # the file's tokens, then the command line's: run as if typed
    top: list[Entry]  # the file's top-level keys that no flag overrides
    cameras: list[CameraConfig]
    args: argparse.Namespace = field(default_factory=argparse.Namespace)  # argv parsed: what the run gets
    typed: dict[str, object] = field(default_factory=dict)  # the flags as typed (dest -> text)
    keys: dict[str, argparse.Action] = field(default_factory=dict)  # the vocabulary
    secrets: list[str] = field(default_factory=list)  # never to be printed
    warnings: list[str] = field(default_factory=list)

    def located(self, problem: str) -> str:
        """A problem the checks after parsing found (``--segment needs ...``), named by the file's line
        when the flag it begins with came from the file (``box.toml:5: segment needs ...``)."""
        match = re.match(r"--([\w-]+)", problem)
        action = self.keys.get(match[1]) if match else None
        if match is None or action is None or action.dest in self.typed:
            return problem
        entries = [*self.top, *(entry for camera in self.cameras for entry in camera.entries)]
        entry = next((entry for entry in entries if entry.key == match[1]), None)
        return f"{entry.origin}: {match[1]}{problem[match.end():]}" if entry else problem


class _Reader:
    """Turns the file's tables into checked entries, one key at a time, each with its line."""

    def __init__(self, path: str, lines: Lines, environ: Mapping[str, str]) -> None:
        self.path, self.lines, self.environ = path, lines, environ
        self.parser = raising_parser(build_parser())
        self.keys = vocabulary(self.parser)
        self.secrets: list[str] = []
        self.warnings: list[str] = []  # secret files every user can read

    def read_secret(self, name: object, where: str, key: str) -> str:
        """A ``-file`` key's secret; a file every user of the machine can read is said."""
        if warning := exposed(secret_path(name, self.environ, where, key)):
            self.warnings.append(f"{where}: {key}: {warning}")
        return read_secret(name, self.environ, where, key)

    def where(self, table: int, key: str) -> str:
        return f"{self.path}:{self.lines.of(table, key)}"

    def entries(self, table: int, values: Mapping[str, object]) -> list[Entry]:
        """Each key of a table, known and allowed there, with its value expanded and tokenized."""
        seen: dict[str, str] = {}
        result = []
        for raw_key, raw in values.items():
            key, where = normal(raw_key), self.where(table, raw_key)
            own = key == "password-file" or key in self.keys  # a flag that names a file itself: serve-password-file
            stem = key.removesuffix("-file") if key.endswith("-file") and not own else key
            self._allowed(key, stem, where, in_camera=table != TOP)
            if stem in seen:
                raise ConfigError(f"{where}: {stem} is given twice (also {seen[stem]})")
            seen[stem] = where
            if key == "password-file":  # applied to the source URL by camera()
                continue
            value = expand(raw, self.environ, where)
            if stem != key:
                value = self.read_secret(value, where, key)
            elif key.endswith("-file"):  # its flag reads the file: named where the -file keys' are found
                value = str(secret_path(value, self.environ, where, key))
            secret = stem != key or stem in SECRET_KEYS  # a -file key's value, a token
            self.secrets += url_secrets(value) + ([value] if secret and isinstance(value, str) else [])
            action = self.keys[stem]
            result.append(Entry(stem, value, tokens(stem, value, action, where), where, action.dest))
        return result

    def _allowed(self, key: str, stem: str, where: str, in_camera: bool) -> None:
        """An unknown key, or one in the wrong table, is an error with a hint."""
        camera_only = stem in CAMERA_ONLY or key == "password-file"
        per_camera = key in CAMERA_ONLY or stem in PER_CAMERA
        if (in_camera and per_camera) or (not in_camera and stem in self.keys and not camera_only):
            return
        if in_camera and stem in self.keys:
            raise ConfigError(f"{where}: '{key}' cannot be set per camera: put it at the top level "
                              f"(per camera: {', '.join(PER_CAMERA)})")
        if camera_only:
            raise ConfigError(f"{where}: '{key}' belongs in a [[camera]] table")
        known = [*CAMERA_ONLY, *PER_CAMERA] if in_camera else [k for k in self.keys if k not in CAMERA_ONLY]
        raise ConfigError(f"{where}: unknown key '{key}'{suggestion(key, known)}")

    def camera(self, index: int, table: Mapping[str, object]) -> tuple[list[Entry], list[Entry]]:
        """A ``[[camera]]``: its input (camera or source, then its name) and its own keys."""
        entries = self.entries(index, table)
        inputs = [entry for entry in entries if entry.key in ("camera", "source")]
        if len(inputs) != 1:
            why = "either camera = N or source = \"URI\", not both" if inputs else "camera = N or source = \"URI\""
            raise ConfigError(f"{self.where(index, '[[camera]]')}: a [[camera]] needs {why}")
        password = next((key for key in table if normal(key) == "password-file"), None)
        if password is not None:
            inputs[0] = self._with_password(inputs[0], table[password], self.where(index, password))
        names = [entry for entry in entries if entry.key == "name"]
        return [inputs[0], *names], [entry for entry in entries if entry.key in PER_CAMERA]

    def _with_password(self, source: Entry, name: object, where: str) -> Entry:
        """The source with the password of ``password-file`` in its URL."""
        if source.key != "source" or not isinstance(source.value, str):
            raise ConfigError(f"{where}: password-file is for a source URL (rtsp://USER@host/...), not a camera")
        password = self.read_secret(expand(name, self.environ, where), where, "password-file")
        url = with_password(source.value, password, where)
        self.secrets += [password, *url_secrets(url)]
        return Entry("source", url, [f"--source={url}"], source.origin, source.dest)

    def check(self, base: list[str], entries: list[Entry], after: Sequence[str]) -> argparse.Namespace:
        """Parse ``base``, the entries one more at a time, then ``after``: the first refused gets its line."""
        tokens_so_far = list(base)
        for entry in entries:
            tokens_so_far += entry.tokens
            try:
                self.parser.parse_args(tokens_so_far)
            except Refused as error:
                raise ConfigError(scrub(refused_message(entry.origin, str(error)), self.secrets)) from None
        try:
            return self.parser.parse_args([*tokens_so_far, *after])
        except Refused as error:  # the command line's own error, as argparse says it there
            raise ConfigError(scrub(str(error), self.secrets)) from None


def resolve(path: str, argv: Sequence[str], environ: Mapping[str, str]) -> ConfigFile:
    """The file and the command line ``argv`` (which wins) as one command line, checked."""
    data, lines = load(path)
    reader = _Reader(path, lines, environ)
    tables = _camera_tables(data, reader)
    top = reader.entries(TOP, {key: value for key, value in data.items() if normal(key) != "camera"})
    cameras = [reader.camera(index, table) for index, table in enumerate(tables)]
    _check_names([inputs for inputs, _ in cameras])
    typed = typed_flags(argv, build_parser)
    overridden = overridden_by(reader.parser, typed)
    top = [entry for entry in top if entry.dest not in overridden]
    args = reader.check([], top, argv)
    if not cameras and "inputs" not in typed:
        raise ConfigError(f"{path}: no camera: add a [[camera]] table with camera = N or source = \"URI\"")
    config = ConfigFile(path, [*_tokens(top), *argv], top, [], args, typed, reader.keys, reader.secrets,
                        reader.warnings)
    sources = typed.get("source")
    urls = [typed.get("mqtt"), *(sources if isinstance(sources, list) else [])]
    config.secrets += [secret for url in urls for secret in url_secrets(url)]
    config.secrets += [str(typed[key]) for key in SECRET_DESTS if key in typed]
    if "inputs" in typed:  # the command line's cameras replace the file's
        config.warnings += [f"{path}: the cameras of the command line replace the file's"] * bool(cameras)
        config.cameras = _typed_cameras(typed, args)
    else:
        owns = [[entry for entry in own if entry.dest not in overridden] for _, own in cameras]
        _add_cameras(config, reader, top, [inputs for inputs, _ in cameras], owns, argv)
    return config


def _add_cameras(config: ConfigFile, reader: _Reader, top: Sequence[Entry], inputs: Sequence[list[Entry]],
                 owns: Sequence[list[Entry]], argv: Sequence[str]) -> None:
    """Each camera checked on its own (top level, its keys, the flags): what it runs with. The run's
    own flags get every camera, and the per-camera keys that all cameras set alike."""
    base = _tokens(top)
    for given, own in zip(inputs, owns, strict=True):
        mine = {entry.dest for entry in own}  # a camera's own `event` list replaces the top level's, not adds to it
        args = reader.check(_tokens([entry for entry in top if entry.dest not in mine]), [*given, *own], argv)
        config.cameras.append(CameraConfig(_name(given), [*given, *own], args))
    agreed = _agreement(inputs, owns)
    every_input = [entry for given in inputs for entry in given]
    config.args = reader.check(base, [*agreed, *every_input], argv)
    config.argv = [*base, *_tokens(agreed), *_tokens(every_input), *argv]


def _camera_tables(data: Mapping[str, object], reader: _Reader) -> list[Mapping[str, object]]:
    """The ``[[camera]]`` tables (``[camera]``, one table, is a slip: said so)."""
    key = next((key for key in data if normal(key) == "camera"), None)
    tables = data.get(key) if key is not None else []
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise ConfigError(f"{reader.where(TOP, 'camera')}: write each camera as a [[camera]] table (two brackets)")
    return tables


def _check_names(cameras: Sequence[Sequence[Entry]]) -> None:
    """Two cameras with one name would write into one folder and one MQTT topic."""
    seen: dict[object, str] = {}
    for inputs in cameras:
        for entry in inputs[1:]:
            if entry.value in seen:
                raise ConfigError(f"{entry.origin}: two cameras are named '{entry.value}' (also {seen[entry.value]})")
            seen[entry.value] = entry.origin


def _name(inputs: Sequence[Entry]) -> str | None:
    return str(inputs[1].value) if len(inputs) > 1 else None


def _tokens(entries: Sequence[Entry]) -> list[str]:
    return [token for entry in entries for token in entry.tokens]


def _agreement(inputs: Sequence[Sequence[Entry]], owns: Sequence[Sequence[Entry]]) -> list[Entry]:
    """The per-camera keys that every camera they mean something to sets alike: the run's flags
    take them (what differs, each camera has in its own)."""
    agreed = []
    for key in dict.fromkeys(entry.key for own in owns for entry in own):
        kinds = [own for given, own in zip(inputs, owns, strict=True) if applies(key, given[0])] or owns
        values = [next((entry for entry in own if entry.key == key), None) for own in kinds]
        first = values[0]
        if first is not None and all(v is not None and v.tokens == first.tokens for v in values):
            agreed.append(first)
    return agreed


def _typed_cameras(typed: Mapping[str, object], args: argparse.Namespace) -> list[CameraConfig]:
    """The cameras of the command line, as entries whose origin is the flag."""
    cameras = []
    for given in list(typed.get("inputs") or []):  # type: ignore[call-overload]
        entries = [Entry(given.kind, given.value, [], "flag", given.kind)]
        entries += [Entry("name", given.name, [], "flag", "name")] if given.name else []
        cameras.append(CameraConfig(given.name, entries, args))
    return cameras


def from_command_line(args: argparse.Namespace, argv: Sequence[str] | None,
                      environ: Mapping[str, str] = os.environ) -> ConfigFile | None:
    """``--config FILE``: the file resolved with the command line (None without it). A problem is
    one line and exit 2, as a refused command line is."""
    if not args.config:
        if args.check:
            _refuse("--check needs --config FILE (it checks a configuration file)")
        return None
    try:
        return resolve(args.config, list(sys.argv[1:] if argv is None else argv), environ)
    except ConfigError as error:
        _refuse(str(error))


def _refuse(message: str) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)
