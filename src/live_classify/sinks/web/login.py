"""``POST /login`` and ``POST /logout``: a person's way in, by the form, and out.

A right token or password sets the session cookie (``HttpOnly``: no script reads it; ``SameSite=Strict``:
no other site's page sends it; ``Secure`` when the request came over HTTPS) and goes on to the page
asked for (303). Wrong ones are counted per address: ``TRIES`` within a minute and that address is
answered 429 for ``LOCKOUT_S`` whatever it sends; and over all addresses: ``ALL_TRIES`` within a
minute and every address is answered 429 for ``ALL_LOCKOUT_S``. A form sent from a page of another site
(its ``Origin``) is refused (403), logging out too. Nothing typed into the form is ever logged."""
from __future__ import annotations

import asyncio
import math
from functools import partial

from aiohttp import web

from live_classify import log
from live_classify.sinks.web.auth import COOKIE, LOGIN, LOGOUT, Guard, over_https
from live_classify.sinks.web.login_page import local, login_page
from live_classify.sinks.web.sessions import (
    ALL_LOCKOUT_S,
    ALL_TRIES,
    LOCKOUT_S,
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


def from_here(request: web.Request) -> bool:
    """Whether a form was sent by a page of this server: a browser's ``Origin`` names the page's site,
    which must be this one (the ``Host`` asked, or the one a reverse proxy says it was asked); a
    request without ``Origin`` comes from no browser's page of another site (browsers send it with
    every POST)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    hosts = {request.headers.get(name, "").split(",")[0].strip().lower() for name in ("Host", "X-Forwarded-Host")}
    scheme, _, netloc = origin.lower().partition("://")
    return scheme in ("http", "https") and netloc in hosts - {""}


def other_site() -> web.Response:
    return web.Response(status=403, text="a form from another site: log in from this server's own page\n",
                        headers={"Cache-Control": "no-store"})


async def login(guard: Guard, request: web.Request) -> web.Response:
    if not from_here(request):
        return other_site()
    password, users = guard.password is not None, guard.users is not None
    page = partial(login_page, users=users)
    address = address_key(request.remote)
    if wait := math.ceil(guard.tries.locked(address)):
        return page(429, password, f"Too many wrong tries: try again in {wait} s.", headers={"Retry-After": str(wait)})
    form = await request.post()
    user, then = form.get("user"), form.get("next")
    given = form.get("password") if users and user else form.get("token", form.get("password"))
    if not isinstance(given, str) or not given:  # nothing typed: no guess to count
        return page(401, password, "Type the password." if password or users else "Type the token.", local(then))
    name = user if isinstance(user, str) and user and users else None
    if name is not None:  # scrypt takes a tenth of a second: off the event loop
        right = await asyncio.get_running_loop().run_in_executor(None, guard.user_accepts, name, given)
    else:
        right = guard.accepts(given)
    if not right:
        locks = guard.tries.wrong(address)
        if locks == "all":
            log.warning(f"web server: {ALL_TRIES} wrong logins within {TRIES_WINDOW_S:.0f} s from all addresses: "
                        f"/login refuses everyone for {ALL_LOCKOUT_S:.0f} s (the token still works)")
        elif locks == "address":
            log.warning(f"web server: {TRIES} wrong logins from {address} within {TRIES_WINDOW_S:.0f} s: "
                        f"/login refuses it for {LOCKOUT_S:.0f} s")
        else:
            log.detail(f"web server: a wrong login from {address}")
        wrong = "Wrong user or password." if name else "Wrong password or token." if password else "Wrong token."
        return page(401, password, wrong, local(then))
    guard.tries.forget(address)
    response = web.Response(status=303, headers={"Location": local(then), "Cache-Control": "no-store"})
    guard.open_session(request, response, name)
    if name:
        log.info(f"web server: {name} logged in from {address}")
    return response


async def logout(guard: Guard, request: web.Request) -> web.Response:
    """The session ends here, on the server: its id is worth nothing any more, wherever it was kept."""
    if not from_here(request):
        return other_site()
    guard.sessions.end(request.cookies.get(COOKIE))
    response = web.Response(status=303, headers={"Location": "/", "Cache-Control": "no-store"})
    response.del_cookie(COOKIE, path="/", httponly=True, samesite="Strict", secure=over_https(request))
    return response
