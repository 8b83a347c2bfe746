"""The page's ``<video>`` on a device whose appends are slow: the H.264 stream's fragments keep coming
(one a frame) while the ``SourceBuffer`` is still busy with the last append, and must wait for it."""
from __future__ import annotations

from conftest import LiveCli
from mjpeg_server import MjpegServer
from web_client import chromium_page, serve

PLAYING = "document.getElementById('playing').textContent"
SLOW_APPENDS = """
    window.appends = 0;
    window.busyAppends = 0;  // appendBuffer called while the buffer still updates (MSE throws there)
    const proto = SourceBuffer.prototype;
    const updating = Object.getOwnPropertyDescriptor(proto, "updating").get;
    const append = proto.appendBuffer;
    proto.appendBuffer = function (data) {  // each append takes 150 ms, as on a slow phone
      window.appends += 1;
      if (this.updating) window.busyAppends += 1;
      this.slow = true;
      setTimeout(() => { this.slow = false; append.call(this, data); }, 150);
    };
    Object.defineProperty(proto, "updating", { get() { return Boolean(this.slow) || updating.call(this); } });
"""


def test_fragments_that_come_while_the_buffer_is_busy_wait_for_its_append_to_end(
        camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    """Appends slower than the camera's frames: the page joins what came meanwhile into the next append,
    never calls ``appendBuffer`` on a busy ``SourceBuffer``, and goes on playing H.264."""
    cli, port = serve(live_cli, camera)
    with chromium_page() as page:
        page.add_init_script(SLOW_APPENDS)
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function("window.appends >= 10", timeout=60_000)
        said, busy = page.evaluate(PLAYING), page.evaluate("window.busyAppends")
    assert (said, busy) == ("playing H.264 (Media Source Extensions)", 0)
