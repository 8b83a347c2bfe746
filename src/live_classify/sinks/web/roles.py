"""Who may do what, in one place. An admin (a ``--serve-users`` admin, the token, the one password of
``--serve-password-file``, anyone on a server without a login) may do everything; a viewer may watch
the live view and the history of its cameras, nothing else. Every change (POST, PUT, DELETE) is an
admin's, by :func:`middleware`, so a route added later is guarded with no code of its own; a route
that serves a camera's frames, rows or files asks :func:`may_see` (or :func:`require_camera`)."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

ADMIN, VIEWER = "admin", "viewer"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
EXEMPT = frozenset({"/login", "/logout"})  # a person's own way in and out: anyone's
ADMIN_ONLY = frozenset({"/metrics", "/api/classes"})  # reads that tell of every camera at once
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Who:
    """The person or machine behind a request: a name for the log, a role, the cameras a viewer may
    see (None: all), and the session's CSRF token (None: no session, a script with the token)."""

    name: str
    role: str
    cameras: tuple[str, ...] | None = None
    csrf: str | None = None


ANYONE = Who("anyone", ADMIN)  # a server without a login: whoever reaches it (loopback, checked Host)
WHO = web.RequestKey("who", Who)


def who(request: web.Request) -> Who:
    return request.get(WHO, ANYONE)


def is_admin(request: web.Request) -> bool:
    return who(request).role == ADMIN


def sees(person: Who, camera: str) -> bool:
    return person.role == ADMIN or person.cameras is None or camera in person.cameras


def may_see(request: web.Request, camera: str) -> bool:
    """Whether the requester may see ``camera``'s frames, events, recordings and files."""
    return sees(who(request), camera)


def seen(request: web.Request, cameras: Iterable[str]) -> list[str]:
    """Those of ``cameras`` the requester may see, in their order."""
    return [camera for camera in cameras if may_see(request, camera)]


def one_line(value: object) -> str:
    """JSON on one line, as the server's small answers are."""
    return json.dumps(value, ensure_ascii=False) + "\n"


def forbidden(message: str) -> web.HTTPForbidden:
    """A 403 whose body is one JSON line saying why."""
    return web.HTTPForbidden(text=one_line({"error": message}), content_type="application/json")


def require_camera(request: web.Request, camera: str) -> None:
    """A 403 unless the requester may see ``camera``."""
    if not may_see(request, camera):
        raise forbidden(f"{who(request).name} may not see camera {camera!r}")


def requires_admin(request: web.Request) -> None:
    """A 403 unless the requester is an admin."""
    if not is_admin(request):
        raise forbidden(f"only an admin may do this ({who(request).name} is a {who(request).role})")


def status_for(request: web.Request, status: dict[str, object]) -> dict[str, object]:
    """``/api/status`` as the requester may see it: a viewer gets its cameras only (the top level
    the first of them's), their events, and not the run's configuration."""
    if is_admin(request):
        return status
    every, events = status["cameras"], status["events"]
    assert isinstance(every, list) and isinstance(events, dict)
    cameras = [c for c in every if may_see(request, str(c["name"]))]
    events = {kind: [e for e in found if may_see(request, str(e.get("camera")))] for kind, found in events.items()}
    blank = {key: None for key in every[0]} if every else {}  # none of its cameras: nothing of another's
    return {**status, **blank, **(cameras[0] if cameras else {}), "cameras": cameras, "events": events,
            "configuration": None}


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After the login's check: every change and every ADMIN_ONLY read is an admin's."""
    if (request.method not in SAFE and request.path not in EXEMPT) or request.path in ADMIN_ONLY:
        requires_admin(request)
    return await handler(request)
