"""``--webhook URL``: each event's start and end POSTed as JSON (the JSON line's object), with
``--webhook-token`` as ``Authorization: Bearer``.

Each URL has a thread of its own (a :class:`BackgroundWriter`): a receiver that is slow or down
never holds up the main loop or the other receivers. A POST waits at most ``TIMEOUT_S``; one that
fails is tried again with backoff until it goes through, while the events after it wait in a
bounded backlog whose oldest are dropped (and counted) when it is full. A receiver that goes down is
one line, and one when it is back; never a line per event. The token is never printed.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from live_classify import log
from live_classify.config import redact
from live_classify.sinks.base import BackgroundWriter, Redraw, Update
from live_classify.sinks.events.rules import Change, record

TIMEOUT_S = 2.0
BACKLOG = 100  # events waiting for a receiver that is down; beyond it the oldest are dropped
BACKOFF_S = (0.5, 30.0)  # from half a second, doubling, to 30 s
CLOSE_WAIT_S = 5.0  # at the end, how long events wait for a receiver that is down


def post(url: str, body: bytes, token: str | None, timeout: float = TIMEOUT_S) -> None:
    """One POST; an answer that is not 2xx, a timeout or no connection raises OSError."""
    headers = {"Content-Type": "application/json", "User-Agent": "live-classify"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's own URL
        response.read()


def why(error: BaseException) -> str:
    """A failed POST in a few words (never the request, which holds the token)."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    reason = getattr(error, "reason", None) or error
    return getattr(reason, "strerror", None) or str(reason) or type(error).__name__


class Receiver:
    """One URL: its thread, its backlog, whether it is down."""

    def __init__(self, url: str, token: str | None, backlog: int,
                 send: Callable[[str, bytes, str | None], None]) -> None:
        self.url = url
        self.shown = redact(url)  # a password in the URL is never printed either
        self.sent = 0
        self.down = False
        self._token = token
        self._send = send
        self.backlog = backlog
        self.closing = threading.Event()  # the run ends: what cannot be sent now is dropped
        self._backoff = BACKOFF_S[0]
        self.writer: BackgroundWriter[bytes] = BackgroundWriter(f"webhook {self.shown}", self._deliver, drop=True,
                                                                backlog=backlog)

    def _deliver(self, body: bytes) -> None:
        """In the receiver's thread: POST until it goes through; when the run ends, give up at once."""
        while True:
            try:
                self._send(self.url, body, self._token)
            except (OSError, ValueError, http.client.HTTPException) as error:  # refused, timed out, not 2xx, garbled
                if self.closing.is_set():
                    self.writer.dropped += 1
                    return
                self._went_down(error)
                self.closing.wait(self._backoff)
                self._backoff = min(self._backoff * 2, BACKOFF_S[1])
                continue
            self.sent += 1
            self._backoff = BACKOFF_S[0]
            if self.down:
                self.down = False
                log.info(f"webhook {self.shown} is back")
            return

    def _went_down(self, error: BaseException) -> None:
        if not self.down:
            self.down = True
            log.warning(f"webhook {self.shown} is down ({why(error)}): retrying, up to "
                        f"{self.backlog} events wait")


class Webhooks:
    """The sink: events to every ``--webhook`` URL; not essential, and never on the main loop."""

    name = "webhooks"
    essential = False
    stop_requested = False
    error: str | None = None

    def __init__(self, urls: tuple[str, ...], token: str | None, backlog: int = BACKLOG,
                 send: Callable[[str, bytes, str | None], None] = post) -> None:
        self.receivers = [Receiver(url, token, backlog, send) for url in urls]

    def write(self, update: Update) -> None:
        pass

    def write_event(self, change: Change) -> None:
        body = json.dumps(record(change), ensure_ascii=False).encode()
        for receiver in self.receivers:
            receiver.writer.submit(body)

    def idle(self, redraw: Redraw) -> None:
        pass

    def close(self) -> None:
        """The events that wait get a last chance (a few seconds all told); to a receiver still down,
        one try each, no retry."""
        deadline = time.monotonic() + CLOSE_WAIT_S
        for receiver in self.receivers:
            if receiver.down:
                receiver.closing.set()
        for receiver in self.receivers:
            receiver.writer.finish(max(0.0, deadline - time.monotonic()))
            receiver.closing.set()

    def summary(self) -> str | None:
        parts = [f"{r.sent} to {r.shown}" + (f" ({r.writer.dropped} dropped: it was down)" if r.writer.dropped else "")
                 for r in self.receivers]
        return "webhooks: posted " + ", ".join(parts)
