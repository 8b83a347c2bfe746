"""benchmarks/run.py's own command line: where a run writes, and what its report says was run."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path
from types import ModuleType, SimpleNamespace

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_benchmark(script: str) -> ModuleType:
    """A benchmark script as a module (registered, so that its dataclasses can find it)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(f"bench_{script}", ROOT / "benchmarks" / f"{script}.py")
    assert spec and spec.loader
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("run")


def git_ignores(path: Path) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT).returncode == 0


def test_a_run_never_writes_over_the_committed_reports_by_default(bench: ModuleType) -> None:
    out = bench.default_out("vm", time.gmtime(0))
    assert out.parent == ROOT / "benchmarks" / "results" and out.name == "local-vm-19700101-000000"
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot ask git what it ignores")
    assert git_ignores(out / "vm.md") and git_ignores(out / "vm-latency.png"), "a local run is never committed"
    assert not git_ignores(ROOT / "benchmarks" / "results" / "vm.md"), "the committed report stays tracked"


def test_the_report_names_the_command_that_made_it(bench: ModuleType) -> None:
    assert bench.produced_by({"quick": False, "only": list(bench.SECTIONS)}) == "python benchmarks/run.py"
    assert (bench.produced_by({"quick": True, "only": ["inference", "preprocess"]})
            == "python benchmarks/run.py --quick --only inference,preprocess")
    assert bench.produced_by({"quick": False}) == "python benchmarks/run.py", "older reports had no 'only'"


def test_the_help_says_where_it_writes_and_how_long_quick_takes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "--out DIR" in text and "local-<host>-<date>" in text
    assert "--quick" in text and "minutes" in text.split("--quick", 2)[-1].split("--only")[0]


# -- benchmarks/recording.py ------------------------------------------------------------------

@pytest.fixture(scope="module")
def recording() -> ModuleType:
    return load_benchmark("recording")


def test_the_recording_benchmark_says_what_it_measures_and_where_it_writes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "recording.py"), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "--out DIR" in text and "local-<host>-<date>" in text and "--quick" in text


def test_the_recording_quality_is_measured_against_the_very_frames_written(recording: ModuleType,
                                                                        tmp_path: Path) -> None:
    row = recording.measure_scene("pan", (320, 240), 12, tmp_path)
    for kind in ("mp4", "avi"):
        assert row[kind]["frames_read_back"] == 12, kind
        assert row[kind]["psnr_min_db"] > 30, f"{kind}: a frame compared with another than the one written"
    assert row["avi_over_mp4"] > 1 and row["mp4"]["mb_per_hour"] > 0


def test_the_encoding_clip_plays_back_and_forth_without_a_cut(recording: ModuleType) -> None:
    indices = list(recording.ping_pong(20, 5))
    assert set(indices) == set(range(5)) and indices[:6] == [0, 1, 2, 3, 4, 3]
    assert all(abs(a - b) == 1 for a, b in pairwise(indices))


def test_the_summary_lines_of_the_command_are_read(recording: ModuleType) -> None:
    stderr = ("live-classify: 600 frames captured, 540 classified, 60 dropped, 0 reconnects in 20.0 s\n"
              "live-classify: capture 30.0 fps, inference 27.0 fps; latency p50 16 ms, p95 40 ms; "
              "CPUExecutionProvider\n"
              "live-classify: recorded 590 frames to x.mp4 at 30 fps (the source's times), "
              "10 dropped: the encoder fell behind\n")
    row = recording.parse_summary(stderr)
    assert (row["captured"], row["classified"], row["dropped"], row["elapsed_s"]) == (600, 540, 60, 20.0)
    assert (row["capture_fps"], row["inference_fps"], row["recorded"], row["encoder_dropped"]) == (30.0, 27.0, 590, 10)
    assert recording.parse_summary(stderr.splitlines()[0])["recorded"] == 0


# -- benchmarks/many_cameras.py ---------------------------------------------------------------

@pytest.fixture(scope="module")
def cams() -> ModuleType:
    return load_benchmark("many_cameras")


def test_the_fake_cameras_nth_send_time_is_the_readers_nth_frame() -> None:
    """What lets the benchmark match the command's frame numbers to the camera's send times."""
    from mjpeg_server import MjpegServer, read_time

    from live_classify.sources.capture import VideoSource, parse_video_source
    from live_classify.sources.picture import pixels

    with MjpegServer(ROOT / "tests" / "data" / "coffee.png", fps=60) as camera:
        source = VideoSource(parse_video_source(camera.url))
        try:
            stamped = [read_time(pixels(source.read())) for _ in range(12)]  # type: ignore[arg-type]
        finally:
            source.release()
        sent = camera.camera.sent_times
    assert stamped == [int(t * 1000) / 1000 for t in sent[:12]]


def test_each_camera_shows_a_picture_of_its_own(cams: ModuleType) -> None:
    pictures = cams.pictures(8)
    assert len(pictures) == 8
    assert all(not np.array_equal(a, b) for i, a in enumerate(pictures) for b in pictures[i + 1:] if a.shape == b.shape)
    with pytest.raises(ValueError):
        cams.pictures(9)


def test_a_replayed_camera_keeps_the_time_each_frame_was_sent(cams: ModuleType) -> None:
    camera = cams.ReplayCamera(cams.pictures(1)[0], frames=3)
    assert camera.sent_times == [] and camera.count == 0
    jpegs = [camera.next_jpeg() for _ in range(7)]
    assert len(camera.sent_times) == 7 and camera.sent_times == sorted(camera.sent_times)
    assert jpegs[:3] == jpegs[3:6] and len(set(jpegs[:3])) == 3
    assert cv2.imdecode(np.frombuffer(jpegs[0], np.uint8), cv2.IMREAD_COLOR).shape == (480, 640, 3)


def test_the_three_configurations_start_the_command_as_a_user_would(cams: ModuleType, tmp_path: Path) -> None:
    urls = ["http://127.0.0.1:1/", "http://127.0.0.1:2/"]
    (a,) = cams.launches("a", urls, tmp_path, ["--provider", "cpu"])
    assert a.camera is None and a.argv.count("--source") == 2 and a.argv[a.argv.index("--max-batch") + 1] == "2"
    assert a.argv[a.argv.index(urls[1]) + 1 : a.argv.index(urls[1]) + 3] == ["--name", "cam1"]
    assert a.argv[-2:] == ["--jsonl", str(a.jsonl)] and "--headless" in a.argv and "cpu" in a.argv
    (b,) = cams.launches("b", urls, tmp_path, [])
    assert b.argv[b.argv.index("--max-batch") + 1] == "1"
    assert cams.launches("a", urls[:1], tmp_path, [])[0].camera == "cam0", "one camera's lines may not name it"
    c = cams.launches("c", urls, tmp_path, [])
    assert [launch.camera for launch in c] == ["cam0", "cam1"] and len({launch.jsonl for launch in c}) == 2
    assert all(launch.argv.count("--source") == 1 and "--name" not in launch.argv for launch in c)


def line(frame: int, captured: float, latency_ms: float) -> dict:
    return {"frame": frame, "time": captured, "latency_ms": latency_ms}


def test_a_cameras_figures_count_the_window_and_run_from_the_send_time(cams: ModuleType) -> None:
    sent = [100.0 + i / 10 for i in range(30)]  # 10 fps, frames 0..29 sent from t = 100.0 to 102.9
    lines = [line(i, sent[i] + 0.005, 20) for i in range(0, 30, 2)]  # every other frame, 25 ms after it was sent
    lines.append(line(19, sent[19] + 0.005, 200))  # sent in the window, its result after it: late, not dropped
    lines.append(line(40, 104.0, 10))  # a frame the camera never sent (a reconnect): left out
    got = cams.camera_figures(lines, sent, 101.0, 102.0)
    assert got["sent"] == 10 and got["sent_fps"] == 10  # frames 10..19
    assert got["classified"] == 5 and got["classified_fps"] == 5  # frames 10, 12, ... 18 ready in the window
    assert got["dropped"] == 4  # 11, 13, 15, 17
    assert got["latencies_ms"] == pytest.approx([25] * 5)
    assert got["latency_p50_ms"] == pytest.approx(25)
    assert got["captured_before_sent"] == 0
    shifted = cams.camera_figures([{**x, "frame": x["frame"] + 1} for x in lines], sent, 101.0, 102.0)
    assert shifted["captured_before_sent"] == 16, "frame numbers one ahead of the camera's: every result says so"


def test_a_run_is_fair_only_when_every_camera_keeps_its_rate(cams: ModuleType) -> None:
    def camera(classified_fps: float, latencies_ms: tuple[float, ...] = (10, 30)) -> dict:
        return {"classified": int(classified_fps * 10), "classified_fps": classified_fps, "sent_fps": 30, "sent": 300,
                "dropped": 300 - int(classified_fps * 10), "latencies_ms": list(latencies_ms)}

    fair = cams.run_figures({"cam0": camera(30), "cam1": camera(27, (50, 70))}, cpu_s=5.7,
                            memory=[{"rss": 200, "pss": 150}, {"rss": 100, "pss": 50}])
    assert fair["keeps_up"] and (fair["fps_min"], fair["fps_mean"], fair["fps_max"]) == (27, 28.5, 30)
    assert fair["cpu_ms_per_frame"] == 10 and fair["dropped"] == 30 and fair["dropped_pct"] == 5
    assert "latencies_ms" not in fair["cameras"]["cam0"], "the report keeps percentiles, not every sample"
    assert (fair["latency_p50_ms"], fair["latency_p95_ms"]) == (40, 67), "pooled over the cameras' frames"
    assert (fair["pss_mb"], fair["rss_mb"]) == (200, 300), "summed over the processes"
    starved = cams.run_figures({"cam0": camera(30), "cam1": camera(26.9)}, cpu_s=1, memory=[])
    assert not starved["keeps_up"]


def test_the_report_finds_the_largest_n_at_the_cameras_rate_and_the_ratios(cams: ModuleType) -> None:
    def run(config: str, n: int, fps: float, keeps_up: bool, pss: float) -> dict:
        return {"config": config, "cameras_n": n, "fps_min": fps, "fps_mean": fps, "fps_max": fps, "latency_p50_ms": 10,
                "latency_p95_ms": 20, "dropped_pct": 0, "cpu_ms_per_frame": 12, "pss_mb": pss, "rss_mb": pss,
                "load_1min": 1.0, "keeps_up": keeps_up}

    runs = [run("a", 1, 30, True, 200), run("a", 2, 30, True, 220), run("a", 4, 20, False, 250),
            run("c", 1, 30, True, 200), run("c", 2, 28, True, 400), run("c", 2, 26, False, 400),
            run("c", 4, 10, True, 800)]
    report = cams.summarize(runs)
    assert report["largest_n_at_own_rate"] == {"a": 2, "c": 1}, "N=2 failed one round of two; N=4 never counts after"
    assert report["means"]["c"]["2"]["fps_mean"] == 27
    assert report["ratios_a_over_c"]["2"]["fps_mean"] == round(30 / 27, 2)
    assert report["ratios_a_over_c"]["4"]["pss_mb"] == round(250 / 800, 2)


def test_the_configurations_are_interleaved(cams: ModuleType) -> None:
    order = list(cams.interleaved(["a", "b", "c"], [1, 2], rounds=2))
    assert order == [("a", 1), ("b", 1), ("c", 1), ("c", 2), ("b", 2), ("a", 2),
                     ("a", 1), ("b", 1), ("c", 1), ("c", 2), ("b", 2), ("a", 2)]


def test_the_many_cameras_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """A smoke run, a second's window: the script still drives the command and writes its report."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "many_cameras.py"), "--cameras", "2",
                           "--seconds", "1", "--warmup", "0", "--rounds", "1", "--provider", "cpu",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(next(tmp_path.glob("many-cameras-*.json")).read_text())
    runs = [(run["config"], run["cameras_n"], run["exit_codes"]) for run in report["runs"]]
    assert runs == [("a", 2, [0]), ("b", 2, [0]), ("c", 2, [0, 0])]
    for run in report["runs"]:
        assert set(run["cameras"]) == {"cam0", "cam1"}, run["config"]
        assert all(camera["sent"] > 0 and camera["captured_before_sent"] == 0 for camera in run["cameras"].values())
    text = next(tmp_path.glob("many-cameras-*.md")).read_text()
    assert all(f"| 2 | ({c}) {label} |" in text for c, label in report["configs"].items())
    assert set(report["ratios_a_over_c"]) == {"2"} and "## (a) one batched process / (c)" in text
    assert next(tmp_path.glob("many-cameras-*.png")).stat().st_size > 0


def test_the_gate_benchmark_scores_each_camera_s_changes_on_its_own_lines_only() -> None:
    """benchmarks/gate.py's "no change missed" and latency: a change is seen when a line *of that
    camera* names the new scene; another camera showing the same scene does not count for it."""
    gate = load_benchmark("gate")

    def camera(changes: list[tuple[float, int]]) -> SimpleNamespace:
        return SimpleNamespace(camera=SimpleNamespace(changes=changes))

    def line(name: str, t: float, latency_ms: float, label: str) -> dict:
        return {"camera": name, "time": t, "latency_ms": latency_ms, "top": [{"label": label}]}

    labels = [{"tabby"}, {"espresso"}]
    servers = [camera([(100.0, 0), (110.0, 1)]), camera([(100.0, 0), (110.0, 1)])]
    lines = [line("cam0", 100.05, 30, "tabby"), line("cam0", 110.1, 20, "espresso"),
             line("cam1", 100.1, 50, "tabby"), line("cam1", 110.5, 40, "tabby")]  # cam1 never saw espresso
    score = gate.changes_seen(servers, lines, labels, end=120.0)
    assert (score["changes"], score["missed"]) == (4, 1), "cam1's change to espresso was never named by cam1"
    assert score["latency_ms_p50"] == pytest.approx(120.0), "latencies 80, 120 and 150 ms, each camera's own"
