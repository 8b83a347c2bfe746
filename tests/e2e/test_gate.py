"""``--gate motion`` through the real command: a live camera that switches scenes is classified as the
new one while its still frames are counted and write no line; a still camera writes a line per
refresh only; a mostly still file is classified at its scene changes; per-camera settings from a
configuration file; bad values are one line and exit 2."""
from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import pytest
from conftest import CHELSEA, COFFEE, LiveCli, assert_clean_error, run_cli
from mjpeg_server import MjpegServer
from prometheus_client.parser import text_string_to_metric_families
from scenes import DIP
from web_client import CHROMIUM, free_port, get, read_page, status

# The fake camera's burnt-in parts, which change every frame: the time bits along the top, the
# frame number at the bottom left (640x480). A camera's clock overlay is the same case.
STAMPS = ("--gate-mask", "0,0,400,12", "--gate-mask", "0,410,260,70")
SCENE_CHANGES = [0, 20, DIP, DIP + 1, 50, 70, 100]  # the scenes fixture's classified frames with the gate


def lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.endswith("}")]


def label(line: dict) -> str:
    return line["top"][0]["label"]


def counts(stderr: str) -> dict[str, int]:
    """The one camera's summary line: captured, classified, gated."""
    found = re.search(r"(\d+) frames captured, (\d+) classified, (\d+) gated \(still\)", stderr)
    assert found, stderr
    return dict(zip(("captured", "classified", "gated"), map(int, found.groups()), strict=True))


def test_a_live_camera_switching_scenes_is_classified_as_the_new_one_and_its_still_frames_are_gated(
        live_cli: type[LiveCli], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with MjpegServer(CHELSEA, fps=30) as camera:
        cli = live_cli("--source", camera.url, "--provider", "cpu", "--headless", "--jsonl", str(out),
                       "--gate", "motion", "--gate-refresh", "1", *STAMPS)
        cli.wait_for(lambda: len(lines(out)) >= 3, timeout=90, what="a line per refresh")
        cli.wait_for(lambda: camera.sent >= 40, what="more frames")
        camera.camera.base = cv2.resize(cv2.imread(str(COFFEE)), (640, 480), interpolation=cv2.INTER_AREA)
        cli.wait_for(lambda: any(label(line) == "espresso" for line in lines(out)), timeout=60, what="espresso")
        cli.process.terminate()
        done = cli.finish(timeout=60)
    assert done.returncode == 0, done.stderr
    got = lines(out)
    cat = got[:[label(line) for line in got].index("espresso")]
    assert cat and all(label(line) != "espresso" for line in cat)
    gaps = [b["time"] - a["time"] for a, b in zip(cat, cat[1:], strict=False)]
    assert gaps and min(gaps) > 0.9, "while still, one line per refresh (1 s), no more"
    figures = counts(done.stderr)
    assert figures["gated"] > 0 and figures["classified"] + figures["gated"] <= figures["captured"], figures


@pytest.mark.skipif(not CHROMIUM, reason="needs a browser: apt-get install chromium")
def test_still_cameras_tiles_say_so_and_the_status_and_metrics_count_their_gated_frames(
        live_cli: type[LiveCli], tmp_path: Path) -> None:
    with MjpegServer(CHELSEA, fps=15) as door, MjpegServer(COFFEE, fps=15) as yard:
        port = free_port()
        cli = live_cli("--source", door.url, "--name", "door", "--source", yard.url, "--name", "yard",
                       "--provider", "cpu", "--headless", "--jsonl", str(tmp_path / "out.jsonl"),
                       "--serve", f"127.0.0.1:{port}", "--gate", "motion", *STAMPS)
        cli.wait_for_stderr("serving http://", timeout=60)
        expression = ("JSON.stringify(Array.from(document.querySelectorAll('#tiles figure')).map((tile) => ({"
                      "name: tile.querySelector('strong').textContent, "
                      "state: tile.querySelector('small').textContent})))")
        still = "still: label kept, not re-checked"
        tiles = read_page(port, tmp_path / "profile", expression,
                          lambda page: len(page) == 2 and all(still in tile["state"] for tile in page))
        assert [(t["name"], still in t["state"]) for t in tiles] == [("door", True), ("yard", True)], tiles
        # Each rate under its own name: a still camera is captured at its 15 fps and classified (nearly) never.
        rates = [re.search(r"capture (\d+) fps · inference (\d+) fps", t["state"]) for t in tiles]
        assert all(r and int(r[1]) >= 5 and int(r[2]) < int(r[1]) for r in rates), tiles
        cameras = {c["name"]: c for c in status(port)["cameras"]}
        assert all(c["gated"] > 0 and c["classified"] < c["captured"] for c in cameras.values()), cameras
        scraped = {(s.name, s.labels["camera"]): s.value for family in
                   text_string_to_metric_families(get(port, "/metrics")[1].decode()) for s in family.samples
                   if s.name == "live_classify_frames_gated_total"}
        assert scraped[("live_classify_frames_gated_total", "door")] > 0, scraped
        assert scraped[("live_classify_frames_gated_total", "yard")] > 0, scraped


@pytest.mark.skipif(not CHROMIUM, reason="needs a browser: apt-get install chromium")
def test_one_still_camera_s_page_says_so_and_counts_its_gated_frames(live_cli: type[LiveCli], tmp_path: Path) -> None:
    # One camera: the page has no tiles, its state and "captured / classified / gated / dropped" say it.
    with MjpegServer(CHELSEA, fps=15) as door:
        port = free_port()
        cli = live_cli("--source", door.url, "--provider", "cpu", "--headless", "--serve", f"127.0.0.1:{port}",
                       "--gate", "motion", *STAMPS)
        cli.wait_for_stderr("serving http://", timeout=60)
        expression = ("JSON.stringify({state: document.getElementById('state').textContent, "
                      "frames: document.getElementById('frames').textContent})")
        page = read_page(port, tmp_path / "profile", expression,
                         lambda page: "still: label kept" in page.get("state", "")
                         and page.get("frames", "").count("/") == 3 and int(page["frames"].split(" / ")[2]) > 0)
    assert "still: label kept, not re-checked" in page.get("state", ""), page
    assert page["frames"].count(" / ") == 3, f"not captured / classified / gated / dropped: {page}"
    captured, classified, gated, _ = (int(n) for n in page["frames"].split(" / "))
    assert gated > 0 and classified + gated <= captured, page


def test_a_still_file_is_classified_at_its_scene_changes_and_the_summary_counts_the_rest(scenes: Path,
                                                                                          tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", "--jsonl", str(out), "--gate", "motion")
    assert run.returncode == 0, run.stderr
    assert [line["frame"] for line in lines(out)] == SCENE_CHANGES
    assert [label(line) == "espresso" for line in lines(out)] == [False, True, False, True, False, True, False]
    assert counts(run.stderr) == {"captured": 120, "classified": 7, "gated": 113}


def test_a_mask_over_the_whole_frame_warns_and_leaves_only_the_refresh(scenes: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", "--jsonl", str(out), "--gate", "motion",
                  "--gate-mask", "0,0,320,120", "--gate-mask", "0,120,320,120", "--gate-refresh", "5s")
    assert run.returncode == 0, run.stderr
    assert "--gate-mask: the masks cover the whole 320x240 frame: only the refresh (--gate-refresh) will classify" \
        in run.stderr
    assert [line["frame"] for line in lines(out)] == [0, 50, 100], "the first frame, then every 5 s of the file"


def test_the_threshold_decides_which_pixels_changed(scenes: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", "--jsonl", str(out), "--gate", "motion",
                  "--gate-threshold", "255", "--gate-refresh", "5s")
    assert run.returncode == 0, run.stderr
    assert [line["frame"] for line in lines(out)] == [0, 50, 100], "no pixel differs by more than 255: only refreshes"
    assert counts(run.stderr) == {"captured": 120, "classified": 3, "gated": 117}


@pytest.mark.parametrize("flags, why", [
    (["--gate-mask", "0,0,-5,10"], "--gate-mask must be X,Y,W,H in the source's pixels"),
    (["--gate-mask", "10,10"], "--gate-mask must be X,Y,W,H"),
    (["--gate-mask", "10,10,0,5"], "--gate-mask must be X,Y,W,H in the source's pixels"),
    (["--gate-refresh", "0"], "--gate-refresh must be a number of seconds above 0"),
    (["--gate-threshold", "300"], "--gate-threshold must be a whole number from 1 to 255"),
    (["--gate-threshold", "0"], "--gate-threshold must be a whole number from 1 to 255"),
    (["--gate-area", "0"], "--gate-area must be a percentage above 0, at most 100"),
    (["--gate", "sometimes"], "argument --gate: invalid choice: 'sometimes'"),
])
def test_bad_values_are_one_line_and_exit_2(flags: list[str], why: str, scenes: Path) -> None:
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", "--gate", "motion", *flags)
    assert_clean_error(run, why)
    assert run.returncode == 2


def test_a_mask_beyond_the_frame_is_one_line_and_exit_2(scenes: Path) -> None:
    run = run_cli("--source", str(scenes), "--headless", "--provider", "cpu", "--gate", "motion",
                  "--gate-mask", "300,0,40,10", "--jsonl", "-")
    assert_clean_error(run, "--gate-mask 300,0,40,10 reaches beyond the 320x240 frame")
    assert run.returncode == 2 and not run.stdout


def test_each_camera_of_a_configuration_file_has_its_own_gate(scenes: Path, tmp_path: Path) -> None:
    (tmp_path / "box.toml").write_text(
        f'headless = true\njsonl = "out.jsonl"\nprovider = "cpu"\n\n[[camera]]\nname = "gated"\nsource = "{scenes}"\n'
        'gate = "motion"\ngate-refresh = 100\ngate-mask = ["0,0,10,10", "300,200,20,40"]\ngate-threshold = 30\n'
        'gate-area = 0.1\n\n[[camera]]\nname = "every"\nsource = ' f'"{scenes}"\n')
    run = run_cli("--config", "box.toml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    frames = {name: [line["frame"] for line in lines(tmp_path / "out.jsonl") if line["camera"] == name]
              for name in ("gated", "every")}
    assert frames == {"gated": SCENE_CHANGES, "every": list(range(120))}
    assert re.search(r"gated: 120 captured, 7 classified \(.*\), 113 gated \(still\), ", run.stderr), run.stderr
    assert "all 2 cameras: 240 captured, 127 classified, 113 gated (still), " in run.stderr, "one camera gated"
    (tmp_path / "box.toml").write_text(f'[[camera]]\nsource = "{scenes}"\ngate = "motion"\ngate-mask = ["0,0,-5,10"]\n')
    refused = run_cli("--config", "box.toml", cwd=tmp_path)
    assert_clean_error(refused, "box.toml:4: gate-mask must be X,Y,W,H")
    assert refused.returncode == 2

