"""The places of ``--serve-clients`` in this process, on a fake clock: who is stalled, who is
evicted, at exactly which second, and what a full house is told."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from live_classify.sinks.web import clients as web_clients
from live_classify.sinks.web.clients import Client, Places


class Transport(asyncio.WriteTransport):
    """A connection that records being aborted."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted = 0

    def abort(self) -> None:
        self.aborted += 1

    def get_write_buffer_size(self) -> int:
        return 0  # the socket took every byte


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr(web_clients, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


def request() -> SimpleNamespace:
    return SimpleNamespace(transport=Transport())


def test_a_client_is_stalled_for_as_long_as_its_write_waits() -> None:
    client = Client(None)
    assert client.stalled_for(50.0) == 0.0
    client.stalled_since = 10.0
    assert client.stalled_for(12.5) == 2.5


def test_drop_aborts_a_writable_connection_and_ignores_any_other() -> None:
    transport = Transport()
    Client(transport).drop()
    assert transport.aborted == 1
    Client(asyncio.BaseTransport()).drop()  # nothing to abort, and no error
    Client(None).drop()


def test_a_write_taken_clears_the_stall_and_one_never_taken_drops_the_client(clock: list[float],
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    stalled_during: list[float | None] = []
    client = Client(Transport())

    async def taken(awaitable, timeout: float) -> None:  # noqa: ANN001
        waits.append(timeout)
        stalled_during.append(client.stalled_since)
        await awaitable

    async def never(awaitable, timeout: float) -> None:  # noqa: ANN001
        waits.append(timeout)
        awaitable.close()
        raise asyncio.TimeoutError

    written: list[bytes] = []

    async def write(data: bytes) -> None:
        written.append(data)

    response = SimpleNamespace(write=write)
    monkeypatch.setattr(web_clients.asyncio, "wait_for", taken)
    asyncio.run(client.send(response, b"frame"))  # type: ignore[arg-type]
    assert written == [b"frame"] and waits == [5.0] and stalled_during == [100.0]
    assert client.stalled_since is None and client.transport.aborted == 0  # type: ignore[union-attr]
    monkeypatch.setattr(web_clients.asyncio, "wait_for", never)
    with pytest.raises(ConnectionResetError, match="^the client read nothing$"):
        asyncio.run(client.send(response, b"frame"))  # type: ignore[arg-type]
    assert waits == [5.0, 5.0] and client.transport.aborted == 1  # type: ignore[union-attr]
    assert client.stalled_since == 100.0


def test_free_places_are_given_until_the_limit_then_none_while_everyone_reads(clock: list[float]) -> None:
    places = Places(2)
    first, second = places.admit(request()), places.admit(request())  # type: ignore[arg-type]
    assert first is not None and second is not None and first is not second
    assert places.admit(request()) is None  # type: ignore[arg-type]
    places.release(first)
    third = places.admit(request())  # type: ignore[arg-type]
    assert third is not None and places.admit(request()) is None  # type: ignore[arg-type]


def test_a_client_stalled_a_full_second_gives_its_place_to_a_newcomer_not_one_stalled_less(clock: list[float]) -> None:
    places = Places(3)
    readers = [places.admit(request()) for _ in range(3)]  # type: ignore[arg-type]
    a, b, c = readers
    assert a and b and c
    a.stalled_since, b.stalled_since = 99.5, 99.0001  # 0.5 s and 0.9999 s
    assert places.stalled() == 0 and places.admit(request()) is None  # type: ignore[arg-type]
    b.stalled_since = 99.0  # exactly 1 s: long enough
    assert places.stalled() == 1
    c.stalled_since = 98.0  # 2 s: the longest stalled goes first
    assert places.stalled() == 2
    newcomer = places.admit(request())  # type: ignore[arg-type]
    assert newcomer is not None and newcomer.transport.aborted == 0  # type: ignore[union-attr]
    assert c.transport.aborted == 1 and b.transport.aborted == 0 and a.transport.aborted == 0  # type: ignore[union-attr]
    assert places.stalled() == 1  # c's place is free: b alone is stalled now
    second = places.admit(request())  # type: ignore[arg-type]
    assert second is not None and b.transport.aborted == 1 and places.stalled() == 0  # type: ignore[union-attr]
    assert places.admit(request()) is None  # type: ignore[arg-type]


def test_a_full_house_is_503_with_retry_after_and_the_limit_in_words() -> None:
    answer = Places(7).full()
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.text == "at most 7 streams and event feeds at once (--serve-clients)\n"
