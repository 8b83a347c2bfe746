"""``--serve``'s clients: streams and event feeds share ``--serve-clients`` places that clients
reading nothing cannot keep, idle connections are closed, event queues leave with their readers,
a stalled event reader costs the others nothing, and a snapshot is fresh whoever watches.

Clients that read nothing are raw sockets with a small receive buffer that send a request and
never read: the server feels them stall at once."""
from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import assert_clean_error, run_cli
from mjpeg_server import MjpegServer, read_time
from web_client import decode, get, mjpeg_parts, open_stream, serve, status, wait_until

from live_classify.sinks.web import view as web
from live_classify.sinks.web.clients import DRAIN_TIMEOUT_S, RETRY_AFTER_S
from live_classify.sinks.web.listen import Address, listen, serve_places
from live_classify.sinks.web.server import EVENT_BACKLOG, IDLE_TIMEOUT_S, WebServer


def reads_nothing(port: int, path: str, stack: ExitStack) -> socket.socket:
    """A client that sends its request and never reads a byte of the answer."""
    sock = stack.enter_context(closing(socket.socket()))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


def request(port: int, path: str) -> http.client.HTTPResponse:
    """A GET whose answer's status and headers are read, and its body left."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("GET", path)
    return connection.getresponse()


def events(response: http.client.HTTPResponse) -> Iterator[dict]:
    """The JSON of each ``data:`` line of an event stream."""
    while line := response.fp.readline():
        if line.startswith(b"data: "):
            yield json.loads(line[len(b"data: "):])


def stamped_time(jpeg: bytes) -> float:
    """The camera's send time, stamped in the frame's top strip, read under the overlay's shade
    (which darkens white to a third). The top score's bar hides the strip's first bits: the low
    24 (4.6 hours of milliseconds) are read, the rest are taken from the clock."""
    stamped_ms = round(read_time((decode(jpeg) > 255 // 6).astype(np.uint8) * 255) * 1000)
    mask, now_ms = (1 << 24) - 1, int(time.time() * 1000)
    ms = (now_ms & ~mask) | (stamped_ms & mask)
    return (ms - (mask + 1) if ms > now_ms + mask // 2 else ms) / 1000


def camera_frame(camera: MjpegServer, jpeg: bytes) -> int:
    """The number of the camera's frame a served JPEG shows, found by the time stamped in it
    (the frame numbers of one client's stream follow each other)."""
    offsets = np.abs(np.array(camera.camera.sent_times) - stamped_time(jpeg))
    assert offsets.min() < 0.002, "a time the camera stamped"
    return int(np.argmin(offsets))


def assert_full(response: http.client.HTTPResponse, limit: int) -> None:
    assert response.status == 503, "answered while every place is taken"  # a stream's body would never end
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert f"at most {limit} streams and event feeds" in response.read().decode()


def test_viewers_that_read_nothing_neither_lock_out_a_real_one_nor_stay(camera: MjpegServer, live_cli) -> None:
    """20 clients that never read: 8 take the places, and stall; a real viewer gets in at once,
    and the stalled ones are dropped after DRAIN_TIMEOUT_S while the real one goes on."""
    cli, port = serve(live_cli, camera)
    wait_until(lambda: status(port)["classified"] > 0, "frames flowing")
    with ExitStack() as stack:
        for _ in range(20):
            reads_nothing(port, "/stream.mjpg", stack)
        wait_until(lambda: status(port)["clients"]["streams"] == 8, "eight streams taken")
        wait_until(lambda: status(port)["clients"]["stalled"] > 0, "one stalled long enough to make room")
        response = request(port, "/stream.mjpg")
        assert response.status == 200, "the newest real viewer takes the place of a stalled one"
        viewer = mjpeg_parts(response)
        parts = [next(viewer) for _ in range(30)]
        assert len(set(parts)) == 30 and all(decode(part).shape == (480, 640, 3) for part in parts)
        dropped_by = time.monotonic() + DRAIN_TIMEOUT_S + 20  # their buffers fill, then DRAIN_TIMEOUT_S
        while status(port)["clients"]["streams"] > 1:
            next(viewer)  # the real viewer reads on meanwhile
            assert time.monotonic() < dropped_by, f"stalled viewers still served: {status(port)['clients']}"
        assert status(port)["clients"] == {"streams": 1, "events": 0, "stalled": 0, "limit": 8}
        assert len({next(viewer) for _ in range(30)}) == 30, "the real viewer still gets new frames"
    assert "Traceback" not in cli.stderr and "Exception" not in cli.stderr, cli.stderr


def test_event_feeds_that_read_nothing_neither_lock_out_a_viewer_nor_stay(camera: MjpegServer, live_cli) -> None:
    """Eight event feeds that never read take every place: their small lines fill their sockets in
    seconds, as a stream's frames do, so a real viewer gets in, and they are dropped after DRAIN_TIMEOUT_S
    (issue 33: they held every place for 150 s and more, and every viewer got 503)."""
    cli, port = serve(live_cli, camera)
    wait_until(lambda: status(port)["classified"] > 0, "frames flowing")
    with ExitStack() as stack:
        for _ in range(8):
            reads_nothing(port, "/api/events", stack)
        wait_until(lambda: status(port)["clients"]["events"] == 8, "eight event feeds taken")
        wait_until(lambda: status(port)["clients"]["stalled"] > 0, "one stalled long enough to make room")
        response = request(port, "/stream.mjpg")
        assert response.status == 200, "a real viewer takes the place of a feed that reads nothing"
        viewer = mjpeg_parts(response)
        dropped_by = time.monotonic() + DRAIN_TIMEOUT_S + 30
        while status(port)["clients"]["events"] > 0:
            next(viewer)
            assert time.monotonic() < dropped_by, f"stalled feeds still served: {status(port)['clients']}"
        assert status(port)["clients"] == {"streams": 1, "events": 0, "stalled": 0, "limit": 8}
        assert len({next(viewer) for _ in range(10)}) == 10, "the viewer still gets new frames"
    assert "Traceback" not in cli.stderr and "Exception" not in cli.stderr, cli.stderr


def test_event_feeds_and_streams_share_the_places_and_a_full_house_says_when_to_retry(
        camera: MjpegServer, live_cli) -> None:
    cli, port = serve(live_cli, camera, "--serve-clients", "2")
    first, second = open_stream(port, "/api/events"), open_stream(port, "/api/events")
    assert status(port)["clients"] == {"streams": 0, "events": 2, "stalled": 0, "limit": 2}
    assert_full(request(port, "/stream.mjpg"), 2)
    assert_full(request(port, "/api/events"), 2)
    first.close()
    wait_until(lambda: status(port)["clients"]["events"] == 1, "the first feed gone")
    viewer = mjpeg_parts(open_stream(port))
    next(viewer)
    assert_full(request(port, "/api/events"), 2)
    assert_full(request(port, "/stream.mjpg"), 2)
    assert next(events(second))["frame"] >= 0, "the feed that stayed still gets events"
    next(viewer)


@pytest.mark.parametrize("value", ["0", "1001", "eight", "-3"])
def test_a_bad_serve_clients_is_one_line(value: str, camera: MjpegServer) -> None:
    run = run_cli("--source", camera.url, "--provider", "cpu", "--serve", "--serve-clients", value)
    shown = value if value.lstrip("-").isdigit() else f'"{value}"'  # a number as typed, a word in quotes
    assert_clean_error(run, "--serve-clients must be a whole number from 1 to 1000, not " + shown)
    assert run.returncode == 2 and "opened" not in run.stderr


def test_help_names_serve_clients_and_its_default() -> None:
    text = " ".join(run_cli("--help").stdout.split())
    assert "--serve-clients N at most N streams and event feeds at once" in text
    assert "(default: 8, or what one page of the cameras takes if more)" in text


def test_a_connection_without_a_request_is_closed_in_time(camera: MjpegServer, live_cli) -> None:
    """A connection that sends nothing, one that sends half a request, one that stays after its answer."""
    cli, port = serve(live_cli, camera)
    with ExitStack() as stack:
        silent, half, after = (stack.enter_context(socket.create_connection(("127.0.0.1", port))) for _ in range(3))
        half.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        after.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        opened = time.monotonic()
        for sock in (silent, half, after):
            sock.settimeout(IDLE_TIMEOUT_S + 15)
            while sock.recv(65536):  # the answer to a whole request, then the end
                pass
        assert time.monotonic() - opened < IDLE_TIMEOUT_S + 5, "each closed within the idle timeout"
    assert get(port, "/healthz")[0] in (200, 503), "the server goes on"


def test_event_readers_that_come_and_go_leave_no_queue(camera: MjpegServer, live_cli) -> None:
    cli, port = serve(live_cli, camera)
    for _ in range(50):
        response = open_stream(port, "/api/events")
        assert next(events(response))["frame"] >= 0
        assert status(port)["clients"]["events"] == 1
        response.close()
        wait_until(lambda: status(port)["clients"]["events"] == 0, "the reader's queue removed")
    staying = open_stream(port, "/api/events")
    assert status(port)["clients"] == {"streams": 0, "events": 1, "stalled": 0, "limit": 8}
    staying.close()


def test_the_snapshot_is_fresh_after_the_last_viewer_left(camera: MjpegServer, live_cli) -> None:
    """The snapshot is a frame the run captured after the last viewer left, not the last one it saw."""
    cli, port = serve(live_cli, camera)
    response = open_stream(port)
    viewer = mjpeg_parts(response)
    seen = max(camera_frame(camera, next(viewer)) for _ in range(10))
    response.close()
    wait_until(lambda: status(port)["viewers"] == 0, "the viewer gone")
    captured = status(port)["captured"]
    wait_until(lambda: status(port)["captured"] >= captured + 45, "45 more frames captured")
    code, jpeg = get(port, "/snapshot.jpg")
    assert code == 200
    # The camera's frames are read one after another: 45 later, less those still being classified.
    assert camera_frame(camera, jpeg) >= seen + 30, f"the snapshot is frame {camera_frame(camera, jpeg)}; seen {seen}"


def test_a_stalled_event_reader_costs_a_live_one_no_event_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """The server object on a real socket: one event reader never reads, and its queue overflows;
    the other gets every event in order, and nothing is logged."""
    sock = listen(Address("127.0.0.1", 0), None)
    view = SimpleNamespace(options=web.Options("CPU", None, None), status=lambda: {},
                           feed=lambda camera: SimpleNamespace(name="test"),
                           record=lambda p: {"frame": p.frame.index, "padding": "x" * 1000}, serves=lambda camera: True,
                           relearn=lambda camera: None)
    server = WebServer(sock, view, None, ["test"])  # type: ignore[arg-type]
    server.start()
    port, sent, received = sock.getsockname()[1], 0, []
    caplog.set_level(logging.WARNING)
    try:
        with ExitStack() as stack:
            reads_nothing(port, "/api/events", stack)
            live = open_stream(port, "/api/events")
            live.fp.raw._sock.settimeout(5)  # type: ignore[attr-defined]
            feed = events(live)
            wait_until(lambda: server.clients()["events"] == 2, "both readers")
            stalled_at = None
            while stalled_at is None or sent < stalled_at + 3 * EVENT_BACKLOG:
                batch = [SimpleNamespace(latency_ms=1.0, frame=SimpleNamespace(camera="", index=sent + i))
                         for i in range(20)]
                server.predictions(batch)  # type: ignore[arg-type]
                sent += len(batch)
                while not received or received[-1] < sent - 1:
                    received.append(next(feed)["frame"])
                if stalled_at is None and server.clients()["stalled"]:
                    stalled_at = sent
                assert sent < 100_000, "the reader that reads nothing never stalled"
    finally:
        server.stop()
    assert received == list(range(sent)), "every event, in order, none lost"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


@pytest.mark.parametrize("given, cameras, places, warned", [(None, 1, 8, False), (None, 2, 8, False),
                                                           (None, 9, 10, False), (3, 1, 3, False),
                                                           (3, 4, 3, True), (20, 9, 20, False)])
def test_the_places_are_enough_for_the_page_of_every_camera(given: int | None, cameras: int, places: int,
                                                            warned: bool, caplog: pytest.LogCaptureFixture) -> None:
    assert serve_places(given, cameras) == places
    warning = ("--serve-clients 3 is fewer than the page takes (5: a stream per camera and the events): "
               "it will miss some")
    assert [r.getMessage() for r in caplog.records] == ([warning] if warned else [])
