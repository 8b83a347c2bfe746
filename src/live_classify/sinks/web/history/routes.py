"""The routes of ``/history``: the page, its JSON APIs, the media files and the export. Each read
of the index or of a file runs on an executor thread: the event loop keeps serving the live
streams meanwhile. They go through the server's auth like every other route."""
from __future__ import annotations

import asyncio
import posixpath
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from live_classify.sinks.web.classes import ClassRoutes, Teaching
from live_classify.sinks.web.history import marks, params
from live_classify.sinks.web.history.media import serve
from live_classify.sinks.web.history.queries import History, NoIndex
from live_classify.sinks.web.pages import Pages
from live_classify.sinks.web.roles import is_admin, may_see, one_line, require_camera, who

T = TypeVar("T")
PAGE = {"/history": ("history.html", "text/html"), "/history.js": ("history.js", "text/javascript"),
        "/history.css": ("history.css", "text/css"), "/session.js": ("session.js", "text/javascript"),
        "/marks.js": ("marks.js", "text/javascript"), "/teach.js": ("teach.js", "text/javascript")}
SKIPPED = "X-Skipped-Segments"  # an export's header: the segments of its range it could not read
EXPORTS = 2  # exports cut at once (each a thread copying packets); more are told to come back (503)


class Routes:
    """The handlers, over the recording directory (None: nothing is recorded, and each says so)."""

    def __init__(self, root: Callable[[], Path | None], teacher: Callable[[], Teaching | None] | None = None) -> None:
        """``root``: asked at each request, so that a reload that changes ``--record`` is followed;
        ``teacher``: the same for the classes taught from the recordings (``/api/classes``)."""
        self._root = root
        self._classes = ClassRoutes(teacher or (lambda: None))
        self._exports = threading.BoundedSemaphore(EXPORTS)  # held by the cutting thread, to its end
        self._pages = Pages(PAGE)

    @property
    def history(self) -> History | None:
        root = self._root()
        return History(root) if root is not None else None

    def add_to(self, app: web.Application) -> None:
        self._pages.add_to(app)
        api = {"events": self.events, "recordings": self.recordings, "labels": self.labels, "cameras": self.cameras,
               "thumbnail.jpg": self.thumbnail}
        for name, handler in api.items():
            app.router.add_get(f"/api/history/{name}", handler)
        app.router.add_get("/api/history/marks", self.tally)
        app.router.add_post("/api/history/events/{id}/mark", self.mark)
        app.router.add_get("/api/clip.mp4", self.clip)
        app.router.add_get("/media/{path:.+}", self.media)
        self._classes.add_to(app)

    async def _ask(self, query: Callable[[History], T]) -> T:
        """``query`` on an executor thread; an index that is missing or unreadable is a one-line 404/503."""
        if (history := self.history) is None:
            raise web.HTTPNotFound(text="nothing is recorded: run with --record DIR/ and --segment or --event\n")
        try:
            return await asyncio.get_running_loop().run_in_executor(None, query, history)
        except NoIndex as missing:
            raise web.HTTPNotFound(text=f"{missing}\n") from None
        except sqlite3.Error as error:
            raise web.HTTPServiceUnavailable(text=f"the index cannot be read: {error}\n") from None

    async def events(self, request: web.Request) -> web.Response:
        """The events of the span, each with its ``mark``: true (right), false (wrong), null (not marked)."""
        span = _span(request)

        def marked(history: History) -> list[dict[str, object]]:
            found = history.events(span)
            said = marks.of(history.root, [str(event["id"]) for event in found])
            return [{**event, "mark": said.get(str(event["id"]))} for event in found]

        return _json({"events": _theirs(request, await self._ask(marked))})

    async def tally(self, request: web.Request) -> web.Response:
        """Per camera and label, the events marked right and wrong."""
        return _json({"marks": _theirs(request, await self._ask(lambda h: marks.tally(h.root)))})

    async def mark(self, request: web.Request) -> web.Response:
        """``{"right": true|false}`` (null takes the mark back) on an event: an admin's word (the roles'
        middleware lets no one else change anything)."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or set(body) != {"right"} or body["right"] not in (True, False, None):
            raise _error(web.HTTPBadRequest, 'send {"right": true} or {"right": false} (null takes the mark back)')
        event, person = request.match_info["id"], who(request).name
        try:
            said = await self._ask(lambda h: marks.write(h.root, event, body["right"], person))
        except marks.NoEvent as missing:
            raise _error(web.HTTPNotFound, str(missing)) from None
        return _json(said)

    async def recordings(self, request: web.Request) -> web.Response:
        span = _span(request)
        return _json({"recordings": _theirs(request, await self._ask(lambda h: h.recordings(span)))})

    async def labels(self, request: web.Request) -> web.Response:
        since, until = params.closed(request.query)
        step, camera = params.step(request.query, since, until), _span(request).camera
        rows = _theirs(request, await self._ask(lambda h: h.labels(camera, since, until, step)))
        return _json({"since": since, "until": until, "step": step, "labels": rows})

    async def cameras(self, request: web.Request) -> web.Response:
        def theirs(history: History) -> tuple[list[str], list[str]]:
            cameras = [camera for camera in history.cameras() if may_see(request, camera)]
            return cameras, history.label_names(None if is_admin(request) else cameras)

        cameras, labels = await self._ask(theirs)
        return _json({"cameras": cameras, "labels": labels})

    async def media(self, request: web.Request) -> web.StreamResponse:
        """A file under DIR: a viewer's only under its cameras' folders (``DIR/<camera>/...``)."""
        if (history := self.history) is None:
            raise web.HTTPNotFound(text="nothing is recorded\n")
        path = request.match_info["path"]
        if not is_admin(request):  # ``door/../kitchen/x.mp4`` is kitchen's
            require_camera(request, posixpath.normpath(path).partition("/")[0])
        return await serve(history.root, path)

    async def thumbnail(self, request: web.Request) -> web.Response:
        """A small JPEG of ``camera`` at ``t``, from the segment that holds it."""
        from live_classify.sinks.web.history.frames import thumbnail  # PyAV, only when asked

        camera, t = request.query.get("camera", ""), params.moment(request.query, "t")
        if not camera or t is None:
            raise params.bad("camera and t are required")
        require_camera(request, camera)
        # The segment that holds t (or whose last frame is at most a frame before it); one still being
        # written is not in the index yet: a 404 then, never another moment's frame.
        held = [s for s in await self._ask(lambda h: h.segments(camera, t - 1, t)) if s[1] <= t <= s[2] + 0.5]
        try:
            jpeg = await asyncio.get_running_loop().run_in_executor(
                None, thumbnail, held[-1][0], t - held[-1][1]) if held else None
        except OSError as error:
            raise web.HTTPInternalServerError(text=f"{error}\n") from None
        if jpeg is None:
            raise web.HTTPNotFound(text=f"nothing of {camera} is recorded at {t}\n")
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    async def clip(self, request: web.Request) -> web.StreamResponse:
        """The export, downloaded as one MP4 named after the camera and its start, sent as it is cut."""
        from live_classify.sinks.web.history.export import Nothing, Stream, cut  # PyAV, only when exporting

        camera, start, end = params.export(request.query)
        require_camera(request, camera)
        segments = await self._ask(lambda h: h.segments(camera, start, end))
        loop, skipped = asyncio.get_running_loop(), list[str]()  # the segments it could not read
        if not self._exports.acquire(blocking=False):
            raise web.HTTPServiceUnavailable(text=f"{EXPORTS} exports are being cut; try again in a moment\n",
                                             headers={"Retry-After": "5"})
        stream = Stream()
        loop.run_in_executor(None, partial(_cut_and_release, self._exports, cut, segments, start, end, stream,
                                           skipped))
        try:
            first = await loop.run_in_executor(None, stream.next)  # the first piece, or why there is none
        except asyncio.CancelledError:  # the client went away: the cut stops at its next write
            stream.close()
            raise
        except Nothing:
            raise web.HTTPNotFound(text=f"nothing of {camera} is recorded between {start} and {end}\n") from None
        except OSError as error:
            raise web.HTTPInternalServerError(text=f"cannot export: {error}\n") from None
        name = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', camera)}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(start))}.mp4"
        response = web.StreamResponse(headers={"Content-Type": "video/mp4",
                                               "Content-Disposition": f'attachment; filename="{name}"'})
        if skipped:  # the range has a hole where they were: the download says so
            response.headers[SKIPPED] = f"{len(skipped)} missing or damaged, left out: {', '.join(skipped)}"
        try:
            await response.prepare(request)
            chunk = first
            while chunk is not None:
                await response.write(chunk)
                chunk = await loop.run_in_executor(None, stream.next)
        except OSError:  # the cut failed half-way: the download ends short (its headers are sent)
            pass
        finally:
            stream.close()
        return response


def _cut_and_release(slots: threading.BoundedSemaphore, cut: Callable[..., None], *args: object) -> None:
    """An export cut in a worker thread, its slot held until it is done (a client gone or not)."""
    try:
        cut(*args)
    except Exception:  # noqa: BLE001 - handed to the request through the stream already
        pass
    finally:
        slots.release()


def _span(request: web.Request) -> params.Span:
    """The query's span; a camera the requester may not see is a 403."""
    span = params.span(request.query)
    if span.camera is not None:
        require_camera(request, span.camera)
    return span


def _theirs(request: web.Request, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """The rows of the cameras the requester may see."""
    return rows if is_admin(request) else [row for row in rows if may_see(request, str(row["camera"]))]


def _error(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    """An API's refusal: one JSON line saying why."""
    return kind(text=one_line({"error": message}), content_type="application/json")


def _json(value: object) -> web.Response:
    return web.json_response(value, headers={"Cache-Control": "no-store"})
