"""``/api/history/*``, ``/media/`` and ``/api/clip.mp4`` on a recording the real command made (two
cameras playing a file whose scene alternates, two labels watched), served by a web view in this
process: the filters, the summary, Range, every way out of the recording directory, the export."""
from __future__ import annotations

import hashlib
import http.client
import json
import logging
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import av
import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE, run_cli
from statuses import camera_status
from web_client import history_server

from live_classify.engine.classifier import Classifier
from live_classify.sinks.web import view as web
from live_classify.sinks.web.listen import Address, listen

TOKEN = "history-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LABELS = ("espresso", "Egyptian cat")
APIS = ["/api/history/events", "/api/history/recordings", "/api/history/labels", "/api/history/cameras",
        "/api/history/thumbnail.jpg?camera=a&t=1",
        "/api/clip.mp4?camera=a&start=1&end=2", "/media/a/x.mp4", "/history"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DIR: two cameras, 3 s segments, events of both labels with their clips, the index."""
    folder = tmp_path_factory.mktemp("history")
    scenes = folder / "scenes.mp4"
    photos = [cv2.resize(cv2.imread(str(p)), (320, 240), interpolation=cv2.INTER_AREA) for p in (CHELSEA, COFFEE)]
    writer = cv2.VideoWriter(str(scenes), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for seconds, photo in [(2, 0), (3, 1), (2, 0), (3, 1), (2, 0)]:
        for _ in range(seconds * 10):
            writer.write(photos[photo])
    writer.release()
    rec = folder / "rec"
    events = [flag for label in LABELS for flag in ("--event", label)]
    run = run_cli("--source", str(scenes), "--name", "a", "--source", str(scenes), "--name", "b", "--headless",
                  "--provider", "cpu", "--record", f"{rec}/", "--record-mode", "both", "--segment", "3s", *events,
                  "--event-hold", "0.5s", "--event-gap", "0.5s", "--jsonl", str(folder / "out.jsonl"))
    assert run.returncode == 0, run.stderr
    return rec


@pytest.fixture(scope="module")
def port(recorded: Path) -> Iterator[int]:
    with history_server(recorded, "a", TOKEN) as port:
        yield port


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=AUTH if headers is None else headers)
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        connection.close()


def api(port: int, path: str, **query: object) -> dict:
    code, _, body = get(port, f"{path}?{urlencode(query)}")
    assert code == 200, body
    return json.loads(body)


def rows(rec: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(rec / "index.db") as db:
        return db.execute(sql).fetchall()


def test_every_history_route_refuses_a_request_without_the_token(port: int) -> None:
    for path in APIS:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            assert get(port, path, headers)[0] == 401, (path, headers)
    assert get(port, "/history.js", {})[0] == 200, "the page's script holds no data"


def test_each_filter_of_the_events_keeps_what_it_names_and_only_that(port: int, recorded: Path) -> None:
    every = rows(recorded, 'SELECT id, camera, label, start, "end" FROM events')
    assert {r[1] for r in every} == {"a", "b"} and {r[2] for r in every} == set(LABELS), every
    middle = sorted(r[3] for r in every)[len(every) // 2]
    expected = {
        "camera": ({"camera": "a"}, {r[0] for r in every if r[1] == "a"}),
        "label": ({"label": "espresso"}, {r[0] for r in every if r[2] == "espresso"}),
        "since": ({"since": middle}, {r[0] for r in every if r[4] is None or r[4] >= middle}),
        "until": ({"until": middle}, {r[0] for r in every if r[3] <= middle}),
    }
    assert {e["id"] for e in api(port, "/api/history/events")["events"]} == {r[0] for r in every}
    for what, (query, ids) in expected.items():
        found = api(port, "/api/history/events", **query)["events"]
        assert 0 < len(ids) < len(every), what  # the filter has something to keep and something to leave
        assert {e["id"] for e in found} == ids, what
    event = api(port, "/api/history/events", camera="b", label="Egyptian cat")["events"][0]
    assert list(event) == ["id", "camera", "label", "start", "end", "score", "clip", "clips", "thumbnail", "kind",
                           "mark"]
    assert event["clips"] == [event["clip"]], "an event shorter than --event-max: one clip"


def test_an_events_clip_and_thumbnail_are_served_from_their_urls(port: int, recorded: Path) -> None:
    """``--record-mode both``: each event's clip and thumbnail, at the URLs the events API gives."""
    events = api(port, "/api/history/events", camera="a")["events"]
    assert events and all(e["clip"] and e["thumbnail"] for e in events), events
    for event in events:
        clip, thumbnail = (recorded / rows(recorded, f"SELECT {c} FROM events WHERE id = '{event['id']}'")[0][0]
                           for c in ("clip", "thumbnail"))
        code, headers, body = get(port, event["clip"], {**AUTH, "Range": "bytes=0-99"})
        assert code == 206 and headers["Content-Type"] == "video/mp4" and body == clip.read_bytes()[:100]
        code, headers, body = get(port, event["thumbnail"])
        assert code == 200 and headers["Content-Type"] == "image/jpeg" and body == thumbnail.read_bytes()


def test_recordings_and_the_summary_downsampled(port: int, recorded: Path) -> None:
    segments = rows(recorded, 'SELECT camera, path, start, "end" FROM segments WHERE camera = "a" ORDER BY start')
    found = api(port, "/api/history/recordings", camera="a")["recordings"]
    assert [(r["camera"], r["path"], r["url"]) for r in found] == [(c, p, f"/media/{p}") for c, p, _, _ in segments]
    later = api(port, "/api/history/recordings", camera="a", since=segments[1][3])["recordings"]
    assert [r["path"] for r in later] == [s[1] for s in segments[1:]]  # from the one whose last frame is then
    assert len(api(port, "/api/history/recordings", camera="a", until=segments[1][2])["recordings"]) == 2
    seconds = rows(recorded, "SELECT second, label FROM seconds WHERE camera = 'a' ORDER BY second")
    since = seconds[0][0]
    one = api(port, "/api/history/labels", camera="a", since=since, until=since + 60, step=1)
    assert [(r["start"], r["label"]) for r in one["labels"]] == [(float(s), label) for s, label in seconds]
    coarse = api(port, "/api/history/labels", camera="a", since=since, until=since + 60, step=60)["labels"]
    assert len(coarse) == 1 and coarse[0]["label"] in {label for _, label in seconds}


@pytest.mark.parametrize("query", ["since=yesterday", "since=5&until=4", "step=0&camera=a", "step=x",
                                   "since=0&until=999999999&step=1"])
def test_a_bad_parameter_is_a_400_of_one_line(port: int, query: str) -> None:
    path = "/api/history/labels" if "step" in query else "/api/history/events"
    code, _, body = get(port, f"{path}?{query}")
    assert code == 400 and body.count(b"\n") == 1, body


def test_a_segment_is_served_whole_and_by_ranges(port: int, recorded: Path) -> None:
    path = rows(recorded, "SELECT path FROM segments LIMIT 1")[0][0]
    data = (recorded / path).read_bytes()
    code, headers, body = get(port, f"/media/{path}")
    assert code == 200 and body == data and headers["Content-Type"] == "video/mp4"
    code, headers, body = get(port, f"/media/{path}", {**AUTH, "Range": "bytes=1000-1999"})
    assert code == 206 and body == data[1000:2000], code
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    code, _, body = get(port, f"/media/{path}", {**AUTH, "Range": "bytes=-100"})
    assert code == 206 and body == data[-100:]


def test_no_path_from_a_request_leaves_the_recording_directory(port: int, recorded: Path,
                                                               tmp_path: Path) -> None:
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"not for the web")
    depth = len(recorded.parts) - 1
    (recorded / "a" / "link.mp4").symlink_to(outside)
    (recorded / "a" / "folder").symlink_to(tmp_path, target_is_directory=True)
    up = "/".join([".."] * depth)
    attempts = [
        f"/media/{up}{outside}", f"/media/a/../../{outside.parent.name}/secret.mp4",
        "/media/" + "/".join(["%2e%2e"] * depth) + str(outside), "/media/" + "%2E%2E%2F" * depth + str(outside)[1:],
        f"/media/{outside}", f"/media//{outside}", f"/media/%2F{str(outside)[1:]}",
        "/media/a/link.mp4", "/media/a/folder/secret.mp4", "/media/index.db", "/media/a/..%2f..%2findex.db",
    ]
    for attempt in attempts:
        code, _, body = get(port, attempt)
        assert code in (403, 404) and b"not for the web" not in body, (attempt, code, body)
    inside = rows(recorded, "SELECT path FROM segments LIMIT 1")[0][0]
    assert get(port, f"/media/a/%2e%2e/{inside}")[0] == 200, "a path that stays inside is served"
    (recorded / "a" / "same.mp4").symlink_to(recorded / inside)
    assert get(port, "/media/a/same.mp4")[0] == 200, "a link that stays inside is served"


def test_a_name_too_long_for_the_disk_is_a_404_of_one_line(port: int, caplog: pytest.LogCaptureFixture) -> None:
    """A name over 255 bytes: the file system's ENAMETOOLONG, answered as any missing file (it was a 500,
    and a 6 KB warning quoting the path)."""
    caplog.set_level(logging.WARNING)
    for path in (f"/media/a/{'x' * 300}.mp4", f"/media/{'y' * 256}/x.mp4", f"/media/a/{'z' * 4000}.jpg"):
        code, _, body = get(port, path)
        assert code == 404 and body == b"no such file in the recordings\n", (code, body[:200])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text[:500]


def packets(path: Path) -> list[tuple[float, bool, str]]:
    """Each video packet's time, whether a keyframe, and a digest of its bytes."""
    with av.open(str(path)) as video:
        stream = video.streams.video[0]
        return [(float(p.pts * stream.time_base), p.is_keyframe, hashlib.sha1(bytes(p)).hexdigest())
                for p in video.demux(stream) if p.pts is not None]


def test_the_export_is_the_recorded_packets_of_the_range_as_one_mp4(port: int, recorded: Path,
                                                                    tmp_path: Path) -> None:
    segments = rows(recorded, 'SELECT path, start, "end" FROM segments WHERE camera = "b" ORDER BY start')
    start, end = segments[0][1] + 1.5, segments[1][1] + 2.0  # across the first two segments' boundary
    code, headers, body = get(port, f"/api/clip.mp4?camera=b&start={start}&end={end}")
    assert code == 200 and headers["Content-Type"] == "video/mp4", body[:200]
    assert "attachment" in headers["Content-Disposition"]
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(body)
    shown = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name",
                            "-of", "json", str(clip)], capture_output=True, text=True, check=True)
    probed = json.loads(shown.stdout)
    duration = float(probed["format"]["duration"])
    assert probed["streams"][0]["codec_name"] == "h264"
    assert end - start <= duration <= end - start + 1.0 + 0.15, duration  # from the keyframe before start (1 s)
    recorded_packets = [(first + t, key, digest) for path, first, _ in segments[:2]
                        for t, key, digest in packets(recorded / path)]
    keyframe = max(t for t, key, _ in recorded_packets if key and t <= start)
    assert start - keyframe > 0.2, "frames between the keyframe and the start, to be kept"
    exported = packets(clip)
    assert exported[0][1], "it starts on a keyframe"
    # Copied, not encoded again: every recorded packet from the keyframe before start to end, in order.
    assert [d for _, _, d in exported] == [d for t, _, d in recorded_packets if keyframe <= t <= end + 1e-3]
    assert not list(recorded.glob(".export-*")), "its working file is gone"


def test_an_export_over_missing_or_damaged_segments_leaves_them_out_and_says_so(recorded: Path,
                                                                                tmp_path: Path) -> None:
    """A segment deleted under the index and one damaged: the export is the others' packets, and a header
    names the two left out (it was a 500 that showed the segment's absolute path)."""
    copy = tmp_path / "rec"
    shutil.copytree(recorded, copy)
    segments = rows(copy, 'SELECT path, start, "end" FROM segments WHERE camera = "b" ORDER BY start')
    assert len(segments) >= 4, segments
    (copy / segments[1][0]).unlink()
    (copy / segments[2][0]).write_bytes(b"\x00" * 100 + (copy / segments[2][0]).read_bytes()[100:])  # no ftyp box
    with history_server(copy, "b", TOKEN) as port:
        code, headers, body = get(port, f"/api/clip.mp4?camera=b&start={segments[0][1]}&end={segments[3][2]}")
    assert code == 200, body[:300]
    names = [Path(path).name for path, _, _ in segments[1:3]]
    assert headers["X-Skipped-Segments"] == f"2 missing or damaged, left out: {names[0]}, {names[1]}"
    assert str(tmp_path) not in json.dumps(headers)
    (clip := tmp_path / "clip.mp4").write_bytes(body)
    kept = {digest for path, _, _ in (segments[0], segments[3]) for _, _, digest in packets(copy / path)}
    assert {digest for _, _, digest in packets(clip)} == kept, "the two readable segments, whole"


@pytest.mark.parametrize("query", ["camera=b&start=10", "camera=b&start=10&end=5", "start=1&end=2",
                                   "camera=b&start=0&end=100000"])
def test_a_bad_export_is_a_400_of_one_line(port: int, query: str) -> None:
    code, _, body = get(port, f"/api/clip.mp4?{query}")
    assert code == 400 and body.count(b"\n") == 1, body


def test_an_export_of_nothing_recorded_is_a_404(port: int) -> None:
    code, _, body = get(port, "/api/clip.mp4?camera=b&start=1000&end=1010")
    assert code == 404 and b"nothing of b is recorded" in body


def test_a_thumbnail_is_the_frame_recorded_at_that_moment(port: int, recorded: Path, classifier: Classifier) -> None:
    """The scenes' source times: the cat from 0 to 2 s, the espresso from 2 to 5 s, the cat from 5 to 7 s;
    the segments start at 0 and 3 s: each moment shows another class than its segment's first frame."""
    start = rows(recorded, "SELECT start FROM segments WHERE camera = 'a' ORDER BY start LIMIT 1")[0][0]
    cup, cat = (set(np.argsort(classifier.classify(cv2.imread(str(p))).probabilities)[-5:]) for p in (COFFEE, CHELSEA))
    for t, (likely, unlikely) in ((start + 2.5, (cup, cat)), (start + 5.5, (cat, cup))):
        code, headers, body = get(port, f"/api/history/thumbnail.jpg?camera=a&t={t}")
        assert code == 200 and headers["Content-Type"] == "image/jpeg", body[:200]
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape[1] == 240
        probabilities = classifier.classify(image).probabilities
        assert probabilities[list(likely)].sum() > 10 * probabilities[list(unlikely)].sum(), t
    assert get(port, f"/api/history/thumbnail.jpg?camera=a&t={start - 100}")[0] == 404
    last = rows(recorded, "SELECT max(\"end\") FROM segments WHERE camera = 'a'")[0][0]
    assert get(port, f"/api/history/thumbnail.jpg?camera=a&t={last + 2}")[0] == 404, "not yet closed: no frame"
    assert get(port, "/api/history/thumbnail.jpg?camera=a")[0] == 400


def test_without_a_recording_directory_each_api_says_so_in_one_line() -> None:
    camera = camera_status(last_capture=time.monotonic())
    sock = listen(Address("127.0.0.1", 0), None)
    view = web.WebView(sock, [web.Feed("a", "a", lambda: camera)], web.Options("CPU", token=None, fps=None))
    try:
        port = sock.getsockname()[1]
        for path in APIS[:-1]:
            code, _, body = get(port, path, {})
            assert code == 404 and body.count(b"\n") == 1 and b"nothing is recorded" in body, (path, body)
        assert get(port, "/history", {})[0] == 200
    finally:
        view.close()
