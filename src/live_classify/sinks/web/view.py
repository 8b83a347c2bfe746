"""``--serve``: watch a headless box from a browser — the annotated video, the status, the metrics.

The sink lives on the main thread and only hands things over: the newest canvas to a JPEG encoder
(a :class:`BackgroundWriter` that keeps one frame, at most ``--serve-fps``), the new predictions
to the server's event loop. The HTTP side (``server.py``) runs in a thread and event loop of
its own. The listening socket is bound before the camera opens (``listen.py``), so a port in use
is one line and exit 1 before anything else happens; after that the server is not essential:
when it fails the run goes on without it.
"""
from __future__ import annotations

import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from live_classify import log
from live_classify.config import WebUser
from live_classify.pipeline.frames import Prediction
from live_classify.pipeline.status import CameraStatus
from live_classify.sinks import troubles
from live_classify.sinks.base import BackgroundWriter, Redraw, Update
from live_classify.sinks.events.rules import START, Change, record
from live_classify.sinks.jsonl import line_record
from live_classify.sinks.web.listen import Address
from live_classify.sinks.web.live_encoder import LiveEncoder

if TYPE_CHECKING:
    from live_classify.sinks.web.classes import Teaching

JPEG_QUALITY = 80
IDLE_FRAME_S = 1.0  # while no frame comes, the last one, annotated anew, this often
RECENT_EVENTS = 5  # ended events /api/status keeps for the page


@dataclass(frozen=True)
class Options:
    """What the server needs besides the cameras."""

    provider: str
    token: str | None
    fps: float | None  # --serve-fps: at most this many JPEGs a second (None: every shown frame)
    min_confidence: float | None = None
    clients: int | None = None  # --serve-clients: streams and event feeds at once (None: see serve_places)
    password: str | None = None  # --serve-password-file: a person's, for the login form only
    recordings: Path | None = None  # --record DIR/: what /history serves (None: nothing recorded)
    hosts: tuple[str, ...] = ()  # --serve-host: names a loopback server without a login answers too
    users: tuple[WebUser, ...] | None = None  # --serve-users: who logs in, and sees what
    teacher: Callable[[], Teaching | None] | None = None  # the run's taught classes (/api/classes), if recorded


@dataclass(eq=False)
class Feed:
    """One camera as the web view serves it: its status, and what was last sent of it."""

    name: str  # the camera's name: ``?camera=NAME``, the ``camera`` of its frames
    source_name: str  # its source, as JSON lines name it
    status: Callable[[], CameraStatus]  # the camera now
    relearn: Callable[[], bool] = lambda: False  # its health checks' normal learned anew (False: it has none)
    newest: Prediction | None = None
    next_frame: float = 0.0  # --serve-fps: no JPEG before then
    next_idle: float = 0.0
    encoder: BackgroundWriter[np.ndarray] | None = None
    live: LiveEncoder | None = None  # /live.mp4's H.264, running while someone watches


class WebView:
    """The sink: each camera's frames and predictions to the web server, which serves them to any
    number of viewers. A frame is encoded only when someone watches its camera."""

    name = "web server"
    essential = False
    stop_requested = False

    def __init__(self, sock: socket.socket, feeds: list[Feed], options: Options,
                 configuration: Callable[[], dict[str, object]] | None = None) -> None:
        """``configuration``: with ``--config``, what runs (masked), for /api/status."""
        from live_classify.sinks.web.server import WebServer  # aiohttp is imported only when serving

        self.feeds = feeds
        self.options = options
        self.started = time.monotonic()
        self.going_on: dict[str, dict[str, object]] = {}  # event id: its start, while it goes on
        self.recent: deque[dict[str, object]] = deque(maxlen=RECENT_EVENTS)  # the last ended, newest first
        self.configuration = configuration
        self._by_name = {feed.name: feed for feed in feeds}
        self.server = WebServer(sock, self, options.token, [feed.name for feed in feeds])
        for feed in feeds:
            self._encoder(feed)
        self.server.start()
        host, port = sock.getsockname()[:2]
        needs = " or ".join(what for what, given in (("the token", options.token), ("the password", options.password),
                                                     ("a user's name and password", options.users)) if given)
        log.info(f"serving http://{Address(host, port)}/" + (f" (log in with {needs})" if needs else ""))

    @property
    def error(self) -> str | None:
        return self.server.error or next((f.encoder.error for f in self.feeds if f.encoder and f.encoder.error), None)

    @error.setter
    def error(self, value: str | None) -> None:
        self.server.error = value

    def feed(self, camera: str) -> Feed:
        """The feed a frame or prediction of ``camera`` belongs to (with one camera, that one)."""
        return self.feeds[0] if len(self.feeds) == 1 else self._by_name[camera]

    def serves(self, camera: str) -> bool:
        """Whether ``camera``'s frames are this view's (a camera a reload removed: no longer)."""
        return camera in self._by_name or (not camera and len(self.feeds) == 1)

    def _encoder(self, feed: Feed) -> None:
        feed.encoder = BackgroundWriter(f"web-jpeg {feed.name}", partial(self._encode, feed.name), drop=True,
                                        backlog=1)
        feed.live = LiveEncoder(feed.name, self.server.live)

    def add_feed(self, feed: Feed) -> None:
        """A camera a reload added: its stream, its tile on the page, its row in /api/status."""
        self._encoder(feed)
        self.server.add_channel(feed.name)
        self.server.live.add(feed.name)
        self.feeds = [*self.feeds, feed]
        self._by_name[feed.name] = feed

    def remove_feed(self, name: str) -> None:
        """A camera a reload removed: its streams end, its tile and status go."""
        feed = self._by_name.pop(name)
        self.feeds = [f for f in self.feeds if f is not feed]
        if feed.encoder is not None:  # first: a JPEG it is still encoding goes to the channel, which is still there
            feed.encoder.finish(timeout=1.0)
        if feed.live is not None:
            feed.live.finish()
        self.server.remove_channel(name)
        self.server.live.remove(name)

    def reconfigure(self, feeds: list[Feed], min_confidence: float | None, recordings: Path | None,
                    users: tuple[WebUser, ...] | None = None) -> None:
        """A reload on the same socket and settings: the cameras that came and went (a new one's tile
        and stream, a removed one's gone), the threshold, what /history serves, the users."""
        names = {feed.name for feed in feeds}
        for gone in [feed.name for feed in self.feeds if feed.name not in names]:
            self.remove_feed(gone)
        for feed in feeds:
            if feed.name not in self._by_name:
                self.add_feed(feed)
        if users != self.options.users:
            self.server.set_users(users)
        self.options = replace(self.options, min_confidence=min_confidence, recordings=recordings, users=users)

    def write(self, update: Update) -> None:
        """Hand over the new predictions, and the canvas when a viewer of its camera wants one and one is due."""
        camera = update.shown.frame.camera
        if not self.serves(camera):
            return  # a camera a reload removed: its last frames
        feed = self.feed(camera)
        predictions = update.shown.new_predictions
        if predictions:
            feed.newest = predictions[-1]
            self.server.predictions(predictions)
        if feed.live is not None and self.server.live.wanted(feed.name):
            feed.live.offer(update.canvas)
        now = time.monotonic()
        if now < feed.next_frame or not self.server.wants_frames(feed.name):
            return
        feed.next_frame = now + 1.0 / self.options.fps if self.options.fps else 0.0
        assert feed.encoder is not None
        feed.encoder.submit(update.canvas)

    def relearn(self, camera: str) -> bool | None:
        """``POST /api/health/relearn``: camera's health checks learn anew (None: no such camera)."""
        feed = next((f for f in self.feeds if f.name == camera), None)
        return None if feed is None else feed.relearn()

    def write_event(self, change: Change) -> None:
        """An event's start or end, to the event feeds of ``/api/events``, and kept for the page
        that opens later (``/api/status``: the events going on and the recent ones)."""
        told = record(change)
        self.server.event(told)
        if change.kind == START:
            self.going_on[change.event.id] = told
        else:
            self.going_on.pop(change.event.id, None)
            self.recent.appendleft(told)

    def idle(self, redraw: Redraw) -> None:
        """Some camera sends no frame (a stall, a reconnect): once a second, its viewers get the last
        one saying why (``redraw`` draws it)."""
        now = time.monotonic()
        for feed in self.feeds:
            jpeg, live = self.server.wants_frames(feed.name), self.server.live.wanted(feed.name)
            if now >= feed.next_idle and (jpeg or live):
                feed.next_idle = now + IDLE_FRAME_S
                if (image := redraw(feed.name)) is None:
                    continue
                if jpeg and feed.encoder is not None:
                    feed.encoder.submit(image)
                if live and feed.live is not None:
                    feed.live.offer(image)

    def close(self) -> None:
        for feed in self.feeds:
            if feed.encoder is not None:
                feed.encoder.finish(timeout=2.0)
            if feed.live is not None:
                feed.live.finish()
        self.server.stop()

    def summary(self) -> str | None:
        viewers, live = self.server.viewers_served, self.server.live.served
        parts = [f"served {self.server.frames_sent} stream frames to {viewers} viewer{'' if viewers == 1 else 's'}"
                 ] if viewers else []
        parts += [f"H.264 (/live.mp4) to {live} viewer{'' if live == 1 else 's'}"] if live else []
        return "; ".join(parts) or None

    def record(self, prediction: Prediction) -> dict[str, object]:
        """One prediction as a JSON line has it."""
        source = self.feed(prediction.frame.camera).source_name
        return line_record(prediction, source, self.options.min_confidence)

    def _encode(self, camera: str, canvas: np.ndarray) -> None:
        ok, jpeg = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if ok:
            self.server.frame(camera, jpeg.tobytes())

    def health(self, reasons: bool = True) -> tuple[bool, str | dict[str, object]]:
        """(healthy, why): with one camera, whether its frames flow, or why not; with several,
        healthy only while every running camera's frames flow, and why not each (a JSON body).
        Without ``reasons`` (a stranger asks: /healthz is open) only "up" or "down", each camera's too."""
        cameras = {feed.name: feed.status() for feed in self.feeds}
        states = {name: self._with_outputs(name, camera.flowing(time.monotonic())) for name, camera in cameras.items()}
        if not reasons:
            states = {name: (healthy, "up" if healthy else "down") for name, (healthy, _) in states.items()}
        if len(self.feeds) == 1:
            return states[self.feeds[0].name]
        running = [name for name, camera in cameras.items() if not camera.ended]
        down = [name for name in running if not states[name][0]] if running else list(states)
        return not down, {"healthy": not down, "down": down, "cameras": {n: why for n, (_, why) in states.items()}}

    def _problems(self, camera: str) -> list[str]:
        """What its outputs cannot do now (a recording stopped by a full disk): see ``troubles.py``."""
        return troubles.of(camera if len(self.feeds) > 1 else None)

    def _with_outputs(self, camera: str, health: tuple[bool, str]) -> tuple[bool, str]:
        """A camera whose frames flow but whose recording stopped is not healthy either, and says why."""
        problems = self._problems(camera)
        return (False, "; ".join(problems)) if health[0] and problems else health

    def status(self) -> dict[str, object]:
        """The first camera's counters and newest prediction, the run's, and each camera's, for
        /api/status and /metrics."""
        cameras = [self._camera_status(feed) for feed in self.feeds]
        return {**cameras[0], "provider": self.options.provider,
                "uptime_s": round(time.monotonic() - self.started, 3), "viewers": self.server.viewers,
                "clients": self.server.clients(), "live": self.server.live.counts(), "cameras": cameras,
                "events": {"going_on": list(self.going_on.values()), "recent": list(self.recent)},
                **({"configuration": self.configuration()} if self.configuration else {})}

    def _camera_status(self, feed: Feed) -> dict[str, object]:
        """One camera's counters, rates, latency, state and newest prediction."""
        # The camera before the clock: a frame that comes in between is then older than now, never newer.
        newest, camera = feed.newest, feed.status()
        now = time.monotonic()
        healthy, why = camera.flowing(now)
        recent = list(camera.recent_latencies_ms)
        return {
            "name": feed.name, "source": feed.source_name,
            "captured": camera.captured, "classified": camera.classified,
            "dropped": camera.dropped, "reconnects": camera.reconnects, "gated": camera.gated, "still": camera.still,
            "health": camera.health,
            "capture_fps": round(camera.capture_fps, 2), "inference_fps": round(camera.inference_fps, 2),
            "latency_ms": {"p50": _percentile(recent, 50), "p95": _percentile(recent, 95)},
            "source_up": healthy, "source_state": why, "reconnecting": camera.reconnecting,
            "last_frame_age_s": round(now - camera.last_capture, 3) if camera.captured else None,
            "prediction": self.record(newest) if newest else None,
            "prediction_age_s": round(now - newest.t_done, 3) if newest else None,
            "viewers": self.server.viewers_of(feed.name), "encoded": self.server.encoded_of(feed.name),
            "problems": self._problems(feed.name),
        }


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None
