"""``/api/classes``: the classes taught from moments of the recordings. ``GET`` lists them with their
examples; ``POST`` ``{"label": ..., "examples": [{"camera": ..., "time": <unix seconds>}, ...]}``
teaches (or refines) one; ``DELETE /api/classes/<label>`` forgets one. The work (frames decoded,
features computed) runs on an executor thread; what cannot be done is a 4xx with a JSON message."""
from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from live_classify.sinks.web.roles import requires_admin
from live_classify.teach import Refused


class Teaching(Protocol):
    """What the routes ask of the run's teacher (``teach/teacher.py``)."""

    def classes(self) -> list[dict[str, object]]: ...

    def teach(self, label: str, moments: list[tuple[str, float]]) -> dict[str, object]: ...

    def forget(self, label: str) -> bool: ...


class ClassRoutes:
    def __init__(self, teacher: Callable[[], Teaching | None]) -> None:
        """``teacher``: asked at each request (a reload that changes ``--record DIR/`` gives another)."""
        self._teacher = teacher

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/api/classes", self.list)
        app.router.add_post("/api/classes", self.teach)
        app.router.add_delete("/api/classes/{label}", self.forget)

    async def _run(self, work: Callable[[Teaching], object]) -> object:
        if (teacher := self._teacher()) is None:
            raise _refusal(404, "nothing is taught without recordings: run with --record DIR/ and --segment")
        try:
            return await asyncio.get_running_loop().run_in_executor(None, work, teacher)
        except Refused as refused:
            raise _refusal(refused.status, str(refused)) from None
        except OSError as error:  # the disk full, a folder not writable: said, never a traceback
            raise _refusal(500, f"the taught classes cannot be read or written: {error}") from None

    async def list(self, request: web.Request) -> web.Response:
        return _json({"classes": await self._run(lambda t: t.classes())})

    async def teach(self, request: web.Request) -> web.Response:
        requires_admin(request)  # as the roles middleware has it: a change is an admin's
        label, moments = _taught(await _body(request))
        return _json(await self._run(lambda t: t.teach(label, moments)))

    async def forget(self, request: web.Request) -> web.Response:
        requires_admin(request)  # as the roles middleware has it: a change is an admin's
        label = request.match_info["label"]
        if not await self._run(lambda t: t.forget(label)):
            raise _refusal(404, f"no class {label!r} was taught")
        return _json({"forgotten": label})


async def _body(request: web.Request) -> object:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _refusal(400, "the body is not JSON") from None


def _taught(body: object) -> tuple[str, list[tuple[str, float]]]:
    """The label and the moments of a POST body, or a 400 saying what is wrong with it."""
    if not isinstance(body, dict) or not isinstance(body.get("label"), str):
        raise _refusal(400, 'give {"label": "...", "examples": [{"camera": "...", "time": <unix seconds>}, ...]}')
    examples = body.get("examples")
    if not isinstance(examples, list):
        raise _refusal(400, '"examples" must be a list of {"camera": ..., "time": ...}')
    moments = []
    for example in examples:
        camera = example.get("camera") if isinstance(example, dict) else None
        time = example.get("time") if isinstance(example, dict) else None
        if not isinstance(camera, str) or isinstance(time, bool) or not isinstance(time, (int, float)) \
                or not math.isfinite(time):
            raise _refusal(400, f'each example needs a "camera" name and a "time" in unix seconds: {example!r}')
        moments.append((camera, float(time)))
    return body["label"], moments


REFUSALS: dict[int, type[web.HTTPException]] = {400: web.HTTPBadRequest, 404: web.HTTPNotFound,
                                                422: web.HTTPUnprocessableEntity, 500: web.HTTPInternalServerError}


def _refusal(status: int, message: str) -> web.HTTPException:
    """The answer to what cannot be done: ``{"error": "..."}`` with its 4xx status."""
    return REFUSALS[status](text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json")


def _json(value: object) -> web.Response:
    return web.json_response(value, headers={"Cache-Control": "no-store"})
