"""Who may do what, on a web view in this process (two cameras, a recording's index, two users and a
token), asked over real HTTP: a viewer sees its camera's status, history and files and nothing of
the other's; a change needs an admin, a page of this site and the session's CSRF token (a script
with the token needs only the token); right/wrong marks land in the index, an older index included."""
from __future__ import annotations

import http.client
import json
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from statuses import camera_status

from live_classify.config import WebUser
from live_classify.sinks.events.index_file import connect
from live_classify.sinks.events.rules import START, Change, Event
from live_classify.sinks.web import view as web
from live_classify.sinks.web.listen import Address, listen
from live_classify.sinks.web.passwords import hash_password

TOKEN = "roles-token"
USERS = (WebUser("ana", hash_password("ana-pw"), "admin"), WebUser("bo", hash_password("bo-pw"), "viewer", ("door",)),
         WebUser("cy", hash_password("cy-pw"), "viewer", ("yard",)),  # cy's camera is not there
         WebUser("di", hash_password("di-pw"), "viewer", ("kitchen",)))
T0 = 1_800_000_000.0
OLD_SCHEMA = ('CREATE TABLE events (id TEXT PRIMARY KEY, camera TEXT NOT NULL, label TEXT NOT NULL, start REAL NOT '
              'NULL, "end" REAL, score REAL NOT NULL, clip TEXT, thumbnail TEXT); CREATE TABLE segments (camera TEXT '
              'NOT NULL, path TEXT PRIMARY KEY, start REAL NOT NULL, "end" REAL NOT NULL, bytes INTEGER NOT NULL); '
              "CREATE TABLE seconds (camera TEXT NOT NULL, second INTEGER NOT NULL, label TEXT, score REAL, "
              "PRIMARY KEY (camera, second));")


def recordings(root: Path, old: bool = False) -> Path:
    """An index with an espresso event on each camera (made by the version before marks, if ``old``),
    and a picture in each camera's folder."""
    if old:
        db = sqlite3.connect(root / "index.db")
        db.executescript(OLD_SCHEMA)
        db.commit()
    else:
        db = connect(root / "index.db")
    db.executemany('INSERT INTO events (id, camera, label, start, "end", score, clip, thumbnail) '
                   "VALUES (?, ?, 'espresso', ?, ?, 0.9, NULL, ?)",
                   [("e-door", "door", T0, T0 + 5, "door/a.jpg"), ("e-kitchen", "kitchen", T0 + 10, T0 + 15,
                                                                   "kitchen/b.jpg")])
    db.executemany("INSERT INTO seconds (camera, second, label, score) VALUES (?, ?, ?, 0.9)",
                   [("door", int(T0), "tabby"), ("kitchen", int(T0), "espresso")])
    db.commit()
    db.close()
    for camera, name in (("door", "a.jpg"), ("kitchen", "b.jpg")):
        (root / camera).mkdir()
        (root / camera / name).write_bytes(b"\xff\xd8 a picture")
    return root


def serve(root: Path) -> tuple[web.WebView, int]:
    statuses = {name: camera_status(name=name, last_capture=time.monotonic()) for name in ("door", "kitchen")}
    sock = listen(Address("127.0.0.1", 0), TOKEN)
    view = web.WebView(sock, [web.Feed(name, name, lambda n=name: statuses[n]) for name in statuses],
                       web.Options("CPU", token=TOKEN, fps=None, recordings=root, users=USERS),
                       configuration=lambda: {"secret": "what runs"})
    return view, sock.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[web.WebView, int]]:
    view, port = serve(recordings(tmp_path))
    try:
        yield view, port
    finally:
        view.close()


@pytest.fixture
def port(served: tuple[web.WebView, int]) -> int:
    return served[1]


def call(port: int, method: str, path: str, headers: dict[str, str] | None = None,
         body: str | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def log_in(port: int, user: str, password: str) -> dict[str, str]:
    """A session's cookie, and its CSRF token as ``GET /api/session`` hands it to the page."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("POST", "/login", body=urllib.parse.urlencode({"user": user, "password": password}),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 303, answer.status
    cookie = {"Cookie": answer.headers["Set-Cookie"].split(";")[0]}
    code, body = call(port, "GET", "/api/session", cookie)
    session = json.loads(body)
    assert code == 200 and session["user"] == user and len(session["csrf"]) > 20
    return {**cookie, "X-CSRF-Token": session["csrf"]}


def get_json(port: int, path: str, headers: dict[str, str]) -> dict:
    code, body = call(port, "GET", path, headers)
    assert code == 200, (path, code, body)
    return json.loads(body)


def test_a_viewer_sees_its_cameras_and_nothing_of_the_others(port: int) -> None:
    bo, ana = log_in(port, "bo", "bo-pw"), log_in(port, "ana", "ana-pw")
    status = get_json(port, "/api/status", bo)
    assert [c["name"] for c in status["cameras"]] == ["door"] and status["name"] == "door"
    assert status["configuration"] is None, "what runs is an admin's to see"
    assert [c["name"] for c in get_json(port, "/api/status", ana)["cameras"]] == ["door", "kitchen"]
    assert get_json(port, "/api/history/cameras", bo) == {"cameras": ["door"], "labels": ["tabby"]}
    assert sorted(get_json(port, "/api/history/cameras", ana)["labels"]) == ["espresso", "tabby"]
    nothing = get_json(port, "/api/status", log_in(port, "cy", "cy-pw"))
    assert nothing["cameras"] == [] and nothing["name"] is None and nothing["captured"] is None, "not kitchen's"
    assert [e["id"] for e in get_json(port, "/api/history/events", bo)["events"]] == ["e-door"]
    assert [e["id"] for e in get_json(port, "/api/history/events", ana)["events"]] == ["e-kitchen", "e-door"]
    refused = ["/api/history/events?camera=kitchen", "/api/history/recordings?camera=kitchen",
               "/api/history/labels?camera=kitchen", f"/api/clip.mp4?camera=kitchen&start={T0}&end={T0 + 5}",
               f"/api/history/thumbnail.jpg?camera=kitchen&t={T0}", "/snapshot.jpg?camera=kitchen",
               "/stream.mjpg?camera=kitchen", "/media/kitchen/b.jpg", "/media/door/../kitchen/b.jpg",
               "/media/door/%2E%2E/kitchen/b.jpg", "/metrics"]
    for path in refused:
        code, body = call(port, "GET", path, bo)
        assert code == 403, (path, code, body)
    assert call(port, "GET", "/media/door/a.jpg", bo)[0] == 200
    assert call(port, "GET", "/media/kitchen/b.jpg", ana)[0] == 200
    assert call(port, "GET", "/metrics", ana)[0] == 200


def test_a_viewer_is_refused_the_h264_stream_of_a_camera_not_his(port: int) -> None:
    """``/live.mp4`` answers a viewer 403 for another camera, at once (its status alone is read: a stream
    let in by mistake would never end)."""
    bo = log_in(port, "bo", "bo-pw")
    assert status_of(port, "/live.mp4?camera=kitchen", bo) == 403


def status_of(port: int, path: str, headers: dict[str, str]) -> int | None:
    """The status of a GET, its body unread; None when none came within a few seconds."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}", **headers})
        return connection.getresponse().status
    except TimeoutError:
        return None
    finally:
        connection.close()


def test_a_viewers_event_feed_carries_its_cameras_events_only(served: tuple[web.WebView, int]) -> None:
    view, port = served
    bo = log_in(port, "bo", "bo-pw")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("GET", "/api/events", headers=bo)
    feed = connection.getresponse()
    assert feed.status == 200
    wait_until(lambda: view.server.clients()["events"] == 1, "the feed open")
    for n, camera in enumerate(("kitchen", "door", "kitchen", "door")):
        view.write_event(Change(START, Event(f"e{n}", camera, "espresso", T0 + n, None, 0.9, T0 + n)))
    told = []
    while len(told) < 2:
        line = feed.fp.readline().decode()
        if line.startswith("data: "):
            told.append(json.loads(line[6:]))
    connection.close()
    assert [(e["id"], e["camera"]) for e in told] == [("e1", "door"), ("e3", "door")]


def wait_until(condition, what: str, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def mark(port: int, event: str, right: object, headers: dict[str, str]) -> tuple[int, dict]:
    code, body = call(port, "POST", f"/api/history/events/{event}/mark",
                      {"Content-Type": "application/json", **headers}, json.dumps({"right": right}))
    return code, json.loads(body or b"{}")


def test_a_change_needs_an_admin_this_site_and_the_sessions_token(port: int) -> None:
    ana, bo = log_in(port, "ana", "ana-pw"), log_in(port, "bo", "bo-pw")
    cookie_only = {"Cookie": ana["Cookie"]}
    here = {"Origin": f"http://127.0.0.1:{port}"}
    code, said = mark(port, "e-door", True, {**bo, **here})
    assert code == 403 and "only an admin" in said["error"], "a viewer marks nothing, even on its camera"
    assert mark(port, "e-door", True, {**cookie_only, **here})[0] == 403, "no CSRF token"
    assert mark(port, "e-door", True, {**ana, "X-CSRF-Token": bo["X-CSRF-Token"], **here})[0] == 403, "another's"
    code, said = mark(port, "e-door", True, {**ana, "Origin": "http://evil.example"})
    assert code == 403 and "another site" in said["error"]
    assert mark(port, "e-door", True, {**ana, "Referer": "http://evil.example/x"})[0] == 403
    assert get_json(port, "/api/history/marks", ana)["marks"] == [], "nothing refused was kept"
    code, said = mark(port, "e-door", True, {**ana, **here})
    assert code == 200 and said == {"id": "e-door", "camera": "door", "label": "espresso", "right": True, "by": "ana"}
    script = {"Authorization": f"Bearer {TOKEN}"}  # a script: no cookie, no page, its token is enough
    assert mark(port, "e-kitchen", False, script)[0] == 200
    assert mark(port, "e-kitchen", False, {**script, "Origin": "http://evil.example"})[0] == 403
    events = {e["id"]: e["mark"] for e in get_json(port, "/api/history/events", ana)["events"]}
    assert events == {"e-door": True, "e-kitchen": False}
    assert get_json(port, "/api/history/marks", bo)["marks"] == [
        {"camera": "door", "label": "espresso", "right": 1, "wrong": 0}], "a viewer's tally: its cameras"
    assert mark(port, "e-door", None, {**ana, **here})[0] == 200, "taken back"
    assert get_json(port, "/api/history/marks", ana)["marks"] == [
        {"camera": "kitchen", "label": "espresso", "right": 0, "wrong": 1}]


@pytest.mark.parametrize(("body", "code"), [('{"right": "yes"}', 400), ("not json", 400), ('{"right": true}', 404)])
def test_a_bad_mark_is_a_4xx_with_one_json_line(port: int, body: str, code: int) -> None:
    event = "no-such-event" if code == 404 else "e-door"
    status, said = call(port, "POST", f"/api/history/events/{event}/mark",
                        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}, body)
    assert status == code and said.count(b"\n") == 1 and json.loads(said)["error"]


def test_an_index_made_before_marks_is_read_and_then_marked(tmp_path: Path) -> None:
    view, port = serve(recordings(tmp_path, old=True))
    try:
        script = {"Authorization": f"Bearer {TOKEN}"}
        assert [e["mark"] for e in get_json(port, "/api/history/events", script)["events"]] == [None, None]
        assert get_json(port, "/api/history/marks", script)["marks"] == []
        assert mark(port, "e-door", False, script)[0] == 200
        assert get_json(port, "/api/history/marks", script)["marks"] == [
            {"camera": "door", "label": "espresso", "right": 0, "wrong": 1}]
    finally:
        view.close()


def test_a_delete_needs_this_site_and_the_sessions_token_as_a_post_does(port: int) -> None:
    """Every change, not only a POST: a DELETE (forgetting a taught class) without the session's
    X-CSRF-Token, or from another site's page, is refused before it reaches its handler (which, with
    nothing taught here, would answer 404)."""
    ana = log_in(port, "ana", "ana-pw")
    here, path = {"Origin": f"http://127.0.0.1:{port}"}, "/api/classes/our%20mug"
    code, body = call(port, "DELETE", path, {"Cookie": ana["Cookie"], **here})
    assert code == 403 and "X-CSRF-Token" in json.loads(body)["error"], "no CSRF token"
    code, body = call(port, "DELETE", path, {**ana, "Origin": "http://evil.example"})
    assert code == 403 and "another site" in json.loads(body)["error"]
    assert call(port, "DELETE", path, {**ana, **here})[0] == 404, "past every check, to the handler"


def test_a_browser_logged_in_with_the_token_needs_its_sessions_csrf_token_too(port: int) -> None:
    """The form's other way in (the token, no user name): its session has a CSRF token like a
    user's, and a change that does not send it is refused."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("POST", "/login", body=urllib.parse.urlencode({"token": TOKEN}),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    answer.read()
    connection.close()
    assert answer.status == 303
    cookie = {"Cookie": answer.headers["Set-Cookie"].split(";")[0]}
    session = get_json(port, "/api/session", cookie)
    assert session["role"] == "admin" and isinstance(session["csrf"], str) and len(session["csrf"]) > 20
    here = {"Origin": f"http://127.0.0.1:{port}"}
    code, said = mark(port, "e-door", True, {**cookie, **here})
    assert code == 403 and "X-CSRF-Token" in said["error"], "the cookie alone"
    assert mark(port, "e-door", True, {**cookie, **here, "X-CSRF-Token": session["csrf"]})[0] == 200


def test_a_viewer_of_one_camera_gets_its_h264_stream_without_naming_it(served: tuple[web.WebView, int]) -> None:
    """The page with one camera to show asks ``/live.mp4`` without ``?camera=``: a viewer of kitchen alone
    (the second camera) gets kitchen's stream, not a 403 for door (the page would fall back to MJPEG)."""
    view, port = served
    di = log_in(port, "di", "di-pw")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("GET", "/live.mp4", headers={"Host": f"127.0.0.1:{port}", **di})
        wait_until(lambda: view.server.live.counts()["viewers"] == 1, "di's viewer is in")
        view.server.live.init("kitchen", b"kitchen init")  # as kitchen's encoder hands them over
        view.server.live.fragment("kitchen", b"kitchen keyframe", True)
        answer = connection.getresponse()
        body = answer.read(len(b"kitchen init"))
    finally:
        connection.close()
    assert (answer.status, body) == (200, b"kitchen init")
