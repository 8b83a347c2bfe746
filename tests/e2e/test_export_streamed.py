"""``/api/clip.mp4`` read slowly, or not at all (issue 33): the export is streamed as it is cut, so a
download that stalls holds no file on the recording's disk (no deleted temporary file kept open,
pushing the recording under its floor), and a client that goes away frees its export's slot."""
from __future__ import annotations

import http.client
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from web_client import history_server

from live_classify.config import EncoderSettings
from live_classify.sinks.events.index import Index
from live_classify.sinks.record.retention import SegmentPlan
from live_classify.sinks.record.segments import SegmentedMp4
from live_classify.sinks.web.history import export

TOKEN = "export-token"


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DIR with 10 s of lossless noise in 2 s segments (~20 MB: more than any socket buffers), indexed."""
    root = tmp_path_factory.mktemp("export")
    index = Index(root)
    writer = SegmentedMp4(root, SegmentPlan(2.0, "big"), EncoderSettings(crf=0, preset="ultrafast"), log_to=index)
    rng = np.random.default_rng(3)
    for i in range(100):
        writer.write(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), i / 10)
    writer.close()
    index.close()
    return root


@pytest.fixture(scope="module")
def port(big: Path) -> Iterator[int]:
    with history_server(big, "big", TOKEN) as port:
        yield port


def export_path(big: Path) -> str:
    with sqlite3.connect(big / "index.db") as db:
        start, end = db.execute('SELECT MIN(start), MAX("end") FROM segments').fetchone()
    return f"/api/clip.mp4?camera=big&start={start}&end={end}"


def stalled_download(port: int, path: str) -> socket.socket:
    """A client that asks for the export, reads its status line, and then nothing."""
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
    assert client.recv(12).startswith(b"HTTP/1.1 200")
    return client


def files_held_under(folder: Path) -> list[str]:
    """What this process (the web view runs in it) holds open under ``folder``, deleted or not."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)) and (".export-" in target or "(deleted)" in target):
            held.append(target)
    return held


def test_stalled_exports_hold_no_file_on_the_disk_and_free_their_slots_when_gone(port: int, big: Path) -> None:
    path = export_path(big)
    stalled = [stalled_download(port, path) for _ in range(2)]
    assert files_held_under(big) == [] and not list(big.glob(".export-*"))
    for client in stalled:
        client.close()
    status, body = download_once_a_slot_is_free(port, path)  # the cuts see their clients gone
    assert status == 200 and len(body) > 10_000_000, (status, body[:200])


def test_downloads_still_connected_but_reading_nothing_give_their_slots_back_after_the_stall(
        port: int, big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients that keep the connection open and read nothing: each cut gives up after its stall
    (``STALL_S``, shortened here), so the export's slots are not held for as long as they stay."""
    monkeypatch.setattr(export, "Stream", partial(export.Stream, stall_s=2.0))
    path = export_path(big)
    stalled = [stalled_download(port, path) for _ in range(2)]
    try:
        status, body = download_once_a_slot_is_free(port, path)
    finally:
        for client in stalled:
            client.close()
    assert status == 200 and len(body) > 10_000_000, (status, body[:200])


def download_once_a_slot_is_free(port: int, path: str) -> tuple[int, bytes]:
    """The export, asked for again while it says 503 (every slot taken), for at most 30 s."""
    deadline = time.monotonic() + 30
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        if response.status != 503 or time.monotonic() > deadline:
            return response.status, body
        time.sleep(0.2)
