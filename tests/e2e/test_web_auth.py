"""``--serve`` with a token, as a browser, a careless user and an attacker meet it: the page works
with ``?token=``, every route with data refuses a request without the token, bad requests are a 4xx
and one line at most, never the token, and a server beyond loopback without a token is refused."""
from __future__ import annotations

import http.client
import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import LiveCli, assert_clean_error, headless_env, run_cli
from mjpeg_server import MjpegServer
from statuses import camera_status
from web_client import CAT_LABELS, CHROMIUM, PICTURE, PICTURE_WIDTH, free_port, get, serve, status, wait_until

from live_classify.pipeline.status import CameraState
from live_classify.sinks.web import view as web
from live_classify.sinks.web.listen import Address, listen

TOKEN = "s3cret-token-value"
# Open without the token, on purpose: a watchdog's check, and the page's script and style (no data).
PUBLIC = {"/healthz", "/app.js", "/live.js", "/style.css", "/history.js", "/history.css", "/session.js", "/marks.js",
          "/teach.js"}


@pytest.fixture
def guarded() -> Iterator[tuple[web.WebView, int]]:
    """A web view with a token, in this process, on a camera that has sent nothing yet."""
    camera = camera_status(state=CameraState.STARTING, last_capture=time.monotonic())
    sock = listen(Address("127.0.0.1", 0), TOKEN)
    view = web.WebView(sock, [web.Feed("door", "door", lambda: camera)],
                       web.Options("CPU", token=TOKEN, fps=None))
    try:
        yield view, sock.getsockname()[1]
    finally:
        view.close()


def ask(port: int, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    """The status a request gets (the body is not read: a stream would never end)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        return connection.getresponse().status
    finally:
        connection.close()


def test_every_route_but_the_public_ones_needs_the_token(guarded: tuple[web.WebView, int]) -> None:
    """Every route the server has (read from its router, so a new one is covered at once)."""
    view, port = guarded
    runner = view.server._runner
    assert runner is not None
    routes = sorted({(route.method, route.resource.canonical) for route in runner.app.router.routes()})
    paths = {path for _, path in routes}
    assert {"/", "/stream.mjpg", "/api/status", "/api/events", "/metrics", "/snapshot.jpg"} <= paths, paths
    assert PUBLIC <= paths
    for method, path in routes:
        path = path.replace("{", "").replace("}", "")  # a variable part, if a route has one
        if path in PUBLIC:
            assert ask(port, method, path) != 401, f"{method} {path} is public"
            continue
        for refused in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            assert ask(port, method, path, refused) == 401, f"{method} {path} with {refused} is not refused"
        assert ask(port, method, f"{path}?token=wrong") == 401, f"{method} {path}?token=wrong is not refused"
    assert ask(port, "GET", "/no-such-page") == 401, "without the token, not even which paths exist"
    assert {("POST", "/login"), ("POST", "/logout")} <= set(routes), "a login, refused above without its form"
    code, form = get(port, "/", {"Accept": "text/html"})
    assert code == 401 and b'type="password"' in form and b"live-classify" in form, "a browser gets the login form"
    assert ask(port, "GET", "/api/status", {"Authorization": f"bearer {TOKEN}"}) == 200, "the scheme in any case"
    assert ask(port, "GET", "/api/status", {"Authorization": f"Bearer  {TOKEN} "}) == 200, "spaces around the token"
    assert ask(port, "GET", f"/api/status?token={TOKEN}") == 200


def raw(port: int, request: bytes) -> int:
    """Send ``request`` as it is on a socket of its own; the status of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            connection.sendall(request)
        except (BrokenPipeError, ConnectionResetError):  # answered and closed before it all went: still readable
            pass
        answer = b""
        while b"\r\n" not in answer and (chunk := connection.recv(65536)):
            answer += chunk
    return int(answer.split(b" ")[1])


def test_bad_requests_are_a_4xx_and_one_line_at_most_never_the_token(camera: MjpegServer, live_cli) -> None:
    cli, port = serve(live_cli, camera, "--verbose", env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
    head = b"GET /api/status HTTP/1.1\r\nHost: box\r\n"
    malformed = {
        "a 100 KB header": head + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n",
        "a 20 KB URL with the token": f"GET /api/status?token={TOKEN}&x={'a' * 20_000} HTTP/1.1\r\n".encode()
                                      + b"Host: box\r\n\r\n",
        "Content-Length with Transfer-Encoding": b"POST /api/status HTTP/1.1\r\nHost: box\r\nContent-Length: 5\r\n"
                                                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "a header with a NUL": head + b"X-A: a\x00b\r\n\r\n",
    }
    for what, request in malformed.items():
        assert 400 <= raw(port, request) < 500, what
    assert raw(port, head + b"Authorization: Bearer \xff\xfe" + TOKEN.encode() + b"\r\n\r\n") == 401, "not UTF-8"
    assert raw(port, b"GET /api/status?token=%ed%a0%80 HTTP/1.1\r\nHost: box\r\n\r\n") == 401, "a lone surrogate"
    assert raw(port, head + f"Authorization: bearer {TOKEN}\r\n\r\n".encode()) == 200
    # The server still serves, and frames go on: the first may come after these requests on a loaded box.
    wait_until(lambda: status_with_token(port)["captured"] > 0, "a captured frame after the bad requests")
    cli.signal(signal.SIGINT)
    done = cli.finish()
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert TOKEN not in done.stderr
    bad = [line for line in done.stderr.splitlines() if "web server:" in line]
    assert len(bad) == len(malformed), done.stderr  # one line each, with --verbose
    assert all("answered 400 to a malformed request" in line for line in bad), bad
    assert "Error handling request" not in done.stderr


def status_with_token(port: int) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def test_beyond_loopback_without_a_token_is_a_refused_command_line(camera: MjpegServer) -> None:
    refused = run_cli("--source", camera.url, "--provider", "cpu", "--serve", f"0.0.0.0:{free_port()}",
                      env=headless_env(LIVE_CLASSIFY_TOKEN=""))
    assert_clean_error(refused, "--serve-token", "LIVE_CLASSIFY_TOKEN")
    assert refused.returncode == 2 and "opened" not in refused.stderr


def host_status(port: int, host: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """``/api/status`` asked with ``Host: host``, as a page of a site whose name points at 127.0.0.1 asks it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/api/status", headers={"Host": host, **(headers or {})})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_loopback_without_a_login_answers_only_its_own_names_against_dns_rebinding(
        camera: MjpegServer, live_cli: type[LiveCli], tmp_path: Path) -> None:
    """A stranger's page that rebinds its name to 127.0.0.1 reads nothing; 127.0.0.1, localhost, [::1]
    and the names of ``--serve-host`` (or the file's ``serve-host``) are answered; with a token, any name is."""
    port = free_port()
    (tmp_path / "box.toml").write_text(f'provider = "cpu"\nserve = "127.0.0.1:{port}"\n'
                                       'serve-host = ["box.lan", "cams.example.org"]\n'
                                       f'[[camera]]\nsource = "{camera.url}"\n')
    cli = live_cli("--config", str(tmp_path / "box.toml"), env=headless_env(LIVE_CLASSIFY_TOKEN=""))
    cli.wait_for_stderr("serving http://")
    for host in ("127.0.0.1", f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "box.lan", "BOX.lan:443",
                 "cams.example.org"):
        assert host_status(port, host)[0] == 200, host
    for host in (f"rebind.attacker.example:{port}", f"localhost:{port + 1}", "localhost.attacker.example", ""):
        code, body = host_status(port, host)
        assert code == 421 and b"--serve-host" in body and b"captured" not in body, (host, code, body)
    cli.signal(signal.SIGINT)
    assert cli.finish().returncode == 0
    guarded, port = serve(live_cli, camera, env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
    assert host_status(port, "box.lan", {"Authorization": f"Bearer {TOKEN}"})[0] == 200, "a token: every name"
    assert host_status(port, "rebind.attacker.example")[0] == 401
    bad = run_cli("--source", camera.url, "--serve", "--serve-host", "not a name!", "--provider", "cpu")
    assert_clean_error(bad, "--serve-host must be a host name such as box.lan or an IP address, not 'not a name!'")
    assert bad.returncode == 2


@pytest.mark.parametrize("cameras", [1, 2])
def test_serve_alone_keeps_stdout_quiet(cameras: int, camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    """The page shows the results; JSON lines go to stdout only when asked (``--jsonl -``)."""
    port = free_port()
    sources = [arg for n in range(cameras) for arg in ("--source", camera.url, "--name", f"cam{n}")]
    cli = live_cli(*sources, "--provider", "cpu", "--serve", f"127.0.0.1:{port}")
    cli.wait_for_stderr("serving http://")
    wait_until(lambda: all(c["classified"] >= 5 for c in status(port)["cameras"]), "classifications")
    cli.signal(signal.SIGINT)
    done = cli.finish()
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "to stdout" not in done.stderr, done.stdout[:300]


def live_page(page) -> dict:  # noqa: ANN001 - a Playwright page or frame
    """What a person sees of the live page: its background, the video as a picture, the counters."""
    labels = sorted(CAT_LABELS)
    page.wait_for_function(f"{labels}.includes(document.getElementById('label').textContent)", timeout=30_000)
    page.wait_for_function(f"{PICTURE_WIDTH} > 0", timeout=30_000)
    return {"background": page.evaluate("getComputedStyle(document.body).backgroundColor"),
            "picture": cv2.imdecode(np.frombuffer(page.locator(PICTURE).screenshot(), np.uint8), cv2.IMREAD_COLOR),
            "frames": page.evaluate("document.getElementById('frames').textContent")}


def test_the_page_with_a_token_in_chromium_is_styled_shows_the_picture_and_the_label(
        camera: MjpegServer, live_cli: type[LiveCli]) -> None:
    """A real browser opens ``/?token=`` in a tab: the token becomes a session and leaves the address; the
    style sheet applies, the video is a picture, the label comes. In a frame of another site, where no
    cookie goes, the live page and /history keep the token and pass it on: nothing is refused there either."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.skip("needs a browser: apt-get install chromium")
    cli, port = serve(live_cli, camera, env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
    refused: list[str] = []
    answered: list[str] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("response", lambda r: refused.append(r.url) if r.status == 401 else None)
            page.goto(f"http://127.0.0.1:{port}/?token={TOKEN}")
            tab = live_page(page)
            logout, address = page.locator("#logout").is_visible(), page.url
            framed = browser.new_page(viewport={"width": 1400, "height": 700})  # a context of its own: no cookie
            framed.on("response", lambda r: refused.append(r.url) if r.status == 401 else answered.append(r.url))
            framed.set_content(f'<iframe src="http://127.0.0.1:{port}/?token={TOKEN}" width="680" height="650">'
                               f'</iframe><iframe src="http://127.0.0.1:{port}/history?token={TOKEN}" width="680" '
                               'height="650"></iframe>')
            wait_until(lambda: len(framed.frames) == 3 and all(f.url.startswith("http") for f in framed.frames[1:]),
                       "both frames")
            live = next(f for f in framed.frames[1:] if "/history" not in f.url)
            in_frame = live_page(live)
            wait_until(lambda: any("/api/history/" in url for url in answered), "the history page asks its API")
            frame_addresses = [f.url for f in framed.frames[1:]]
        finally:
            browser.close()
    for seen in (tab, in_frame):
        assert seen["background"] == "rgb(17, 17, 17)", "style.css applies"
        picture = seen["picture"]
        assert picture is not None and picture.shape[0] > 100 and picture.std() > 20, "the video is a picture"
        assert int(seen["frames"].split(" / ")[0]) > 0, seen["frames"]
    assert refused == [], f"answered 401: {refused}"
    assert address == f"http://127.0.0.1:{port}/" and logout, "the token became a session, and left the address"
    assert all(f"token={TOKEN}" in url for url in frame_addresses), "a frame keeps its token: no cookie goes there"


def test_the_request_log_is_one_line_without_traceback_or_token(capsys: pytest.CaptureFixture[str]) -> None:
    """What aiohttp logs, as the run shows it: its debug notes nothing, a bad request one detail line,
    a failure of the server's own one warning with the token blanked."""
    from aiohttp.http_exceptions import LineTooLong

    from live_classify import log
    from live_classify.sinks.web.requests import RequestLog

    request_log, too_long = RequestLog(TOKEN), LineTooLong(f"/api/status?token={TOKEN}&x=aaaa", 8190)
    log.configure(verbose=False)
    request_log.debug("Ignored premature client disconnection")
    request_log.exception("Error handling request from %s", "10.0.0.9", exc_info=too_long)
    assert capsys.readouterr().err == ""
    log.configure(verbose=True)
    try:
        request_log.exception("Error handling request from %s", "10.0.0.9", exc_info=too_long)
        try:
            raise ValueError(f"no camera for {TOKEN}\nsecond line")
        except ValueError:
            request_log.exception("Error handling request from %s", "10.0.0.9")
        request_log.warning("Failed to create request handler with %r", {"token": TOKEN})
    finally:
        log.configure()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("live-classify: ", 1)[1] for line in lines] == [
        "web server: answered 400 to a malformed request (LineTooLong)",
        "warning: web server: a request failed: ValueError: no camera for ***",
        "warning: web server: a request failed: Failed to create request handler with {'token': '***'}",
    ]
