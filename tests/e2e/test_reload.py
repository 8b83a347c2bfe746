"""``--config`` reloaded on SIGHUP through the real command: three fake cameras, a run reloaded
while it goes on — a camera removed and one added (the untouched one never pauses), a broken file
(refused, the run goes on), a model swapped between two frames — ``--watch-model``, and SIGHUP
without ``--config`` still a clean stop."""
from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from boxes import box, lines
from conftest import CHELSEA, COFFEE, DATA, LiveCli, count_frames
from foreign_models import pooled_classifier
from mjpeg_server import MjpegServer
from mqtt_broker import MOSQUITTO, PREFIX, Broker, Subscriber
from web_client import free_port, get

TOKEN, PASSWORD = "t0ken-of-the-box", "pa55-of-the-door"
MAX_GAP_S = 1.0  # the untouched camera's longest wait between two classified frames, over a reload


@pytest.fixture
def three_cameras() -> Iterator[list[MjpegServer]]:
    with MjpegServer(CHELSEA, fps=15) as a, MjpegServer(COFFEE, fps=15) as b, \
            MjpegServer(DATA / "rocket.jpg", fps=15) as c:
        yield [a, b, c]




def of(records: list[dict], camera: str) -> list[dict]:
    return [r for r in records if r["camera"] == camera]


def test_a_reload_ends_starts_and_leaves_the_untouched_camera_alone(
        three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    a, b, c = three_cameras
    config, out = tmp_path / "box.toml", tmp_path / "p.jsonl"
    config.write_text(box({"door": a, "hall": b}))
    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for(lambda: min(len(of(lines(out), n)) for n in ("door", "hall")) >= 20, 60, "both cameras' lines")
    config.write_text(box({"door": a, "yard": c}))
    cli.signal(signal.SIGHUP)
    cli.wait_for_stderr("configuration reloaded")
    reloaded = len(lines(out))
    cli.wait_for(lambda: len(of(lines(out)[reloaded:], "yard")) >= 20, 60, "the added camera's lines")
    after = lines(out)[reloaded:]
    assert of(after, "door") and not of(after[len(after) // 2:], "hall"), "hall was removed"
    door = of(lines(out), "door")
    frames, times = [r["frame"] for r in door], [r["time"] for r in door]
    assert frames == sorted(set(frames)), "door restarted: its frames counted from 0 again"
    gaps = [later - earlier for earlier, later in pairwise(times)]
    before = gaps[2:len(of(lines(out)[:reloaded], "door")) - 1]  # door's own pauses before the reload
    allowed = max(MAX_GAP_S, 1.5 * max(before, default=0.0))  # a loaded machine's pauses are not the reload's
    assert max(gaps) < allowed, f"door paused {max(gaps):.2f} s (allowed {allowed:.2f} s)"
    assert "door: restarting" not in cli.stderr
    assert "camera hall removed" in cli.stderr and "camera yard added" in cli.stderr

    config.write_text(box({"door": a, "yard": c}, 'segmnet = "10m"\n'))
    cli.signal(signal.SIGHUP)
    cli.wait_for_stderr("reload refused")
    refused = next(line for line in cli.stderr_lines if "reload refused" in line)
    assert "box.toml:4: unknown key 'segmnet'" in refused and "the run goes on as it was" in refused
    before = len(lines(out))
    cli.wait_for(lambda: min(len(of(lines(out)[before:], n)) for n in ("door", "yard")) >= 10, 60, "lines go on")

    tiny = tiny_model(tmp_path / "tiny.onnx", "tiny")
    swapped = len(lines(out))
    config.write_text(box({"door": a, "yard": c}, f'model = "{tiny}"\n'))
    cli.signal(signal.SIGHUP)
    cli.wait_for(lambda: min(len(of(new_labels(lines(out)[swapped:]), n)) for n in ("door", "yard")) >= 10, 60,
                 "the new model's labels")
    assert_swapped_between_two_frames(lines(out), "tiny-", ("door", "yard"))
    assert "door: restarting" not in cli.stderr

    config.write_text(box({"door": a, "yard": c}, f'model = "{tiny}"\nsmooth = 0.5\n'))  # every camera's keys
    cli.signal(signal.SIGHUP)
    cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == 3, 60, "the last reload")
    assert "door: restarting" in cli.stderr and "yard: restarting" in cli.stderr
    pid = cli.process.pid
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and cli.process.pid == pid


def test_a_camera_a_reload_adds_has_its_rate_over_its_own_lifetime_in_the_summary(
        three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    a, b, _ = three_cameras
    config, out = tmp_path / "box.toml", tmp_path / "p.jsonl"
    config.write_text(box({"door": a}))
    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for(lambda: len(of(lines(out), "door")) >= 40, 60, "door's lines")
    config.write_text(box({"door": a, "yard": b}))
    cli.signal(signal.SIGHUP)
    cli.wait_for(lambda: len(of(lines(out), "yard")) >= 20, 60, "the added camera's lines")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    found = {name: re.search(rf"{name}: \d+ captured, (\d+) classified \(([\d.]+) fps over its ([\d.]+) s\)",
                             run.stderr) for name in ("door", "yard")}
    (door_n, _, door_s), (yard_n, yard_fps, yard_s) = (found[n].groups() for n in ("door", "yard"))  # type: ignore[union-attr]
    assert float(yard_s) < float(door_s), run.stderr  # yard came later: a shorter life
    own, run_long = int(yard_n) / float(yard_s), int(yard_n) / float(door_s)  # over its life; over the run's
    assert abs(float(yard_fps) - own) <= 0.1 * own and float(yard_fps) > 1.5 * run_long, run.stderr


def tiny_model(path: Path, prefix: str) -> Path:
    """A tiny model whose three labels start with ``prefix``, written beside and renamed into place
    (as live-classify-train --out does)."""
    labels = json.dumps([f"{prefix}-{i}" for i in range(3)])
    partial = pooled_classifier(path.with_suffix(".part"), classes=3, softmax=True, metadata={"labels": labels})
    os.replace(partial, path)
    return path


def new_labels(records: list[dict], prefix: str = "tiny-") -> list[dict]:
    return [r for r in records if r["top"][0]["label"].startswith(prefix)]


def assert_swapped_between_two_frames(records: list[dict], prefix: str, cameras: tuple[str, ...] = ("door",)) -> None:
    """Each camera's lines: the old model's labels, then only the new one's, with no frame missing
    from the swap's batch (live frames may be replaced before inference, but never a pause)."""
    for camera in cameras:
        mine = of(records, camera)
        new = [r["top"][0]["label"].startswith(prefix) for r in mine]
        first = new.index(True)
        assert all(new[first:]), f"{camera}: an old label after the new model's first"
        frames, times = [r["frame"] for r in mine], [r["time"] for r in mine]
        assert frames == sorted(set(frames)), f"{camera}: its frames counted anew"
        assert times[first] - times[first - 1] < MAX_GAP_S, f"{camera}: paused {times[first] - times[first - 1]:.2f} s"


def test_watch_model_takes_up_the_model_file_replaced_on_disk(
        camera: MjpegServer, live_cli: type[LiveCli], tmp_path: Path) -> None:
    model, out = tiny_model(tmp_path / "m.onnx", "first"), tmp_path / "p.jsonl"
    cli = live_cli("--source", camera.url, "--name", "door", "--model", str(model), "--watch-model", "--provider",
                   "cpu", "--headless", "--jsonl", str(out))
    cli.wait_for(lambda: len(lines(out)) >= 10, 60, "the first model's lines")
    tiny_model(model, "second")
    cli.wait_for(lambda: len(new_labels(lines(out), "second-")) >= 10, 60, "the second model's lines")
    assert_swapped_between_two_frames([{**r, "camera": "door"} for r in lines(out)], "second-")
    cli.wait_for_stderr("model reloaded: 1 camera")  # no --config: no configuration was read again
    assert "configuration reloaded" not in cli.stderr and "1 cameras" not in cli.stderr
    model.write_bytes(b"not a model")
    cli.wait_for_stderr("reload refused")
    before = len(lines(out))
    cli.wait_for(lambda: len(new_labels(lines(out)[before:], "second-")) >= 10, 60, "the old model going on")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr


def test_a_sighup_while_the_run_starts_is_its_first_reload(camera: MjpegServer, live_cli: type[LiveCli],
                                                           tmp_path: Path) -> None:
    """``systemctl reload`` right after a start: the camera is open, the model still loading. The
    service must not die of it (SIGHUP's default action) but reload once it runs."""
    config, out = tmp_path / "box.toml", tmp_path / "p.jsonl"
    config.write_text(box({"door": camera}))
    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for_stderr("opened http")
    cli.signal(signal.SIGHUP)
    cli.wait_for(lambda: "configuration reloaded" in cli.stderr, 60, "the reload")
    cli.wait_for(lambda: len(lines(out)) >= 5, 60, "the first lines")
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr


def test_sighup_without_config_is_a_clean_stop(camera: MjpegServer, live_cli: type[LiveCli], tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    cli = live_cli("--source", camera.url, "--provider", "cpu", "--headless", "--jsonl", str(out))
    cli.wait_for(lambda: len(lines(out)) >= 5, 60, "the first lines")
    cli.signal(signal.SIGHUP)
    run = cli.finish()
    assert run.returncode == 0 and "SIGHUP: stopping" in run.stderr, run.stderr


def test_the_status_shows_the_running_configuration_masked_and_when_it_was_loaded(
        three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    a, b, _ = three_cameras
    (tmp_path / "token").write_text(TOKEN + "\n")
    port, config = free_port(), tmp_path / "box.toml"
    serve = f'serve = "127.0.0.1:{port}"\nserve-token-file = "token"\n'
    door = a.url.replace("http://", f"http://viewer:{PASSWORD}@")
    config.write_text(box({}, serve) + f'\n[[camera]]\nname = "door"\nsource = "{door}"\n')
    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for_stderr("serving http://")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert get(port, "/api/status")[0] == 401
    first = json.loads(get(port, "/api/status", auth)[1])["configuration"]
    assert 'serve-token = "***"' in first["text"] and "viewer:***@" in first["text"]
    assert TOKEN not in first["text"] and PASSWORD not in first["text"] and first["reloads"] == 0
    config.write_text(box({"hall": b}, serve) + f'\n[[camera]]\nname = "door"\nsource = "{door}"\n')
    cli.signal(signal.SIGHUP)
    cli.wait_for_stderr("configuration reloaded")
    after = json.loads(get(port, "/api/status", auth)[1])["configuration"]
    assert after["reloads"] == 1 and after["loaded"] >= first["loaded"] and 'name = "hall"' in after["text"]
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert TOKEN not in run.stderr and PASSWORD not in run.stderr


@pytest.mark.skipif(MOSQUITTO is None, reason="needs mosquitto: apt-get install mosquitto")
def test_a_removed_camera_ends_its_recording_and_says_offline(
        three_cameras: list[MjpegServer], live_cli: type[LiveCli], tmp_path: Path) -> None:
    """hall removed: its MQTT status goes offline and its recording is closed, playable, while door's
    goes on; then door's recording and threshold change, and door goes on without a restart."""
    a, b, _ = three_cameras
    broker = Broker(tmp_path)
    broker.start()
    subscriber = Subscriber(broker.port)
    config = tmp_path / "box.toml"
    outputs = f'record = "rec/"\nmqtt = "{broker.url}"\n'
    try:
        config.write_text(box({"door": a, "hall": b}, outputs))
        cli = live_cli("--config", str(config), cwd=tmp_path)
        for name in ("door", "hall"):
            subscriber.next(f"{PREFIX}/{name}/prediction")
        config.write_text(box({"door": a}, outputs))
        cli.signal(signal.SIGHUP)
        cli.wait_for_stderr("configuration reloaded")
        offline = subscriber.next(f"{PREFIX}/hall/status", where=lambda p: p["state"] == "offline")
        assert offline["captured"] > 0, offline
        cli.wait_for(lambda: count_frames(tmp_path / "rec" / "hall.mp4") > 0, 30, "hall's recording closed")
        online = subscriber.next(f"{PREFIX}/door/prediction")  # door goes on
        assert online["top"] and "unknown" not in online, online
        door = f'\n[[camera]]\nname = "door"\nsource = "{a.url}"\nrecord = "rec2/"\nmin-confidence = 0.999\n'
        config.write_text(box({}, outputs) + door)  # door's recording and threshold: neither restarts it
        cli.signal(signal.SIGHUP)
        cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == 2, 60, "the second reload")
        unknown = subscriber.next(f"{PREFIX}/door/prediction", where=lambda p: "unknown" in p)
        assert unknown["unknown"] is True, unknown
        cli.wait_for(lambda: count_frames(tmp_path / "rec2" / "door.mp4") > 0, 30, "door recording anew in rec2/")
        assert "door: restarting" not in cli.stderr
        config.write_text(box({}, outputs) + door + "smooth = 0.5\n")  # a restart: its recording goes on
        cli.signal(signal.SIGHUP)
        cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == 3, 60, "the third reload")
        recording = tmp_path / "rec2" / "door.mp4"
        before = count_frames(recording)
        cli.wait_for(lambda: count_frames(recording) > before + 15, 30, "door's recording going on")
        cli.signal(signal.SIGINT)
        run = cli.finish()
        assert run.returncode == 0, run.stderr
        assert "door: restarting" in run.stderr and "reload refused" not in run.stderr
        assert count_frames(tmp_path / "rec" / "door.mp4") > 0
    finally:
        subscriber.close()
        broker.stop()
