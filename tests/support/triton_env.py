"""A real Triton Inference Server for the tests and the benchmark: its own virtual environment, and the process.

``nvidia-pytriton`` ships a real ``tritonserver`` (2.51 with pytriton 0.7) that runs CPU-only, but
it pins numpy 1.26 and brings its own onnxruntime: it gets a virtual environment of its own, built
once into ``~/.cache/live-classify-triton/`` (``LIVE_CLASSIFY_TRITON_VENV`` names another place)
and shared by every checkout on the machine. ``python tests/support/triton_env.py`` builds it ahead of the
tests (``.ci/run`` does); otherwise the first test that needs it does.

Facts this code relies on: the server's Python backend hangs loading a model unless
``LD_LIBRARY_PATH`` holds the folder of ``libpython3.x.so``; ``tritonserver`` stops on SIGTERM, not
SIGINT; and a killed server leaves its shared-memory segments in ``/dev/shm``.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER_SCRIPT = HERE / "triton_server.py"
REQUIREMENTS = ("nvidia-pytriton==0.7.*", "onnxruntime==1.32.*")
BUILD_TIMEOUT_S = 900


class TritonUnavailable(Exception):
    """The server cannot be built or started on this machine (the tests then skip, except in CI)."""


def venv_dir() -> Path:
    """Where the server's environment lives: one per Python version and set of requirements."""
    if override := os.environ.get("LIVE_CLASSIFY_TRITON_VENV"):
        return Path(override)
    key = hashlib.sha256(repr((sys.version_info[:2], REQUIREMENTS)).encode()).hexdigest()[:10]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "live-classify-triton" / f"py{sys.version_info[0]}{sys.version_info[1]}-{key}"


def ensure_venv() -> Path:
    """The environment's python, built the first time (under a lock: other checkouts may be building it too)."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    if (venv / "ready").exists():
        return python
    try:
        venv.parent.mkdir(parents=True, exist_ok=True)
        with open(venv.parent / f"{venv.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (venv / "ready").exists():
                _build(venv, python)
    except OSError as error:  # no room, no permission: as good as no server
        raise TritonUnavailable(f"cannot build the Triton environment in {venv}: {error}") from None
    return python


def _build(venv: Path, python: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)  # what a build cut short left behind
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *REQUIREMENTS]]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise TritonUnavailable(f"building {venv} took over {BUILD_TIMEOUT_S} s") from None
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if "WARNING" not in line] or ["(no output)"]
            raise TritonUnavailable(f"cannot build the Triton environment ({' '.join(step[2:5])}): {errors[-1]}")
    (venv / "ready").write_text(" ".join(REQUIREMENTS) + "\n")


def libpython_dir() -> Path:
    """The folder of ``libpython3.x.so``, which the server's Python backend loads."""
    folder, name = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("LDLIBRARY")
    if not folder or not name or not (Path(folder) / name).exists() or not name.endswith(".so"):
        raise TritonUnavailable(f"the Triton Python backend needs a shared libpython ({name} in {folder})")
    return Path(folder)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _files_of_group(group: int) -> set[Path]:
    """What a server's processes leave behind when killed: the shared memory they map, and the
    /tmp/folderXXXXXX copy of each model that its Python backend stubs run (a clean stop removes both)."""
    found: set[Path] = set()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2]) != group:
                continue
            maps = (proc / "maps").read_text().splitlines()
            arguments = (proc / "cmdline").read_text().split("\0")
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        found |= {Path(line.split(None, 5)[-1].removesuffix(" (deleted)")) for line in maps if " /dev/shm/" in line}
        found |= {Path(arg).parents[1] for arg in arguments
                  if arg.startswith("/tmp/folder") and arg.endswith("/model.py")}
    return found


class TritonServer:
    """``tests/support/triton_server.py`` on free ports of 127.0.0.1, which a test can kill and start again."""

    def __init__(self, model: Path, log: Path, *, max_batch: int = 8, queue_delay_us: int = 0,
                 slow_s: float = 3.0, log_batches: bool = False) -> None:
        self.python = ensure_venv()
        self.model = model
        self.log = log
        self.options = ["--max-batch", str(max_batch), "--queue-delay-us", str(queue_delay_us), "--slow-s", str(slow_s)]
        self.options += ["--log-batches"] if log_batches else []
        self.grpc_port, self.http_port = free_port(), free_port()
        self.workspace = log.parent / f"pytriton-{self.grpc_port}"  # 30 MB: tritonserver copies itself there
        self.process: subprocess.Popen | None = None

    def url(self, model: str, http: bool = False) -> str:
        """``--backend`` for one of the served models."""
        return (f"triton+http://127.0.0.1:{self.http_port}/{model}" if http
                else f"triton://127.0.0.1:{self.grpc_port}/{model}")

    def start(self, timeout: float = 180.0) -> TritonServer:
        """Start it and wait until every model is loaded."""
        env = {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(
            filter(None, [str(libpython_dir()), os.environ.get("LD_LIBRARY_PATH")]))}
        command = [str(self.python), str(SERVER_SCRIPT), "--model", str(self.model),
                   "--grpc-port", str(self.grpc_port), "--http-port", str(self.http_port),
                   "--workspace", str(self.workspace), *self.options]
        # A fresh log for each start: on a restart, the first start's "ready" must not count.
        with open(self.log, "w") as out:  # a new process group: kill() reaches tritonserver and its stubs too
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while "ready" not in self.log.read_text(errors="replace").splitlines():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise TritonUnavailable(f"the Triton server did not start: {self.tail()}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        """SIGTERM (the server ignores SIGINT), then SIGKILL for whatever is left after 30 s."""
        self._end(graceful=True)

    def kill(self) -> None:
        """The server gone at once, as in a crash or a power cut."""
        self._end(graceful=False)

    def _end(self, graceful: bool) -> None:
        """End every process of the server and remove what they leave behind (a clean stop too
        can leave the Python backend's folders, when its stubs are stopped last)."""
        if self.process is None:
            return
        leftovers = _files_of_group(self.process.pid) | {self.workspace}
        if graceful and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(30)
        self.process = None
        for path in leftovers:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def tail(self, lines: int = 3) -> str:
        text = self.log.read_text(errors="replace").strip().splitlines() if self.log.exists() else []
        return " | ".join(text[-lines:]) or "(no output)"

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":  # build the environment ahead: `python tests/support/triton_env.py`
    started = time.monotonic()
    try:
        print(f"{ensure_venv()} ready in {time.monotonic() - started:.0f} s")
    except TritonUnavailable as error:
        sys.exit(f"triton_env: {error}")
