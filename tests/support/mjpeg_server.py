"""A fake live camera: an MJPEG-over-HTTP stream on 127.0.0.1, paced in real time.

OpenCV (through FFmpeg) reads it as a network camera, like an IP camera or ``mjpg-streamer``
in front of a USB camera. Each frame shows a photo and the frame number, and carries its send
time in a strip of black/white bits along the top edge, so a consumer can measure the real
source-to-result latency (including whatever piles up inside OpenCV/FFmpeg).

    python tests/support/mjpeg_server.py --fps 30 --port 8765     # then: --source http://127.0.0.1:8765/
"""
from __future__ import annotations

import argparse
import http.server
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np

BOUNDARY = "frame"
TIME_BITS = 48  # milliseconds since the epoch fit in 48 bits until the year 10889
BIT_WIDTH = 8  # pixels per bit: JPEG keeps 8x8 blocks of flat black or white intact
STRIP_HEIGHT = 8


def stamp_time(image: np.ndarray, t: float) -> None:
    """Write ``t`` (seconds, wall clock) as 48 bits of milliseconds into the top strip."""
    ms = int(t * 1000)
    for bit in range(TIME_BITS):
        value = 255 if (ms >> (TIME_BITS - 1 - bit)) & 1 else 0
        image[:STRIP_HEIGHT, bit * BIT_WIDTH : (bit + 1) * BIT_WIDTH] = value


def read_time(image: np.ndarray) -> float:
    """The send time stamped by :func:`stamp_time`, read back after JPEG and decoding."""
    strip = image[2 : STRIP_HEIGHT - 2, : TIME_BITS * BIT_WIDTH].mean(axis=(0, 2))
    ms = 0
    for bit in range(TIME_BITS):
        ms = (ms << 1) | int(strip[bit * BIT_WIDTH + 2 : (bit + 1) * BIT_WIDTH - 2].mean() > 127)
    return ms / 1000


class Camera:
    """Makes numbered frames from a photo at a fixed size.

    ``sent_times[n]`` is the time stamped into frame ``n``: with one client, whose frame ``n`` is
    the ``n``-th it reads, a consumer that only reports frame numbers (the real command's JSON
    lines) still gives the latency from the send time.
    """

    def __init__(self, photo: Path | np.ndarray, width: int = 640, height: int = 480) -> None:
        picture = photo if isinstance(photo, np.ndarray) else cv2.imread(str(photo))
        self.base = cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)
        self.count = 0
        self.sent_times: list[float] = []

    def next_jpeg(self) -> bytes:
        image = self.base.copy()
        cv2.putText(image, f"#{self.count}", (10, image.shape[0] - 20), cv2.FONT_HERSHEY_SIMPLEX, 1.2,
                    (255, 255, 255), 2, cv2.LINE_AA)
        self.count += 1
        self.sent_times.append(time.time())
        stamp_time(image, self.sent_times[-1])
        return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


class MjpegServer:
    """Serves ``multipart/x-mixed-replace`` JPEG frames at ``fps`` to every client, on 127.0.0.1 only.

    ``stall()`` keeps connections open but stops sending (``resume()`` sends again); ``stop()``
    closes everything; a new server on the same port brings the "camera" back.
    """

    def __init__(self, photo: Path | np.ndarray, fps: float = 30.0, port: int = 0, width: int = 640, height: int = 480,
                 corrupt_every: int = 0, garbage: bool = False) -> None:
        self.fps = fps
        self.corrupt_every = corrupt_every  # every Nth part is a damaged JPEG (alternately cut short / garbage)
        self.garbage = garbage  # every part random bytes: a camera that answers and never sends a picture
        self.camera = Camera(photo, width, height)
        self.sent = 0
        self._lock = threading.Lock()
        self._stalled = threading.Event()
        self._stopping = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                server._stream(self.wfile)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> MjpegServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stall(self) -> None:
        self._stalled.set()

    def resume(self) -> None:
        self._stalled.clear()

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _stream(self, out) -> None:  # noqa: ANN001 - a socket file
        period = 1.0 / self.fps
        next_send = time.monotonic()
        try:
            while not self._stopping.is_set():
                if self._stalled.is_set():
                    time.sleep(0.05)
                    continue
                with self._lock:
                    jpeg = self.camera.next_jpeg()
                    n = self.camera.count
                if self.garbage:
                    jpeg = os.urandom(len(jpeg))
                elif self.corrupt_every and n % self.corrupt_every == 0:
                    jpeg = jpeg[: len(jpeg) // 3] if n // self.corrupt_every % 2 else bytes(reversed(jpeg))
                out.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode())
                out.write(jpeg + b"\r\n")
                out.flush()
                self.sent += 1
                next_send += period
                time.sleep(max(0.0, next_send - time.monotonic()))
        except (BrokenPipeError, ConnectionResetError):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=Path(__file__).parents[1] / "data" / "chelsea.png")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--size", default="640x480", help="WxH")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with MjpegServer(args.photo, args.fps, args.port, width, height) as server:
        print(f"serving {server.url} at {args.fps} fps (Ctrl+C to stop)", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
