"""The HTTP side of ``--serve``: aiohttp in a thread and event loop of its own.

Every viewer of ``/stream.mjpg?camera=NAME`` gets that camera's newest JPEG, encoded once for all; a
slow reader waits on its own connection (aiohttp's ``write`` waits while its socket is full), then gets
the newest, never slowing the run or the others; ``/api/events`` likewise; ``/live.mp4`` is H.264
(``live_streams.py``). They share ``--serve-clients`` places (``clients.py``); idle connections close.
"""
from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from live_classify import log
from live_classify.config import WebUser
from live_classify.pipeline.frames import Prediction
from live_classify.sinks.web import roles, safe_changes
from live_classify.sinks.web.auth import TRUSTED, Guard
from live_classify.sinks.web.channel import Channel, queue_newest
from live_classify.sinks.web.clients import Places
from live_classify.sinks.web.history.routes import Routes
from live_classify.sinks.web.hosts import Hosts
from live_classify.sinks.web.listen import serve_places
from live_classify.sinks.web.live_streams import LiveStreams
from live_classify.sinks.web.login import add_login, with_logout
from live_classify.sinks.web.metrics import Metrics
from live_classify.sinks.web.pages import Pages
from live_classify.sinks.web.relearn import add_relearn
from live_classify.sinks.web.requests import RequestLog

if TYPE_CHECKING:
    from live_classify.sinks.web.view import WebView

BOUNDARY = "live-classify-frame"
IDLE_TIMEOUT_S = 10.0  # a connection that sends no request for this long is closed
EVENT_BACKLOG = 100  # lines a slow /api/events reader may fall behind before the oldest are skipped
SNAPSHOT_WAIT_S = 5.0
PAGE = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
        "/style.css": ("style.css", "text/css"), "/live.js": ("live.js", "text/javascript")}


class WebServer:
    """Serves the page, the streams, the status, the events and the metrics of one run."""

    def __init__(self, sock: socket.socket, view: WebView, token: str | None, cameras: list[str]) -> None:
        self.error: str | None = None
        self.viewers_served = self.frames_sent = 0
        self.view = view
        self.metrics = Metrics(view.status, cameras if len(cameras) > 1 else None)
        self._channels = {name: Channel() for name in cameras}  # the first is the one a bare URL means
        self._sock = sock
        self._guard = Guard(token, view.options.password, view.options.users)
        self._hosts = Hosts(sock.getsockname()[:2], self._guard.on, view.options.hosts)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._event_queues: dict[asyncio.Queue, roles.Who] = {}  # each feed's reader, who sees what
        self.places = Places(serve_places(view.options.clients, len(cameras)))  # streams and event feeds
        self.live = LiveStreams(cameras, self.places, self._call)  # /live.mp4: H.264, its viewers
        self._pages = Pages(PAGE)
        self._pages.files["/"] = (with_logout(self._pages.files["/"][0], self._guard), "text/html")

    # --- called from the run's threads ---

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    @property
    def viewers(self) -> int:
        """Streams open now, all cameras'."""
        return sum(channel.viewers for channel in self._channels.values())

    def clients(self) -> dict[str, int]:
        """Streams and event feeds open now (an event queue each), those stalled, and the places."""
        return {"streams": self.viewers, "events": len(self._event_queues), "stalled": self.places.stalled(),
                "limit": self.places.limit}

    def viewers_of(self, camera: str) -> int:
        return channel.viewers if (channel := self._channels.get(camera)) else 0  # a camera just removed: 0

    def encoded_of(self, camera: str) -> int:
        """JPEGs of ``camera`` encoded so far (only while someone watched it)."""
        return channel.seq if (channel := self._channels.get(camera)) else 0

    def wants_frames(self, camera: str) -> bool:
        """Whether anyone would see an encoded frame of ``camera``: no viewer, no encoding."""
        channel = self._channels.get(camera)  # None: removed by a reload a moment ago
        return self.error is None and channel is not None and (channel.viewers > 0 or channel.snapshot_waiters > 0)

    def frame(self, camera: str, jpeg: bytes) -> None:
        """A new JPEG of ``camera`` (from its encoder's thread)."""
        if (channel := self._channels.get(camera)) is not None:  # else removed by a reload while it was encoded
            self._call(channel.publish, jpeg)

    def predictions(self, predictions: list[Prediction]) -> None:
        """New predictions (from the main thread): for the events, the metrics."""
        self._call(self._publish_predictions, list(predictions))

    def event(self, record: dict[str, object]) -> None:
        """An event's start or end (from the main thread): to every event feed, as an SSE message
        named ``event`` (a page's ``onmessage`` sees only the predictions)."""
        self._call(self._publish_event, str(record["camera"]),
                   f"event: event\ndata: {json.dumps(record, ensure_ascii=False)}\n\n")

    def add_channel(self, name: str) -> None:
        """A camera a reload added (from the main thread): a new dict, so the loop's readers never see one change."""
        self._channels = {**self._channels, name: Channel()}
        self.places.limit = serve_places(self.view.options.clients, len(self._channels))

    def set_users(self, users: tuple[WebUser, ...] | None) -> None:  # a reload's, on the loop: the sessions live there
        self._call(self._guard.set_users, users)

    def remove_channel(self, name: str) -> None:
        """A camera a reload removed: gone from the next request on; its open streams end."""
        channel, self._channels = self._channels[name], {n: c for n, c in self._channels.items() if n != name}
        self._call(channel.close)

    def stop(self) -> None:
        """End every stream and event feed, close the socket, end the thread (at most a few seconds)."""
        if self._thread.is_alive() and self._loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
            except Exception as error:  # noqa: BLE001 - closing down: a server that hangs is left to the daemon thread
                log.debug_traceback("web server: stopping failed", error)
            self._call(self._loop.stop)
        self._thread.join(5)
        self._sock.close()

    def _call(self, callback: Callable[..., None], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the server stopped
            pass

    # --- the server's thread ---

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except Exception as error:  # noqa: BLE001 - reported by the sink; the run goes on without the server
            log.debug_traceback("web server: starting failed", error)
            self.error = f"cannot start: {error}"
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        except Exception as error:  # noqa: BLE001 - reported by the sink; the run goes on without the server
            log.debug_traceback("web server failed", error)
            self.error = str(error) or type(error).__name__
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        # Every route, those added later too: the Host first (DNS rebinding), then the token or a session.
        app = web.Application(middlewares=[self._hosts.middleware, self._guard.middleware, safe_changes.middleware,
                                           roles.middleware])  # then who may change what, and do it
        app.on_response_prepare.append(safe_changes.no_referrer_beyond)
        routes = {"/stream.mjpg": self._stream, "/api/status": self._status, "/api/events": self._events,
                  "/healthz": self._health, "/metrics": self._metrics, "/snapshot.jpg": self._snapshot,
                  "/api/session": safe_changes.session, "/live.mp4": self.live.stream}
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        self._pages.add_to(app)
        add_login(app, self._guard)
        add_relearn(app, self.view.relearn)  # POST /api/health/relearn?camera=NAME
        Routes(lambda: self.view.options.recordings, self.view.options.teacher).add_to(app)  # /history, media, classes
        # handler_cancellation: a viewer gone frees its slot at once; keepalive_timeout: idle connections close.
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0,
                                     handler_cancellation=True, keepalive_timeout=IDLE_TIMEOUT_S,
                                     logger=RequestLog(self._guard.token, self._guard.password))
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    async def _shutdown(self) -> None:
        self._closing = True
        for channel in self._channels.values():
            channel.wake()
        self.live.close()
        for queue in self._event_queues:
            queue_newest(queue, None)
        if self._runner is not None:
            await self._runner.cleanup()

    async def _next_frame(self, channel: Channel, after: int) -> tuple[bytes | None, int]:
        """The camera's newest JPEG once it is newer than number ``after`` (None when the server closes)."""
        while channel.seq <= after and not (self._closing or channel.closed):
            await channel.new_frame.wait()
        return (None if self._closing or channel.closed else channel.jpeg), channel.seq

    def _channel(self, request: web.Request) -> Channel | web.Response:
        """The camera ``?camera=NAME`` names (else the first the requester may see); 404 if none, 403 if not theirs."""
        name = request.query.get("camera", next(iter(roles.seen(request, self._channels) or self._channels)))
        roles.require_camera(request, name)
        if (channel := self._channels.get(name)) is None:
            return web.json_response({"error": f"no camera named {name!r}"}, status=404, dumps=roles.one_line)
        return channel

    def _publish_predictions(self, predictions: list[Prediction]) -> None:
        predictions = [p for p in predictions if self.view.serves(p.frame.camera)]  # not a camera just removed
        for prediction in predictions:
            self.metrics.observe(prediction.latency_ms, self.view.feed(prediction.frame.camera).name)
        if self._event_queues:
            messages = [(self.view.feed(p.frame.camera).name,
                         f"data: {json.dumps(self.view.record(p), ensure_ascii=False)}\n\n") for p in predictions]
            for queue, person in self._event_queues.items():
                for camera, message in messages:
                    if roles.sees(person, camera):
                        queue_newest(queue, message)

    def _publish_event(self, camera: str, message: str) -> None:
        for queue, person in self._event_queues.items():
            if roles.sees(person, camera):
                queue_newest(queue, message)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if isinstance(channel := self._channel(request), web.Response):
            return channel
        if (client := self.places.admit(request)) is None:
            return self.places.full()
        response = web.StreamResponse(headers={
            "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}", "Cache-Control": "no-store"})
        channel.viewers += 1
        self.viewers_served += 1
        try:
            await response.prepare(request)
            seq = channel.seq if channel.jpeg is None else channel.seq - 1  # the newest frame at once
            while True:
                jpeg, seq = await self._next_frame(channel, seq)
                if jpeg is None:
                    break
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                await client.send(response, head.encode() + jpeg + b"\r\n")  # waits while its socket is full
                self.frames_sent += 1
        except (ConnectionError, RuntimeError):  # the viewer went away, or read nothing
            pass
        finally:
            channel.viewers -= 1
            self.places.release(client)
        return response

    async def _snapshot(self, request: web.Request) -> web.Response:
        """The camera's newest frame; with no viewer encoding its frames, the next one is encoded for this request."""
        if isinstance(channel := self._channel(request), web.Response):
            return channel
        jpeg = channel.jpeg if channel.viewers else None
        if jpeg is None:
            channel.snapshot_waiters += 1
            try:
                jpeg, _ = await asyncio.wait_for(self._next_frame(channel, channel.seq), SNAPSHOT_WAIT_S)
            except asyncio.TimeoutError:
                jpeg = None
            finally:
                channel.snapshot_waiters -= 1
        if jpeg is None:
            return web.Response(status=503, text="no frame to show\n")
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: one ``data:`` line per classification, the same JSON as a JSON line;
        with ``--event``, each start and end as a message named ``event``."""
        if (client := self.places.admit(request)) is None:
            return self.places.full()
        client.hold_little()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        queue: asyncio.Queue = asyncio.Queue(maxsize=EVENT_BACKLOG)
        self._event_queues[queue] = roles.who(request)
        try:
            await response.prepare(request)
            while (message := await queue.get()) is not None:
                await client.send(response, message.encode())
        except (ConnectionError, RuntimeError):  # the reader went away, or read nothing
            pass
        finally:
            self._event_queues.pop(queue, None)
            self.places.release(client)
        return response

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(roles.status_for(request, self.view.status()), headers={"Cache-Control": "no-store"})

    async def _health(self, request: web.Request) -> web.Response:
        healthy, why = self.view.health(reasons=request.get(TRUSTED, False))
        if isinstance(why, dict):  # several cameras: which are down, and why each
            return web.json_response(why, status=200 if healthy else 503, dumps=roles.one_line)
        return web.Response(status=200 if healthy else 503, text=why + "\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

