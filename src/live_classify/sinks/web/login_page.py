"""The login form, as a browser without the token or a session gets it at any path, and where a
login goes on from: back to the page asked for, never to another site."""
from __future__ import annotations

import html
from string import Template
from urllib.parse import urlencode

from aiohttp import web

from live_classify.sinks.web.pages import FOLDER

_FORM = Template((FOLDER / "login.html").read_text("utf-8"))
# A form that takes a secret is never cached, nor shown in a frame of another site (clickjacking).
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
            "Content-Security-Policy": "frame-ancestors 'none'", "WWW-Authenticate": "Bearer"}


_USER_FIELD = ('<label for="user">User</label>\n    <input id="user" name="user" autocomplete="username" required '
               'autofocus>\n    ')


def login_page(status: int, password: bool, message: str = "", then: str = "/",
               headers: dict[str, str] | None = None, users: bool = False) -> web.Response:
    """The form: a user and a password (``--serve-users``), or a field for the password (or, without
    one, the token); ``message`` above the button, and, hidden, the page to go on to once logged in."""
    body = _FORM.substitute(label="Password" if password or users else "Token", message=html.escape(message),
                            then=html.escape(local(then)), user_field=_USER_FIELD if users else "",
                            field="password" if users else "token")
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8",
                        headers={**_HEADERS, **(headers or {})})


def refusal(request: web.Request, password: bool, users: bool = False) -> web.Response:
    """A request with neither the token nor a session: a browser gets the form, a machine one line."""
    if "text/html" in request.headers.get("Accept", ""):
        return login_page(401, password, then=asked(request) if request.method == "GET" else "/", users=users)
    return web.Response(status=401, text="log in, or send the token: Authorization: Bearer TOKEN\n",
                        headers={"WWW-Authenticate": "Bearer"})


def asked(request: web.Request) -> str:
    """The page a browser asked for, without a ``?token=`` (a wrong one, or it would not be here)."""
    query = [(name, value) for name, value in request.query.items() if name != "token"]
    return request.path + (f"?{urlencode(query)}" if query else "")


def local(then: object) -> str:
    """Where a login goes on: a path of this server (``/history?camera=door``); anything else
    (``//evil.example``, ``/\\evil.example``, ``https://...``, a control character) is ``/``."""
    if (isinstance(then, str) and then.startswith("/") and not then.startswith(("//", "/\\"))
            and then.isprintable()):
        return then
    return "/"
