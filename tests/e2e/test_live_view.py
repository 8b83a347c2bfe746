"""``/live.mp4`` through the real command: the annotated picture as H.264 in fragmented MP4, from one
encoder per camera that runs only while someone watches, to readers that decode it with PyAV, and to
a real browser's ``<video>`` through Media Source Extensions."""
from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import numpy as np
import pytest
from boxes import box
from conftest import COFFEE, LiveCli
from live_reader import LiveReader
from mjpeg_server import MjpegServer
from web_client import CHROMIUM, decode, free_port, mjpeg_parts, open_stream, serve, status, wait_until

PANEL = (slice(10, 60), slice(0, 640))  # the overlay's panel, the label on a shaded band (under the time strip)
MIDDLE = (slice(120, 400), slice(0, 640))  # the camera's picture, under no overlay
NOBODY = {"encoders": 0, "viewers": 0, "skipped": 0}
IDLE_FRAMES = 150  # 5 s of the camera's frames
PLAYING = "document.getElementById('playing').textContent"


def counts(port: int) -> dict:
    """The live view's encoders and viewers now (not the frames it encoded so far)."""
    return {k: v for k, v in status(port)["live"].items() if k != "fragments"}


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def test_two_viewers_share_one_encoder_of_the_annotated_picture_which_stops_after_the_last_leaves(
        camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    cli, port = serve(live_cli, camera)
    wait_until(lambda: status(port)["prediction"], "a first prediction, drawn on the frames")
    idle(port)  # nobody has watched yet
    first, second = LiveReader(port), LiveReader(port)
    try:
        assert first.response.getheader("Content-Type") == "video/mp4"
        frames, others = first.take(10), second.take(10)
        assert len(frames) == len(others) == 10
        for reader in (first, second):
            assert reader.kinds[:4] == [b"ftyp", b"moov", b"moof", b"mdat"], "the init segment, then fragments"
        assert counts(port) == {**NOBODY, "encoders": 1, "viewers": 2}, "one encoder for both viewers"
        mjpeg = decode(next(mjpeg_parts(open_stream(port))))
        raw = camera.camera.base
        for image in (frames[-1], others[-1]):
            assert image.shape == raw.shape
            assert difference(image[MIDDLE], raw[MIDDLE]) < 12, "the camera's picture"
            assert difference(image[PANEL], raw[PANEL]) > 2 * difference(image[PANEL], mjpeg[PANEL]), \
                "the label's panel drawn on it, as the MJPEG stream shows it"
    finally:
        first.close()
        second.close()
    wait_until(lambda: counts(port) == NOBODY, "the encoder to stop a few seconds after the last viewer left")
    idle(port)  # and it stays stopped
    later = LiveReader(port)
    try:
        assert len(later.take(5)) == 5, "a viewer who comes after it stopped starts it again"
    finally:
        later.close()


def idle(port: int) -> None:
    """No viewer: no encoder runs, and none starts while the camera sends ``IDLE_FRAMES`` frames (at 30 fps,
    longer than an encoder lingers after its last viewer left)."""
    before, frames = status(port)["live"]["fragments"], status(port)["cameras"][0]["captured"]
    wait_until(lambda: status(port)["cameras"][0]["captured"] >= frames + IDLE_FRAMES, "frames nobody watches", 60)
    assert status(port)["live"] == {**NOBODY, "fragments": before}, "no viewer, no encoder: nothing encoded"


def test_a_reader_that_reads_nothing_falls_behind_alone_and_is_dropped(camera: MjpegServer,
                                                                       live_cli: type[LiveCli]) -> None:
    """A viewer whose socket takes nothing skips to the next keyframe, then loses its place; the other
    viewer gets every frame encoded meanwhile."""
    cli, port = serve(live_cli, camera)
    stalled = LiveReader(port, rcvbuf=4096)  # reads nothing from here on
    fast = LiveReader(port)
    try:
        fast.take(1)
        before, got = status(port)["live"], 0
        while (now := status(port)["live"])["viewers"] == 2:
            got += len(fast.take(10))
        assert now["skipped"] >= 1, "the stalled viewer fell behind and started again at a keyframe"
        assert got >= 0.9 * (now["fragments"] - before["fragments"]) - 10, "the other got every frame meanwhile"
        assert fast.take(10) and not fast.ended, "and goes on"
    finally:
        stalled.close()
        fast.close()


@pytest.mark.skipif(not CHROMIUM, reason="needs a browser: apt-get install chromium")
def test_the_page_plays_the_h264_stream_in_a_video_element_in_chromium_and_mjpeg_where_mse_is_missing(
        camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    """Debian's chromium can play H.264 through MSE: the page's ``<video>`` plays (its time advances),
    from the live edge of an encoder that ran before it came (its first fragment seconds into the
    stream), and back to the live edge when it falls behind; the MJPEG ``<img>`` is hidden and loads
    nothing; the page says which plays. Without MSE
    the page plays MJPEG and says why."""
    playwright = pytest.importorskip("playwright.sync_api")
    cli, port = serve(live_cli, camera)
    earlier = LiveReader(port)  # the encoder runs for a while before the page opens
    assert len(earlier.take(45)) == 45
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            assert page.evaluate("MediaSource.isTypeSupported('video/mp4; codecs=\"avc1.42E01E\"')")
            page.wait_for_function("document.getElementById('live').currentTime > 0", timeout=30_000)
            start = page.evaluate("document.getElementById('live').currentTime")
            page.wait_for_function(f"document.getElementById('live').currentTime > {start} + 1", timeout=30_000)
            seen = page.evaluate(f"({{playing: {PLAYING}, width: document.getElementById('live').videoWidth, "
                                 "shown: !document.getElementById('live').hidden, "
                                 "img: document.getElementById('video').hidden && "
                                 "!document.getElementById('video').getAttribute('src')})")
            assert status(port)["viewers"] == 0, "no MJPEG stream open beside it"
            # A player slower than the camera (a quarter of its pace) falls behind: the page jumps to the live edge.
            # Each jump goes to the newest frame: how far behind the buffer's end the video is as it seeks.
            page.evaluate("(v => { window.jumps = 0; window.lags = []; "
                          "v.addEventListener('seeked', () => window.jumps++); "
                          "v.addEventListener('seeking', () => window.lags.push(v.buffered.end(v.buffered.length - 1) "
                          "- v.currentTime)); v.playbackRate = 0.25; })(document.getElementById('live'))")
            page.wait_for_function("window.jumps >= 2", timeout=30_000)
            lags = page.evaluate("window.lags")
            without = browser.new_page()
            without.add_init_script("delete window.MediaSource; delete window.ManagedMediaSource;")
            without.goto(f"http://127.0.0.1:{port}/")
            without.wait_for_function("document.getElementById('video').naturalWidth > 0", timeout=30_000)
            fallback = without.evaluate(f"({{playing: {PLAYING}, live: document.getElementById('live').hidden}})")
        finally:
            browser.close()
            earlier.close()
    assert seen == {"playing": "playing H.264 (Media Source Extensions)", "width": 640, "shown": True, "img": True}
    assert lags and max(lags) < 0.5, f"each jump lands at the live edge, not back in the buffer: {lags}"
    assert fallback == {"playing": "playing MJPEG (this browser cannot play H.264 through Media Source Extensions)",
                        "live": True}


@pytest.mark.skipif(not CHROMIUM, reason="needs a browser: apt-get install chromium")
def test_the_page_plays_mjpeg_and_says_why_where_the_codec_is_missing_or_the_h264_stream_is_refused(
        camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    """MSE without H.264 (``isTypeSupported`` says no) plays MJPEG from the start; a ``/live.mp4``
    refused (the one ``--serve-clients`` place taken) ends in MJPEG too, the page saying why, and so does
    one the server ends: its ``<video>`` hidden, the MJPEG ``<img>`` shown in its place."""
    playwright = pytest.importorskip("playwright.sync_api")
    cli, port = serve(live_cli, camera, "--serve-clients", "1")
    holder = LiveReader(port)  # takes the only place, reading all the while (a stalled one would make room)
    threading.Thread(target=drain, args=(holder,), daemon=True).start()
    fallback = f"{PLAYING}.startsWith('playing MJPEG')"
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            no_codec = browser.new_page()
            no_codec.add_init_script("MediaSource.isTypeSupported = () => false;")
            no_codec.goto(f"http://127.0.0.1:{port}/")
            no_codec.wait_for_function(fallback, timeout=30_000)
            without = no_codec.evaluate(PLAYING)
            refused = browser.new_page()
            refused.goto(f"http://127.0.0.1:{port}/")
            refused.wait_for_function(fallback, timeout=30_000)
            ended = refused.evaluate(PLAYING)
            closed = browser.new_page()  # a stream the server ends (its encoder failed, the picture changed size)
            closed.route("**/live.mp4*", lambda route: route.fulfill(status=200, content_type="video/mp4", body=b""))
            closed.goto(f"http://127.0.0.1:{port}/")
            closed.wait_for_function(fallback, timeout=30_000)
            gone = closed.evaluate(PLAYING)
            shown = closed.evaluate("({img: !document.getElementById('video').hidden, "
                                    "video: !document.getElementById('live').hidden})")
        finally:
            browser.close()
            holder.close()
    assert without == "playing MJPEG (this browser cannot play H.264 through Media Source Extensions)"
    assert ended.startswith("playing MJPEG (the H.264 stream ended: ") and "(--serve-clients)" in ended, ended
    assert gone == "playing MJPEG (the H.264 stream ended: the server closed it)"
    assert shown == {"img": True, "video": False}, "the MJPEG <img> shows in the <video>'s place"


def test_a_camera_removed_by_a_reload_ends_its_viewers_stream_and_the_other_cameras_goes_on(
        camera: MjpegServer, live_cli: type[LiveCli], tmp_path: Path) -> None:
    with MjpegServer(COFFEE, fps=15) as yard:
        port, config = free_port(), tmp_path / "box.toml"
        serve = f'serve = "127.0.0.1:{port}"\n'
        config.write_text(box({"door": camera, "yard": yard}, serve))
        cli = live_cli("--config", str(config), cwd=tmp_path)
        wait_until(lambda: _cameras(port) == ["door", "yard"], "both cameras served", timeout=90)
        removed, kept = LiveReader(port, "/live.mp4?camera=yard"), LiveReader(port, "/live.mp4?camera=door")
        try:
            assert removed.take(3) and kept.take(3)
            config.write_text(box({"door": camera}, serve))
            cli.signal(signal.SIGHUP)
            while removed.next_frame() is not None:  # its frames until the stream ends
                pass
            assert removed.ended, "the removed camera's stream ended cleanly (the chunked body's end)"
            assert len(kept.take(10)) == 10 and not kept.ended, "the other camera's stream goes on"
        finally:
            removed.close()
            kept.close()
        assert LiveReader(port, "/live.mp4?camera=yard").response.status == 404


def drain(reader: LiveReader) -> None:
    """Reads ``reader``'s stream until it is closed: a viewer who keeps up."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        for _ in reader.boxes():
            pass


def _cameras(port: int) -> list[str]:
    try:
        return [c["name"] for c in status(port)["cameras"]]
    except OSError:  # not serving yet
        return []


def test_live_viewers_take_serve_clients_places(camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    cli, port = serve(live_cli, camera, "--serve-clients", "1")
    watching = LiveReader(port)
    try:
        assert watching.take(5)
        refused = LiveReader(port)
        assert refused.response.status == 503 and refused.response.getheader("Retry-After") == "5"
        assert b"at most 1 streams and event feeds at once (--serve-clients)" in refused.response.read()
        assert len(watching.take(5)) == 5, "the viewer inside goes on"
    finally:
        watching.close()
    wait_until(lambda: counts(port)["viewers"] == 0, "the viewer's leaving seen by the server")
    assert status(port)["clients"]["stalled"] == 0, "his place is free, not held by a stalled client"
    later = LiveReader(port)  # the one place again
    try:
        assert later.response.status == 200 and len(later.take(5)) == 5, "a viewer who leaves frees his place"
    finally:
        later.close()
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert any(line.endswith("live-classify: H.264 (/live.mp4) to 2 viewers") for line in run.stderr.splitlines()), \
        "the summary counts the viewers served, not the one refused"
