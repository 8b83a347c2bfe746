"""Files of the recording directory over HTTP, with Range (206) so a ``<video>`` can seek: only
files under DIR, only media. The path a request names is checked as a whole after every symlink
is followed (and only then), so ``..``, its percent-encoded forms (aiohttp decodes them before they reach us),
absolute paths and links that point out of DIR all end in the same refusal."""
from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

MEDIA = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


class Refused(Exception):
    """The path is not a media file under DIR (the message says which way)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def locate(root: Path, requested: str) -> Path:
    """The file under ``root`` that ``requested`` (relative, ``/``-separated) names, symlinks followed;
    Refused (403) for anything that is or leads outside ``root`` or is not media, (404) if missing."""
    base = root.resolve()
    try:
        path = (base / requested).resolve() if requested and "\x00" not in requested else base
        if path == base or not path.is_relative_to(base):  # an absolute path replaces base: it is outside too
            raise Refused(403, "only files under the recording directory are served")
        if path.suffix.lower() not in MEDIA:
            raise Refused(403, "only video and pictures are served")
        if not path.is_file():
            raise Refused(404, "no such file in the recordings")
    except OSError:  # a name longer than the file system allows (255 bytes), a loop of links: no such file either
        raise Refused(404, "no such file in the recordings") from None
    return path


async def serve(root: Path, requested: str) -> web.StreamResponse:
    """The file, whole or the byte range asked (aiohttp's FileResponse answers Range with 206)."""
    try:
        path = await asyncio.get_running_loop().run_in_executor(None, locate, root, requested)
    except Refused as refused:
        return web.Response(status=refused.status, text=f"{refused}\n")
    return web.FileResponse(path, headers={"Content-Type": MEDIA[path.suffix.lower()], "Cache-Control": "no-cache"})
