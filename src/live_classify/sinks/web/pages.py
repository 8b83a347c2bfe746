"""The pages' files (HTML, script, style) as the package ships them: read once when a server is
made, served from memory. The live page, the login form and /history all come from ``page/``."""
from __future__ import annotations

from collections.abc import Mapping
from importlib import resources

from aiohttp import web

FOLDER = resources.files("live_classify.sinks.web") / "page"


class Pages:
    """Files of ``page/`` at their paths: ``{"/": ("index.html", "text/html"), ...}``."""

    def __init__(self, pages: Mapping[str, tuple[str, str]]) -> None:
        self.files = {path: ((FOLDER / name).read_bytes(), kind) for path, (name, kind) in pages.items()}

    def add_to(self, app: web.Application) -> None:
        for path in self.files:
            app.router.add_get(path, self.serve)

    async def serve(self, request: web.Request) -> web.Response:
        body, kind = self.files[request.path]
        return web.Response(body=body, content_type=kind, charset="utf-8")
