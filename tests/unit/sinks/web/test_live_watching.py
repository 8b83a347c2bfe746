"""What a viewer of ``/live.mp4`` gets from a real web view in this process: its answer's headers, a
keyframe asked for as he joins, ``/api/status``'s encoders while one lingers; and how soon a real
encoder lets each frame go."""
from __future__ import annotations

import http.client
import socket
import threading

import numpy as np
import pytest
from test_live_unit import TOKEN, door_view, wait_for

from live_classify.sinks.web import live_streams
from live_classify.sinks.web.fmp4 import Fmp4Encoder


def test_a_viewer_who_joins_asks_the_encoder_for_a_keyframe_at_once() -> None:
    """A newcomer starts on the next keyframe: his joining asks for one, so that he waits a frame, not
    up to ``KEYFRAME_S`` for the next periodic one (the encoder takes the request once)."""
    sock, view = door_view()  # its camera sends nothing: no encoder runs to take the request first
    live = view.server.live
    connection = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=20)
    try:
        before = live.take_key_request("door")
        connection.request("GET", "/live.mp4?camera=door", headers={"Authorization": f"Bearer {TOKEN}"})
        wait_for(lambda: live.counts()["viewers"] == 1, "the viewer is in")
        asked = [live.take_key_request("door"), live.take_key_request("door")]
    finally:
        connection.close()
        view.close()
    assert (before, asked) == (False, [True, False])


def test_the_stream_is_not_cached_and_status_counts_an_encoder_lingering_with_no_viewer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``/live.mp4`` is answered ``Cache-Control: no-store`` (a live stream no proxy or browser may keep
    and replay); once its viewer left, the encoder runs on for ``LINGER_S`` and ``/api/status``'s
    ``live.encoders`` says so (1 encoder, 0 viewers), then 0 once it stopped."""
    monkeypatch.setattr(live_streams, "LINGER_S", 600.0)  # lingers for the whole test
    sock, view = door_view()
    live = view.server.live
    stop = threading.Event()

    def main_loop() -> None:  # the run's loop: the camera's last picture redrawn while someone wants it
        while not stop.wait(0.05):
            view.idle(lambda camera: np.full((48, 64, 3), 90, np.uint8))

    threading.Thread(target=main_loop, daemon=True).start()
    viewer = socket.create_connection(sock.getsockname()[:2], timeout=20)
    try:
        viewer.sendall(f"GET /live.mp4?camera=door HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
                       .encode())
        answer = http.client.HTTPResponse(viewer)
        answer.begin()  # the status and headers (they go with the init segment)
        headers = (answer.status, answer.getheader("Content-Type"), answer.getheader("Cache-Control"))
        wait_for(lambda: live.counts()["encoders"] == 1, "the encoder runs")
        viewer.shutdown(socket.SHUT_RDWR)  # he leaves (now: the response's file still holds the socket)
        wait_for(lambda: live.counts()["viewers"] == 0, "the viewer left")
        lingering = live.counts()
        monkeypatch.setattr(live_streams, "LINGER_S", 0.0)
        wait_for(lambda: live.counts()["encoders"] == 0, "the encoder stopped")
    finally:
        stop.set()
        viewer.close()
        view.close()
    assert headers == (200, "video/mp4", "no-store")
    assert (lingering["encoders"], lingering["viewers"]) == (1, 0)


def test_each_frame_leaves_the_encoder_by_the_time_the_next_one_is_written() -> None:
    """No look-ahead (``tune=zerolatency``): a frame's fragment is out once the next frame is written,
    so a viewer sees each frame a frame late, not the look-ahead's dozens of frames (a second) late."""
    out: list[int] = []
    encoder = Fmp4Encoder((64, 48), lambda data: None, lambda data, key: out.append(1))
    fragments_after = []
    for n in range(20):
        encoder.write(np.full((48, 64, 3), (n * 13) % 256, np.uint8), 10.0 + n / 30)
        fragments_after.append(len(out))
    encoder.close()
    assert all(count >= n for n, count in enumerate(fragments_after)), fragments_after

