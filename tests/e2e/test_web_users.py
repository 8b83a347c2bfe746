"""``--serve-users`` through the real command: ``live-classify passwd`` makes the hashes, a bad users
file is one line and exit 2 (at a reload: refused, the users kept), people log in with a name and a
password, a viewer sees its camera and nothing of the other, a change needs an admin, this site and
the session's CSRF token, each change is logged with who made it, and a user a reload removes is
logged out; in a real browser, the admin's page shows both cameras and marks an event right, the
viewer's shows its camera alone."""
from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from boxes import box
from conftest import CHELSEA, COFFEE, LiveCli, assert_clean_error, headless_env, run_cli
from mjpeg_server import MjpegServer
from web_client import CAT_LABELS, CHROMIUM, PICTURE_WIDTH, free_port, wait_until

TOKEN = "users-e2e-token"
PASSWORDS = {"ana": "ana's long password", "bo": "bo's long password"}


def passwd(password: str) -> str:
    """``live-classify passwd``, the password on stdin: its hash, the only line on stdout."""
    done = subprocess.run([sys.executable, "-m", "live_classify", "passwd"], input=password + "\n",
                          capture_output=True, text=True, timeout=60, env=headless_env())
    assert done.returncode == 0 and done.stderr == "", done
    assert password not in done.stdout
    return done.stdout.strip()


@pytest.fixture(scope="module")
def hashes() -> dict[str, str]:
    return {name: passwd(password) for name, password in PASSWORDS.items()}


def users_toml(hashes: dict[str, str], viewer: bool = True) -> str:
    text = f'[[user]]\nname = "ana"\npassword-hash = "{hashes["ana"]}"\nrole = "admin"\n'
    if viewer:
        text += f'\n[[user]]\nname = "bo"\npassword-hash = "{hashes["bo"]}"\nrole = "viewer"\ncameras = ["door"]\n'
    return text


@pytest.mark.parametrize(("user", "said"), [
    ('password-hash = "hunter2"\nrole = "admin"', "user 'ana': password-hash is not a hash (a plain-text password?)"),
    ('password-hash = "$scrypt$ln=15$x$y"\nrole = "admin"', "user 'ana': password-hash is not an scrypt hash"),
    ('password-hash = "HASH"\nrole = "owner"', "user 'ana': role must be \"admin\" or \"viewer\", not 'owner'"),
    ('password-hash = "HASH"\nrole = "admin"\n[[user]]\nname = "ana"\npassword-hash = "HASH"\nrole = "viewer"',
     "user 'ana' is given twice"),
])
def test_a_bad_users_file_is_one_line_and_exit_2(tmp_path: Path, hashes: dict[str, str], user: str, said: str) -> None:
    users = tmp_path / "users.toml"
    users.write_text(f'[[user]]\nname = "ana"\n{user.replace("HASH", hashes["ana"])}\n')
    run = run_cli("--camera", "0", "--serve", f"127.0.0.1:{free_port()}", "--serve-users", str(users))
    assert run.returncode == 2
    assert_clean_error(run, "--serve-users", said)
    assert "hunter2" not in run.stderr


def test_a_bad_users_file_named_in_the_configuration_file_is_its_line(tmp_path: Path) -> None:
    (tmp_path / "users.toml").write_text('[[user]]\nname = "ana"\npassword-hash = "hunter2"\nrole = "admin"\n')
    config = tmp_path / "box.toml"
    config.write_text(f'serve = "127.0.0.1:{free_port()}"\nserve-users = "users.toml"\n\n[[camera]]\ncamera = 0\n')
    run = run_cli("--config", str(config), cwd=tmp_path)
    assert run.returncode == 2
    assert_clean_error(run, "box.toml:2", "plain-text password")


@pytest.fixture
def two_cameras() -> Iterator[tuple[MjpegServer, MjpegServer]]:
    """door shows the cat, kitchen the espresso."""
    with MjpegServer(CHELSEA, fps=15, width=320, height=240) as door, \
            MjpegServer(COFFEE, fps=15, width=320, height=240) as kitchen:
        yield door, kitchen


def call(port: int, method: str, path: str, headers: dict[str, str] | None = None,
         body: str | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def log_in(port: int, user: str, password: str) -> dict[str, str] | None:
    """The login form's POST: the session's cookie and CSRF token, or None when refused."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("POST", "/login", body=urllib.parse.urlencode({"user": user, "password": password}),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    answer.read()
    if answer.status != 303:
        return None
    cookie = {"Cookie": answer.headers["Set-Cookie"].split(";")[0]}
    code, body = call(port, "GET", "/api/session", cookie)
    assert code == 200, body
    return {**cookie, "X-CSRF-Token": json.loads(body)["csrf"]}


def cameras_seen(port: int, headers: dict[str, str]) -> list[str] | int:
    code, body = call(port, "GET", "/api/status", headers)
    return [c["name"] for c in json.loads(body)["cameras"]] if code == 200 else code


def reload(cli: LiveCli, count: int) -> None:
    cli.signal(signal.SIGHUP)
    cli.wait_for(lambda: cli.stderr.count("SIGHUP: reading the configuration again") == count
                 and ("configuration reloaded" in cli.stderr_lines[-1] or "reload" in cli.stderr_lines[-1]), 60,
                 f"reload {count}")


def test_people_log_in_see_their_cameras_change_as_admins_and_go_with_a_reload(
        two_cameras: tuple[MjpegServer, MjpegServer], live_cli: type[LiveCli], tmp_path: Path,
        hashes: dict[str, str]) -> None:
    door, kitchen = two_cameras
    port, users = free_port(), tmp_path / "users.toml"
    users.write_text(users_toml(hashes))
    (tmp_path / "box.toml").write_text(box({"door": door, "kitchen": kitchen},
                                            f'serve = "127.0.0.1:{port}"\nserve-users = "users.toml"\n'))
    cli = live_cli("--config", "box.toml", cwd=tmp_path, env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
    cli.wait_for_stderr("serving http://", timeout=90)
    assert "log in with the token or a user's name and password" in cli.stderr
    assert log_in(port, "ana", PASSWORDS["bo"]) is None and log_in(port, "eve", PASSWORDS["ana"]) is None
    ana, bo = log_in(port, "ana", PASSWORDS["ana"]), log_in(port, "bo", PASSWORDS["bo"])
    assert ana and bo
    script = {"Authorization": f"Bearer {TOKEN}"}
    assert cameras_seen(port, ana) == cameras_seen(port, script) == ["door", "kitchen"]
    assert cameras_seen(port, bo) == ["door"]
    assert json.loads(call(port, "GET", "/api/session", bo)[1])["role"] == "viewer"
    for path in ("/stream.mjpg?camera=kitchen", "/live.mp4?camera=kitchen", "/snapshot.jpg?camera=kitchen",
                 "/metrics", "/api/classes"):
        assert call(port, "GET", path, bo)[0] == 403, path
    assert call(port, "GET", "/snapshot.jpg?camera=door", bo)[0] == 200
    assert call(port, "GET", "/metrics", ana)[0] == 200

    mark = "/api/history/events/some-event/mark"
    json_body = {"Content-Type": "application/json"}
    here, elsewhere = {"Origin": f"http://127.0.0.1:{port}"}, {"Origin": "http://evil.example"}
    code, said = call(port, "POST", mark, {**ana, **json_body, **elsewhere}, '{"right": true}')
    assert code == 403 and b"another site" in said, "a cross-site POST"
    assert call(port, "POST", mark, {"Cookie": ana["Cookie"], **json_body, **here}, '{"right": true}')[0] == 403
    assert call(port, "POST", mark, {**bo, **json_body, **here}, '{"right": true}')[0] == 403, "a viewer's"
    code, said = call(port, "POST", mark, {**ana, **json_body, **here}, '{"right": true}')
    assert code == 404 and b"nothing is recorded" in said, "past every check, to the handler"
    cli.wait_for_stderr(f"web server: ana (admin) POST {mark}: 404")
    assert "web server: bo (viewer) POST" in cli.stderr, "a refused change is logged too"

    users.write_text(users_toml(hashes, viewer=False))  # bo goes
    reload(cli, 1)
    wait_until(lambda: cameras_seen(port, bo) == 401, "bo's session ended")
    assert cameras_seen(port, ana) == ["door", "kitchen"], "ana's goes on"
    assert log_in(port, "bo", PASSWORDS["bo"]) is None

    users.write_text('[[user]]\nname = "ana"\npassword-hash = "hunter2"\nrole = "admin"\n')
    reload(cli, 2)
    cli.wait_for_stderr("reload refused")
    refused = next(line for line in cli.stderr_lines if "reload refused" in line)
    assert "box.toml:5: serve-users: users.toml: user 'ana': password-hash is not a hash" in refused
    assert cameras_seen(port, ana) == ["door", "kitchen"], "the users as they were"
    assert all(secret not in cli.stderr for secret in ("hunter2", *PASSWORDS.values(), TOKEN))


def test_in_a_browser_the_admin_sees_both_cameras_and_marks_an_event_the_viewer_its_camera_alone(
        two_cameras: tuple[MjpegServer, MjpegServer], live_cli: type[LiveCli], tmp_path: Path,
        hashes: dict[str, str]) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.skip("needs a browser: apt-get install chromium")
    door, kitchen = two_cameras
    port, users = free_port(), tmp_path / "users.toml"
    users.write_text(users_toml(hashes))
    cli = live_cli("--source", door.url, "--name", "door", "--source", kitchen.url, "--name", "kitchen",
                   "--provider", "cpu", "--serve", f"127.0.0.1:{port}", "--serve-users", str(users),
                   "--record", f"{tmp_path / 'rec'}/", "--segment", "2s", "--event", "espresso", "--event-hold", "1s",
                   *(flag for cat in sorted(CAT_LABELS) for flag in ("--event", cat)),  # door's cat: bo's events
                   "--event-threshold", "0.3",  # the cat at 320x240: about 0.44 Egyptian cat
                   env=headless_env(LIVE_CLASSIFY_TOKEN=TOKEN))
    cli.wait_for_stderr("serving http://", timeout=90)
    script = {"Authorization": f"Bearer {TOKEN}"}
    wait_until(lambda: {e["camera"] for e in json.loads(call(port, "GET", "/api/history/events", script)[1])["events"]}
               == {"kitchen", "door"}, "kitchen's espresso event and door's cat in the index", timeout=60)
    errors: list[str] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            def logged_in(user: str):  # noqa: ANN202 - a Playwright page
                page = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"http://127.0.0.1:{port}/")
                page.fill("#user", user)
                page.fill("input[type=password]", PASSWORDS[user])
                page.click("button[type=submit]")
                page.wait_for_selector("#history", timeout=30_000)  # the live page, past the form
                return page

            ana = logged_in("ana")
            ana.wait_for_selector("#tiles figure", timeout=30_000)
            tiles = ana.eval_on_selector_all("#tiles figure strong", "names => names.map(n => n.textContent)")
            assert tiles == ["door", "kitchen"]

            bo = logged_in("bo")
            bo.wait_for_function(f"{PICTURE_WIDTH} > 0", timeout=30_000)  # H.264 in #live, or MJPEG in #video
            bo.wait_for_function("document.getElementById('label').textContent.startsWith('waiting') === false",
                                 timeout=30_000)
            assert bo.is_hidden("#tiles"), "one camera: no tiles"
            assert any(cat in bo.text_content("#label") for cat in CAT_LABELS), "door's cat, not kitchen's espresso"
            bo.goto(f"http://127.0.0.1:{port}/history")
            bo.wait_for_selector("#timelines .camera", timeout=30_000)
            bo.wait_for_function("document.getElementById('found').textContent !== ''", timeout=30_000)
            assert bo.eval_on_selector_all("#timelines h3", "names => names.map(n => n.textContent)") == ["door"]
            bo.wait_for_selector("#events li", timeout=30_000)  # door's cat
            listed = bo.eval_on_selector_all("#events li", "items => items.map(i => i.dataset.camera)")
            assert listed and set(listed) == {"door"}, "kitchen's event: not bo's"
            bo.wait_for_selector("#teach", state="hidden", timeout=30_000)  # a viewer cannot teach
            assert bo.eval_on_selector_all("#events .as-example", "b => b.length") == 0, "viewer: no + example"

            ana.goto(f"http://127.0.0.1:{port}/history")
            kitchen = "#events li[data-camera=kitchen]"
            ana.wait_for_selector(f"{kitchen} .mark-right:not([disabled])", timeout=30_000)
            assert ana.is_visible("#teach"), "an admin teaches"
            ana.click(f"{kitchen} .mark-right")
            ana.wait_for_function("document.getElementById('tallies').textContent.includes("
                                  "'espresso on kitchen: 1 right, 0 wrong')", timeout=30_000)
            assert ana.get_attribute(f"{kitchen} .mark-right", "aria-pressed") == "true"
            ana.click(f"{kitchen} .as-example")  # one click: the event's moment among those to teach
            ana.wait_for_function("document.querySelectorAll('#moments li').length === 1", timeout=10_000)
            assert "camera=kitchen" in ana.get_attribute("#moments li img", "src")
            assert ana.evaluate("document.activeElement.name") == "label", "the label's field waits"
            bare = ana.evaluate("""async () => (await fetch('api/history/events/x/mark', {method: 'POST',
                headers: {'Content-Type': 'application/json'}, body: '{"right": true}'})).status""")
            assert bare == 403, "the same page's POST without its session's X-CSRF-Token"
        finally:
            browser.close()
    assert errors == []
    cli.wait_for_stderr("web server: ana (admin) POST /api/history/events/")
