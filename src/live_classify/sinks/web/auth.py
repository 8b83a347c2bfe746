"""Who may see what: a machine with ``--serve-token`` (``Authorization: Bearer``, or ``?token=`` in
the URL of an ``<img>`` or a script), a person with the session cookie a login through the form
left. One middleware asks every request, so a route added later is guarded with no code of its own."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from live_classify import log
from live_classify.config import WebUser
from live_classify.sinks.web.login_page import asked, refusal
from live_classify.sinks.web.passwords import check_password, dummy
from live_classify.sinks.web.roles import ADMIN, ANYONE, VIEWER, WHO, Who
from live_classify.sinks.web.sessions import SESSION_S, Sessions, Tries

# Open to anyone: a watchdog's health, and the page's script and style (code, no data: the login page
# wears the style, and a page opened with ?token= in a frame of another site, where no cookie goes, gets them).
PUBLIC = frozenset({"/healthz", "/app.js", "/live.js", "/style.css", "/history.js", "/history.css", "/session.js",
                    "/marks.js", "/teach.js"})
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


def over_https(request: web.Request) -> bool:
    """HTTPS here, or at the reverse proxy in front (its ``X-Forwarded-Proto``: trusting it can only
    keep a cookie off plain HTTP, never put one on it)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def carries(request: web.Request, token: str) -> bool:
    """Whether ``request`` carries ``token``: ``Authorization: Bearer`` (the scheme in any case, as HTTP
    has it), else ``?token=``."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    given = credentials.strip() if scheme.lower() == "bearer" else request.query.get("token", "")
    return same(given, token)


class Guard:
    """The token, the password, the users and the sessions of one server; with none, everyone may."""

    def __init__(self, token: str | None, password: str | None, users: tuple[WebUser, ...] | None = None) -> None:
        self.token, self.password = token or None, password or None
        self.users: dict[str, WebUser] | None = None
        self.sessions = Sessions()
        self.tries = Tries()
        self.set_users(users)

    @property
    def on(self) -> bool:
        return bool(self.token or self.password or self.users is not None)

    def set_users(self, users: tuple[WebUser, ...] | None) -> None:
        """The users of ``--serve-users`` (again, at a reload): the sessions of a user removed, or whose
        password changed, end; a changed role or camera list holds from the next request on."""
        old, self.users = self.users or {}, None if users is None else {user.name: user for user in users}
        new = self.users or {}

        def kept(name: str) -> bool:
            return name in new and (name not in old or new[name].password_hash == old[name].password_hash)

        ended = self.sessions.end_users(kept)
        if ended:
            log.info(f"web server: {ended} session{'s' if ended > 1 else ''} of users removed or changed ended")

    def user_accepts(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s (scrypt: run it off the event loop); an unknown name takes as long."""
        user = (self.users or {}).get(name)
        right = check_password(password, user.password_hash if user else dummy())
        return right and user is not None

    def accepts(self, given: str) -> bool:
        """The login form's field: the token or the password (the password nowhere else)."""
        token = self.token is not None and same(given, self.token)
        password = self.password is not None and same(given, self.password)
        return token or password

    def identify(self, request: web.Request) -> Who | None:
        """Who sends ``request``: the token (a script, an admin), a session's person, or nobody (None)."""
        if not self.on:
            return ANYONE
        if self.token is not None and carries(request, self.token):
            return Who("token", ADMIN)
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            return None
        if session.user is None:  # logged in with the token or the one password
            return Who("password" if self.password else "token", ADMIN, None, session.csrf)
        user = (self.users or {}).get(session.user)
        if user is None:
            return None
        return Who(user.name, user.role, user.cameras if user.role == VIEWER else None, session.csrf)

    def admits(self, request: web.Request) -> bool:
        """The token in the request, or the cookie of a session that is still on."""
        return self.identify(request) is not None

    def open_session(self, request: web.Request, response: web.StreamResponse, user: str | None = None) -> None:
        """A new session (``user``'s; None: the token's or the password's), its id in the cookie
        ``response`` sets (``HttpOnly``, ``SameSite=Strict``, ``Secure`` over HTTPS)."""
        response.set_cookie(COOKIE, self.sessions.start(user), max_age=SESSION_S, path="/", httponly=True,
                            samesite="Strict", secure=over_https(request))

    def token_visit(self, request: web.Request) -> web.Response | None:
        """A browser that opened a page with ``?token=``: a session, and the same page without the token
        (303), so that the token leaves the address bar, the history and the bookmarks. Only for a
        page opened in the tab by the person (or this server's own page): a frame of another site, an
        ``<img>`` or a script keep the token, which they need (no cookie goes with them)."""
        fetch = request.headers.get("Sec-Fetch-Dest")
        page = fetch == "document" if fetch else "text/html" in request.headers.get("Accept", "")
        site = request.headers.get("Sec-Fetch-Site", "none") in ("none", "same-origin")
        if request.method != "GET" or not page or not site or "token" not in request.query:
            return None
        if self.token is None or not same(request.query["token"], self.token):
            return None
        response = web.Response(status=303, headers={"Location": asked(request), "Cache-Control": "no-store"})
        self.open_session(request, response)
        return response

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every request: the PUBLIC ones and the login form pass, the rest need the token or a session;
        a browser without either gets the login form (401), anything else a 401 saying what to send."""
        found = self.identify(request)
        if found is not None:
            request[WHO] = found
        if request.path in PUBLIC:
            request[TRUSTED] = found is not None and found.role == ADMIN
            return await handler(request)
        if (visit := self.token_visit(request)) is not None:
            return visit
        if found is not None or (request.path == LOGIN and request.method == "POST"):
            return await handler(request)
        return refusal(request, self.password is not None, self.users is not None)
