"""``--webhook``'s URL, read without loading the sink (the command line checks it)."""
from __future__ import annotations

from urllib.parse import urlsplit

from live_classify.errors import BadValue
from live_classify.redact import redact


def webhook_url(text: str) -> str:
    """An http(s) URL with a host, else a :class:`BadValue` (a usage error, exit 2); a password in
    it is never shown."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        raise BadValue(f"not an http:// or https:// URL with a valid port: {redact(text)!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadValue(f"not an http:// or https:// URL with a host: {redact(text)!r}")
    return text


def public_url(text: str) -> str:
    """``--public-url``: an http(s) URL with a host, without a query; its trailing ``/`` taken off
    (``/media/...`` is put after it)."""
    url = webhook_url(text)
    if urlsplit(url).query or urlsplit(url).fragment:
        raise BadValue(f"a base URL without ?query or #fragment: {redact(text)!r}")
    return url.rstrip("/")
