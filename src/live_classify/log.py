"""One voice on stderr for the whole program: ``live-classify: ...``, as loud as the user asked.

Three levels: ``--quiet`` keeps warnings and errors only (for scripts), the default adds what the
program is doing (the provider, the source, the summary), ``--verbose`` adds the details behind it
(why each GPU provider was not taken, and the traceback behind a failure said in one line).
Errors that end the program are printed by :func:`live_classify.errors.exit_code`, whatever the level.
"""
from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Callable

PROG = "live-classify"
LOGGER = logging.getLogger("live_classify")

#: Where a part of the program says a line (``log.info``, ``log.warning``, or a test's list).
Log = Callable[[str], None]


def one_line(prog: str, message: str, when: float | None = None) -> str:
    """'live-classify: message'; where stderr is not a terminal (a log file, a service's journal
    read later), the time in front, to the millisecond."""
    if sys.stderr is None or sys.stderr.isatty():
        return f"{prog}: {message}"
    when = time.time() if when is None else when
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(when))}.{int(when * 1000) % 1000:03d} {prog}: {message}"


class _OneLine(logging.Formatter):
    """One line per message, with 'warning: ' or 'error: ' in front where that is what it is."""

    def format(self, record: logging.LogRecord) -> str:
        kind = {logging.WARNING: "warning: ", logging.ERROR: "error: "}.get(record.levelno, "")
        return one_line(PROG, f"{kind}{record.getMessage()}", record.created)


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (a test may have redirected it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001 - logging's own convention: report, never raise
            self.handleError(record)


def configure(*, quiet: bool = False, verbose: bool = False) -> None:
    """Send the program's messages to stderr, one line each, at the level the flags ask for."""
    if not LOGGER.handlers:
        handler = _Stderr()
        handler.setFormatter(_OneLine())
        LOGGER.addHandler(handler)
        LOGGER.propagate = False
    LOGGER.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)


def info(message: str) -> None:
    """What the program is doing; hidden by --quiet."""
    LOGGER.info(message)


def detail(message: str) -> None:
    """The reasons behind what it does; shown only with --verbose."""
    LOGGER.debug(message)


def warning(message: str) -> None:
    """Something the user should change or know; shown even with --quiet."""
    LOGGER.warning(message)


def error(message: str) -> None:
    """A failure the program reports on its way out; always shown."""
    LOGGER.error(message)


def debug_traceback(what: str, error: BaseException) -> None:
    """A failure the program reports in one line (an output dropped, a model refused): with --verbose,
    also where it came from, so that a bug can be found. Call it where the error is caught."""
    if verbose():  # formatting a traceback is not free: only when it is shown
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        LOGGER.debug(f"{what}, traceback:\n{''.join(lines).rstrip()}")


def verbose() -> bool:
    """Whether --verbose asked for the details."""
    return LOGGER.isEnabledFor(logging.DEBUG)
