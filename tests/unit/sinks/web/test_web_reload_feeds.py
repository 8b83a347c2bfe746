"""A camera that a reload adds to the running web view has what a camera of the start has: its
``/live.mp4`` stream too, not only its tile and its MJPEG stream."""
from __future__ import annotations

import http.client
import time

from statuses import camera_status
from updates import update

from live_classify.pipeline.status import CameraState
from live_classify.sinks.web import view as web
from live_classify.sinks.web.listen import Address, listen


def feed(name: str) -> web.Feed:
    status = camera_status(state=CameraState.STARTING, last_capture=time.monotonic())
    return web.Feed(name, name, lambda: status)


def live_answer(view: web.WebView, camera: str) -> int:
    """The HTTP status of ``/live.mp4?camera=...`` (its headers only: the stream is not read)."""
    connection = http.client.HTTPConnection("127.0.0.1", view.server._sock.getsockname()[1], timeout=10)
    try:
        connection.request("GET", f"/live.mp4?camera={camera}")
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_camera_a_reload_adds_has_its_live_stream_and_one_it_removes_has_none() -> None:
    view = web.WebView(listen(Address("127.0.0.1", 0), None), [feed("door"), feed("hall")],
                       web.Options("CPU", None, None))
    try:
        assert live_answer(view, "yard") == 404, "no yard before the reload"
        view.reconfigure([feed("door"), feed("yard")], None, None)  # hall removed, yard added
        assert {name: live_answer(view, name) for name in ("door", "yard", "hall")} == \
            {"door": 200, "yard": 200, "hall": 404}
    finally:
        view.close()


def door_prediction():  # noqa: ANN201
    base = update(0, 0.0).shown.new_predictions[0]
    frame = type(base.frame)(base.frame.index, base.frame.t_capture, base.frame.wall_time, base.frame.image, "door")
    return type(base)(frame, base.result, base.t_done)


def test_a_reload_s_threshold_marks_the_web_view_s_next_predictions() -> None:
    """Its predictions (``/api/events``, ``/api/status``) say ``unknown`` by the threshold a reload set:
    none at the start, then one above every score, then none again."""
    view = web.WebView(listen(Address("127.0.0.1", 0), None), [feed("door")], web.Options("CPU", None, None))
    try:
        said = [view.record(door_prediction()).get("unknown")]
        view.reconfigure([feed("door")], 1.0, None)
        said.append(view.record(door_prediction()).get("unknown"))
        view.reconfigure([feed("door")], None, None)
        said.append(view.record(door_prediction()).get("unknown"))
        assert said == [None, True, None]
    finally:
        view.close()
