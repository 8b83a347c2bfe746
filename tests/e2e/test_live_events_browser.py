"""The live page's events going on and recent ones, in a real browser (Debian's chromium through
Playwright), when the page misses an event's end on its stream (it was away, the stream dropped):
the status it polls every second is then what it shows, so an event that ended there is no longer
"going on". The page is the product's own (its HTML and scripts, served as files); only the API's
answers are given: an event going on, then ended, and a stream that says nothing."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_files import served_page
from web_client import CHROMIUM


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """The page's files over HTTP."""
    with served_page(tmp_path / "site") as url:
        yield url


class Run:
    """The API of a one-camera run whose espresso event goes on until ``ended`` is set."""

    def __init__(self) -> None:
        self.ended = threading.Event()
        start = time.time() - 20
        self.event = {"id": "e1", "camera": "door", "label": "espresso", "start": start, "end": None, "score": 0.9,
                      "kind": "class", "clip": None, "thumbnail": None}

    def status(self) -> dict:
        done = {**self.event, "event": "end", "end": self.event["start"] + 12}
        events = {"going_on": [], "recent": [done]} if self.ended.is_set() else {
            "going_on": [{**self.event, "event": "start"}], "recent": []}
        return {"provider": "CPUExecutionProvider", "uptime_s": 30.0, "cameras": [{"name": "door"}],
                "source_state": "live", "source_up": True, "health": None, "still": False, "capture_fps": 10.0,
                "inference_fps": 5.0, "latency_ms": {"p50": 20.0, "p95": 40.0}, "prediction_age_s": 0.1,
                "captured": 300, "classified": 150, "gated": 0, "dropped": 0, "reconnects": 0, "events": events}

    def answer(self, route) -> None:  # noqa: ANN001 - a Playwright route
        path = route.request.url.split("?", 1)[0].rsplit("/api/", 1)[1]
        if path == "events":  # the stream: nothing (the end is missed), then closed
            route.fulfill(status=200, content_type="text/event-stream", body=": nothing\n\n")
        elif path == "status":
            route.fulfill(status=200, content_type="application/json", body=json.dumps(self.status()))
        else:
            route.fulfill(status=404, body="")


def test_an_event_whose_end_the_stream_missed_leaves_going_on_for_recent(site: str) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.skip("needs a browser: apt-get install chromium")
    run = Run()
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/api/**", run.answer)
            page.goto(f"{site}/index.html")
            page.wait_for_function("document.querySelectorAll('#going-on li').length === 1", timeout=30_000)
            before = page.inner_text("#going-on")
            run.ended.set()
            page.wait_for_function("document.querySelectorAll('#recent li').length === 1", timeout=30_000)
            going_on = page.eval_on_selector_all("#going-on li", "items => items.map(i => i.textContent)")
            recent = page.inner_text("#recent")
        finally:
            browser.close()
    assert before.startswith("espresso 90% on door, since ")
    assert going_on == [], "an event that ended is no longer going on"
    assert recent.startswith("espresso 90% on door, ") and recent.endswith(", 12.0 s")
