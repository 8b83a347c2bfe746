"""``--config box.toml --check``: the configuration as it would run, as TOML that could be read back,
every key with where its value came from (``# box.toml:7``, ``# flag``, ``# default``), and no secret:
tokens and secret files as ``***``, URL passwords as ``user:***@``."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import PurePath

from live_classify.cli.config_file import ConfigFile, Shown
from live_classify.cli.config_keys import SECRET_KEYS
from live_classify.cli.config_toml import scrub
from live_classify.sources.capture import redact

MASK = "***"


def render(config: ConfigFile) -> str:
    """The whole configuration: the top-level keys, then one ``[[camera]]`` table per camera."""
    parts = [f"# {config.path}, as live-classify would run it; after each value, where it came from",
             *_table(config.shown, config.secrets)]
    for camera in config.cameras:
        parts += ["", "[[camera]]", *_table(camera.shown, config.secrets)]
    return "\n".join(parts) + "\n"


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
