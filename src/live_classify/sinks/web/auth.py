"""Who may see what: a machine with ``--serve-token`` (``Authorization: Bearer``, or ``?token=`` in
the URL of an ``<img>`` or a script), a person with the session cookie a login through the form
left. One middleware asks every request, so a route added later is guarded with no code of its own."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from live_classify.sinks.web.login_page import refusal
from live_classify.sinks.web.sessions import Sessions, Tries

# Open to anyone: a watchdog's health, and the page's script and style (code, no data: the login page
# wears the style, and a page opened with ?token= in a frame of another site, where no cookie goes, gets them).
PUBLIC = frozenset({"/healthz", "/app.js", "/style.css", "/history.js", "/history.css"})
LOGIN, LOGOUT = "/login", "/logout"
COOKIE = "live_classify_session"
TRUSTED = web.RequestKey("trusted", bool)  # a public route's request with the token or a session: /healthz says why
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def same(given: str, secret: str) -> bool:
    """Whether ``given`` is ``secret``, in a time that tells nothing of either (their hashes are
    compared, so not even their lengths). Compared as the bytes sent: bytes that are not UTF-8 are wrong."""
    try:
        sent = given.encode("utf-8", "surrogateescape")  # as aiohttp decoded them
    except UnicodeEncodeError:  # a lone surrogate (from a %-escape), not a byte sent
        return False
    expected = secret.encode("utf-8", "surrogateescape")  # a token from argv may have them
    return hmac.compare_digest(hashlib.sha256(sent).digest(), hashlib.sha256(expected).digest())


def carries(request: web.Request, token: str) -> bool:
    """Whether ``request`` carries ``token``: ``Authorization: Bearer`` (the scheme in any case, as HTTP
    has it), else ``?token=``."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    given = credentials.strip() if scheme.lower() == "bearer" else request.query.get("token", "")
    return same(given, token)


class Guard:
    """The token, the password and the sessions of one server; with neither, everyone may."""

    def __init__(self, token: str | None, password: str | None) -> None:
        self.token, self.password = token or None, password or None
        self.sessions = Sessions()
        self.tries = Tries()

    @property
    def on(self) -> bool:
        return bool(self.token or self.password)

    def accepts(self, given: str) -> bool:
        """The login form's field: the token or the password (the password nowhere else)."""
        token = self.token is not None and same(given, self.token)
        password = self.password is not None and same(given, self.password)
        return token or password

    def admits(self, request: web.Request) -> bool:
        """The token in the request, or the cookie of a session that is still on."""
        if self.token is not None and carries(request, self.token):
            return True
        return self.sessions.valid(request.cookies.get(COOKIE))

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every request: the PUBLIC ones and the login form pass, the rest need the token or a session;
        a browser without either gets the login form (401), anything else a 401 saying what to send."""
        if request.path in PUBLIC:
            request[TRUSTED] = not self.on or self.admits(request)
            return await handler(request)
        if not self.on or (request.path == LOGIN and request.method == "POST") or self.admits(request):
            return await handler(request)
        return refusal(request, self.password is not None)
