"""``--event-max`` on /history, in a real browser (Debian's chromium through Playwright): an event cut
into three clips plays as one, each clip once and in order, the next when the one before ends.

The page is the product's own (its HTML and scripts, served as files), the clips real H.264 files;
only the history API's answers are given (one event and its three clips), so the test is about
what the page does with them, not about how a run came to cut the event. The event's list item
shows its own thumbnail (the clip's best frame), not a frame of the recordings."""
from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_files import served_page
from web_client import CHROMIUM

CLIP = "door/events/2026-12-08/10-00-00-espresso.mp4"
CLIPS = [CLIP, CLIP.replace(".mp4", ".2.mp4"), CLIP.replace(".mp4", ".3.mp4")]
THUMBNAIL = CLIP.replace(".mp4", ".jpg")
THUMBNAIL_SIZE = (96, 72)  # width, height: unlike any frame the recordings' API could give
# Each <video> load's file, in order (loadstart does not bubble: heard on the way down).
SOURCES = """window.sources = [];
document.addEventListener('loadstart',
    (e) => window.sources.push(new URL(e.target.currentSrc).pathname.slice(1)), true);"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """The page's files and three half-second clips (red, green, blue), over HTTP."""
    root = tmp_path / "site"
    with served_page(root) as url:
        for clip, colour in zip(CLIPS, ("red", "green", "blue"), strict=True):
            (root / clip).parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"color=c={colour}:s=160x120:r=10:d=0.5",
                            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(root / clip)],
                           check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                        "color=c=red:s={}x{}:d=0.1".format(*THUMBNAIL_SIZE), "-frames:v", "1", str(root / THUMBNAIL)],
                       check=True)
        yield url


def answers(route) -> None:  # noqa: ANN001 - a Playwright route (one argument: Playwright counts them)
    """The history API of a run with one event, cut into three clips by --event-max."""
    answer(route, None)


def answer(route, thumbnail: str | None) -> None:  # noqa: ANN001 - a Playwright route
    """The same run, its event's thumbnail given (None: none)."""
    path = route.request.url.split("?", 1)[0].rsplit("/api/", 1)[1]
    now = time.time()
    event = {"id": "e1", "camera": "door", "label": "espresso", "start": now - 60, "end": now - 30, "score": 0.9,
             "clip": CLIP, "clips": CLIPS, "thumbnail": thumbnail, "kind": "class", "mark": None}
    body = {"session": {"role": "viewer", "csrf": None},
            "history/cameras": {"cameras": ["door"], "labels": ["espresso"]}, "history/labels": {"labels": []},
            "history/events": {"events": [event]}, "history/marks": {"marks": []},
            "classes": {"classes": []}}.get(path, {})
    route.fulfill(status=200, content_type="application/json", body=json.dumps(body))


def test_an_event_cut_into_clips_plays_each_clip_once_in_order(site: str) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.skip("needs a browser: apt-get install chromium")
    errors: list[str] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM,
                                         args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.route("**/api/**", answers)
            page.add_init_script(SOURCES)
            page.goto(f"{site}/history.html")
            page.click('[data-event-id="e1"] button')
            # Until the page stops on a clip that ended: the last one, or (wrong) any it plays again.
            ended = "(v => window.sources.length >= 3 && v.ended)(document.getElementById('video'))"
            page.wait_for_function(ended, timeout=30_000)
            played = page.evaluate("window.sources")
        finally:
            browser.close()
    assert played == CLIPS, "each of the event's clips once, in order"
    assert errors == [], errors


def test_an_event_s_list_item_shows_its_own_thumbnail(site: str) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.skip("needs a browser: apt-get install chromium")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/api/**", lambda route: answer(route, THUMBNAIL))
            page.goto(f"{site}/history.html")
            page.wait_for_selector('[data-event-id="e1"] button')
            # Until its picture has loaded, or (wrong) given way to the swatch a picture that fails leaves.
            settled = """() => { const b = document.querySelector('[data-event-id="e1"] button');
                const img = b.querySelector('img'); return !img || (img.complete && img.naturalWidth > 0); }"""
            page.wait_for_function(settled, timeout=30_000)
            shown = page.evaluate("""() => { const img = document.querySelector('[data-event-id="e1"] img');
                return img && [new URL(img.currentSrc).pathname.slice(1), img.naturalWidth, img.naturalHeight]; }""")
        finally:
            browser.close()
    assert shown == [THUMBNAIL, *THUMBNAIL_SIZE], "the event's own thumbnail, not a frame the recordings' API gives"
