"""``--config`` reloaded on SIGHUP through the real command: three fake cameras, a run reloaded
while it goes on — a camera removed and one added (the untouched one never pauses), a broken file
(refused, the run goes on) — and SIGHUP without ``--config`` still a clean stop."""
from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import CHELSEA, COFFEE, DATA, LiveCli
from mjpeg_server import MjpegServer

MAX_GAP_S = 1.0  # the untouched camera's longest wait between two classified frames, over a reload


@pytest.fixture
def three_cameras() -> Iterator[list[MjpegServer]]:
    with MjpegServer(CHELSEA, fps=15) as a, MjpegServer(COFFEE, fps=15) as b, \
            MjpegServer(DATA / "rocket.jpg", fps=15) as c:
        yield [a, b, c]


def box(cameras: dict[str, MjpegServer], extra: str = "") -> str:
    """A configuration file: the JSON lines to p.jsonl, one [[camera]] per entry."""
    text = f'provider = "cpu"\nheadless = true\njsonl = "p.jsonl"\n{extra}'
    for name, camera in cameras.items():
        text += f'\n[[camera]]\nname = "{name}"\nsource = "{camera.url}"\n'
    return text


def lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


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
    assert max(gaps) < MAX_GAP_S, f"door paused {max(gaps):.2f} s"
    assert "door: restarting" not in cli.stderr and "hall: removed" in cli.stderr and "yard: started" in cli.stderr

    config.write_text(box({"door": a, "yard": c}, 'segmnet = "10m"\n'))
    cli.signal(signal.SIGHUP)
    cli.wait_for_stderr("reload refused")
    refused = next(line for line in cli.stderr_lines if "reload refused" in line)
    assert "box.toml:4: unknown key 'segmnet'" in refused and "the run goes on as it was" in refused
    before = len(lines(out))
    cli.wait_for(lambda: min(len(of(lines(out)[before:], n)) for n in ("door", "yard")) >= 10, 60, "lines go on")

    config.write_text(box({"door": a, "yard": c}, "smooth = 0.5\n"))  # every camera's keys changed
    cli.signal(signal.SIGHUP)
    cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == 2, 60, "the second reload")
    assert "door: restarting" in cli.stderr and "yard: restarting" in cli.stderr
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr


def test_sighup_without_config_is_a_clean_stop(camera: MjpegServer, live_cli: type[LiveCli], tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    cli = live_cli("--source", camera.url, "--provider", "cpu", "--headless", "--jsonl", str(out))
    cli.wait_for(lambda: len(lines(out)) >= 5, 60, "the first lines")
    cli.signal(signal.SIGHUP)
    run = cli.finish()
    assert run.returncode == 0 and "SIGHUP: stopping" in run.stderr, run.stderr
