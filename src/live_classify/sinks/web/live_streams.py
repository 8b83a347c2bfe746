"""``GET /live.mp4?camera=NAME``: the camera's annotated picture as H.264 in fragmented MP4, to any
number of viewers from one encoder (``live_encoder.py``), over chunked HTTP.

A new viewer gets the init segment and then the fragments from the next keyframe on (the encoder
makes one at once when a viewer joins). Each fragment goes straight to the socket of every viewer
who keeps up; one whose socket is behind has them queued (``live_viewer.py``): one that falls
``BACKLOG`` fragments behind loses them and starts again at the next keyframe (the live edge),
and one that reads nothing is dropped by its place (``clients.py``); nobody else waits for it.
Viewers take ``--serve-clients`` places as the MJPEG streams do. A camera removed by a reload, a
new init (the picture changed size) or an encoder that fails end the streams cleanly. All of it
runs on the server's event loop but ``wanted`` and ``take_key_request``, which the camera's
encoder thread asks, and the calls that hand its bytes over.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from live_classify.sinks.web import roles
from live_classify.sinks.web.clients import Places
from live_classify.sinks.web.live_viewer import Viewer, chunk

BACKLOG = 30  # fragments (frames) a viewer may fall behind before it skips to the next keyframe: ~1 s at 30 fps
SEND_BUFFER = 64 * 1024  # a viewer's kernel send buffer (doubled by the kernel): ~10 Mbit/s at 100 ms, and a
# viewer who stops reading fills it in seconds, not after the megabytes the kernel would let it grow to
LINGER_S = 3.0  # the encoder runs this long after its last viewer left (a page reloaded finds it running)


class LiveChannel:
    """One camera's encoder output as its viewers get it."""

    def __init__(self) -> None:
        self.init: bytes | None = None  # the running encoder's init segment
        self.viewers: set[Viewer] = set()
        self.left_at = 0.0  # monotonic time the last viewer left
        self.key_wanted = False  # a viewer waits for a keyframe: the encoder makes the next frame one
        self.encoding = False
        self.failed: str | None = None  # why its encoder failed: /live.mp4 answers 503 from then on
        self.closed = False

    def wanted(self, now: float) -> bool:
        return not (self.closed or self.failed) and (bool(self.viewers) or now - self.left_at < LINGER_S)

    def new_init(self, init: bytes) -> None:
        """A new encoder (or size): the streams that started on the last one end (the page opens them anew)."""
        self.end_started()
        self.init, self.encoding = init, True

    def fragment(self, data: bytes, key: bool) -> None:
        framed = chunk(data)  # once, the same bytes to every viewer
        for viewer in list(self.viewers):
            if not viewer.started and key and self.init is not None:
                viewer.start(self.init)
            if not viewer.started:
                continue
            if len(viewer.pending) >= BACKLOG and not key:  # behind: wait for the next keyframe
                continue
            if len(viewer.pending) >= BACKLOG:  # behind at a keyframe: what is queued goes, this one starts again
                viewer.skips += 1
                viewer.pending.clear()
            viewer.give(framed)

    def ended(self, why: str | None) -> None:
        """The encoder stopped (no viewer for ``LINGER_S``), or failed (``why``)."""
        self.init, self.encoding, self.failed = None, False, why or self.failed
        self.end_started() if why is None else self.end_all()

    def end_started(self) -> None:
        for viewer in [v for v in self.viewers if v.started]:
            viewer.end()

    def end_all(self) -> None:
        for viewer in self.viewers:
            viewer.end()


class LiveStreams:
    """Every camera's ``/live.mp4``; ``call`` runs a function on the server's loop (from any thread)."""

    def __init__(self, cameras: list[str], places: Places, call: Callable[..., None]) -> None:
        self.channels = {name: LiveChannel() for name in cameras}
        self.served = 0
        self.fragments = 0  # frames encoded, every camera's
        self.skipped = 0  # times a viewer fell behind and started again at a keyframe (every viewer's)
        self._places, self._call = places, call

    # --- from the main thread (a reload) and the encoders' threads ---

    def add(self, name: str) -> None:
        self.channels = {**self.channels, name: LiveChannel()}

    def remove(self, name: str) -> None:
        channel, self.channels = self.channels[name], {n: c for n, c in self.channels.items() if n != name}
        channel.closed = True
        self._call(channel.end_all)

    def wanted(self, camera: str) -> bool:
        """Whether ``camera``'s encoder should run: someone watches, or left a moment ago."""
        return (channel := self.channels.get(camera)) is not None and channel.wanted(time.monotonic())

    def take_key_request(self, camera: str) -> bool:
        if (channel := self.channels.get(camera)) is None or not channel.key_wanted:
            return False
        channel.key_wanted = False
        return True

    def init(self, camera: str, data: bytes) -> None:
        self._on(camera, LiveChannel.new_init, data)

    def fragment(self, camera: str, data: bytes, key: bool) -> None:
        self.fragments += 1
        self._on(camera, LiveChannel.fragment, data, key)

    def ended(self, camera: str, why: str | None) -> None:
        self._on(camera, LiveChannel.ended, why)

    def _on(self, camera: str, method: Callable[..., None], *args: Any) -> None:
        if (channel := self.channels.get(camera)) is not None:  # else removed by a reload a moment ago
            self._call(method, channel, *args)

    def counts(self) -> dict[str, int]:
        """For /api/status: encoders running, viewers watching, frames encoded, times a viewer fell behind."""
        channels = list(self.channels.values())
        skipped = self.skipped + sum(viewer.skips for channel in channels for viewer in channel.viewers)
        return {"encoders": sum(c.encoding for c in channels), "viewers": sum(len(c.viewers) for c in channels),
                "fragments": self.fragments, "skipped": skipped}

    def close(self) -> None:
        """The server stops (on its loop): every stream ends."""
        for channel in self.channels.values():
            channel.closed = True
            channel.end_all()

    # --- the server's loop ---

    async def stream(self, request: web.Request) -> web.StreamResponse:
        name = request.query.get("camera", next(iter(roles.seen(request, self.channels) or self.channels)))
        roles.require_camera(request, name)
        if (channel := self.channels.get(name)) is None:
            return web.json_response({"error": f"no camera named {name!r}"}, status=404)
        if channel.failed:
            return web.Response(status=503, text=f"the live encoder failed: {channel.failed}\n")
        if (client := self._places.admit(request)) is None:
            return self._places.full()
        if (sock := request.transport.get_extra_info("socket") if request.transport else None) is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        response = web.StreamResponse(headers={"Content-Type": "video/mp4", "Cache-Control": "no-store"})
        response.enable_chunked_encoding()
        viewer = Viewer(request.transport)
        channel.viewers.add(viewer)
        channel.key_wanted = True
        self.served += 1
        try:
            await response.prepare(request)
            await viewer.send(client, response)
            await response.write_eof()
        except (ConnectionError, RuntimeError):  # the viewer went away, or read nothing
            pass
        finally:
            channel.viewers.discard(viewer)
            self.skipped += viewer.skips
            channel.left_at = time.monotonic()
            self._places.release(client)
        return response
