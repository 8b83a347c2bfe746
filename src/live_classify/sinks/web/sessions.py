"""What a login leaves behind on the server: the sessions its cookie names, and the wrong tries
counted per address and over all of them. Both in memory, both bounded: nothing a stranger sends can
grow them without end. A restart of the run logs everyone out."""
from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

SESSION_S = 7 * 24 * 3600  # a login lasts a week, then the form again
MAX_SESSIONS = 100  # at most this many logged-in browsers; a new login ends the oldest session
TRIES = 5  # wrong logins from one address ...
TRIES_WINDOW_S = 60.0  # ... within this long ...
LOCKOUT_S = 300.0  # ... and /login answers 429 to that address for this long
MAX_ADDRESSES = 4096  # addresses whose wrong tries are remembered; the longest quiet is forgotten first
ALL_TRIES = 30  # wrong logins from all addresses together within TRIES_WINDOW_S ...
ALL_LOCKOUT_S = 60.0  # ... and /login answers 429 to every address for this long

Clock = Callable[[], float]


def _key(session_id: str) -> bytes:
    """A session as the table keeps it: the id's hash, so looking one up takes the same time
    whatever part of a guessed id is right, and the table holds nothing a cookie could be made from."""
    return hashlib.sha256(session_id.encode("utf-8", "replace")).digest()


@dataclass(frozen=True)
class Session:
    """Who logged in (None: with the token or the one password), the token its page sends with each
    change (``X-CSRF-Token``: another site's page cannot read it), and until when it lasts."""

    user: str | None
    csrf: str
    expiry: float


class Sessions:
    """Logged-in browsers: a random id each (the cookie's value), good until it expires or logs out."""

    def __init__(self, clock: Clock = time.monotonic, limit: int = MAX_SESSIONS) -> None:
        self._clock, self._limit = clock, limit
        self._sessions: OrderedDict[bytes, Session] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._sessions)

    def start(self, user: str | None = None) -> str:
        """A new session: its id, 256 random bits from ``secrets``, never one the browser chose."""
        session_id = secrets.token_urlsafe(32)
        while len(self._sessions) >= self._limit:
            self._sessions.popitem(last=False)
        self._sessions[_key(session_id)] = Session(user, secrets.token_urlsafe(32), self._clock() + SESSION_S)
        return session_id

    def get(self, session_id: str | None) -> Session | None:
        """The session ``session_id`` names, if it has not expired nor logged out."""
        if not session_id:
            return None
        key = _key(session_id)
        session = self._sessions.get(key)
        if session is not None and self._clock() >= session.expiry:
            del self._sessions[key]
            return None
        return session

    def valid(self, session_id: str | None) -> bool:
        """Whether ``session_id`` names a session that has not expired nor logged out."""
        return self.get(session_id) is not None

    def end(self, session_id: str | None) -> None:
        """Log out: the id is worth nothing from now on, whoever still has it."""
        if session_id:
            self._sessions.pop(_key(session_id), None)

    def end_users(self, kept: Callable[[str], bool]) -> int:
        """End the sessions of every user ``kept`` says no to (removed by a reload); how many ended."""
        gone = [key for key, s in self._sessions.items() if s.user is not None and not kept(s.user)]
        for key in gone:
            del self._sessions[key]
        return len(gone)


def address_key(remote: str | None) -> str:
    """Whose tries these are: the client's address; an IPv6 one by its /64, the block one machine gets."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return remote or ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class Tries:
    """Wrong logins per address: ``TRIES`` within ``TRIES_WINDOW_S`` lock it out for ``LOCKOUT_S``;
    and over all addresses: ``ALL_TRIES`` within ``TRIES_WINDOW_S`` lock the form out for everyone for
    ``ALL_LOCKOUT_S`` (whoever guesses from many addresses, IPv6 /64s or the 127/8 block, gains nothing).

    The table of counts forgets the longest quiet first, but never a locked address before its lock ends:
    the locks are few (the limit over all addresses allows at most ``ALL_TRIES // TRIES`` a window)."""

    def __init__(self, clock: Clock = time.monotonic, limit: int = MAX_ADDRESSES, all_tries: int = ALL_TRIES) -> None:
        self._clock, self._limit = clock, limit
        self._wrong: OrderedDict[str, deque[float]] = OrderedDict()  # the longest quiet first
        self._locked: dict[str, float] = {}  # address -> until when; never forgotten before then
        self._all: deque[float] = deque(maxlen=all_tries)  # the newest wrong tries, any address's
        self._all_locked = 0.0  # until when the form refuses everyone

    def __len__(self) -> int:
        return len(self._wrong)

    def locked(self, address: str) -> float:
        """Seconds ``address`` must still wait before it may try again (0: it may now)."""
        now = self._clock()
        until = self._locked.get(address)
        if until is not None and until <= now:
            del self._locked[address]
            self._wrong.pop(address, None)
            until = None
        return max((until or now) - now, self._all_locked - now, 0.0)

    def wrong(self, address: str) -> str | None:
        """Count a wrong login; what it locks out (``"address"`` or ``"all"``), else None."""
        now = self._clock()
        times = self._wrong.pop(address, None) or deque(maxlen=TRIES)
        while times and now - times[0] >= TRIES_WINDOW_S:
            times.popleft()
        times.append(now)
        while len(self._wrong) >= self._limit:
            self._wrong.popitem(last=False)
        self._wrong[address] = times
        locks = None
        if len(times) >= TRIES:
            self._locked = {a: until for a, until in self._locked.items() if until > now}  # the expired go
            self._locked[address], locks = now + LOCKOUT_S, "address"
        self._all.append(now)
        if len(self._all) == self._all.maxlen and now - self._all[0] < TRIES_WINDOW_S:
            self._all_locked, locks = now + ALL_LOCKOUT_S, "all"
            self._all.clear()
        return locks

    def forget(self, address: str) -> None:
        """A right login: the address starts afresh."""
        self._wrong.pop(address, None)
        self._locked.pop(address, None)
