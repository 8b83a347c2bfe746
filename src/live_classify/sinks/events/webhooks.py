"""``--webhook URL``: each event's start and end POSTed as JSON (the JSON line's object), with
``--webhook-token`` as ``Authorization: Bearer``.

Each URL has a thread of its own (a :class:`BackgroundWriter`): a receiver that is slow or down
never holds up the main loop or the other receivers. A POST waits at most ``TIMEOUT_S``, longer than
the first retries' wait, so a slow receiver is not sent the same event again and again; one that
fails is tried again with backoff until it goes through, while the events after it wait in a
bounded backlog whose oldest are dropped (and counted) when it is full. Every POST of one start or
end carries the same ``X-Event-Id`` (the event's ``id``, as in the body) and ``Idempotency-Key``
(``<id>-start`` or ``<id>-end``): a receiver that got it once can tell a retry from a new event.
At the end, what waits gets ``CLOSE_WAIT_S`` all told; what is not sent by then is counted as
dropped. A receiver that goes down is one line, and one when it is back; never a line per event.
The token is never printed.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from live_classify import log
from live_classify.redact import redact
from live_classify.sinks.base import BackgroundWriter, Redraw, Update
from live_classify.sinks.events.rules import Change, record

TIMEOUT_S = 10.0  # a POST's longest wait: beyond the retries' first waits (BACKOFF_S), so a slow receiver gets it once
BACKLOG = 100  # events waiting for a receiver that is down; beyond it the oldest are dropped
BACKOFF_S = (0.5, 30.0)  # from half a second, doubling, to 30 s
CLOSE_WAIT_S = 5.0  # at the end, how long the events that wait have, all receivers together


@dataclass(frozen=True)
class Delivery:
    """One start or end for one receiver: its body and the key that is the same on every retry."""

    body: bytes
    event_id: str
    key: str  # <id>-start, <id>-end


Send = Callable[[str, Delivery, "str | None", float], None]


def post(url: str, delivery: Delivery, token: str | None, timeout: float = TIMEOUT_S) -> None:
    """One POST; an answer that is not 2xx, a timeout or no connection raises OSError."""
    headers = {"Content-Type": "application/json", "User-Agent": "live-classify",
               "X-Event-Id": delivery.event_id, "Idempotency-Key": delivery.key}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=delivery.body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's own URL
        response.read()


def why(error: BaseException) -> str:
    """A failed POST in a few words (never the request, which holds the token)."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    reason = getattr(error, "reason", None) or error
    return getattr(reason, "strerror", None) or str(reason) or type(error).__name__


def absolute(body: dict[str, object], media: str | None) -> dict[str, object]:
    """``clip`` and ``thumbnail`` as URLs under ``media`` (the web view's ``/media/``), else as they are."""
    if media is None:
        return body
    return {**body, **{key: f"{media}/media/{quote(str(body[key]))}" for key in ("clip", "thumbnail") if body[key]}}


class Receiver:
    """One URL: its thread, its backlog, whether it is down, what it was sent and what it never got."""

    def __init__(self, url: str, token: str | None, backlog: int, send: Send) -> None:
        self.url = url
        self.shown = redact(url)  # a password in the URL is never printed either
        self.sent = 0
        self.submitted = 0
        self.down = False
        self._token = token
        self._send = send
        self.backlog = backlog
        self.closing = threading.Event()  # the run ends: a backoff under way is cut short for a last try
        self.deadline = float("inf")  # the run ends: no POST waits past this (time.monotonic)
        self.lost: int | None = None  # at the end: the events it never got (set by Webhooks.close)
        self._backoff = BACKOFF_S[0]
        self.writer: BackgroundWriter[Delivery] = BackgroundWriter(f"webhook {self.shown}", self._deliver, drop=True,
                                                                   backlog=backlog)

    def submit(self, delivery: Delivery) -> None:
        self.submitted += 1
        self.writer.submit(delivery)

    @property
    def dropped(self) -> int:
        """Events it never got: the oldest pushed out of a full backlog, and (at the end) those left."""
        return self.lost if self.lost is not None else self.writer.dropped

    def _deliver(self, delivery: Delivery) -> None:
        """In the receiver's thread: POST until it goes through; when the run ends, until its deadline."""
        while True:
            timeout = min(TIMEOUT_S, self.deadline - time.monotonic())
            if timeout <= 0 or self.lost is not None:
                return  # counted as dropped by close()
            try:
                self._send(self.url, delivery, self._token, timeout)
            except (OSError, ValueError, http.client.HTTPException) as error:  # refused, timed out, not 2xx, garbled
                self._went_down(error)
                if self.closing.is_set():  # the last seconds: the backoff, never past the deadline
                    time.sleep(min(self._backoff, max(0.0, self.deadline - time.monotonic())))
                else:  # a wait the run's end cuts short, for a last try
                    self.closing.wait(self._backoff)
                self._backoff = min(self._backoff * 2, BACKOFF_S[1])
                continue
            if self.lost is None:
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

    def __init__(self, urls: tuple[str, ...], token: str | None, backlog: int = BACKLOG, send: Send = post,
                 media: str | None = None) -> None:
        """``media``: the web view's base URL, for ``clip`` and ``thumbnail`` as absolute URLs (None: as paths)."""
        self.receivers = [Receiver(url, token, backlog, send) for url in urls]
        self.media = media

    def write(self, update: Update) -> None:
        pass

    def write_event(self, change: Change) -> None:
        body = json.dumps(absolute(record(change), self.media), ensure_ascii=False).encode()
        delivery = Delivery(body, change.event.id, f"{change.event.id}-{change.kind}")
        for receiver in self.receivers:
            receiver.submit(delivery)

    def idle(self, redraw: Redraw) -> None:
        pass

    def close(self) -> None:
        """The events that wait get ``CLOSE_WAIT_S`` all told (retries included, no POST waits past
        it); what is not sent by then is counted as dropped, not lost without a word."""
        deadline = time.monotonic() + CLOSE_WAIT_S
        for receiver in self.receivers:
            receiver.deadline = deadline
            receiver.closing.set()
        for receiver in self.receivers:
            receiver.writer.finish(max(0.0, deadline - time.monotonic()))
            receiver.lost = receiver.submitted - receiver.sent

    def summary(self) -> str | None:
        parts = [f"{r.sent} to {r.shown}" + (f" ({r.dropped} dropped: it was down or too slow)" if r.dropped else "")
                 for r in self.receivers]
        return "webhooks: posted " + ", ".join(parts)
