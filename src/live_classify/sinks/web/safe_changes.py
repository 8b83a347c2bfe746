"""Changes only from this server's own pages: every POST, PUT or DELETE but the login is refused (403)
when its ``Origin`` (or, without one, its ``Referer``) names another site, or, for a logged-in browser,
when its ``X-CSRF-Token`` header is not its session's (``GET /api/session`` hands the page that token;
another site's page can neither read it nor set the header without the browser asking this server
first, which it never allows). A script with the token sends no cookie: its token is its proof. Each
change is logged with who made it."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from aiohttp import web

from live_classify import log
from live_classify.sinks.web.auth import same
from live_classify.sinks.web.roles import SAFE, Handler, forbidden, who

HEADER = "X-CSRF-Token"
LOGIN, LOGOUT = "/login", "/logout"  # the login has no session yet; the logout form checks Origin itself


def same_site(request: web.Request) -> bool:
    """Whether a browser's page of this server sent ``request``: its ``Origin``, else its ``Referer``,
    names the ``Host`` asked (or the one a reverse proxy says was asked); a request with neither
    comes from no browser's page (browsers send ``Origin`` with every POST)."""
    origin = request.headers.get("Origin")
    if origin is None and (referer := request.headers.get("Referer")):
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin is None:
        return True
    hosts = {request.headers.get(name, "").split(",")[0].strip().lower() for name in ("Host", "X-Forwarded-Host")}
    scheme, _, netloc = origin.lower().partition("://")
    return scheme in ("http", "https") and netloc in hosts - {""}


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in SAFE or request.path == LOGIN:
        return await handler(request)
    if not same_site(request):
        raise forbidden("a change sent from another site's page is refused")
    person = who(request)
    if person.csrf is not None and request.path != LOGOUT and not same(request.headers.get(HEADER, ""), person.csrf):
        raise forbidden(f"a change needs the {HEADER} header of this session (GET /api/session)")
    try:
        response = await handler(request)
    except web.HTTPException as error:
        _said(request, error.status)
        raise
    _said(request, response.status)
    return response


def _said(request: web.Request, status: int) -> None:
    person = who(request)
    log.info(f"web server: {person.name} ({person.role}) {request.method} {request.path}: {status}")


async def session(request: web.Request) -> web.Response:
    """``GET /api/session``: who this is, their role, their cameras, and the token their changes send."""
    person = who(request)
    body = {"user": person.name, "role": person.role, "cameras": person.cameras, "csrf": person.csrf}
    return web.Response(text=json.dumps(body) + "\n", content_type="application/json",
                        headers={"Cache-Control": "no-store"})


async def no_referrer_beyond(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer: a link or a fetch from it to another site says nothing of where it came from
    (a page opened with ``?token=`` would otherwise hand the token to that site in ``Referer``)."""
    response.headers["Referrer-Policy"] = "same-origin"
