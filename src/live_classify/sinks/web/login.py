"""``POST /login`` and ``POST /logout``: a person's way in, by the form, and out.

A right token or password sets the session cookie (``HttpOnly``: no script reads it; ``SameSite=Strict``:
no other site's page sends it; ``Secure`` when the request came over HTTPS) and goes on to the page
asked for (303). Wrong ones are counted per address: ``TRIES`` within a minute and that address is
answered 429 for ``LOCKOUT_S`` whatever it sends; and over all addresses: ``ALL_TRIES`` within a
minute and every address is answered 429 for ``ALL_LOCKOUT_S``. Nothing typed into the form is ever logged."""
from __future__ import annotations

import math
from functools import partial

from aiohttp import web

from live_classify import log
from live_classify.sinks.web.auth import COOKIE, LOGIN, LOGOUT, Guard
from live_classify.sinks.web.login_page import local, login_page
from live_classify.sinks.web.sessions import (
    ALL_LOCKOUT_S,
    ALL_TRIES,
    LOCKOUT_S,
    SESSION_S,
    TRIES,
    TRIES_WINDOW_S,
    address_key,
)

LOGOUT_FORM = b'<form id="logout" method="post" action="logout"'


def add_login(app: web.Application, guard: Guard) -> None:
    """The two routes, where there is something to log in with."""
    if guard.on:
        app.router.add_post(LOGIN, partial(login, guard))
        app.router.add_post(LOGOUT, partial(logout, guard))


def with_logout(page: bytes, guard: Guard) -> bytes:
    """The live page, with its "Log out" button shown where there is a login to end."""
    return page.replace(LOGOUT_FORM + b" hidden>", LOGOUT_FORM + b">") if guard.on else page


def over_https(request: web.Request) -> bool:
    """HTTPS here, or at the reverse proxy in front (its ``X-Forwarded-Proto``: trusting it can only
    keep a cookie off plain HTTP, never put one on it)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


async def login(guard: Guard, request: web.Request) -> web.Response:
    password = guard.password is not None
    address = address_key(request.remote)
    if wait := math.ceil(guard.tries.locked(address)):
        return login_page(429, password, f"Too many wrong tries: try again in {wait} s.",
                          headers={"Retry-After": str(wait)})
    form = await request.post()
    given, then = form.get("token"), form.get("next")
    if not isinstance(given, str) or not given:  # nothing typed: no guess to count
        return login_page(401, password, "Type the password." if password else "Type the token.", local(then))
    if not guard.accepts(given):
        locks = guard.tries.wrong(address)
        if locks == "all":
            log.warning(f"web server: {ALL_TRIES} wrong logins within {TRIES_WINDOW_S:.0f} s from all addresses: "
                        f"/login refuses everyone for {ALL_LOCKOUT_S:.0f} s (the token still works)")
        elif locks == "address":
            log.warning(f"web server: {TRIES} wrong logins from {address} within {TRIES_WINDOW_S:.0f} s: "
                        f"/login refuses it for {LOCKOUT_S:.0f} s")
        else:
            log.detail(f"web server: a wrong login from {address}")
        return login_page(401, password, "Wrong password or token." if password else "Wrong token.", local(then))
    guard.tries.forget(address)
    response = web.Response(status=303, headers={"Location": local(then), "Cache-Control": "no-store"})
    response.set_cookie(COOKIE, guard.sessions.start(), max_age=SESSION_S, path="/", httponly=True,
                        samesite="Strict", secure=over_https(request))
    return response


async def logout(guard: Guard, request: web.Request) -> web.Response:
    """The session ends here, on the server: its id is worth nothing any more, wherever it was kept."""
    guard.sessions.end(request.cookies.get(COOKIE))
    response = web.Response(status=303, headers={"Location": "/", "Cache-Control": "no-store"})
    response.del_cookie(COOKIE, path="/", httponly=True, samesite="Strict", secure=over_https(request))
    return response
