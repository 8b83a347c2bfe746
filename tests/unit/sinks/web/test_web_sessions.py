"""The login's memory, on a clock the test turns: sessions that expire, end and stay bounded; wrong
tries counted per address (an IPv6 one by its /64) that lock out for a while, in a bounded table;
and where a login goes on to (never another site)."""
from __future__ import annotations

import base64

import pytest

from live_classify.sinks.web.auth import same
from live_classify.sinks.web.login_page import local
from live_classify.sinks.web.sessions import (
    ALL_LOCKOUT_S,
    ALL_TRIES,
    LOCKOUT_S,
    SESSION_S,
    TRIES,
    TRIES_WINDOW_S,
    Sessions,
    Tries,
    address_key,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lasts_until_it_expires_or_ends() -> None:
    clock = Clock()
    sessions = Sessions(clock)
    first, second = sessions.start(), sessions.start()
    assert first != second and sessions.valid(first) and sessions.valid(second)
    assert not sessions.valid(None) and not sessions.valid("") and not sessions.valid(first[:-1])
    sessions.end(first)
    assert not sessions.valid(first) and sessions.valid(second), "logging out ends that session only"
    clock.now += SESSION_S - 1
    assert sessions.valid(second)
    clock.now += 1
    assert not sessions.valid(second) and len(sessions) == 0, "expired, and forgotten"


def test_sessions_are_bounded_the_oldest_ends_first() -> None:
    sessions = Sessions(Clock(), limit=3)
    ids = [sessions.start() for _ in range(5)]
    assert [sessions.valid(one) for one in ids] == [False, False, True, True, True]
    assert len(sessions) == 3


def test_five_wrong_tries_within_a_minute_lock_an_address_out_for_a_while() -> None:
    clock = Clock()
    tries = Tries(clock)
    assert [tries.wrong("10.0.0.9") for _ in range(TRIES - 1)] == [None] * (TRIES - 1)
    assert tries.locked("10.0.0.9") == 0.0 and tries.locked("10.0.0.8") == 0.0
    assert tries.wrong("10.0.0.9") == "address"
    assert tries.locked("10.0.0.9") == LOCKOUT_S and tries.locked("10.0.0.8") == 0.0, "that address only"
    clock.now += LOCKOUT_S - 1
    assert tries.locked("10.0.0.9") == 1.0
    clock.now += 1
    assert tries.locked("10.0.0.9") == 0.0 and not tries.wrong("10.0.0.9"), "afterwards: a fresh count"


def test_wrong_tries_spread_over_more_than_a_minute_never_lock_out() -> None:
    clock = Clock()
    tries = Tries(clock)
    for _ in range(3 * TRIES):
        assert not tries.wrong("10.0.0.9")
        clock.now += TRIES_WINDOW_S / (TRIES - 1)


def test_a_right_login_forgets_the_wrong_tries() -> None:
    tries = Tries(Clock())
    for _ in range(TRIES - 1):
        tries.wrong("10.0.0.9")
    tries.forget("10.0.0.9")
    assert not any(tries.wrong("10.0.0.9") for _ in range(TRIES - 1))


def test_the_table_of_addresses_is_bounded() -> None:
    tries = Tries(Clock(), limit=100, all_tries=10_000)
    for n in range(1000):
        tries.wrong(f"10.0.{n // 256}.{n % 256}")
    assert len(tries) == 100


def test_a_locked_address_stays_locked_however_many_others_try_until_its_lock_ends() -> None:
    """Issue 33: 4100 tries from other addresses made the table forget a locked one, which could try again."""
    clock = Clock()
    tries = Tries(clock, limit=100, all_tries=100_000)
    for _ in range(TRIES):
        tries.wrong("10.0.0.9")
    for n in range(1000):
        tries.wrong(f"10.1.{n // 256}.{n % 256}")
    assert tries.locked("10.0.0.9") == LOCKOUT_S
    clock.now += LOCKOUT_S
    assert tries.locked("10.0.0.9") == 0.0


def test_wrong_tries_from_many_addresses_lock_the_form_for_everyone_for_a_while() -> None:
    """A few guesses each from many addresses (no one address reaches TRIES): ALL_TRIES within the
    window lock every address out, a new one too, for ALL_LOCKOUT_S."""
    clock = Clock()
    tries = Tries(clock)
    said = [tries.wrong(f"10.0.0.{n}") for n in range(ALL_TRIES)]
    assert said == [None] * (ALL_TRIES - 1) + ["all"]
    assert tries.locked("10.9.9.9") == ALL_LOCKOUT_S and tries.locked("10.0.0.1") == ALL_LOCKOUT_S
    clock.now += ALL_LOCKOUT_S
    assert tries.locked("10.9.9.9") == 0.0
    for n in range(3 * ALL_TRIES):  # spread over more than the window: never
        clock.now += TRIES_WINDOW_S / (ALL_TRIES - 1)
        assert tries.wrong(f"10.0.1.{n}") is None


@pytest.mark.parametrize(("remote", "key"), [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    (None, ""),
])
def test_an_address_is_counted_as_one_machine(remote: str | None, key: str) -> None:
    assert address_key(remote) == key


@pytest.mark.parametrize(("then", "goes"), [
    ("/", "/"), ("/history?camera=door", "/history?camera=door"), (None, "/"), ("", "/"),
    ("//evil.example/", "/"), ("/\\evil.example", "/"), ("https://evil.example/", "/"), ("history", "/"),
    ("/\t/evil.example", "/"), ("/a\r\nSet-Cookie: x=1", "/"),
])
def test_a_login_goes_on_to_a_page_of_this_server_only(then: str | None, goes: str) -> None:
    assert local(then) == goes


def test_secrets_are_compared_as_the_bytes_sent() -> None:
    assert same("s3cret", "s3cret") and not same("s3cre", "s3cret") and not same("", "s3cret")
    assert not same("\ud800", "s3cret"), "a lone surrogate is no byte sent: wrong, not an error"
    # A token read from argv or a file may hold bytes that are not UTF-8; aiohttp decodes what is sent
    # the same way (surrogateescape): the same bytes match, whichever side they come from.
    assert same("caf\udcc3\udca9", "caf\u00e9") and same("\udcff", "\udcff") and not same("\udcfe", "\udcff")


def test_a_session_id_is_256_random_bits_and_any_cookie_is_an_answer_never_an_error() -> None:
    sessions = Sessions(Clock())
    session = sessions.start()
    assert len(base64.urlsafe_b64decode(session + "=")) == 32
    assert not sessions.valid("\ud800") and not sessions.valid("caf\u00e9"), "a cookie no browser sends: refused"
    sessions.end("\ud800")
    sessions.end("never-started")  # logging out of nothing: nothing to do
    assert sessions.valid(session) and len(sessions) == 1


def test_a_lockout_lasts_to_its_last_second() -> None:
    clock = Clock()
    tries = Tries(clock)
    for _ in range(TRIES):
        tries.wrong("10.0.0.9")
    clock.now += LOCKOUT_S - 1
    assert [tries.locked("10.0.0.9"), tries.locked("10.0.0.9")] == [1.0, 1.0]
    clock.now += 1
    assert tries.locked("10.0.0.9") == 0.0 and not tries.wrong("10.0.0.9")


def test_a_full_table_forgets_the_address_quiet_the_longest_but_not_its_lockout() -> None:
    clock = Clock()
    tries = Tries(clock, limit=2)
    for _ in range(TRIES):
        tries.wrong("10.0.0.1")  # locked out, then quiet the longest
    clock.now += 1
    for _ in range(TRIES - 1):
        tries.wrong("10.0.0.2")
    clock.now += 1
    tries.wrong("10.0.0.3")  # the table is full: 10.0.0.1's tries go, its lockout stays to its end
    assert tries.locked("10.0.0.1") == LOCKOUT_S - 2 and len(tries) == 2
    assert tries.wrong("10.0.0.2") == "address", "10.0.0.2's four tries were kept"
