"""The page's ``<video>`` keeps a small buffer: what it has played is let go (``live.js``'s
``KEEP_S``), so a page watched for hours does not hold hours of video."""
from __future__ import annotations

from conftest import LiveCli
from mjpeg_server import MjpegServer
from web_client import chromium_page, serve

KEEP = "const KEEP_S = 10;"
SHORT_KEEP_S = 0.5  # the page's own code with a short keep, so that the test need not watch for 20 s


def test_the_page_lets_go_of_the_video_it_played(camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    """Once the video played more than twice ``KEEP_S``, what is older than ``KEEP_S`` leaves the
    buffer: its start moves on with the video, instead of staying at the stream's first frame."""
    cli, port = serve(live_cli, camera)
    replaced: list[bool] = []

    def short_keep(route: object) -> None:
        script = route.fetch().text()  # type: ignore[attr-defined]
        replaced.append(KEEP in script)
        route.fulfill(body=script.replace(KEEP, f"const KEEP_S = {SHORT_KEEP_S};"),  # type: ignore[attr-defined]
                      content_type="text/javascript")

    with chromium_page() as page:
        page.route("**/live.js", short_keep)
        page.goto(f"http://127.0.0.1:{port}/")
        # Read while something is buffered: between a trim and the next append the buffer may be empty.
        kept = page.wait_for_function(
            "(v => v.currentTime > 4 && v.buffered.length > 0 && {start: v.buffered.start(0), now: v.currentTime})"
            "(document.getElementById('live'))", timeout=60_000).json_value()
    assert replaced == [True]
    assert kept["start"] > 0 and kept["now"] - kept["start"] < 4 * SHORT_KEEP_S + 1, kept
