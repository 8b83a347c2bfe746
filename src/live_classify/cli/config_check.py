"""``--config box.toml --check``: the configuration as it would run, as TOML that could be read back,
every key with where its value came from (``# box.toml:7``, ``# flag``, ``# default``), and no secret:
tokens and secret files as ``***``, URL passwords as ``user:***@``."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import PurePath

from live_classify.cli.config_file import CameraConfig, ConfigFile
from live_classify.cli.config_keys import CAMERA_ONLY, PER_CAMERA, SECRET_KEYS, Entry
from live_classify.cli.config_toml import scrub
from live_classify.redact import redact

MASK = "***"
Shown = tuple[object, str]  # a value (None: not set) and where it came from: "box.toml:7", "flag", "default"


def render(config: ConfigFile) -> str:
    """The whole configuration: the top-level keys, then one ``[[camera]]`` table per camera."""
    parts = [f"# {config.path}, as live-classify would run it; after each value, where it came from",
             *_table(shown_top(config), config.secrets)]
    for index in range(len(config.cameras)):
        parts += ["", "[[camera]]", *_table(shown_camera(config, index), config.secrets)]
    return "\n".join(parts) + "\n"


def shown_top(config: ConfigFile) -> dict[str, Shown]:
    """Every top-level key: a flag beats the file, which beats the default."""
    return {key: _layered(config, key, config.top) for key in config.keys if key not in CAMERA_ONLY}


def shown_camera(config: ConfigFile, index: int) -> dict[str, Shown]:
    """A camera's name, camera or source, then every per-camera key: a flag beats the camera's own
    key, which beats the top level's, which beats the default."""
    camera: CameraConfig = config.cameras[index]
    given, own = camera.entries[0], [entry for entry in camera.entries[1:] if entry.key != "name"]
    default_name = f"cam{index}" if len(config.cameras) > 1 else None
    shown = {"name": (camera.name, camera.entries[1].origin) if camera.name else (default_name, "default"),
             given.key: (given.value, given.origin)}
    return shown | {key: _layered(config, key, own, config.top) for key in PER_CAMERA}


def _layered(config: ConfigFile, key: str, *layers: list[Entry]) -> Shown:
    """A key's value and origin: a flag, else the first layer that has it, else the default."""
    action = config.keys[key]
    if action.dest in config.typed:
        return config.typed[action.dest], "flag"
    for layer in layers:
        for entry in layer:
            if entry.key == key:
                return entry.value, entry.origin
    return action.default, "default"


def _table(shown: Mapping[str, Shown], secrets: Sequence[str]) -> list[str]:
    """One line per key, its origin as a comment; a key with no value is a comment line too. Every
    known secret left in a value (one the masking did not foresee) is ``***`` too: the last guard."""
    bodies = []
    for key, (value, _) in shown.items():
        text = _toml(_masked(key, value))
        text = text if text is None else scrub(text, secrets)
        bodies.append(f"# {key} (not set)" if text is None else f"{key} = {text}")
    width = min(max((len(body) for body in bodies), default=0), 60)
    return [f"{body:<{width}}  # {origin}" for body, (_, origin) in zip(bodies, shown.values(), strict=True)]


def _masked(key: str, value: object) -> object:
    """A secret as ``***``; a URL with its password hidden."""
    if key in SECRET_KEYS and value is not None:
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_masked(key, item) for item in value]
    return value


def _toml(value: object) -> str | None:
    """A value in TOML's spelling (None: not set, which TOML cannot say)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(item) or '""' for item in value) + "]"
    if isinstance(value, PurePath):
        value = str(value)
    return json.dumps(value if isinstance(value, str) else str(value), ensure_ascii=False)
