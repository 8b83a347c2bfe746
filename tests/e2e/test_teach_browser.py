"""Teaching from /history in a real browser (Debian's chromium through Playwright), on the real
command: a live camera showing the espresso, recorded in segments and served with a token. A
person plays a moment from the timeline, adds five moments of it as it plays, types a label and
sends; the JSON lines turn to it; the class is listed with its frames, and its delete button
turns the lines back to the model's label."""
from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from conftest import COFFEE, LiveCli, headless_env
from mjpeg_server import MjpegServer
from web_client import CHROMIUM, get, serve, wait_until

TOKEN = "teach-browser-token"
LABEL = "our mug"


def last_labels(cli: LiveCli, after: int) -> list[str]:
    return [json.loads(line)["top"][0]["label"] for line in cli.stdout_lines[after:] if line.startswith("{")][-3:]


def segments(port: int) -> list[dict]:
    code, body = get(port, "/api/history/recordings", {"Authorization": f"Bearer {TOKEN}"})
    return json.loads(body)["recordings"] if code == 200 else []


def test_an_admin_teaches_a_class_from_history_and_deletes_it(live_cli: type[LiveCli], tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.skip("needs a browser: apt-get install chromium")
    with MjpegServer(COFFEE, fps=10) as camera:
        cli, port = serve(live_cli, camera, "--record", f"{tmp_path / 'rec'}/", "--segment", "2s",
                          env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
        wait_until(lambda: len(segments(port)) >= 2, "two closed segments", timeout=60)
        first = segments(port)[0]
        errors: list[str] = []
        with playwright.sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1000, "height": 900})
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"http://127.0.0.1:{port}/history?token={TOKEN}")
                page.select_option("#span", "600")  # the last ten minutes
                page.wait_for_selector(".timeline .band", timeout=30_000)
                shown_from = page.evaluate("shown.from")
                box = page.locator(".timeline").first.bounding_box()
                assert box is not None
                x = (first["start"] + 0.2 - shown_from) / 600 * box["width"]
                page.mouse.click(box["x"] + x, box["y"] + box["height"] / 2)  # plays the first segment
                page.wait_for_function("(v => v.readyState >= 2 && !v.paused)(document.getElementById('video'))",
                                       timeout=30_000)
                for count in range(1, 6):  # a moment each tenth of a second of the playing recording
                    page.wait_for_function(f"document.getElementById('video').currentTime > {count * 0.1}",
                                           timeout=30_000)
                    page.click("#pick")
                    page.wait_for_function(f"document.querySelectorAll('#moments li').length === {count}",
                                           timeout=10_000)
                page.fill("#teach [name=label]", LABEL)
                mark = len(cli.stdout_lines)
                page.click("#teach button:not([type])")
                page.wait_for_selector(f'#classes li[data-label="{LABEL}"]', timeout=60_000)
                said = page.text_content("#taught")
                pictures = page.eval_on_selector_all(f'#classes li[data-label="{LABEL}"] img', "i => i.length")
                wait_until(lambda: last_labels(cli, mark) == [LABEL] * 3, "the JSON lines to say the taught label")
                mark = len(cli.stdout_lines)
                page.click(f'#classes li[data-label="{LABEL}"] button')
                page.wait_for_function("document.querySelectorAll('#classes li').length === 0", timeout=30_000)
                wait_until(lambda: last_labels(cli, mark) == ["espresso"] * 3, "the model's label again")
            finally:
                browser.close()
        cli.signal(signal.SIGINT)
        assert cli.finish().returncode == 0
    assert said == f"{LABEL} taught from 5 moment(s), 5 in all", said
    assert pictures == 5
    assert errors == [], errors
