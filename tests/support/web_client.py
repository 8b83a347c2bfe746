"""A client of --serve: the run with the web view, plain HTTP requests, the MJPEG stream, a real browser."""
from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import LiveCli
from mjpeg_server import MjpegServer

CAT_LABELS = {"tiger cat", "tabby", "Egyptian cat"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(live_cli: type[LiveCli], camera: MjpegServer, *extra: str, host: str = "127.0.0.1",
          env: dict[str, str] | None = None) -> tuple[LiveCli, int]:
    """The command on the camera, serving on a free port; returns once it says it serves."""
    port = free_port()
    cli = live_cli("--source", camera.url, "--provider", "cpu", "--jsonl", "-", "--serve", f"{host}:{port}",
                   *extra, env=env)
    cli.wait_for_stderr("serving http://", timeout=90)  # a loaded machine loads the model slowly
    return cli, port


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def status(port: int) -> dict:
    code, body = get(port, "/api/status")
    assert code == 200, body
    return json.loads(body)


def wait_until(condition, what: str, timeout: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def open_stream(port: int, path: str = "/stream.mjpg", rcvbuf: int | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    if rcvbuf:  # a small window: the server feels a stalled reader at once
        connection.connect()
        connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200
    return response


def mjpeg_parts(response: http.client.HTTPResponse) -> Iterator[bytes]:
    """The JPEGs of a multipart/x-mixed-replace stream, parsed by its boundary and Content-Length."""
    boundary = response.headers.get_content_type() and response.headers.get_param("boundary")
    assert response.headers.get_content_type() == "multipart/x-mixed-replace" and boundary
    while True:
        line = response.fp.readline()
        if not line:
            return
        if line.strip() != f"--{boundary}".encode():
            continue
        headers = {}
        while (line := response.fp.readline().strip()):
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        yield response.fp.read(int(headers["content-length"]))


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return image


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The live page's picture: H.264 in the <video>, or MJPEG in the <img> where MSE cannot play H.264.
PICTURE = "#one > :is(#live, #video):visible"
PICTURE_WIDTH = "(document.getElementById('live').videoWidth || document.getElementById('video').naturalWidth)"


def read_page(port: int, profile: Path, expression: str, ready: Callable[[dict], object]) -> dict:
    """Headless Chromium on the served page: ``expression`` (a JSON string) evaluated in it until
    ``ready`` says yes (30 s at most), read over the DevTools protocol."""
    devtools = free_port()
    browser = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                                f"--remote-debugging-port={devtools}", f"http://127.0.0.1:{port}/"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return asyncio.run(_read_page(devtools, expression, ready))
    finally:
        browser.kill()
        browser.wait(10)


async def _read_page(devtools: int, expression: str, ready: Callable[[dict], object]) -> dict:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + 30
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{devtools}/json/list") as reply:
                    targets = [t for t in await reply.json() if t["type"] == "page"]
                if targets:
                    break
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, "the browser did not start"
            await asyncio.sleep(0.2)
        async with session.ws_connect(targets[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            for attempt in range(300):
                await ws.send_json({"id": attempt, "method": "Runtime.evaluate",
                                    "params": {"expression": expression, "returnByValue": True}})
                while (message := await ws.receive_json()).get("id") != attempt:
                    pass
                page = json.loads(message["result"]["result"].get("value") or "{}")
                if ready(page):
                    return page
                await asyncio.sleep(0.1)
    return page


@contextlib.contextmanager
def chromium_page() -> Iterator[Any]:
    """A new page of Debian's chromium, headless, driven by Playwright; the test is skipped where either
    is missing (outside CI)."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.skip("needs a browser: apt-get install chromium")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page()
        finally:
            browser.close()


@contextlib.contextmanager
def history_server(recordings: Path, camera: str, token: str | None) -> Iterator[int]:
    """The web view alone, in this process, serving ``recordings`` (/history, its APIs, /media) for
    one camera that is live; yields its port."""
    from statuses import camera_status

    from live_classify.sinks.web import view as web
    from live_classify.sinks.web.listen import Address, listen

    status = camera_status(last_capture=time.monotonic())
    sock = listen(Address("127.0.0.1", 0), token)
    served = web.WebView(sock, [web.Feed(camera, camera, lambda: status)],
                         web.Options("CPU", token=token, fps=None, recordings=recordings))
    try:
        yield sock.getsockname()[1]
    finally:
        served.close()
