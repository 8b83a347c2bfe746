"""``--serve`` with a login, as a person meets it in a real browser and an attacker with a script:
the form, the page living on the session cookie alone, logging out, the cookie's flags, guessing
slowed to 429, and neither the token, the password nor a session id ever in the output."""
from __future__ import annotations

import html
import http.client
import json
import logging
import re
import signal
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import LiveCli, assert_clean_error, headless_env, run_cli
from mjpeg_server import MjpegServer
from statuses import camera_status
from web_client import CAT_LABELS, CHROMIUM, PICTURE, PICTURE_WIDTH, free_port, serve

from live_classify.pipeline.status import CameraState
from live_classify.sinks.web import view as web
from live_classify.sinks.web.auth import PUBLIC
from live_classify.sinks.web.listen import Address, listen
from live_classify.sinks.web.sessions import ALL_LOCKOUT_S, ALL_TRIES, LOCKOUT_S, TRIES

TOKEN = "s3cret-token-value"
PASSWORD = "correct horse battery staple"
COOKIE = "live_classify_session"


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None,
            form: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """One request, its answer read whole (never a stream: only for pages, forms and the status)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = urllib.parse.urlencode(form) if form is not None else None
    headers = {**(headers or {}), **({"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {})}
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        return answer
    finally:
        connection.close()


def session_of(answer: http.client.HTTPResponse) -> str:
    """The session id a login's answer sets."""
    cookie = answer.headers["Set-Cookie"]
    assert cookie and cookie.startswith(f"{COOKIE}="), cookie
    return cookie.split(";")[0].split("=", 1)[1]


def with_session(session: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={session}"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[web.WebView, int]]:
    """A web view with a token and a password, in this process, and its port."""
    camera = camera_status(state=CameraState.STARTING, last_capture=time.monotonic())
    sock = listen(Address("127.0.0.1", 0), TOKEN)
    view = web.WebView(sock, [web.Feed("door", "door", lambda: camera)],
                       web.Options("CPU", token=TOKEN, fps=None, password=PASSWORD))
    try:
        yield view, sock.getsockname()[1]
    finally:
        view.close()


@pytest.fixture
def door(served: tuple[web.WebView, int]) -> int:
    return served[1]


def test_every_route_works_on_the_session_cookie_alone(served: tuple[web.WebView, int]) -> None:
    """Every GET route the server has (read from its router, so one added later is covered at once)."""
    view, port = served
    runner = view.server._runner
    assert runner is not None
    paths = sorted({route.resource.canonical for route in runner.app.router.routes() if route.method == "GET"})
    assert {"/", "/app.js", "/style.css", "/stream.mjpg", "/api/status", "/api/events", "/metrics"} <= set(paths)
    session = session_of(request(port, "POST", "/login", form={"token": PASSWORD}))
    for path in paths:
        path = path.replace("{", "").replace("}", "")  # a variable part, if a route has one
        assert ask(port, path, with_session(session)) not in (401, 403, 429), f"{path} on the cookie alone"
        if path not in PUBLIC:
            assert ask(port, path, with_session(session[:-2])) == 401, f"{path} with a wrong session"


def ask(port: int, path: str, headers: dict[str, str]) -> int:
    """The status a GET gets (the body is not read: a stream would never end)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_session_cookie_its_flags_its_randomness_and_logout_ending_it(door: int) -> None:
    plain = request(door, "POST", "/login", form={"token": PASSWORD, "next": "/api/status?camera=door"})
    assert plain.status == 303 and plain.headers["Location"] == "/api/status?camera=door"
    flags = [part.strip().lower() for part in plain.headers["Set-Cookie"].split(";")[1:]]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags, flags
    assert "secure" not in flags, "over plain HTTP a Secure cookie would never come back"
    assert any(flag.startswith("max-age=") and int(flag.split("=")[1]) > 0 for flag in flags), flags
    proxied = request(door, "POST", "/login", {"X-Forwarded-Proto": "https"},
                      {"token": TOKEN, "next": "//evil.example"})
    assert proxied.status == 303 and proxied.headers["Location"] == "/", "never on to another site"
    assert "secure" in [part.strip().lower() for part in proxied.headers["Set-Cookie"].split(";")], "HTTPS: Secure"
    ids = [session_of(plain), session_of(proxied)] + [
        session_of(request(door, "POST", "/login", form={"token": PASSWORD})) for _ in range(3)]
    assert len(set(ids)) == len(ids) and all(len(one) >= 43 for one in ids), ids  # 256 random bits each
    for one in ids:
        assert request(door, "GET", "/api/status", with_session(one)).status == 200
    for forged in (ids[0][:-1] + ("A" if ids[0][-1] != "A" else "B"), "1", "x" * 43):
        assert request(door, "GET", "/api/status", with_session(forged)).status == 401, f"{forged} is no session"
    out = request(door, "POST", "/logout", with_session(ids[0]))
    assert out.status == 303 and "max-age=0" in out.headers["Set-Cookie"].lower(), out.headers["Set-Cookie"]
    assert request(door, "GET", "/api/status", with_session(ids[0])).status == 401, "ended on the server"
    assert request(door, "GET", "/api/status", with_session(ids[1])).status == 200, "the others go on"


def test_the_password_is_for_the_form_only_and_wrong_ones_get_the_form_again(door: int) -> None:
    for where in ({"Authorization": f"Bearer {PASSWORD}"}, {}):
        path = "/api/status" if where else f"/api/status?token={urllib.parse.quote(PASSWORD)}"
        assert request(door, "GET", path, where).status == 401, "a machine uses the token"
    wrong = request(door, "POST", "/login", {"Accept": "text/html"}, {"token": "guess", "next": "/"})
    assert wrong.status == 401 and wrong.headers["Cache-Control"] == "no-store"
    assert wrong.headers["X-Frame-Options"] == "DENY", "a form for a secret is never framed by another site"
    empty = request(door, "POST", "/login", form={"token": ""})
    assert empty.status == 401
    browser = request(door, "GET", "/history?camera=door&token=wrong", {"Accept": "text/html,*/*"})
    assert browser.status == 401 and browser.headers["Content-Type"].startswith("text/html")


def form_goes_on_to(port: int, method: str, path: str, form: dict[str, str] | None = None) -> str:
    """The page the login form that answers this request goes on to (its hidden ``next``)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = urllib.parse.urlencode(form) if form is not None else None
    headers = {"Accept": "text/html", **({"Content-Type": "application/x-www-form-urlencoded"} if form else {})}
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        page = answer.read().decode()
    finally:
        connection.close()
    assert answer.status == 401, (answer.status, page)
    found = re.search(r'name="next" value="([^"]*)"', page)
    assert found, page
    return html.unescape(found.group(1))


def test_a_login_goes_on_to_the_page_asked_for_and_a_right_one_forgets_the_wrong_tries(door: int) -> None:
    """A person opens a link to /history, types the password wrong a few times, then right: they land
    on /history; later typos start a fresh count (the right login forgot the earlier ones)."""
    asked = "/history?camera=door"
    assert form_goes_on_to(door, "GET", asked + "&token=old") == asked
    for n in range(TRIES - 1):
        assert form_goes_on_to(door, "POST", "/login", {"token": f"typo-{n}", "next": asked}) == asked
    right = request(door, "POST", "/login", form={"token": PASSWORD, "next": asked})
    assert (right.status, right.headers["Location"]) == (303, asked)
    for n in range(TRIES - 1):
        assert request(door, "POST", "/login", form={"token": f"later-typo-{n}", "next": "/"}).status == 401
    assert request(door, "POST", "/login", form={"token": PASSWORD, "next": "/"}).status == 303, "not locked out"


def test_healthz_tells_a_stranger_only_up_or_down_and_the_cameras_names() -> None:
    """A watchdog needs nothing to ask; why a camera is down (an address, an error) is for those let in."""
    cameras = {"door": camera_status(state=CameraState.STARTING, last_capture=time.monotonic()),
               "yard": camera_status(state=CameraState.STARTING, last_capture=time.monotonic())}
    for names in (["door"], ["door", "yard"]):
        sock = listen(Address("127.0.0.1", 0), TOKEN)
        feeds = [web.Feed(name, name, lambda name=name: cameras[name]) for name in names]
        view = web.WebView(sock, feeds, web.Options("CPU", token=TOKEN, fps=None, password=PASSWORD))
        port = sock.getsockname()[1]
        try:
            stranger, told = (health(port, {}), health(port, {"Authorization": f"Bearer {TOKEN}"}))
        finally:
            view.close()
        if len(names) == 1:
            assert (stranger, told) == ((503, "down\n"), (503, "no frame yet\n"))
        else:
            assert json.loads(stranger[1]) == {"healthy": False, "down": names, "cameras": dict.fromkeys(names, "down")}
            assert json.loads(told[1])["cameras"] == dict.fromkeys(names, "no frame yet")


def health(port: int, headers: dict[str, str]) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/healthz", headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_no_request_is_written_to_a_log_with_its_token(door: int, caplog: pytest.LogCaptureFixture) -> None:
    """aiohttp's access log (every URL, ``?token=`` with it) is off, and so is any other log of a request."""
    caplog.set_level(logging.DEBUG)
    for path in (f"/api/status?token={TOKEN}", f"/?token={TOKEN}", "/api/status?token=wrong-one"):
        request(door, "GET", path)
    request(door, "POST", "/login", form={"token": PASSWORD})
    said = "\n".join(record.getMessage() for record in caplog.records)
    assert TOKEN not in said and PASSWORD not in said and "wrong-one" not in said, said
    assert not [record for record in caplog.records if record.name.startswith("aiohttp.access")]


def test_wrong_logins_from_an_address_are_answered_429_for_a_while(
        tmp_path: Path, camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    (secret := tmp_path / "password").write_text(PASSWORD + "\n")
    cli, port = serve(live_cli, camera, "--serve-password-file", str(secret), "--verbose",
                      env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
    guesses = [f"guess-number-{n}" for n in range(5)]
    assert [request(port, "POST", "/login", form={"token": guess}).status for guess in guesses] == [401] * 5
    locked = request(port, "POST", "/login", form={"token": PASSWORD})
    assert locked.status == 429, "locked out: even the right password waits"
    assert 0 < int(locked.headers["Retry-After"]) <= LOCKOUT_S
    assert request(port, "GET", "/api/status", {"Authorization": f"Bearer {TOKEN}"}).status == 200, "machines go on"
    cli.signal(signal.SIGINT)
    done = cli.finish()
    assert done.returncode == 0, done.stderr
    assert "5 wrong logins from 127.0.0.1" in done.stderr and f"for {LOCKOUT_S:.0f} s" in done.stderr, done.stderr
    for secret_text in (TOKEN, PASSWORD, *guesses):
        assert secret_text not in done.stderr, f"{secret_text!r} written to the output"


def login_from(port: int, address: str, given: str) -> http.client.HTTPResponse:
    """``POST /login`` from ``address`` (any of 127.0.0.0/8 is this machine)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(address, 0))
    try:
        connection.request("POST", "/login", body=urllib.parse.urlencode({"token": given}),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        answer = connection.getresponse()
        answer.read()
        return answer
    finally:
        connection.close()


def test_guesses_from_many_addresses_are_answered_429_for_everyone_for_a_while(
        tmp_path: Path, camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    """400 guesses from 100 addresses, 4 each (one short of an address's lockout): the limit over all
    addresses answers 429 to them, and to an address that never guessed, even with the right password."""
    (secret := tmp_path / "password").write_text(PASSWORD + "\n")
    cli, port = serve(live_cli, camera, "--serve-password-file", str(secret),
                      env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
    answers = [login_from(port, f"127.0.1.{n}", f"guess-{n}-{k}").status for k in range(4) for n in range(1, 101)]
    assert answers[:ALL_TRIES] == [401] * ALL_TRIES and set(answers[ALL_TRIES:]) == {429}, answers
    late = login_from(port, "127.0.2.1", PASSWORD)
    assert late.status == 429 and 0 < int(late.headers["Retry-After"]) <= ALL_LOCKOUT_S
    assert request(port, "GET", "/api/status", {"Authorization": f"Bearer {TOKEN}"}).status == 200, "machines go on"
    cli.signal(signal.SIGINT)
    done = cli.finish()
    assert done.returncode == 0, done.stderr
    assert (f"{ALL_TRIES} wrong logins within 60 s from all addresses: /login refuses everyone for "
            f"{ALL_LOCKOUT_S:.0f} s") in done.stderr, done.stderr


def test_a_page_opened_with_the_token_becomes_a_session_and_loses_the_token_from_its_address(
        camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    """A tab opened on ``/?token=``: a session cookie and a 303 to the address without the token (out of
    the history and the bookmarks); a frame, a picture or a page another site opened keep ``?token=``,
    which they need. Every answer says ``Referrer-Policy: same-origin``: no token goes to another site."""
    cli, port = serve(live_cli, camera, env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
    tab = {"Accept": "text/html", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none"}
    visit = request(port, "GET", f"/?token={TOKEN}", tab)
    assert visit.status == 303 and visit.headers["Location"] == "/", visit.status
    assert request(port, "GET", "/api/status", with_session(session_of(visit))).status == 200
    older = request(port, "GET", f"/history?camera=door&token={TOKEN}&day=2", {"Accept": "text/html"})
    assert older.status == 303 and older.headers["Location"] == "/history?camera=door&day=2", "no Sec-Fetch-*"
    for kept in ({**tab, "Sec-Fetch-Dest": "iframe"}, {**tab, "Sec-Fetch-Site": "cross-site"}, {"Accept": "*/*"}):
        answer = request(port, "GET", f"/?token={TOKEN}", kept)
        assert answer.status == 200 and "Set-Cookie" not in answer.headers, kept
    assert request(port, "GET", "/?token=wrong", tab).status == 401
    answers = [visit, older, request(port, "GET", "/healthz"), request(port, "GET", "/api/status"),
               request(port, "GET", f"/api/status?token={TOKEN}"), request(port, "GET", "/", {"Accept": "text/html"}),
               request(port, "GET", f"/media/x.mp4?token={TOKEN}"),
               request(port, "POST", "/login", form={"token": "x"})]
    assert [a.headers["Referrer-Policy"] for a in answers] == ["same-origin"] * len(answers)
    cli.signal(signal.SIGINT)
    done = cli.finish()
    assert done.returncode == 0 and TOKEN not in done.stderr, done.stderr


def test_a_login_or_logout_form_from_another_site_is_refused(door: int) -> None:
    """``Origin`` names the site whose page sent the form: only this server's own is let through."""
    own = {"Origin": f"http://127.0.0.1:{door}"}
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{door + 1}", f"ftp://127.0.0.1:{door}"):
        refused = request(door, "POST", "/login", {"Origin": origin}, form={"token": PASSWORD})
        assert refused.status == 403 and "Set-Cookie" not in refused.headers, origin
    session = session_of(request(door, "POST", "/login", own, form={"token": PASSWORD}))
    assert request(door, "POST", "/logout", {"Origin": "http://evil.example", **with_session(session)}).status == 403
    assert request(door, "GET", "/api/status", with_session(session)).status == 200, "still logged in"
    assert request(door, "POST", "/logout", {**own, **with_session(session)}).status == 303
    assert request(door, "GET", "/api/status", with_session(session)).status == 401
    behind = {"Origin": "https://cams.example.org", "X-Forwarded-Host": "cams.example.org"}
    assert request(door, "POST", "/login", behind, form={"token": PASSWORD}).status == 303, "behind a proxy"
    assert request(door, "POST", "/login", form={"token": PASSWORD}).status == 303, "no Origin: no browser's page"


def test_a_password_alone_may_serve_beyond_loopback_and_a_missing_one_is_a_usage_error(
        tmp_path: Path, camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    missing = run_cli("--source", camera.url, "--provider", "cpu", "--serve", f"0.0.0.0:{free_port()}",
                      "--serve-password-file", str(tmp_path / "nowhere"), env=headless_env(LIVE_CLASSIFY_TOKEN=""))
    assert_clean_error(missing, f"argument --serve-password-file: cannot read {tmp_path / 'nowhere'}: No such file")
    assert missing.returncode == 2
    (secret := tmp_path / "password").write_text(PASSWORD + "\n")
    cli, port = serve(live_cli, camera, "--serve-password-file", str(secret), host="0.0.0.0",
                      env=headless_env(LIVE_CLASSIFY_TOKEN=""))
    assert request(port, "GET", "/api/status").status == 401
    assert request(port, "GET", "/api/status", {"Authorization": f"Bearer {PASSWORD}"}).status == 401
    session = session_of(request(port, "POST", "/login", form={"token": PASSWORD}))
    assert request(port, "GET", "/api/status", with_session(session)).status == 200
    cli.signal(signal.SIGINT)
    done = cli.finish()
    assert done.returncode == 0 and "(log in with the password)" in done.stderr, done.stderr
    assert PASSWORD not in done.stderr and session not in done.stderr


def test_a_person_logs_in_through_the_form_and_the_page_lives_on_the_cookie_alone(
        tmp_path: Path, camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    """Chromium at a phone's width: the form (styled, typed into with the keyboard), then the live page
    (picture and label) with every request it makes answered on the cookie, then logging out."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.skip("needs a browser: apt-get install chromium")
    (secret := tmp_path / "password").write_text(PASSWORD + "\n")
    cli, port = serve(live_cli, camera, "--serve-password-file", str(secret), "--verbose",
                      env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            seen = logged_in(browser.new_context(viewport={"width": 390, "height": 844}), port)
        finally:
            browser.close()
    assert seen["form"] == {"status": 401, "background": "rgb(17, 17, 17)", "sideways": False, "focused": "token"}
    assert seen["wrong"] == (401, "Wrong password or token.")
    assert seen["label"] in CAT_LABELS
    picture = seen["picture"]
    assert picture is not None and picture.shape[0] > 100 and picture.std() > 20, "the video is a picture, not flat"
    assert seen["refused"] == [] and seen["answered"] >= 4, seen["refused"]  # page, script, style, stream, status...
    assert not any("token=" in url for url in seen["urls"]), "the cookie alone, no token in a URL"
    cookie = seen["cookie"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"], cookie
    assert seen["script_sees"] == "", "HttpOnly: no script reads the session"
    assert seen["replayed"] == (200, 401), "logging out ends the session on the server, not only in the browser"
    assert seen["after"] == (401, False), "after logging out: the form again, no cookie"
    cli.signal(signal.SIGINT)
    done = cli.finish()
    assert done.returncode == 0, done.stderr
    for secret_text in (TOKEN, PASSWORD, cookie["value"]):
        assert secret_text not in done.stderr, "a secret in the output"


def logged_in(context, port: int) -> dict:  # noqa: ANN001 - playwright's BrowserContext
    """What a person sees: the form, a wrong password, the live page, logging out."""
    seen: dict = {"refused": [], "urls": [], "answered": 0}
    page = context.new_page()
    form = page.goto(f"http://127.0.0.1:{port}/")
    seen["form"] = {"status": form.status,
                    "background": page.evaluate("getComputedStyle(document.body).backgroundColor"),
                    "sideways": page.evaluate("document.documentElement.scrollWidth > innerWidth"),
                    "focused": page.evaluate("document.activeElement.id")}
    page.keyboard.type("not the password")
    with page.expect_navigation() as wrong:
        page.keyboard.press("Enter")
    seen["wrong"] = (wrong.value.status, page.locator("#message").text_content())

    def answered(response) -> None:  # noqa: ANN001
        seen["answered"] += 1
        seen["urls"].append(response.url)
        if response.status == 401:
            seen["refused"].append(response.url)

    page.on("response", answered)
    page.keyboard.type(PASSWORD)  # the form again, its field focused again
    with page.expect_navigation():
        page.keyboard.press("Enter")
    labels = sorted(CAT_LABELS)
    page.wait_for_function(f"{labels}.includes(document.getElementById('label').textContent)", timeout=30_000)
    page.wait_for_function(f"{PICTURE_WIDTH} > 0", timeout=30_000)
    page.wait_for_function("document.getElementById('provider').textContent !== '-'", timeout=30_000)
    seen["label"] = page.locator("#label").text_content()
    seen["picture"] = cv2.imdecode(np.frombuffer(page.locator(PICTURE).screenshot(), np.uint8), cv2.IMREAD_COLOR)
    seen["cookie"] = next(c for c in context.cookies() if c["name"] == COOKIE)
    seen["script_sees"] = page.evaluate("document.cookie")
    page.remove_listener("response", answered)
    before = request(port, "GET", "/api/status", with_session(seen["cookie"]["value"])).status
    with page.expect_navigation() as after:
        page.locator("#logout button").click()
    seen["replayed"] = (before, request(port, "GET", "/api/status", with_session(seen["cookie"]["value"])).status)
    seen["after"] = (after.value.status, any(c["name"] == COOKIE for c in context.cookies()))
    return seen
