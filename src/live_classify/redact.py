"""Secrets kept out of what is shown: every place that shows a URL (a log line, a message, a page)
shows it through :func:`redact`. A leaf: it imports nothing of the package."""
from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

#: Query parameters whose values are secrets (``?password=``, ``?token=``, ``?api_key=``, ``?sig=``...):
#: matched anywhere in the name, so ``X-Amz-Signature`` and ``camPassword`` are too. A harmless name
#: that matches (``keyframe``) is only shown masked.
SECRET_QUERY = re.compile(r"pass|pwd|token|key|secret|auth|sig|cred|session", re.IGNORECASE)
MASK = "***"


def redact(uri: str) -> str:
    """The URI as a person or a log may see it: no password in its user info (``rtsp://user:***@host/``)
    and no value of a secret-looking query parameter (``?user=bob&password=***``). Every place that
    shows a URL shows it through here."""
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:  # not a URL after all (e.g. an unbalanced '[')
        return uri
    query = "&".join(_masked_pair(pair) for pair in parts.query.split("&"))
    if password is None and query == parts.query:
        return uri  # as written, to the byte
    host = parts.netloc.rpartition("@")[2]  # as written: a port out of range is shown, not raised
    netloc = parts.netloc if password is None else f"{parts.username}:{MASK}@{host}"
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _masked_pair(pair: str) -> str:
    """``name=value``, the value masked when the name looks secret."""
    name, equals, value = pair.partition("=")
    return f"{name}={MASK}" if equals and value and SECRET_QUERY.search(unquote_plus(name)) else pair
