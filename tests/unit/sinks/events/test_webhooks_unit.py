"""Webhooks as units: what one POST carries on the wire (a real HTTP server on 127.0.0.1), how a
failure is put in words, the retries' backoff (its waits recorded, never slept), and
``--public-url``."""
from __future__ import annotations

import http.client
import http.server
import json
import threading
import time
import urllib.error
from collections.abc import Iterator

import pytest

from live_classify.errors import BadValue
from live_classify.sinks.events.rules import END, START, Change, Event
from live_classify.sinks.events.webhook_address import public_url
from live_classify.sinks.events.webhooks import BACKOFF_S, Delivery, Webhooks, post, why


def change(kind: str = START, name: str = "e1") -> Change:
    return Change(kind, Event(name, "door", "cat", 1.0, None if kind == START else 2.0, 0.9, 1.5))


class Receiver(http.server.ThreadingHTTPServer):
    """Keeps each POST's headers and body; answers ``status`` (or, ``garbled``, no HTTP at all)."""

    def __init__(self, status: int = 204, garbled: bool = False) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status, self.garbled = status, garbled
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers.items()), body))
                if receiver.garbled:
                    self.wfile.write(b"garbage, not HTTP\r\n\r\n")
                    return
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.shutdown()
    server.server_close()


def test_a_post_carries_json_its_event_id_its_key_and_the_token_as_bearer(receiver: Receiver) -> None:
    post(receiver.url, Delivery(b'{"id": "e1"}', "e1", "e1-end"), "t0ken")
    post(receiver.url, Delivery(b'{"id": "e2"}', "e2", "e2-start"), None)
    post(receiver.url, Delivery(b'{"id": "e3"}', "e3", "e3-start"), "")  # --webhook-token "" : no token
    (first, body), (second, _), (third, _) = receiver.requests
    assert json.loads(body) == {"id": "e1"}
    assert (first["Content-Type"], first["X-Event-Id"], first["Idempotency-Key"], first["Authorization"]) == (
        "application/json", "e1", "e1-end", "Bearer t0ken")
    assert "Authorization" not in second and "Authorization" not in third


def test_an_answer_that_is_not_2xx_raises_and_is_said_as_its_status() -> None:
    server = Receiver(status=503)
    try:
        with pytest.raises(urllib.error.HTTPError) as caught:
            post(server.url, Delivery(b"{}", "e1", "e1-start"), None)
    finally:
        server.shutdown()
        server.server_close()
    assert why(caught.value) == "HTTP 503"


def test_a_failure_in_a_few_words() -> None:
    assert why(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))) == "Connection refused"
    assert why(TimeoutError("timed out")) == "timed out"
    assert why(http.client.RemoteDisconnected()) == "RemoteDisconnected"


def test_a_garbled_answer_is_retried_like_a_refusal_until_it_goes_through() -> None:
    server = Receiver(garbled=True)
    hooks = Webhooks((server.url,), None)
    Waits(hooks, then=lambda: setattr(server, "garbled", False))
    hooks.write_event(change())
    deadline = time.monotonic() + 30
    while hooks.receivers[0].sent == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    hooks.close()
    server.shutdown()
    server.server_close()
    assert hooks.receivers[0].sent == 1 and len(server.requests) == 2


class Waits:
    """Stands for a receiver's ``closing`` event: each backoff's wait recorded, none slept; the
    run's end (``set``) as the real one. ``then`` is called at the first wait."""

    def __init__(self, hooks: Webhooks, then: object = None) -> None:
        self.seconds: list[float] = []
        self.done = threading.Event()  # the receiver sent what it was given
        self._set, self._then = False, then
        receiver = hooks.receivers[0]
        receiver.closing = self  # type: ignore[assignment]

    def wait(self, timeout: float) -> bool:
        self.seconds.append(timeout)
        if callable(self._then) and len(self.seconds) == 1:
            self._then()
        return self._set

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


def test_the_backoff_doubles_to_its_cap_and_starts_again_after_a_success() -> None:
    """Ten failures: 0.5, 1, 2 ... 16, then 30 s at most (never unbounded); after a success the
    next failure waits half a second again, not the outage's 30 s."""
    fails = {"e1": 10, "e2": 1}
    sent: list[str] = []

    def flaky(url: str, delivery: Delivery, token: str | None, timeout: float) -> None:
        if fails[delivery.event_id]:
            fails[delivery.event_id] -= 1
            raise ConnectionRefusedError(111, "Connection refused")
        sent.append(delivery.key)
        if len(sent) == 2:
            waits.done.set()

    hooks = Webhooks(("http://127.0.0.1:9/hook",), None, send=flaky)
    waits = Waits(hooks)
    hooks.write_event(change(START, "e1"))
    hooks.write_event(change(END, "e2"))
    assert waits.done.wait(30)
    hooks.close()
    assert sent == ["e1-start", "e2-end"]
    assert waits.seconds == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0, 0.5]
    assert BACKOFF_S == (0.5, 30.0)


def test_a_clean_run_s_summary_says_what_was_posted_and_no_drops() -> None:
    hooks = Webhooks(("http://u:pw@127.0.0.1:9/hook",), None, send=lambda url, delivery, token, timeout: None)
    hooks.write_event(change())
    hooks.close()
    assert hooks.summary() == "webhooks: posted 1 to http://u:***@127.0.0.1:9/hook"


class Backoff(threading.Event):
    """A receiver's ``closing``, that says when the receiver's thread is waiting out a backoff."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.entered.set()
        return super().wait(timeout)


def test_at_the_end_a_receiver_waiting_out_its_backoff_gets_a_last_try_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver down for the last seconds: its backoff (longer than the end's wait) is cut short
    by the run's end, and the event goes through on that last try (not counted as dropped)."""
    import live_classify.sinks.events.webhooks as webhooks

    tries: list[float] = []

    def down_then_up(url: str, delivery: Delivery, token: str | None, timeout: float) -> None:
        tries.append(timeout)
        if len(tries) == 1:
            raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(webhooks, "BACKOFF_S", (60.0, 60.0))
    hooks = Webhooks(("http://127.0.0.1:9/hook",), None, send=down_then_up)
    receiver = hooks.receivers[0]
    receiver.closing = backoff = Backoff()
    hooks.write_event(change())
    assert backoff.entered.wait(10)  # the first try failed: it waits 60 s
    hooks.close()
    assert len(tries) == 2 and receiver.sent == 1 and receiver.dropped == 0


def test_a_public_url_loses_its_trailing_slash_and_takes_no_query_or_fragment() -> None:
    assert public_url("https://cams.example.com/box/") == "https://cams.example.com/box"
    assert public_url("http://box.lan:8080") == "http://box.lan:8080"
    for bad in ("https://cams.example.com/box?token=s3cret", "https://cams.example.com/box#x", "ftp://box/x"):
        with pytest.raises(BadValue) as caught:
            public_url(bad)
        assert "s3cret" not in str(caught.value)


def test_at_the_end_every_receiver_shares_one_wait_not_one_wait_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three receivers down at the end: ``CLOSE_WAIT_S`` is the end's wait all told (the run stops in
    that time, not in three times it): one deadline for all, each one's event counted as dropped."""
    import live_classify.sinks.events.webhooks as webhooks

    monkeypatch.setattr(webhooks, "CLOSE_WAIT_S", 0.5)
    urls = tuple(f"http://127.0.0.1:9/hook{n}" for n in range(3))

    def down(url: str, delivery: Delivery, token: str | None, timeout: float) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    hooks = Webhooks(urls, None, send=down)
    hooks.write_event(change())
    hooks.close()
    deadlines = {receiver.deadline for receiver in hooks.receivers}
    assert len(deadlines) == 1  # one deadline for all the receivers
    assert [receiver.dropped for receiver in hooks.receivers] == [1, 1, 1]


def test_at_the_end_a_post_waits_no_longer_than_the_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver that failed just before the end: its last POST may wait only what is left of
    ``CLOSE_WAIT_S`` (the end's wait all told), not a POST's full ``TIMEOUT_S``: a slow receiver
    never holds the run's end past it, nor posts after the summary counted its event as dropped."""
    import live_classify.sinks.events.webhooks as webhooks

    monkeypatch.setattr(webhooks, "CLOSE_WAIT_S", 0.5)
    monkeypatch.setattr(webhooks, "BACKOFF_S", (60.0, 60.0))
    waits: list[float] = []

    def down_then_up(url: str, delivery: Delivery, token: str | None, timeout: float) -> None:
        waits.append(timeout)
        if len(waits) == 1:
            raise ConnectionRefusedError(111, "Connection refused")

    hooks = Webhooks(("http://127.0.0.1:9/hook",), None, send=down_then_up)
    receiver = hooks.receivers[0]
    receiver.closing = backoff = Backoff()
    hooks.write_event(change())
    assert backoff.entered.wait(10)  # the first try failed: it waits out its backoff
    hooks.close()
    assert waits[0] == webhooks.TIMEOUT_S  # while the run goes on: a POST's full wait
    assert len(waits) == 2 and 0 < waits[1] <= 0.5, waits  # the last try: what is left of the end's wait
    assert receiver.sent == 1 and receiver.dropped == 0
