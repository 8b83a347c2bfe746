"""``--serve-token``: which requests need the token, and whether a request carries it."""
from __future__ import annotations

import hmac

from aiohttp import web

# Open without the token: a watchdog's health, and the page's script and style (no data in them), which
# a browser fetches without the ?token= of the page's URL. The page itself and every endpoint with data
# need it (app.js carries the page's token onto each URL it asks for).
PUBLIC = frozenset({"/healthz", "/app.js", "/style.css", "/history.js", "/history.css"})


def carries(request: web.Request, token: str) -> bool:
    """Whether ``request`` carries ``token``: ``Authorization: Bearer`` (the scheme in any case, as HTTP
    has it), else ``?token=``. Compared as the bytes sent: bytes that are not UTF-8 are a wrong token."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    given = credentials.strip() if scheme.lower() == "bearer" else request.query.get("token", "")
    try:
        sent = given.encode("utf-8", "surrogateescape")  # as aiohttp decoded them
    except UnicodeEncodeError:  # a lone surrogate (from a %-escape), not a byte sent
        return False
    return hmac.compare_digest(sent, token.encode("utf-8", "surrogateescape"))  # a token from argv may have them
