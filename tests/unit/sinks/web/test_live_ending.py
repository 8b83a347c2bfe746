"""How ``/live.mp4`` streams end with the run: a viewer still waiting for his first keyframe gets the end of
his body when the server stops, and the run's last lines count the H.264 viewers."""
from __future__ import annotations

import http.client

from test_live_unit import TOKEN, door_view, wait_for


def test_the_server_stopping_ends_a_stream_still_waiting_for_its_first_keyframe() -> None:
    """The camera sent nothing, so the viewer has had no init and no keyframe; the run ending must still
    end his stream (an empty body, its last chunk), not leave his player waiting on an open socket."""
    sock, view = door_view()
    connection = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=20)
    try:
        connection.request("GET", "/live.mp4?camera=door", headers={"Authorization": f"Bearer {TOKEN}"})
        wait_for(lambda: view.server.live.counts()["viewers"] == 1, "the viewer is in")
        view.close()
        answer = connection.getresponse()  # a socket timeout here: the stream was never ended
        got = (answer.status, answer.read())
    finally:
        connection.close()
    assert got == (200, b"")


def test_the_runs_last_lines_count_the_h264_viewers() -> None:
    """Two viewers watch: the summary says ``H.264 (/live.mp4) to 2 viewers``."""
    sock, view = door_view()
    connections = [http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=20) for _ in range(2)]
    try:
        for connection in connections:
            connection.request("GET", "/live.mp4?camera=door", headers={"Authorization": f"Bearer {TOKEN}"})
        wait_for(lambda: view.server.live.counts()["viewers"] == 2, "both viewers are in")
        summary = view.summary()
    finally:
        for connection in connections:
            connection.close()
        view.close()
    assert summary == "H.264 (/live.mp4) to 2 viewers"
