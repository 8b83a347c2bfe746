"""``--serve-users FILE``: the people who may log in, read and checked whole, so that a bad file is one
line (exit 2 at the start; at a reload, the reload refused and the users as they were)::

    [[user]]
    name = "ana"
    password-hash = "$scrypt$ln=15,r=8,p=1$..."   # live-classify passwd
    role = "admin"

    [[user]]
    name = "bo"
    password-hash = "$scrypt$..."
    role = "viewer"
    cameras = ["door"]                           # a viewer's cameras (without it: every camera)
"""
from __future__ import annotations

import sys
from pathlib import Path

from live_classify.config import WebUser
from live_classify.errors import BadValue, LiveClassifyError
from live_classify.sinks.web.passwords import BadHash, parse

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROLES = ("admin", "viewer")
KEYS = ("name", "password-hash", "role", "cameras")


def read_users(path: Path) -> tuple[WebUser, ...]:
    """The users in ``path``; :class:`BadValue` (one line, the file and the user named) when it is wrong."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BadValue(f"{path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BadValue(f"{path}: not TOML: {error}") from None
    entries = table.get("user")
    if set(table) - {"user"} or not isinstance(entries, list) or not entries:
        raise BadValue(f"{path}: one [[user]] table per person (name, password-hash, role), "
                       "and nothing else")
    users: dict[str, WebUser] = {}
    for number, entry in enumerate(entries, 1):
        user = _user(entry, f"{path}: user {number}")
        if user.name in users:
            raise BadValue(f"{path}: user {user.name!r} is given twice")
        users[user.name] = user
    return tuple(users.values())


def _user(entry: object, where: str) -> WebUser:
    if not isinstance(entry, dict):
        raise BadValue(f"{where}: not a table")
    if unknown := sorted(set(entry) - set(KEYS)):
        raise BadValue(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        raise BadValue(f"{where}: name must be a non-empty text")
    where = f"{where.rpartition(': user')[0]}: user {name!r}"
    hashed = entry.get("password-hash")
    if not isinstance(hashed, str):
        raise BadValue(f"{where}: password-hash is missing (make one with `live-classify passwd`)")
    try:
        parse(hashed)
    except BadHash as error:
        raise BadValue(f"{where}: password-hash {error}") from None
    role = entry.get("role")
    if role not in ROLES:
        raise BadValue(f"{where}: role must be \"admin\" or \"viewer\", not {role!r}")
    cameras = entry.get("cameras")
    if cameras is not None and (not isinstance(cameras, list) or not all(isinstance(c, str) and c for c in cameras)):
        raise BadValue(f"{where}: cameras must be a list of camera names")
    return WebUser(name, hashed, role, tuple(cameras) if cameras is not None else None)


def serve_users(path: Path | None) -> tuple[WebUser, ...] | None:
    """``--serve-users``' users, read for the run or a reload (one line why not: a reload is refused)."""
    try:
        return read_users(path) if path else None
    except BadValue as error:
        raise LiveClassifyError(f"--serve-users: {error}") from None


def users_file(text: str) -> Path:
    """``--serve-users FILE``: read now, so a bad file is a usage error (exit 2) before anything opens."""
    read_users(Path(text))
    return Path(text)
