"""``/history`` in a real browser (Debian's chromium through Playwright), on the real command: a live
camera whose scene alternates (the cat, the espresso...), recorded in segments, espresso watched
as an event, served with a token. The page lists the events; one played from the keyboard shows
the espresso; the export downloads and plays in ffprobe; at phone width nothing scrolls sideways."""
from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE, LiveCli, headless_env
from mjpeg_server import Camera, MjpegServer
from web_client import CHROMIUM, chromium_page, serve, wait_until

import live_classify
from live_classify.engine.classifier import Classifier
from live_classify.sinks.events.index import Index
from live_classify.sinks.events.rules import END, HEALTH, Change, Event
from live_classify.sinks.web.history.params import Span
from live_classify.sinks.web.history.queries import History

TOKEN = "history-browser-token"
SCENE_S = 3.0  # the cat, then the espresso, this long each
MIN_DELTA_E = 20.0  # CIE76: about 2.3 is a difference just seen; 20 is told apart at a glance
# The marks (events) whose box overlaps a label band's box vertically, on every timeline.
MARKS_OVER_BANDS = """() => [...document.querySelectorAll('.timeline')].flatMap(line => {
    const bands = [...line.querySelectorAll('.band')].map(b => b.getBoundingClientRect());
    return [...line.querySelectorAll('.mark')].map(m => m.getBoundingClientRect())
        .filter(m => bands.some(b => m.top < b.bottom && b.top < m.bottom && m.left < b.right && b.left < m.right))
        .map(m => [m.left, m.top]); })"""
# Seconds the <video> has played since: each step of currentTime forward (a recording ends: the next starts at 0).
PLAYED = """() => { const v = document.getElementById('video'); let last = v.currentTime; window.played = 0;
    v.addEventListener('timeupdate', () => { const step = v.currentTime - last; last = v.currentTime;
                                              if (step > 0 && step < 1) window.played += step; }); }"""


class Scenes(Camera):
    """The cat and the espresso in turn, SCENE_S each, from the first frame sent on."""

    def __init__(self) -> None:
        super().__init__(CHELSEA, 320, 240)
        self.photos = [self.base, cv2.resize(cv2.imread(str(COFFEE)), (320, 240), interpolation=cv2.INTER_AREA)]
        self.started = 0.0

    def next_jpeg(self) -> bytes:
        if self.count == 0:  # the first frame sent is the cat's first: the espresso comes SCENE_S later
            self.started = time.monotonic()
        self.base = self.photos[int((time.monotonic() - self.started) / SCENE_S) % 2]
        return super().next_jpeg()


@pytest.fixture
def scenes() -> Iterator[MjpegServer]:
    with MjpegServer(CHELSEA, fps=15, width=320, height=240) as server:
        server.camera = Scenes()
        yield server


def api(port: int, path: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        return json.loads(body)
    finally:
        connection.close()


def ended_and_recorded(port: int) -> list[dict]:
    """The espresso events that have ended and whose every frame is in a closed segment."""
    done = [e for e in api(port, "/api/history/events?label=espresso")["events"] if e["end"]]
    return [e for e in done if api(port, f"/api/history/recordings?camera={e['camera']}&since={e['end'] + 0.5}")
            ["recordings"]]


# The frame the <video> shows, drawn on a canvas at the video's own size (no controls, no letterbox)
# in the same turn of the page's script that finds a frame decoded and paused on it: between two
# recordings (a 2 s segment ends, the next one's src is set) the video has no frame to draw, and a
# canvas drawn then is empty.
FRAME_SHOWN = """() => { const v = document.getElementById('video');
    if (!(window.played > 0.5 && v.readyState >= 2 && v.videoWidth > 0 && !v.seeking)) return false;
    v.pause();
    const c = Object.assign(document.createElement('canvas'), {width: v.videoWidth, height: v.videoHeight});
    c.getContext('2d').drawImage(v, 0, 0); return c.toDataURL('image/png'); }"""


def frame_shown(page) -> np.ndarray:  # noqa: ANN001 - a Playwright page
    """The frame the <video> shows once it has played half a second, the video paused on it."""
    url = page.wait_for_function(FRAME_SHOWN, timeout=30_000).json_value()
    image = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[:2] == (240, 320), url[:80]
    return image


def likeliest(classifier: Classifier, image: np.ndarray, count: int) -> set[str]:
    probabilities = classifier.classify(image).probabilities
    return {str(classifier.labels[i]) for i in np.argsort(probabilities)[-count:]}


def test_history_lists_plays_and_exports_the_events(scenes: MjpegServer, live_cli: type[LiveCli], tmp_path: Path,
                                                    classifier: Classifier) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.skip("needs a browser: apt-get install chromium")
    rec = tmp_path / "rec"
    cli, port = serve(live_cli, scenes, "--record", f"{rec}/", "--segment", "2s", "--event", "espresso",
                      "--event-hold", "1s", "--event-gap", "1s", env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
    wait_until(lambda: ended_and_recorded(port), "an espresso event, ended and in closed segments", timeout=60)
    event = ended_and_recorded(port)[0]
    errors: list[str] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.on("pageerror", lambda error: errors.append(str(error)))
            before = {e["id"] for e in api(port, "/api/history/events")["events"]}
            page.goto(f"http://127.0.0.1:{port}/?token={TOKEN}")
            page.wait_for_selector("#recent li", timeout=30_000)  # the live page lists the recent events
            recent = page.eval_on_selector_all("#recent li", "items => items.map(i => i.textContent)")
            page.click("#history")  # the live page links to the history, the token carried on
            page.wait_for_selector(f'[data-event-id="{event["id"]}"]', timeout=30_000)
            page.wait_for_function(f"document.querySelector('[data-event-id=\"{event['id']}\"] img').naturalWidth > 0",
                                   timeout=30_000)  # its thumbnail, a frame of the recording
            written = page.eval_on_selector_all("#events .what", "items => items.map(i => i.textContent)")
            listed = page.eval_on_selector_all("#events [data-event-id]", "items => items.map(i => i.dataset.eventId)")
            page.fill("#search [name=label]", "tabby")  # a search: no tabby event
            page.click("#search button")
            page.wait_for_function("document.getElementById('found').textContent === 'no event'", timeout=30_000)
            page.fill("#search [name=label]", "espresso")
            page.click("#search button")
            page.wait_for_selector(f'[data-event-id="{event["id"]}"]', timeout=30_000)
            page.focus(f'[data-event-id="{event["id"]}"] button')
            page.keyboard.press("Enter")  # the keyboard alone plays it
            playing = "(v => v.readyState >= 2 && !v.seeking && !v.paused)(document.getElementById('video'))"
            page.wait_for_function(playing, timeout=30_000)  # seeked to the event's start, and playing
            page.evaluate(PLAYED)
            shot = frame_shown(page)  # once currentTime advanced half a second
            with page.expect_download(timeout=60_000) as download:
                page.click("#export button")  # the range the event filled in
            asked = page.evaluate("[seconds($('export').start.value), seconds($('export').end.value)]")
            exported = tmp_path / "export.mp4"
            download.value.save_as(exported)
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.on("pageerror", lambda error: errors.append(str(error)))
            phone.goto(f"http://127.0.0.1:{port}/history?token={TOKEN}")
            phone.wait_for_selector("#events [data-event-id]", timeout=30_000)
            phone.wait_for_selector(".timeline .band", timeout=30_000)
            phone.select_option("#span", "600")  # zoomed to the 10 minutes of now: a band a second
            phone.wait_for_function("document.querySelectorAll('.timeline .band').length >= 3", timeout=30_000)
            phone.wait_for_selector(".timeline .mark", timeout=30_000)
            overlaps = phone.evaluate(MARKS_OVER_BANDS)
            phone.wait_for_function("[...document.querySelectorAll('#events img')].every(i => i.naturalWidth > 0)",
                                    timeout=30_000)  # the thumbnails, before the screenshot
            widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            phone.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        finally:
            browser.close()
    after = {e["id"] for e in api(port, "/api/history/events")["events"]}
    cli.signal(signal.SIGINT)
    done = cli.finish()
    assert done.returncode == 0 and TOKEN not in done.stderr, done.stderr
    assert before <= set(listed) <= after and event["id"] in listed, (before, listed, after)
    assert shot is not None and shot.std() > 20, "the video shows a picture"
    # The overlay covers much of a small frame (it may read as eggnog): the cup's five likeliest classes
    # must outweigh the cat's by far.
    cup, cat = (likeliest(classifier, cv2.imread(str(photo)), 5) for photo in (COFFEE, CHELSEA))
    probabilities = classifier.classify(shot).probabilities
    weight = {name: sum(probabilities[classifier.labels.index(label)] for label in labels)
              for name, labels in (("cup", cup), ("cat", cat))}
    assert weight["cup"] > 0.1 and weight["cup"] > 10 * weight["cat"], f"the frame shown is not the espresso: {weight}"
    duration = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                     str(exported)], capture_output=True, text=True, check=True).stdout)
    # From the keyframe at or before the start (a second at most) to the last frame at or before the end
    # (a live camera's frames come when they come: a frame or two of slack).
    assert asked[1] - asked[0] - 0.2 <= duration <= asked[1] - asked[0] + 1.2, (asked, duration)
    assert widths[0] <= widths[1] == 390, widths
    assert overlaps == [], "event marks cover label bands at the 10 minutes' zoom"
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"  # one way to write a time on both pages, the export's
    assert written and all(re.search(rf"· {stamp} ·", text) for text in written), written
    assert any(re.fullmatch(rf"espresso \d+% on \S+, {stamp}, [\d.]+ s", text) for text in recent), recent
    assert errors == [], errors


@contextlib.contextmanager
def history_functions() -> Iterator[Any]:
    """A blank page with history.js loaded: its setUp finds no page to set up, its functions
    (``colour``, ``paint``, ``marks``) are what a test calls."""
    script = (Path(live_classify.__file__).parent / "sinks" / "web" / "page" / "history.js").read_text()
    with chromium_page() as page:
        page.set_content("<html><body></body></html>")
        page.add_script_tag(content=script)
        yield page


def test_labels_get_clearly_different_colours(tmp_path: Path) -> None:
    """The timeline's colours of ten labels (Egyptian cat and motorbike among them): every two at
    least MIN_DELTA_E apart (CIE76, in Lab), as history.js computes them in the browser."""
    labels = ["Egyptian cat", "motorbike", "tabby", "tiger cat", "espresso", "cup", "eggnog", "coffee mug",
              "missile", "projectile"]
    with history_functions() as page:
        rgb = page.evaluate("""labels => { if (typeof paint === 'function') paint(labels);
                return labels.map(l => { const d = document.createElement('div'); d.style.background = colour(l);
                  document.body.append(d);
                  return getComputedStyle(d).backgroundColor.match(/\\d+/g).map(Number); }); }""", labels)
    lab = cie_lab(rgb)
    distance = {(a, b): float(np.linalg.norm(lab[i] - lab[j])) for i, a in enumerate(labels)
                for j, b in enumerate(labels) if i < j}
    closest = min(distance, key=distance.__getitem__)
    assert distance[("Egyptian cat", "motorbike")] >= MIN_DELTA_E, distance[("Egyptian cat", "motorbike")]
    assert distance[closest] >= MIN_DELTA_E, (closest, distance[closest])


def cie_lab(rgb: list[list[int]]) -> np.ndarray:
    """Colours (r, g, b: 0-255) in CIE Lab (L 0-100), where the distance between two is how
    different they look (CIE76)."""
    lab = cv2.cvtColor(np.array([[c[::-1] for c in rgb]], np.uint8), cv2.COLOR_BGR2LAB)[0].astype(float)
    lab[:, 0] *= 100 / 255
    lab[:, 1:] -= 128
    return lab


def test_no_label_gets_a_colour_near_the_camera_problem_s_red(tmp_path: Path) -> None:
    """A label's event never looks like a camera problem on the timeline: each of a view's first 200
    labels (``dark`` first: it once got rgb(230, 26, 26), next to the problems' rgb(224, 32, 32)) is at
    least MIN_DELTA_E from the problem marks' colour, as history.js draws both in the browser."""
    labels = ["dark", *(f"label {k}" for k in range(1, 200))]
    with history_functions() as page:
        rgb = page.evaluate("""labels => { paint(labels);
                const problem = marks([{ kind: 'health', label: 'dark', start: 0, end: 1 }])[0];
                const swatches = [problem, ...labels.map(l => {
                  const d = document.createElement('div'); d.style.background = colour(l); return d; })];
                return swatches.map(d => { document.body.append(d);
                  return getComputedStyle(d).backgroundColor.match(/\\d+/g).map(Number); }); }""", labels)
    assert rgb[0] == [224, 32, 32], rgb[0]  # the problem's red
    lab = cie_lab(rgb)
    distance = np.linalg.norm(lab[1:] - lab[0], axis=1)
    closest = int(np.argmin(distance))
    assert distance[closest] >= MIN_DELTA_E, (labels[closest], rgb[closest + 1], float(distance[closest]))


def test_a_camera_problem_is_marked_in_red_and_a_label_s_event_in_the_label_s_colour(tmp_path: Path) -> None:
    """Issue 35: on /history's timeline a camera's problem has a mark of its own colour. The events
    as ``/api/history/events`` gives them (written by the run's index, read by its history: they
    carry ``kind``, not the JSON lines' ``problem``), drawn by history.js's ``marks`` in a browser:
    the door's ``dark`` is red and says it is a camera problem, the cat's event is not (mutation round
    issue35-health-5, R10: a health mark told by ``e.problem``, never in red on /history)."""
    index = Index(tmp_path, say=lambda line: None)
    now = time.time()
    index.write_event(Change(END, Event("c1", "door", "cat", now - 60, now - 50, 0.9, now - 55)))
    index.write_event(Change(END, Event("h1", "door", "dark", now - 40, now - 10, 1.0, now - 40, kind=HEALTH)))
    index.close()
    events = [{**e, "mark": None} for e in History(tmp_path).events(Span(None, None, None, None, None))]
    assert sorted(e["kind"] for e in events) == ["class", "health"]
    with history_functions() as page:
        found = page.evaluate("""events => marks(events).map(m => { document.body.append(m);
            return [m.className, m.title, getComputedStyle(m).backgroundColor]; })""", events)
    drawn = dict(zip([e["id"] for e in events], found, strict=True))
    kind, title, background = drawn["h1"]
    assert (kind, background) == ("mark health", "rgb(224, 32, 32)"), drawn
    assert title.startswith("camera problem: dark "), drawn
    kind, title, background = drawn["c1"]
    assert kind == "mark" and title.startswith("cat ") and background != "rgb(224, 32, 32)", drawn
