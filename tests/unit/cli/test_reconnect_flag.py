"""Issue 35's flags as a camera gets them: ``--reconnect`` not given retries a lost live camera for as
long as the run lasts (``reconnect`` None, which the camera takes as no limit), ``--reconnect N`` limits it."""
from __future__ import annotations

from live_classify.cli.flags import build_parser
from live_classify.cli.run_config import source_config
from live_classify.sources.capture import parse_video_source

URL = "http://127.0.0.1:8080/video.mjpg"


def reconnect(*flags: str) -> int | None:
    args = build_parser().parse_args(["--source", URL, *flags])
    return source_config(args, parse_video_source(URL), "door").reconnect


def test_a_live_camera_is_retried_for_the_run_unless_reconnect_limits_it() -> None:
    assert reconnect() is None, "no --reconnect: retried for as long as the run lasts"
    assert reconnect("--reconnect", "3") == 3
    assert reconnect("--reconnect", "0") == 0
