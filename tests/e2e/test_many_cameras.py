"""Several cameras in one process, through the real command: three fake cameras showing three
different photos, each camera's JSON lines with its own label and name; a stall, a camera lost
for good, a file beside a camera, one recording per camera; and the command lines that cannot work."""
from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE, DATA, LiveCli, assert_clean_error, count_frames, run_cli
from mjpeg_server import Camera, MjpegServer
from mqtt_broker import MOSQUITTO, PREFIX, Broker, Subscriber, free_port
from recordings import recording_counts

from live_classify.engine.classifier import Classifier

ROCKET = DATA / "rocket.jpg"
PHOTOS = (CHELSEA, COFFEE, ROCKET)
STALL_S = 4.0  # how long a camera stalls in the stall test
MAX_GAP_S = 2.0  # meanwhile, the longest wait between two of another camera's classified frames


@pytest.fixture
def three_cameras() -> Iterator[list[MjpegServer]]:
    """Three fake live cameras at 30 fps on 127.0.0.1, a cat, an espresso and a rocket."""
    with MjpegServer(CHELSEA) as a, MjpegServer(COFFEE) as b, MjpegServer(ROCKET) as c:
        yield [a, b, c]


@pytest.fixture(scope="module")
def expected(classifier: Classifier) -> list[str]:
    """What the model says of each camera's picture, decoded as the command will see it."""
    labels = []
    for photo in PHOTOS:
        image = cv2.imdecode(np.frombuffer(Camera(photo).next_jpeg(), np.uint8), cv2.IMREAD_COLOR)
        labels.append(classifier.classify(image).top.labels[0])
    assert len(set(labels)) == 3, labels  # three different answers, or the test could not tell the cameras apart
    return labels


@pytest.fixture(scope="module")
def neighbours(classifier: Classifier) -> list[set[str]]:
    """The model's five likeliest classes for each camera's picture: where an overlaid, re-encoded frame may
    tip (the coffee cup reads as 'consomme' about half the time once the overlay covers its corner)."""
    found = []
    for photo in PHOTOS:
        image = cv2.imdecode(np.frombuffer(Camera(photo).next_jpeg(), np.uint8), cv2.IMREAD_COLOR)
        probabilities = classifier.classify(image).probabilities
        found.append({classifier.labels[i] for i in np.argsort(probabilities)[-5:]})
    assert not set.intersection(*found), found  # no shared neighbour, or a swapped frame could pass unseen
    return found


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def per_camera(records: list[dict]) -> Counter:
    return Counter(r["camera"] for r in records)


def sources(cameras: list[MjpegServer], names: tuple[str | None, ...] = ("door", None, "yard")) -> list[str]:
    args: list[str] = []
    for camera, name in zip(cameras, names, strict=True):
        args += ["--source", camera.url] + (["--name", name] if name else [])
    return args


def test_each_camera_gets_its_own_label_and_name_from_one_batched_model(
        three_cameras: list[MjpegServer], expected: list[str], live_cli: type[LiveCli], tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    cli = live_cli(*sources(three_cameras), "--headless", "--jsonl", str(out), "--max-batch", "3")
    cli.wait_for(lambda: min(per_camera(lines(out)).get(n, 0) for n in ("door", "cam1", "yard")) >= 30,
                 what="30 lines from each camera")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    records = lines(out)
    for name, label in zip(("door", "cam1", "yard"), expected, strict=True):
        mine = [r for r in records if r["camera"] == name]
        answers = Counter(r["top"][0]["label"] for r in mine)
        assert answers.most_common(1)[0][0] == label and answers[label] >= 0.9 * len(mine), (name, answers)
        assert not set(answers) & (set(expected) - {label}), (name, answers)  # never another camera's answer
        assert {r["source"] for r in mine} == {three_cameras[("door", "cam1", "yard").index(name)].url}
    assert "3 cameras, one model: batches of up to 3" in run.stderr
    each = {name: re.search(rf"live-classify: {name}: (\d+) captured, (\d+) classified \(", run.stderr)
            for name in ("door", "cam1", "yard")}  # one summary line each
    assert all(each.values()), run.stderr
    counted = {name: (int(found.group(1)), int(found.group(2))) for name, found in each.items() if found}
    assert {name: c[1] for name, c in counted.items()} == per_camera(records), "a line for each classified frame"
    total = re.search(r"all 3 cameras: (\d+) captured, (\d+) classified, ", run.stderr)
    sums = (sum(c[0] for c in counted.values()), sum(c[1] for c in counted.values()))
    assert total and (int(total.group(1)), int(total.group(2))) == sums, run.stderr


def test_a_stalled_camera_reconnects_while_the_others_keep_classifying(
        three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    """While cam1 sends nothing for STALL_S (lost after --read-timeout 1, then reconnecting), the others'
    frames are classified all along: no gap of MAX_GAP_S between their classified frames' capture
    times (a camera that held them back would leave one as long as the stall). Not a rate, which
    would depend on the machine's load."""
    out = tmp_path / "p.jsonl"
    cli = live_cli(*sources(three_cameras), "--headless", "--jsonl", str(out), "--read-timeout", "1",
                   "--max-batch", "3")  # batches of all three, as on a GPU: the stalled one must not hold them
    cli.wait_for(lambda: min(per_camera(lines(out)).values() or [0]) >= 20 and len(per_camera(lines(out))) == 3,
                 what="every camera classified")
    three_cameras[1].stall()
    stalled_at = time.time()
    cli.wait_for_stderr("lost (", timeout=20)
    time.sleep(max(0.0, stalled_at + STALL_S - time.time()))
    resumed_at = time.time()
    three_cameras[1].resume()
    cli.wait_for_stderr("reconnected", timeout=30)
    cli.wait_for(lambda: any(r["camera"] == "cam1" and r["time"] > resumed_at for r in lines(out)),
                 what="cam1 classified again")
    cli.wait_for(lambda: all(max(r["time"] for r in lines(out) if r["camera"] == n) > resumed_at
                             for n in ("door", "yard")), what="the others' lines past the stall")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    records = lines(out)
    for name in ("door", "yard"):
        times = sorted(r["time"] for r in records if r["camera"] == name and stalled_at < r["time"] < resumed_at)
        edges = [stalled_at, *times, resumed_at]
        gap = max(b - a for a, b in pairwise(edges))
        assert gap < MAX_GAP_S, (name, gap, [round(t - stalled_at, 2) for t in times])
    assert any(line.endswith(f"cam1 ({three_cameras[1].url}): reconnected") for line in run.stderr.splitlines())


def test_a_camera_lost_for_good_ends_alone_and_the_run_says_so(
        three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    cli = live_cli(*sources(three_cameras), "--headless", "--jsonl", str(out), "--read-timeout", "1",
                   "--reconnect", "1")
    cli.wait_for(lambda: len(per_camera(lines(out))) == 3, what="every camera classified")
    three_cameras[1].stop()
    cli.wait_for_stderr("reconnection attempts failed", timeout=30)
    lost_at = per_camera(lines(out))
    cli.wait_for(lambda: all(per_camera(lines(out))[n] >= lost_at[n] + 30 for n in ("door", "yard")),
                 what="the other two go on")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    lost = [line for line in run.stderr.splitlines() if "reconnection attempts failed" in line]
    assert len(lost) == 2 and "cam1 (" in lost[0] and lost[0].endswith("the others go on"), run.stderr
    assert run.returncode == 1  # a camera was lost: a supervisor should know (and restart the lot)
    assert "Traceback" not in run.stderr


def test_a_file_beside_a_camera_is_classified_frame_by_frame(
        three_cameras: list[MjpegServer], video_file: Path, live_cli: type[LiveCli], tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    cli = live_cli("--source", str(video_file), "--name", "clip", "--source", three_cameras[0].url,
                   "--headless", "--jsonl", str(out))
    cli.wait_for_stderr("clip: ended; the others go on", timeout=60)
    cli.wait_for(lambda: per_camera(lines(out))["cam1"] >= 20, what="the camera classified")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    clip = [r["frame"] for r in lines(out) if r["camera"] == "clip"]
    assert clip == list(range(60))  # every frame of the file, once, in order


def test_one_recording_per_camera_under_the_directory(
        three_cameras: list[MjpegServer], expected: list[str], neighbours: list[set[str]], classifier: Classifier,
        live_cli: type[LiveCli], tmp_path: Path) -> None:
    out, rec = tmp_path / "p.jsonl", tmp_path / "rec"
    cli = live_cli(*sources(three_cameras[:2], ("door", None)), "--headless", "--jsonl", str(out),
                   "--record", f"{rec}/")
    cli.wait_for(lambda: min(per_camera(lines(out)).values() or [0]) >= 45 and len(per_camera(lines(out))) == 2,
                 what="1.5 s of each camera")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in rec.iterdir()) == ["cam1.mp4", "door.mp4"]
    for name in ("door", "cam1"):  # every frame captured is recorded, or counted as dropped or skipped
        summary = next(line for line in run.stderr.splitlines() if f" {name}: recorded " in line)
        captured = int(re.search(rf" {name}: (\d+) captured", run.stderr).group(1))
        assert sum(recording_counts(summary).values()) == captured, (summary, captured)
    for path, mine, near, other in ((rec / "door.mp4", expected[0], neighbours[0], neighbours[1]),
                                    (rec / "cam1.mp4", expected[1], neighbours[1], neighbours[0])):
        assert count_frames(path) >= 30, path
        labels = Counter(recorded_labels(path, classifier))  # the overlay and H.264 may tip a frame to a neighbour
        assert mine in labels and set(labels) <= near, (path, labels)  # its own picture, every frame of it
        assert not set(labels) & other, (path, labels)  # never another camera's frame
    again = run_cli(*sources(three_cameras[:2], ("door", None)), "--headless", "--record", f"{rec}/")
    assert_clean_error(again, "door.mp4 exists", "--overwrite")


def recorded_labels(video: Path, classifier: Classifier) -> list[str]:
    """The model's answer for every 5th frame of a recording, read back as a player would."""
    capture, labels, index = cv2.VideoCapture(str(video)), [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % 5 == 0:
            labels.append(classifier.classify(frame).top.labels[0])
        index += 1
    capture.release()
    return labels


@pytest.mark.parametrize(("args", "fragment"), [
    (["--source", "U1", "--name", "a", "--source", "U2", "--name", "a"], "two cameras are named 'a'"),
    (["--source", "U1", "--name", "cam1", "--source", "U2"], "two cameras are named 'cam1'"),
    (["--source", "U1", "--source", "U2", "--collect", "cat"], "needs a --name after each one"),
    (["--name", "a", "--source", "U1"], "--name names the --camera or --source given before it"),
    (["--source", "U1", "--name", "a", "--name", "b"], "--name given twice"),
    (["--source", "U1", "--name", "a/b"], "a camera name is 1-64 letters"),
    (["--source", "U1", "--source", "U2", "--record", "x.mp4"], "record into a directory"),
    (["--source", "U1", "--source", str(CHELSEA)], "cannot be mixed with cameras"),
    ([], "what to classify?"),
])
def test_several_cameras_that_cannot_work_are_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    args = [a.replace("U1", "http://127.0.0.1:9/a").replace("U2", "http://127.0.0.1:9/b") for a in args]
    run = run_cli(*args, "--headless")
    assert run.returncode == 2, run.stderr
    assert_clean_error(run, fragment)


def test_a_camera_unreachable_at_the_start_is_retried_while_the_others_run(
        live_cli: type[LiveCli], tmp_path: Path) -> None:
    """A box that boots before one of its cameras: the others classify, the missing one is named
    (in the log and /healthz) and retried, and once it appears it is classified too."""
    out, port, web = tmp_path / "p.jsonl", free_port(), free_port()
    with MjpegServer(CHELSEA) as present:
        cli = live_cli("--source", present.url, "--name", "a", "--source", f"http://127.0.0.1:{port}/cam",
                       "--name", "r", "--headless", "--jsonl", str(out), "--serve", f"127.0.0.1:{web}")
        cli.wait_for_stderr(f"r: cannot open http://127.0.0.1:{port}/cam (connection refused")
        cli.wait_for(lambda: per_camera(lines(out))["a"] >= 20, what="camera a classified")
        cli.wait_for_stderr(f"r (http://127.0.0.1:{port}/cam): still lost; reconnecting in 1 s")
        health = healthz(web)
        assert health["down"] == ["r"] and health["cameras"]["a"] == "frames flowing", health
        assert health["cameras"]["r"].startswith("source lost (not reachable at the start: connection refused")
        assert per_camera(lines(out))["r"] == 0
        with MjpegServer(COFFEE, port=port):
            cli.wait_for_stderr(f"r (http://127.0.0.1:{port}/cam): reconnected", timeout=30)
            cli.wait_for(lambda: per_camera(lines(out))["r"] >= 20, what="camera r classified once it appeared")
            assert healthz(web)["healthy"] is True

        def lost() -> list[str]:
            return [line for line in cli.stderr_lines if f"r (http://127.0.0.1:{port}/cam): lost (" in line]

        cli.wait_for(lambda: len(lost()) == 2, what="r lost again")  # mid-run now: the reason is the new one
        # A closed connection fails reads at once; on a loaded machine maybe not quite at once.
        closed = r"(end of stream \(the sender closed it\)|read error: 3 frames in a row could not be read or decoded)"
        assert re.search(rf": lost \({closed}\); reconnecting", lost()[1]), lost()
        assert re.match(rf"source lost \({closed}", healthz(web)["cameras"]["r"]), healthz(web)
        cli.signal(signal.SIGINT)
        run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "error:" not in run.stderr
    labels = Counter(r["top"][0]["label"] for r in lines(out) if r["camera"] == "r")
    assert labels.most_common(1)[0][0] == "espresso", labels


def test_with_one_camera_an_unreachable_one_is_still_an_error() -> None:
    port = free_port()
    run = run_cli("--source", f"http://127.0.0.1:{port}/cam", "--headless", "--open-timeout", "2")
    assert run.returncode == 1
    assert_clean_error(run, f"cannot open stream http://127.0.0.1:{port}/cam", "connection refused")


def test_several_cameras_none_reachable_is_one_error_naming_each() -> None:
    ports = free_port(), free_port()
    run = run_cli("--source", f"http://127.0.0.1:{ports[0]}/", "--name", "a",
                  "--source", f"http://127.0.0.1:{ports[1]}/", "--name", "b", "--headless")
    assert run.returncode == 1
    assert_clean_error(run, "no camera could be opened (a: connection refused", "; b: connection refused")


def healthz(port: int) -> dict:
    """/healthz's answer, 200 or 503."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as answer:
        return json.loads(answer.read())


def test_every_prediction_of_two_realtime_files_is_written(video_file: Path, tmp_path: Path) -> None:
    """Predictions made after a camera's last shown frame are written too: each camera's JSON lines
    are exactly its summary's classified, its last frame among them; each file plays at its own
    25 fps (--realtime)."""
    out = tmp_path / "p.jsonl"
    run = run_cli("--source", str(video_file), "--name", "a", "--source", str(video_file), "--name", "b",
                  "--realtime", "--headless", "--jsonl", str(out), "--provider", "cpu")
    assert run.returncode == 0, run.stderr
    records = lines(out)
    for name in ("a", "b"):
        captured, classified = map(int, re.search(rf" {name}: (\d+) captured, (\d+) classified", run.stderr).groups())
        frames = [r["frame"] for r in records if r["camera"] == name]
        assert captured == 60 and len(frames) == classified > 0, (name, frames, run.stderr)
        assert frames == sorted(set(frames)) and frames[-1] == 59, frames  # the last frame is always classified
        times = [r["time"] for r in records if r["camera"] == name]  # capture times, wall clock
        per_frame = (times[-1] - times[0]) / (frames[-1] - frames[0])
        assert 0.8 / 25 < per_frame < 1.5 / 25, f"{name}: {1 / per_frame:.1f} fps, not the file's 25"


@pytest.mark.skipif(MOSQUITTO is None, reason="needs mosquitto: apt-get install mosquitto")
def test_each_camera_s_mqtt_messages_keep_min_confidence(
        live_cli: type[LiveCli], tmp_path: Path) -> None:
    """Two cameras, --min-confidence 0.99 (above any answer here): every prediction message of each says unknown."""
    broker = Broker(tmp_path)
    broker.start()
    subscriber = Subscriber(broker.port)
    try:
        with MjpegServer(CHELSEA) as cat, MjpegServer(COFFEE) as cup:
            cli = live_cli("--source", cat.url, "--name", "door", "--source", cup.url, "--name", "yard", "--headless",
                           "--provider", "cpu", "--jsonl", os.devnull, "--mqtt", broker.url, "--min-confidence", "0.99")
            for _ in range(5):
                for name in ("door", "yard"):
                    message = subscriber.next(f"{PREFIX}/{name}/prediction")
                    assert message["unknown"] is True and message["top"][0]["score"] < 0.99, message
            cli.signal(signal.SIGINT)
            assert cli.finish().returncode == 0
    finally:
        subscriber.close()
        broker.stop()


@pytest.mark.skipif(MOSQUITTO is None, reason="needs mosquitto: apt-get install mosquitto")
def test_the_mqtt_status_of_a_camera_not_reached_yet_says_it_reconnects(
        live_cli: type[LiveCli], tmp_path: Path) -> None:
    """While the other camera's frames flow, the missing one's retained status says so; once it
    appears, it says it captures."""
    broker, port = Broker(tmp_path), free_port()
    broker.start()
    subscriber = Subscriber(broker.port)
    try:
        with MjpegServer(CHELSEA) as present:
            cli = live_cli("--source", present.url, "--name", "a", "--source", f"http://127.0.0.1:{port}/",
                           "--name", "r", "--headless", "--provider", "cpu", "--jsonl", os.devnull,
                           "--mqtt", broker.url)
            for _ in range(2):  # not only at the start: every few seconds while a's frames flow
                missing = subscriber.next(f"{PREFIX}/r/status", where=lambda p: p.get("reconnecting") is True)
                assert (missing["state"], missing["captured"]) == ("online", 0), missing
            online = subscriber.next(f"{PREFIX}/a/status", where=lambda p: p["state"] == "online")
            assert online["reconnecting"] is False
            with MjpegServer(COFFEE, port=port):
                back = subscriber.next(f"{PREFIX}/r/status", where=lambda p: p["captured"] > 0)
                assert back["reconnecting"] is False and back["state"] == "online", back
                cli.signal(signal.SIGINT)
                assert cli.finish().returncode == 0
    finally:
        subscriber.close()
        broker.stop()
