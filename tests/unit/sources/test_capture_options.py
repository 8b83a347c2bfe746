"""``--rtsp-transport`` per camera: OpenCV reads FFmpeg's options from one process-wide variable at
open time, so each RTSP open sets its own under a lock, and puts the user's back after."""
from __future__ import annotations

import os
import threading
import time

import pytest

from live_classify.sources.capture import CAPTURE_OPTIONS, capture_options


def test_another_camera_s_open_never_reads_this_one_s_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPTURE_OPTIONS, "stimeout;5000000")
    seen: dict[str, str | None] = {}
    holding, done = threading.Event(), threading.Event()

    def udp_camera() -> None:
        with capture_options("udp"):
            seen["udp"] = os.environ.get(CAPTURE_OPTIONS)
            holding.set()
            done.wait(5)

    def other_camera() -> None:
        holding.wait(5)
        with capture_options(None):  # its reopen, on its own thread, while the first one opens
            seen["other"] = os.environ.get(CAPTURE_OPTIONS)

    threads = [threading.Thread(target=udp_camera), threading.Thread(target=other_camera)]
    for thread in threads:
        thread.start()
    holding.wait(5)
    time.sleep(0.2)  # the other camera's open, under way: it must wait for the first (not a timing assertion)
    done.set()
    for thread in threads:
        thread.join(5)
    assert seen == {"udp": "stimeout;5000000|rtsp_transport;udp", "other": "stimeout;5000000"}
    assert os.environ[CAPTURE_OPTIONS] == "stimeout;5000000", "the user's own options not put back"


def test_no_transport_stays_after_an_open_when_the_user_set_no_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no ``OPENCV_FFMPEG_CAPTURE_OPTIONS`` of the user's, one camera's ``--rtsp-transport udp``
    must not stay in the environment: another camera's reopen (with none) would then force udp too."""
    monkeypatch.delenv(CAPTURE_OPTIONS, raising=False)
    with capture_options("udp"):
        assert os.environ.get(CAPTURE_OPTIONS) == "rtsp_transport;udp"
    with capture_options(None):  # the other camera's reopen
        seen = os.environ.get(CAPTURE_OPTIONS)
    assert seen is None, "another camera's open reads this one's transport"
    assert CAPTURE_OPTIONS not in os.environ
