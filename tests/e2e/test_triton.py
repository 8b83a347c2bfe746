"""``--backend triton://...``: the model on a real Triton Inference Server on 127.0.0.1.

The server is PyTriton's ``tritonserver`` in a virtual environment of its own (``triton_env.py``),
serving the bundled model through onnxruntime, started once for the session. Where it cannot be
built or started the server tests are skipped, except in CI, where that is a failure. The URL, the
signature checks, the missing-client hint and the fallback's switching need no server.
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CHELSEA, COFFEE, LiveCli, assert_clean_error, count_frames, run_cli
from mjpeg_server import MjpegServer
from tcp_gate import TcpGate
from triton_env import TritonServer, TritonUnavailable, free_port

import live_classify.cli.main as cli
from live_classify.engine.backend import BackendUnavailable
from live_classify.engine.classifier import Classifier
from live_classify.engine.fallback import FallbackBackend
from live_classify.engine.model import ModelSpec, default_model_path, describe_model
from live_classify.engine.triton_backend import INSTALL_HINT, TritonBackend
from live_classify.engine.triton_signature import ServerModel, check_compatible
from live_classify.engine.triton_target import backend_url
from live_classify.errors import LiveClassifyError

MODEL = "efficientnet_lite0"


@pytest.fixture(scope="session")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    """One real server for the session; a test that kills it starts it again."""
    try:
        if importlib.util.find_spec("tritonclient") is None:
            raise TritonUnavailable(f"the tests' client is missing: {INSTALL_HINT}")
        server = TritonServer(default_model_path(), tmp_path_factory.mktemp("triton") / "server.log",
                              log_batches=True).start()
    except TritonUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to run the Triton server: {error}")
        pytest.skip(str(error))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return describe_model(default_model_path())


def jsonl(path: Path) -> list[dict]:
    """The whole lines written so far (one may be on its way)."""
    return [json.loads(line) for line in path.read_text().split("\n")[:-1]] if path.exists() else []


# -- no server needed ---------------------------------------------------------------------------

@pytest.mark.parametrize("url, protocol, port", [
    ("triton://10.0.0.5/m", "gRPC", 8001), ("triton+http://box/m", "HTTP", 8000),
    ("triton+grpc://box:9001/m/", "gRPC", 9001), ("triton://[::1]:8001/m", "gRPC", 8001),
])
def test_a_backend_url_names_protocol_host_port_and_model(url: str, protocol: str, port: int) -> None:
    target = backend_url(url)
    assert (target.protocol, target.port, target.model) == (protocol, port, "m")
    assert target.describe().endswith(f":{port}")


@pytest.mark.parametrize("url", ["http://box/m", "triton://box", "triton://box:99999/m", "triton://box/a/b",
                                 "triton://user:pw@box/m", "triton:///m"])
def test_a_bad_backend_url_is_a_bad_command_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--source", str(CHELSEA), "--backend", url])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--backend" in err and url in err, err


@pytest.mark.parametrize("url", ["triton://127.0.0.1:1/m", "triton+http://127.0.0.1:1/m"])
def test_without_tritonclient_one_line_says_how_to_install_it(url: str, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("tritonclient.grpc", "tritonclient.http"):
        monkeypatch.setitem(sys.modules, name, None)  # `import` now raises ImportError, as when not installed
    assert cli.main(["--source", str(CHELSEA), "--backend", url]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and INSTALL_HINT in lines[0] and "Traceback" not in lines[0], lines


def server_model(input_shape: list[object], input_type: str = "FP32", max_batch: object = 8,
                 outputs: tuple[str, ...] = ("logits",), input_name: str = "input") -> ServerModel:
    """A server's answers as gRPC gives them (numbers as strings)."""
    metadata = {"inputs": [{"name": input_name, "datatype": input_type, "shape": [str(d) for d in input_shape]}],
                "outputs": [{"name": name, "datatype": "FP32", "shape": ["-1", "1000"]} for name in outputs]}
    return ServerModel.of(metadata, {"max_batch_size": str(max_batch)} if max_batch else {})


def test_the_servers_model_matches_the_local_one_and_sets_the_batch(spec: ModelSpec) -> None:
    assert check_compatible(server_model([-1, 3, 224, 224]), spec, "server") == 8
    assert check_compatible(server_model([-1, 3, 224, 224], max_batch=None), spec, "server") is None
    assert check_compatible(server_model([4, 3, 224, 224], max_batch=None), spec, "server") == 4


@pytest.mark.parametrize("served, complaint", [
    (server_model([-1, 3, 160, 160]),
     "'input' as Nx3x160x160; the local model efficientnet_lite0.onnx has Nx3x224x224"),
    (server_model([3, 224, 224], max_batch=None), "as 3x224x224"),
    (server_model([-1, 3, 224, 224], input_type="FP16"), "'input' as FP16"),
    (server_model([-1, 3, 224, 224], input_name="images"), "inputs ['images']"),
    (server_model([-1, 3, 224, 224], outputs=("probabilities",)), "outputs ['probabilities']"),
])
def test_a_server_running_another_model_is_one_line(spec: ModelSpec, served: ServerModel, complaint: str) -> None:
    with pytest.raises(LiveClassifyError, match="^server") as raised:
        check_compatible(served, spec, "server")
    assert complaint in str(raised.value)


class FakeRemote:
    """A server that answers or not, as the test says."""

    classes, max_batch, short_name = 3, None, "Triton"
    target = backend_url("triton://box/m")

    def __init__(self) -> None:
        self.up = True
        self.tries = 0

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.tries += 1
        if not self.up:
            raise BackendUnavailable("Triton at box:8001 does not answer: Connection refused")
        return np.full((len(batch), 3), 1.0, np.float32)


class FakeLocal:
    classes, max_batch, short_name, normalize_on_device = 3, None, "CPU", False

    def batch_buffer(self, n: int) -> np.ndarray:
        return np.zeros((n, 3, 2, 2), np.float32)

    def infer(self, n: int) -> np.ndarray:
        return np.full((n, 3), 2.0, np.float32)


def test_the_fallback_classifies_here_while_the_server_is_down_and_goes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("live_classify.engine.fallback.time.monotonic", lambda: now[0])
    remote, lines = FakeRemote(), []
    backend = FallbackBackend(remote, FakeLocal(), lines.append)  # type: ignore[arg-type]
    assert backend.infer(1)[0, 0] == 1.0 and not lines
    remote.up = False
    assert backend.infer(1)[0, 0] == 2.0 and "classifying on CPU here" in lines[-1]
    tries = remote.tries
    assert backend.infer(2)[0, 0] == 2.0 and remote.tries == tries, "not tried again before the backoff"
    now[0] += 0.6
    assert backend.infer(1)[0, 0] == 2.0 and remote.tries == tries + 1, "tried again after 0.5 s"
    now[0] += 0.6
    assert backend.infer(1)[0, 0] == 2.0 and remote.tries == tries + 1, "the next wait is longer: 1 s"
    remote.up = True
    now[0] += 0.6
    assert backend.infer(1)[0, 0] == 1.0 and "answers again" in lines[-1] and len(lines) == 2


def fake_fallback(monkeypatch: pytest.MonkeyPatch) -> tuple[FallbackBackend, FakeRemote, list[str], list[float]]:
    """A fallback over a fake server and a fake local model, on a clock the test moves."""
    now = [100.0]
    monkeypatch.setattr("live_classify.engine.fallback.time.monotonic", lambda: now[0])
    remote, lines = FakeRemote(), []
    return FallbackBackend(remote, FakeLocal(), lines.append), remote, lines, now  # type: ignore[arg-type]


def test_the_fallbacks_retry_interval_grows_to_five_seconds_and_no_further(monkeypatch: pytest.MonkeyPatch) -> None:
    backend, remote, _, now = fake_fallback(monkeypatch)
    remote.up = False
    backend.infer(1)
    waits, last_try = [], now[0]
    while len(waits) < 12:  # step the clock 0.1 s at a time: each wait is measured, not assumed
        now[0] = round(now[0] + 0.1, 1)
        tries = remote.tries
        backend.infer(1)
        if remote.tries > tries:
            waits.append(round(now[0] - last_try, 1))
            last_try = now[0]
    assert waits == [0.5, 1.0, 2.0, 4.0] + [5.0] * 8, waits


def test_once_the_server_answers_again_it_is_said_once_and_the_backoff_starts_over(
        monkeypatch: pytest.MonkeyPatch) -> None:
    backend, remote, lines, now = fake_fallback(monkeypatch)
    remote.up = False
    for _ in range(4):  # down long enough for the wait to have grown
        backend.infer(1)
        now[0] += 5.0
    remote.up = True
    assert backend.infer(1)[0, 0] == 1.0 and not backend.falling_back
    for _ in range(3):
        now[0] += 0.01
        assert backend.infer(1)[0, 0] == 1.0
    assert len(lines) == 2, lines
    assert "here until it answers again" in lines[0] and "answers again: classifying there" in lines[1], lines
    assert not backend.falling_back and remote.tries == 8
    remote.up = False  # down again: the wait starts over at 0.5 s, not where it had grown to
    backend.infer(1)
    now[0] += 0.5
    tries = remote.tries
    backend.infer(1)
    assert remote.tries == tries + 1 and len(lines) == 3


REPOSITORY = Path(__file__).resolve().parents[2] / "deploy" / "triton" / "model_repository"


def test_the_deploy_model_repository_serves_the_bundled_model_as_the_boxes_expect_it() -> None:
    model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
    from google.protobuf import json_format, text_format

    folder = REPOSITORY / MODEL
    onnx = folder / "1" / "model.onnx"
    bundled = REPOSITORY.parents[2] / "models" / default_model_path().name  # the checkout's, not an install's copy
    assert onnx.is_symlink() and onnx.resolve() == bundled.resolve(), "referenced, not copied"
    assert onnx.read_bytes() == default_model_path().read_bytes()  # the model the boxes run
    parsed = text_format.Parse((folder / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    config = json_format.MessageToDict(parsed, preserving_proto_field_name=True)
    assert config["name"] == MODEL and config["backend"] == "onnxruntime" and "dynamic_batching" in config
    assert config["instance_group"][0]["kind"] in ("KIND_GPU", "KIND_CPU")

    def declared(entry: dict) -> dict:  # as the server's metadata will give it
        return {"name": entry["name"], "datatype": entry["data_type"].removeprefix("TYPE_"),
                "shape": [-1, *entry["dims"]]}

    metadata = {"inputs": [declared(e) for e in config["input"]], "outputs": [declared(e) for e in config["output"]]}
    spec = describe_model(onnx)
    assert spec.name == MODEL
    assert check_compatible(ServerModel.of(metadata, config), spec, "deploy/triton") == config["max_batch_size"]


# -- against the real server ----------------------------------------------------------------------

@pytest.mark.parametrize("http", [False, True], ids=["gRPC", "HTTP"])
def test_the_server_gives_the_local_answers_and_scores(triton: TritonServer, spec: ModelSpec, http: bool,
                                                      classifier: Classifier) -> None:
    remote = Classifier(spec, TritonBackend.open(backend_url(triton.url(MODEL, http)), spec, timeout=10))
    photos = [cv2.imread(str(CHELSEA)), cv2.imread(str(COFFEE))]
    for photo, there in zip(photos, remote.classify_batch(photos), strict=True):  # both photos in one request
        here = classifier.classify(photo)
        assert there.top.label == here.top.label
        assert np.abs(there.probabilities - here.probabilities).max() <= 1e-5
    local = classifier.backend
    np.copyto(local.batch_buffer(2), remote.backend.batch_buffer(2))  # the same two preprocessed photos
    assert np.abs(remote.backend.infer(2) - local.infer(2)).max() <= 1e-5, "the logits themselves"


def test_a_video_file_through_the_real_command_gets_the_local_answers(triton: TritonServer, video_file: Path,
                                                                     tmp_path: Path) -> None:
    runs = {}
    for name, extra in [("here", []), ("triton", ["--backend", triton.url(MODEL)])]:
        out = tmp_path / f"{name}.jsonl"
        done = run_cli("--source", str(video_file), "--headless", "--jsonl", str(out), *extra)
        assert done.returncode == 0, done.stderr
        runs[name] = jsonl(out)
    assert "inference on Triton at 127.0.0.1" in done.stderr
    assert len(runs["triton"]) == len(runs["here"]) == 60
    for here, there in zip(runs["here"], runs["triton"], strict=True):
        assert there["top"][0]["label"] == here["top"][0]["label"]
        assert max(abs(a["score"] - b["score"]) for a, b in zip(here["top"], there["top"], strict=True)) <= 1e-5


def test_several_cameras_go_to_the_server_in_one_request(triton: TritonServer, live_cli: type[LiveCli],
                                                         tmp_path: Path) -> None:
    out, logged = tmp_path / "out.jsonl", triton.log.stat().st_size
    with MjpegServer(CHELSEA) as cat, MjpegServer(COFFEE) as coffee:
        run = live_cli("--source", cat.url, "--name", "cat", "--source", coffee.url, "--name", "coffee", "--headless",
                       "--jsonl", str(out), "--batch-wait", "50", "--backend", triton.url(f"{MODEL}_unbatched"))
        run.wait_for(lambda: min(Counter(r["camera"] for r in jsonl(out)).get(c, 0) for c in ("cat", "coffee")) >= 20,
                     60, "20 lines from each camera")
        run.signal(signal.SIGINT)
        assert run.finish().returncode == 0, run.stderr
    answers = {camera: Counter(r["top"][0]["label"] for r in jsonl(out) if r["camera"] == camera)
               for camera in ("cat", "coffee")}
    assert answers["coffee"].most_common(1)[0][0] == "espresso" and not set(answers["cat"]) & {"espresso"}, answers
    with open(triton.log) as log:  # the server's model without dynamic batching: a batch of 2 is one request of 2
        log.seek(logged)
        assert f"batch {MODEL}_unbatched 2\n" in log.read()


def test_the_trace_names_the_server_and_local_engine_flags_are_said_to_do_nothing(triton: TritonServer) -> None:
    done = run_cli("--source", str(CHELSEA), "--trace", "--backend", triton.url(MODEL), "--threads", "2")
    assert done.returncode == 0, done.stderr
    stage3 = next(line for line in done.stdout.splitlines() if "[3 inference" in line)
    assert f"on Triton at 127.0.0.1:{triton.grpc_port} (gRPC)" in stage3 and "I/O binding" not in stage3, stage3
    assert ("warning: --threads does nothing with --backend (the server runs the model) "
            "unless --backend-fallback local") in done.stderr


def test_the_backend_flags_do_nothing_without_a_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--source", str(CHELSEA), "--backend-timeout", "5", "--backend-fallback", "local"]) == 0
    err = capsys.readouterr().err
    assert "warning: --backend-fallback does nothing without --backend" in err
    assert "warning: --backend-timeout does nothing without --backend" in err


@pytest.mark.parametrize("model, http, complaint", [
    ("no_such_model", False, "has no model 'no_such_model' ready"),
    ("no_such_model", True, "has no model 'no_such_model' ready"),
    ("wrong_shape", False, "model 'wrong_shape' has input 'input' as Nx3x160x160; the local model"),
    ("slow", False, "cannot classify: no answer within 0.5 s (--backend-timeout)"),
    ("slow", True, "cannot classify: no answer within 0.5 s (--backend-timeout)"),
])
def test_a_server_that_cannot_serve_our_model_is_one_line(triton: TritonServer, model: str, http: bool,
                                                          complaint: str) -> None:
    done = run_cli("--source", str(CHELSEA), "--backend", triton.url(model, http), "--backend-timeout", "0.5")
    assert done.returncode == 1
    assert_clean_error(done, complaint)


@pytest.mark.parametrize("scheme", ["triton", "triton+http"])
def test_an_unreachable_server_is_one_line(scheme: str) -> None:
    done = run_cli("--source", str(CHELSEA), "--backend", f"{scheme}://127.0.0.1:{free_port()}/{MODEL}")
    assert done.returncode == 1
    assert_clean_error(done, "cannot reach Triton at 127.0.0.1:", "Connection refused")


def server_ready(server: TritonServer) -> bool:
    """Whether the server answers, and says every model is loaded, right now."""
    import tritonclient.grpc

    try:
        return tritonclient.grpc.InferenceServerClient(f"127.0.0.1:{server.grpc_port}").is_server_ready(
            client_timeout=5)
    except Exception:  # noqa: BLE001 - refused, or no answer: not ready
        return False


@pytest.mark.parametrize("http", [False, True], ids=["gRPC", "HTTP"])
def test_a_server_killed_mid_run_the_run_goes_on_and_classifies_again_when_it_is_back(
        triton: TritonServer, camera: MjpegServer, live_cli: type[LiveCli], tmp_path: Path, http: bool) -> None:
    out, video = tmp_path / "out.jsonl", tmp_path / "out.avi"
    run = live_cli("--source", camera.url, "--headless", "--jsonl", str(out), "--record", str(video),
                   "--backend", triton.url(MODEL, http), "--backend-timeout", "1")
    run.wait_for(lambda: len(jsonl(out)) >= 10, 60, "10 classified frames")
    triton.kill()
    run.wait_for_stderr("does not answer", 30)
    classified = len(jsonl(out))
    time.sleep(2)  # the run, two seconds into the outage
    assert run.process.poll() is None, run.stderr
    assert len(jsonl(out)) <= classified + 1, "nothing is classified while the server is down"
    triton.start()
    assert server_ready(triton), "start() returns once the restarted server is ready, not before"
    run.wait_for(lambda: len(jsonl(out)) >= classified + 10, 60, "classifying again")
    run.signal(signal.SIGINT)
    done = run.finish()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert count_frames(video) > len(jsonl(out)) + 60, "the recording went on through the outage"


# Left to itself, gRPC retries a lost connection after 0.1 s (our initial backoff), then each wait
# 1.6 times the last, +-20 %, up to 120 s: tries near 18, 29 and 47 s into an outage. A server back
# 35 s in is found near 47 s, 12 s late (15 s measured); with our 1 s cap, within about a second.
OUTAGE_S = 35.0


def test_a_server_back_after_a_long_outage_classifies_again_within_seconds(
        triton: TritonServer, camera: MjpegServer, live_cli: type[LiveCli], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with TcpGate(triton.grpc_port) as gate:  # an outage of exactly OUTAGE_S, whatever the server's start time
        run = live_cli("--source", camera.url, "--headless", "--jsonl", str(out),
                       "--backend", f"triton://127.0.0.1:{gate.port}/{MODEL}", "--backend-timeout", "1")
        run.wait_for(lambda: len(jsonl(out)) >= 10, 60, "10 classified frames")
        gate.close()
        down = time.monotonic()
        run.wait_for_stderr("does not answer", 30)
        time.sleep(max(0.0, down + OUTAGE_S - time.monotonic()))
        classified = len(jsonl(out))
        gate.open()
        back = time.monotonic()
        run.wait_for(lambda: len(jsonl(out)) >= classified + 3, 60, "classifying again")
        resumed = time.monotonic() - back
        run.signal(signal.SIGINT)
        assert run.finish().returncode == 0, run.stderr
    reconnected = min(t for t in gate.accepted if t >= back) - back
    assert reconnected < 3.0, f"gRPC connected again {reconnected:.1f} s after the server was back"
    # The run tries the server again every 5 s at most (inference.py), then it classifies at once.
    assert resumed < 5.0 + reconnected + 2.0, f"classifying again {resumed:.1f} s after the server was back"


def test_with_fallback_the_local_model_stands_in_while_the_server_is_down(
        triton: TritonServer, camera: MjpegServer, live_cli: type[LiveCli], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    run = live_cli("--source", camera.url, "--headless", "--jsonl", str(out), "--backend", triton.url(MODEL),
                   "--backend-timeout", "1", "--backend-fallback", "local")
    run.wait_for(lambda: len(jsonl(out)) >= 10, 60, "10 classified frames")
    triton.kill()
    run.wait_for_stderr("classifying on CPU here until it answers again", 30)
    classified = len(jsonl(out))
    run.wait_for(lambda: len(jsonl(out)) >= classified + 20, 30, "frames classified here while the server is down")
    assert len({line["top"][0]["label"] for line in jsonl(out)}) == 1, "the same answer here as there"
    triton.start()
    run.wait_for_stderr("answers again: classifying there", 60)
    run.signal(signal.SIGINT)
    done = run.finish()
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
