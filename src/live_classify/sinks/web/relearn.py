"""``POST /api/health/relearn?camera=NAME``: a camera's normal (its view and sharpness) learned again
from its next frames, after someone moved or refocused it on purpose. Guarded as every route is
(the token, or a logged-in session); a camera without health checks is a 409, an unknown one a 404."""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

from aiohttp import web

PATH = "/api/health/relearn"


Relearn = Callable[[str], "bool | None"]  # camera: learned anew (False: no health checks; None: no such camera)


def add_relearn(app: web.Application, relearning: Relearn) -> None:
    app.router.add_post(PATH, partial(relearn, relearning))


async def relearn(relearning: Relearn, request: web.Request) -> web.Response:
    name = request.query.get("camera", "")
    done = relearning(name)
    if done is None:
        return _answer({"error": f"no camera named {name!r}"}, 404)
    if not done:
        return _answer({"error": f"{name} has no health checks (--health off)"}, 409)
    return _answer({"camera": name, "relearning": True}, 200)


def _answer(body: dict[str, object], status: int) -> web.Response:
    return web.Response(text=json.dumps(body) + "\n", status=status, content_type="application/json")
