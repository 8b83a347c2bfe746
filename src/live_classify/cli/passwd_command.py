"""``live-classify passwd``: a password read from stdin, its hash printed for a ``--serve-users``
file's ``password-hash``. From stdin, never from the command line (where ``ps`` and the shell's
history would show it); typed at a terminal, asked twice without echo."""
from __future__ import annotations

import getpass
import sys
from collections.abc import Sequence

from live_classify.cli.argtypes import OneLineParser
from live_classify.cli.flags import PROG
from live_classify.errors import UsageError, exit_code
from live_classify.sinks.web.passwords import hash_password


def passwd_main(argv: Sequence[str]) -> int:
    parser = OneLineParser(prog=f"{PROG} passwd",
                           description="Read a password on stdin (one line) and print its scrypt hash, for the "
                                       "password-hash of a [[user]] in a --serve-users file.")
    parser.parse_args(argv)
    return exit_code(PROG, _passwd)


def _passwd() -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise UsageError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("no password on stdin (give it one line, e.g. from a password manager)")
    if len(password) > 1024:
        raise UsageError("a password of more than 1024 characters")
    print(hash_password(password))
    return 0
