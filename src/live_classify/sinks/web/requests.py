"""What aiohttp would log about a request, as one line at most, never with the request's text.

Left to itself aiohttp logs each request it cannot parse (a 100 KB header, a 20 KB URL, a NUL in
a header, ``Content-Length`` beside ``Transfer-Encoding``) as ~10 lines of traceback, and the
exception's text quotes the request: a long URL with its ``?token=``. Here a malformed request is
one detail line (shown with ``--verbose``: anyone who can reach the port can send them, and they are
answered 400 whatever is logged); a failure of the server's own is one warning, the token blanked.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

from live_classify import log
from live_classify.errors import first_line


class RequestLog(logging.LoggerAdapter):
    """The ``logger`` aiohttp's request handlers are given (it calls ``exception``, ``warning``, ``debug``)."""

    def __init__(self, *secrets: str | None) -> None:
        super().__init__(logging.getLogger("live_classify.web"), {})
        self._secrets = [secret for secret in secrets if secret]  # the token, the password

    def log(self, level: int, msg: object, *args: object, exc_info: Any = None, **kwargs: Any) -> None:
        """Every call of aiohttp's ends here: its debug notes (a viewer that hung up) say nothing worth a line."""
        if level < logging.WARNING:
            return
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= error.code < 500:
            log.detail(f"web server: answered {error.code} to a malformed request ({type(error).__name__})")
            return
        what = f"{type(error).__name__}: {first_line(error)}" if error else _text(msg, args)
        log.warning(f"web server: a request failed: {self._blanked(what)}")

    def _blanked(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _text(msg: object, args: tuple[object, ...]) -> str:
    try:
        return str(msg) % args if args else str(msg)
    except (TypeError, ValueError):
        return str(msg)
