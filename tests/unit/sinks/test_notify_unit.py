"""The systemd notifier's datagrams, message by message, on a fake clock: what READY, WATCHDOG,
STATUS and STOPPING say exactly, the abstract namespace, and a systemd that is busy or gone."""
from __future__ import annotations

import errno
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from statuses import camera_status, run_status
from updates import update

from live_classify.config import NotifyConfig
from live_classify.pipeline.frames import Shown
from live_classify.pipeline.status import RunStatus
from live_classify.sinks.base import Update
from live_classify.sinks.notify import Notifier

STATUS = "STATUS=capture 12.5 fps, inference 7.2 fps, 40 classified, 5 dropped, 2 reconnects"


class Camera:
    """The run as the notifier reads it: a status at each call, from what the test set."""

    def __init__(self) -> None:
        self.now, self.last_capture, self.reconnecting = 0.0, 0.0, False

    def __call__(self) -> RunStatus:
        return run_status(last_capture=self.last_capture, reconnecting=self.reconnecting, capture_fps=12.46,
                          inference_fps=7.24, classified=40, dropped=5, reconnects=2)


def received(listener: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(listener.recv(4096).decode())
        except BlockingIOError:
            return messages


def notifier(address: str, camera: Camera, ping_s: float = 1.0, stall_s: float = 5.0) -> Notifier:
    return Notifier(NotifyConfig(address, ping_s, stall_s), camera, clock=lambda: camera.now)


def unclassified(t: float) -> Update:
    shown = update(0, t).shown
    return Update(Shown(shown.frame, None, [], True), t, lambda: shown.frame.image)


@pytest.mark.parametrize("environ, stall_s, expected", [
    ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "0"}, 5.0, NotifyConfig("/run/n", 1.0, 5.0)),
    ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "1"}, 5.0, NotifyConfig("/run/n", 5e-7, 5.0)),
    ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "-4000000"}, 5.0, NotifyConfig("/run/n", 1.0, 5.0)),
    ({"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "3s"}, 2.5, NotifyConfig("/run/n", 1.0, 2.5)),
    ({"NOTIFY_SOCKET": "", "WATCHDOG_USEC": "3000000"}, 5.0, None),
])
def test_the_config_from_systemds_environment(environ: dict[str, str], stall_s: float,
                                              expected: NotifyConfig | None) -> None:
    assert NotifyConfig.of(environ, stall_s) == expected


def test_the_config_defaults() -> None:
    assert NotifyConfig.of({"NOTIFY_SOCKET": "/run/n"}) == NotifyConfig("/run/n", 1.0, 5.0)
    assert NotifyConfig("/x") == NotifyConfig("/x", 1.0, 5.0)


def test_the_interval_is_early_by_the_main_loops_wait_but_never_under_half(tmp_path: Path) -> None:
    camera = Camera()
    assert notifier(str(tmp_path / "n"), camera, ping_s=1.0).interval_s == pytest.approx(0.9)
    assert notifier(str(tmp_path / "n"), camera, ping_s=0.15).interval_s == pytest.approx(0.075)


def test_ready_watchdog_and_stopping_say_exactly_this(tmp_path: Path, listener: socket.socket) -> None:
    camera = Camera()
    sink = notifier(str(tmp_path / "notify"), camera, ping_s=1.0)
    assert sink.error is None and not sink.ready
    sink.idle(lambda camera: None)
    sink.write(unclassified(0.0))  # no prediction yet: not ready
    assert received(listener) == [] and not sink.ready
    sink.write(update(1, 0.0))
    assert sink.ready and received(listener) == [f"READY=1\n{STATUS}"]
    camera.now = camera.last_capture = 0.89
    sink.write(update(2, 0.89))
    assert received(listener) == []  # due at 0.9
    camera.now = 0.9
    sink.idle(lambda camera: None)
    assert received(listener) == [f"WATCHDOG=1\n{STATUS}"]
    camera.now = 1.79
    sink.idle(lambda camera: None)
    camera.now = 1.8
    sink.write(update(3, 1.8))
    assert received(listener) == [f"WATCHDOG=1\n{STATUS}"]
    assert sink.summary() is None
    sink.close()
    assert received(listener) == ["STOPPING=1"]


def test_silent_exactly_the_read_timeout_still_pings_and_a_moment_more_says_why_once_a_ping_interval(
        tmp_path: Path, listener: socket.socket) -> None:
    camera = Camera()
    sink = notifier(str(tmp_path / "notify"), camera, ping_s=2.0, stall_s=3.0)
    sink.write(update(0, 0.0))
    received(listener)
    camera.now = 3.0  # silent for exactly the read timeout: healthy still
    sink.idle(lambda camera: None)
    assert received(listener) == [f"WATCHDOG=1\n{STATUS}"]
    camera.now = 4.9  # the next ping is due (3.0 + 1.9) and the camera silent for 4.9 s
    sink.idle(lambda camera: None)
    assert received(listener) == ["STATUS=no frame for 5 s"]
    camera.now = 6.89
    sink.idle(lambda camera: None)
    assert received(listener) == []  # a status every ping_s (2 s), not every call
    camera.now = 6.9
    camera.reconnecting = True
    sink.idle(lambda camera: None)
    assert received(listener) == ["STATUS=no frame for 7 s; reconnecting"]
    camera.now = camera.last_capture = 7.0  # a frame, but still reconnecting
    sink.write(update(1, 7.0))
    camera.reconnecting = False
    camera.now = 8.9
    sink.write(update(2, 8.9))
    assert received(listener) == [f"WATCHDOG=1\n{STATUS}"]


def test_an_abstract_socket_address_is_reached(listener: socket.socket) -> None:
    name = f"live-classify-test-{os.getpid()}"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    abstract.bind("\0" + name)
    abstract.setblocking(False)
    try:
        sink = notifier("@" + name, Camera())
        assert sink.error is None
        sink.close()
        assert received(abstract) == ["STOPPING=1"]
    finally:
        abstract.close()


def test_a_socket_nobody_listens_on_is_one_line_and_close_sends_nothing(tmp_path: Path) -> None:
    sink = notifier(str(tmp_path / "nobody"), Camera())
    assert sink.error == f"cannot reach systemd at {tmp_path / 'nobody'}: No such file or directory"
    sink.close()


class FakeSocket:
    def __init__(self, error: OSError) -> None:
        self.error, self.sent = error, 0

    def send(self, data: bytes) -> int:
        self.sent += 1
        raise self.error

    def close(self) -> None:
        pass


def test_a_busy_systemd_is_skipped_and_one_gone_is_said(tmp_path: Path, listener: socket.socket) -> None:
    camera = Camera()
    sink = notifier(str(tmp_path / "notify"), camera)
    sink._socket.close()
    sink._socket = FakeSocket(BlockingIOError(errno.EAGAIN, "busy"))  # type: ignore[assignment]
    sink.write(update(0, 0.0))
    assert sink.error is None and sink.ready
    sink._socket = FakeSocket(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))  # type: ignore[assignment]
    camera.now = 1.0
    sink.idle(lambda camera: None)
    assert sink.error == f"cannot reach systemd at {tmp_path / 'notify'}: Connection refused"
    sink._socket = FakeSocket(OSError("no strerror"))  # type: ignore[assignment]
    camera.now = 2.0
    sink.idle(lambda camera: None)
    assert sink.error == f"cannot reach systemd at {tmp_path / 'notify'}: no strerror"
    sink.close()
    assert sink._socket.sent == 1  # type: ignore[attr-defined]  # after an error, no STOPPING


def test_its_sink_attributes() -> None:
    assert (Notifier.name, Notifier.essential, Notifier.stop_requested) == ("systemd notifications", False, False)


def test_a_systemd_that_reads_nothing_never_holds_up_the_main_loop(tmp_path: Path, listener: socket.socket) -> None:
    """The datagrams pile up unread (the socket's queue holds ~10): each further one is dropped, at once."""
    camera = Camera()
    sink = notifier(str(tmp_path / "notify"), camera, ping_s=0.2)
    sink.write(update(0, 0.0))

    def pings() -> None:
        for k in range(1, 200):
            camera.now = camera.last_capture = k * 0.2
            sink.write(update(k, camera.now))

    loop = threading.Thread(target=pings, daemon=True)
    loop.start()
    loop.join(30)
    assert not loop.is_alive(), "a ping waited for systemd"
    assert sink.error is None and 5 < len(received(listener)) < 199


def test_not_ready_is_false_and_the_first_status_can_come_at_once(tmp_path: Path, listener: socket.socket) -> None:
    camera = Camera()
    sink = notifier(str(tmp_path / "notify"), camera, ping_s=0.3, stall_s=0.1)
    assert sink.ready is False
    sink.write(update(0, 0.0))
    received(listener)
    camera.now = 0.5  # the ping was due at 0.2; silent for 0.5 s > 0.1 s
    sink.idle(lambda camera: None)
    assert received(listener) == ["STATUS=no frame for 0 s"]


def test_with_several_cameras_one_healthy_camera_keeps_the_watchdog_fed(tmp_path: Path,
                                                                        listener: socket.socket) -> None:
    """The run is healthy while some running camera is not reconnecting and a frame of any came
    within the read timeout; every running camera reconnecting stops the pings, an ended one aside.
    The status adds up the cameras' counters."""
    cameras = {"door": dict(last_capture=0.0, capture_fps=10.0, classified=4),
               "yard": dict(last_capture=0.0, capture_fps=2.5, classified=6)}
    clock = [0.0]

    def status() -> RunStatus:
        return RunStatus([camera_status(name=name, **fields) for name, fields in cameras.items()])

    sink = Notifier(NotifyConfig(str(tmp_path / "notify"), 1.0, 5.0), status, clock=lambda: clock[0])
    sink.write(update(0, 0.0))
    assert received(listener) == ["READY=1\nSTATUS=capture 12.5 fps, inference 0.0 fps, 10 classified, "
                                  "0 dropped, 0 reconnects"]
    clock[0] = cameras["yard"]["last_capture"] = 1.0
    cameras["door"]["reconnecting"] = True
    sink.idle(lambda camera: None)
    assert [m.split("\n")[0] for m in received(listener)] == ["WATCHDOG=1"], "yard still delivers"
    clock[0] = 2.0
    cameras["yard"]["reconnecting"] = True
    sink.idle(lambda camera: None)
    assert received(listener) == ["STATUS=no frame for 1 s; reconnecting"]
    clock[0] = 4.0
    cameras["door"] = dict(cameras["door"], ended=True)  # only yard runs, and it reconnects: no ping
    sink.idle(lambda camera: None)
    assert received(listener) == ["STATUS=no frame for 3 s; reconnecting"]
    sink.close()


def test_a_reload_says_reloading_with_the_monotonic_clock_then_ready(tmp_path: Path, listener: socket.socket) -> None:
    """``Type=notify-reload``: RELOADING=1 must come with MONOTONIC_USEC= (sd_notify(3)), READY=1 ends it."""
    camera = Camera()
    sink = notifier(str(tmp_path / "notify"), camera)
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    sink.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    sink.reloaded()
    reloading, ready = received(listener)
    first, second = reloading.split("\n")
    assert first == "RELOADING=1" and second.startswith("MONOTONIC_USEC=")
    assert before <= int(second.removeprefix("MONOTONIC_USEC=")) <= after
    assert ready == f"READY=1\n{STATUS}"
