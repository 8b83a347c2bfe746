"""Reading ``--config box.toml``: the TOML itself, the line of every key (tomllib gives none), the
``${VAR}`` of the environment and the secrets of ``-file`` keys. What the keys mean is
``config_file.py``'s business; every problem here is a :class:`ConfigError` naming the file and line."""
from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

TOP = -1  # the table index of the top-level keys; cameras are 0, 1, ...
OTHER = -2  # keys under a table that is not [[camera]] (refused anyway: no line of theirs is needed)
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # systemd's LoadCredential= puts the secrets there
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
KEY_LINE = re.compile(r"""\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*[.=]""")
TABLE_LINE = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\"'-]+)\s*\]")


class ConfigError(Exception):
    """A problem of the file, as one line: ``box.toml:7: unknown key 'segmnet' ...``."""


@dataclass
class Lines:
    """Where each key is written: (table, key as spelled) -> line, and each ``[[camera]]`` header's line."""

    keys: dict[tuple[int, str], int] = field(default_factory=dict)
    cameras: list[int] = field(default_factory=list)

    def of(self, table: int, key: str) -> int:
        """The key's line; the table's header (or line 1) if the scan missed it."""
        found = self.keys.get((table, key))
        if found is not None:
            return found
        return self.cameras[table] if 0 <= table < len(self.cameras) else 1


def normal(key: str) -> str:
    """The one spelling of a key: ``min_confidence`` is ``min-confidence``."""
    return key.replace("_", "-")


def scan_lines(text: str) -> Lines:
    """The line of each key and table header, by reading the text line by line: simple on
    purpose (a multi-line string holding ``x = 1`` could fool it; tomllib has parsed the file already)."""
    lines, table = Lines(), TOP
    for number, line in enumerate(text.splitlines(), start=1):
        header = TABLE_LINE.match(line)
        if header:
            name = normal(header[2].strip("\"'"))
            if header[1] == "[[" and name == "camera":
                lines.cameras.append(number)
                table = len(lines.cameras) - 1
            else:
                lines.keys.setdefault((TOP, header[2].strip("\"'").split(".")[0]), number)
                table = OTHER
            continue
        key = KEY_LINE.match(line)
        if key:
            lines.keys.setdefault((table, next(k for k in key.groups() if k)), number)
    return lines


def load(path: str) -> tuple[dict[str, object], Lines]:
    """The file's tables, and the line of each key; a missing file or bad TOML is one line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the configuration: {getattr(error, 'strerror', None) or error}") \
            from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_syntax_error(path, str(error), text)) from None
    return data, scan_lines(text)


def _syntax_error(path: str, message: str, text: str) -> str:
    """tomllib's message ``Invalid value (at line 3, column 9)`` as ``box.toml:3: invalid value``."""
    where = re.search(r"\s*\(at line (\d+), column \d+\)$", message)
    line = where[1] if where else str(max(1, text.count("\n")))
    reason = message[:where.start()] if where else re.sub(r"\s*\(at end of document\)$", "", message)
    return f"{path}:{line}: not valid TOML: {reason[:1].lower()}{reason[1:]}"


def expand(value: object, environ: Mapping[str, str], where: str) -> object:
    """``${VAR}`` in a string (or a list of strings) from the environment; unset is an error."""
    if isinstance(value, list):
        return [expand(item, environ, where) for item in value]
    if not isinstance(value, str):
        return value

    def variable(match: re.Match[str]) -> str:
        if match[1] not in environ:
            raise ConfigError(f"{where}: ${{{match[1]}}} is not set")
        return environ[match[1]]

    return VARIABLE.sub(variable, value)


def secret_path(name: object, environ: Mapping[str, str], where: str, key: str) -> Path:
    """Where a ``-file`` key's file is: relative to ``$CREDENTIALS_DIRECTORY`` when systemd set it,
    else to the current directory."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: {key} is the name of a file, not {shown(name)}")
    return Path(environ.get(CREDENTIALS_ENV, "."), name)


def exposed(path: Path | str) -> str | None:
    """A warning when the secret file ``path`` can be read by every user of the machine (mode 0644),
    as a file written without ``install -m 600`` or ``umask 077`` is; None when it cannot (or is gone)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if not mode & stat.S_IROTH:
        return None
    return f"{path} holds a secret but every user of this machine can read it (mode {stat.S_IMODE(mode):04o}): " \
           f"chmod 600 {path}"


def read_secret(name: object, environ: Mapping[str, str], where: str, key: str) -> str:
    """The secret a ``-file`` key names (see :func:`secret_path`), without its trailing newline."""
    path = secret_path(name, environ, where, key)
    try:
        secret = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{where}: {key}: cannot read {path}: {getattr(error, 'strerror', None) or error}") \
            from None
    if not secret:
        raise ConfigError(f"{where}: {key}: {path} is empty")
    return secret


def with_password(url: str, password: str, where: str) -> str:
    """``rtsp://admin@cam/s`` with the password in its userinfo, URL-quoted (``@`` and ``:`` are safe)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.partition("@")
    if not sep or not at or "/" in userinfo or not userinfo:
        raise ConfigError(f"{where}: password-file needs a user in the source URL, e.g. rtsp://USER@host/stream")
    if ":" in userinfo:
        raise ConfigError(f"{where}: password-file, but the source URL has a password already")
    return f"{scheme}://{userinfo}:{quote(password, safe='')}@{host}"


def shown(value: object) -> str:
    """A TOML value as a message shows it: ``"high"``, ``true``, ``[1, 2]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    return str(value)



def url_secrets(value: object) -> list[str]:
    """The password in a URL's userinfo, as written and URL-unquoted: never to be shown."""
    if not isinstance(value, str):
        return []
    try:
        password = urlsplit(value).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret, as written or URL-quoted, shown as ``***``: the last guard of every output."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        for form in {secret, quote(secret, safe="")}:
            if form:
                text = text.replace(form, "***")
    return text
