"""A reload says what changed: one line per key, read from the configuration as ``--check`` shows
it (secrets already ``***``), so that the log never shows a secret either."""
from __future__ import annotations

import json
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

Table = dict[str, object]


def shown(value: object) -> str:
    """A value as the configuration file spells it; ``(not set)`` for none."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _differ(before: Table, after: Table) -> dict[str, tuple[object, object]]:
    return {key: (before.get(key), after.get(key)) for key in sorted(before.keys() | after.keys())
            if before.get(key) != after.get(key)}


def changes(before: str | None, after: str | None) -> list[str]:
    """``camera three added``, ``camera two removed``, ``min-confidence: 0.3 -> 0.15``,
    ``camera door: record: "a/" -> "b/"`` (a camera's key only where the top level's change does
    not already say it); empty when nothing changed."""
    if before is None or after is None:
        return []
    old, new = tomllib.loads(before), tomllib.loads(after)
    old_cameras = {str(c.get("name")): c for c in old.pop("camera", [])}
    new_cameras = {str(c.get("name")): c for c in new.pop("camera", [])}
    top = _differ(old, new)
    lines = [f"{key}: {shown(a)} -> {shown(b)}" for key, (a, b) in top.items()]
    lines += [f"camera {name} added" for name in new_cameras if name not in old_cameras]
    lines += [f"camera {name} removed" for name in old_cameras if name not in new_cameras]
    for name in [n for n in new_cameras if n in old_cameras]:
        lines += [f"camera {name}: {key}: {shown(a)} -> {shown(b)}"
                  for key, (a, b) in _differ(old_cameras[name], new_cameras[name]).items() if top.get(key) != (a, b)]
    return lines
