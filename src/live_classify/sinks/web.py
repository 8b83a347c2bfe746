"""``--serve``: watch a headless box from a browser — the annotated video, the status, the metrics.

The sink lives on the main thread and only hands things over: the newest canvas to a JPEG encoder
(a :class:`BackgroundWriter` that keeps one frame, at most ``--serve-fps``), the new predictions
to the server's event loop. The HTTP side (``web_server.py``) runs in a thread and event loop of
its own. The listening socket is bound before the camera opens (:func:`listen`), so a port in use
is one line and exit 1 before anything else happens; after that the server is not essential:
when it fails the run goes on without it.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from live_classify import log
from live_classify.config import ServeConfig
from live_classify.errors import LiveClassifyError
from live_classify.pipeline import Pipeline, Prediction
from live_classify.sinks.base import BackgroundWriter, Update
from live_classify.sinks.jsonl import line_record

DEFAULT_ADDRESS = "127.0.0.1:8080"
TOKEN_ENV = "LIVE_CLASSIFY_TOKEN"
HEALTHY_S = 3.0  # /healthz says 503 when no frame came for this long
JPEG_QUALITY = 80
IDLE_FRAME_S = 1.0  # while no frame comes, the last one, annotated anew, this often


@dataclass(frozen=True)
class Address:
    """Where to listen: ``--serve [HOST:]PORT``."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def address(text: str) -> Address:
    """``8080``, ``0.0.0.0:8080``, ``[::1]:8080``, ``localhost:8080`` (argparse type)."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"not [HOST:]PORT with a port from 1 to 65535: {text!r}")
    return Address(host, int(port))


def serve_token(given: str | None) -> str | None:
    """``--serve-token``, else the environment's ``LIVE_CLASSIFY_TOKEN`` (kept out of ``ps``), else None."""
    return given or os.environ.get(TOKEN_ENV) or None


def listen(where: Address, token: str | None) -> socket.socket:
    """The server's socket, bound and listening now, before the camera opens.

    Beyond loopback only with a token: a camera on the network for anyone to watch is a mistake."""
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(where.host, where.port, type=socket.SOCK_STREAM,
                                                              flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise LiveClassifyError(f"--serve {where}: cannot resolve {where.host!r} ({error.strerror})") from None
    if not ipaddress.ip_address(sockaddr[0]).is_loopback and not token:
        raise LiveClassifyError(f"--serve {where} listens beyond this machine: give --serve-token TOKEN "
                                f"(or set {TOKEN_ENV}), which every request must then carry")
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise LiveClassifyError(f"cannot serve on {where}: {error.strerror or error}") from None
    sock.setblocking(False)
    return sock


@dataclass(frozen=True)
class Options:
    """What the server needs besides the pipeline."""

    source_name: str
    provider: str
    token: str | None
    fps: float | None  # --serve-fps: at most this many JPEGs a second (None: every shown frame)
    min_confidence: float | None = None

    @classmethod
    def of(cls, serve: ServeConfig, source_name: str, pipeline: Pipeline, min_confidence: float | None) -> Options:
        return cls(source_name, pipeline.classifier.backend.short_name, serve.token, serve.fps, min_confidence)


class WebView:
    """The sink: frames and predictions to the web server, which serves them to any number of viewers."""

    name = "web server"
    essential = False
    stop_requested = False

    def __init__(self, sock: socket.socket, pipeline: Pipeline, options: Options) -> None:
        from live_classify.sinks.web_server import WebServer  # aiohttp is imported only when serving

        self.pipeline = pipeline
        self.options = options
        self.started = time.monotonic()
        self.newest: Prediction | None = None
        self._next_frame = 0.0
        self._next_idle = 0.0
        self.server = WebServer(sock, self, options.token)
        self._encoder: BackgroundWriter[np.ndarray] = BackgroundWriter("web-jpeg", self._encode, drop=True, backlog=1)
        self.server.start()
        host, port = sock.getsockname()[:2]
        log.info(f"serving http://{Address(host, port)}/" + (" (a token is required)" if options.token else ""))

    @classmethod
    def of(cls, serve: ServeConfig, source_name: str, pipeline: Pipeline, min_confidence: float | None) -> WebView:
        """The sink ``--serve`` asks for, on the socket :func:`bind` opened."""
        return cls(serve.sock, pipeline, Options.of(serve, source_name, pipeline, min_confidence))

    @property
    def error(self) -> str | None:
        return self.server.error or self._encoder.error

    @error.setter
    def error(self, value: str | None) -> None:
        self.server.error = value

    def write(self, update: Update) -> None:
        """Hand over the new predictions, and the canvas when a viewer wants one and one is due."""
        predictions = update.shown.new_predictions
        if predictions:
            self.newest = predictions[-1]
            self.server.predictions(predictions)
        now = time.monotonic()
        if now < self._next_frame or not self.server.wants_frames:
            return
        self._next_frame = now + 1.0 / self.options.fps if self.options.fps else 0.0
        self._encoder.submit(update.canvas)

    def idle(self, redraw: Callable[[], np.ndarray | None]) -> None:
        """No frame is coming (a stall, a reconnect): once a second, viewers get the last one saying why."""
        now = time.monotonic()
        if now >= self._next_idle and self.server.wants_frames:
            self._next_idle = now + IDLE_FRAME_S
            if (image := redraw()) is not None:
                self._encoder.submit(image)

    def close(self) -> None:
        self._encoder.finish(timeout=2.0)
        self.server.stop()

    def summary(self) -> str | None:
        viewers = self.server.viewers_served
        plural = "" if viewers == 1 else "s"
        return f"served {self.server.frames_sent} stream frames to {viewers} viewer{plural}" if viewers else None

    def record(self, prediction: Prediction) -> dict[str, object]:
        """One prediction as a JSON line has it."""
        return line_record(prediction, self.options.source_name, self.options.min_confidence)

    def _encode(self, canvas: np.ndarray) -> None:
        ok, jpeg = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if ok:
            self.server.frame(jpeg.tobytes())

    def health(self) -> tuple[bool, str]:
        """(healthy, why): frames are flowing, or why not."""
        pipeline = self.pipeline
        if pipeline.reconnecting:
            return False, f"source lost ({pipeline.lost_because or 'reconnecting'})"
        if pipeline.stats.captured == 0:
            return False, "no frame yet"
        quiet = time.monotonic() - pipeline.last_capture
        if quiet > HEALTHY_S:
            return False, f"no frame for {quiet:.1f} s"
        return True, "frames flowing"

    def status(self) -> dict[str, object]:
        """The counters, the newest prediction and the state of the source, for /api/status and /metrics."""
        stats, pipeline = self.pipeline.stats, self.pipeline
        with stats.lock:  # the inference thread appends under this lock; the newest 1000 are read from the end
            latencies = stats.latencies_ms
            recent = [latencies[-i] for i in range(1, min(len(latencies), 1000) + 1)]
        healthy, why = self.health()
        newest = self.newest
        now = time.monotonic()
        return {
            "source": self.options.source_name,
            "provider": self.options.provider,
            "uptime_s": round(now - self.started, 3),
            "captured": stats.captured, "classified": stats.classified,
            "dropped": stats.dropped, "reconnects": stats.reconnects,
            "capture_fps": round(stats.capture_rate.rate, 2), "inference_fps": round(stats.inference_rate.rate, 2),
            "latency_ms": {"p50": _percentile(recent, 50), "p95": _percentile(recent, 95)},
            "source_up": healthy, "source_state": why, "reconnecting": pipeline.reconnecting,
            "last_frame_age_s": round(now - pipeline.last_capture, 3) if stats.captured else None,
            "prediction": self.record(newest) if newest else None,
            "prediction_age_s": round(now - newest.t_done, 3) if newest else None,
            "viewers": self.server.viewers,
        }


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None
