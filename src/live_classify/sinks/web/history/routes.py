"""The routes of ``/history``: the page, its JSON APIs, the media files and the export. Each read
of the index or of a file runs on an executor thread: the event loop keeps serving the live
streams meanwhile. They go through the server's auth like every other route."""
from __future__ import annotations

import asyncio
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
from live_classify.sinks.web.history import params
from live_classify.sinks.web.history.media import serve
from live_classify.sinks.web.history.queries import History, NoIndex
from live_classify.sinks.web.pages import Pages

T = TypeVar("T")
PAGE = {"/history": ("history.html", "text/html"), "/history.js": ("history.js", "text/javascript"),
        "/history.css": ("history.css", "text/css"), "/teach.js": ("teach.js", "text/javascript")}
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
        span = params.span(request.query)
        return _json({"events": await self._ask(lambda h: h.events(span))})

    async def recordings(self, request: web.Request) -> web.Response:
        span = params.span(request.query)
        return _json({"recordings": await self._ask(lambda h: h.recordings(span))})

    async def labels(self, request: web.Request) -> web.Response:
        since, until = params.closed(request.query)
        step, camera = params.step(request.query, since, until), request.query.get("camera") or None
        rows = await self._ask(lambda h: h.labels(camera, since, until, step))
        return _json({"since": since, "until": until, "step": step, "labels": rows})

    async def cameras(self, request: web.Request) -> web.Response:
        cameras, labels = await self._ask(lambda h: (h.cameras(), h.label_names()))
        return _json({"cameras": cameras, "labels": labels})

    async def media(self, request: web.Request) -> web.StreamResponse:
        if (history := self.history) is None:
            raise web.HTTPNotFound(text="nothing is recorded\n")
        return await serve(history.root, request.match_info["path"])

    async def thumbnail(self, request: web.Request) -> web.Response:
        """A small JPEG of ``camera`` at ``t``, from the segment that holds it."""
        from live_classify.sinks.web.history.frames import thumbnail  # PyAV, only when asked

        camera, t = request.query.get("camera", ""), params.moment(request.query, "t")
        if not camera or t is None:
            raise params.bad("camera and t are required")
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


def _json(value: object) -> web.Response:
    return web.json_response(value, headers={"Cache-Control": "no-store"})
