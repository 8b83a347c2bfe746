"""Shared fixtures: the bundled model, the test photos, the real CLI as a subprocess, tiny foreign models."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest
from mjpeg_server import MjpegServer

from live_classify.engine.classifier import Classifier
from live_classify.engine.model import default_model_path

# Fixtures that live in tests/support: a real X display, a disk that fills up.
pytest_plugins = ["xdisplay", "recordings", "scenes", "systemd"]

DATA = Path(__file__).parent / "data"
CHELSEA = DATA / "chelsea.png"
COFFEE = DATA / "coffee.png"


@dataclass
class Run:
    """What one run of the real command printed, and how it ended."""

    returncode: int
    stdout: str
    stderr: str


def headless_env(**extra: str) -> dict[str, str]:
    """The environment of a box with no screen."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, **extra}


def _holds(condition) -> bool:  # noqa: ANN001
    """``condition()``, where a file it reads may vanish under it: the command checks that it can
    write its outputs by creating the file and removing it again before it opens it for good."""
    try:
        return bool(condition())
    except FileNotFoundError:
        return False


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120, env: dict[str, str] | None = None) -> Run:
    """Run ``live-classify`` for real, in its own process, as a user would, and wait for it."""
    done = subprocess.run(
        [sys.executable, "-m", "live_classify", *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env or headless_env(),
    )
    return Run(done.returncode, done.stdout, done.stderr)


class LiveCli:
    """``live-classify`` running in the background: watch its stderr, signal it, collect its output."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "live_classify", *args], cwd=cwd, env=env or headless_env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self.stdout_lines), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr_lines), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream, lines: list[str]) -> None:  # noqa: ANN001
        try:
            for line in stream:
                lines.append(line.rstrip("\n"))
        except (ValueError, OSError):  # the test closed the pipe on purpose
            pass

    def wait_for(self, condition, timeout: float = 30.0, what: str = "") -> None:  # noqa: ANN001
        """Wait until ``condition()`` holds; fail with what the process said if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _holds(condition):
                return
            if self.process.poll() is not None and not _holds(condition):
                time.sleep(0.2)
                if _holds(condition):
                    return
                raise AssertionError(f"exited ({self.process.returncode}) before {what}: {self.stderr}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {self.stderr}")

    def wait_for_stderr(self, text: str, timeout: float = 30.0) -> None:
        self.wait_for(lambda: any(text in line for line in self.stderr_lines), timeout, repr(text))

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def finish(self, timeout: float = 30.0) -> Run:
        returncode = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return Run(returncode, "\n".join(self.stdout_lines), self.stderr)

    @property
    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def live_cli() -> Iterator[type[LiveCli]]:
    """Start background CLIs; any still running at the end of the test is killed."""
    started: list[LiveCli] = []

    class Tracked(LiveCli):
        def __init__(self, *args: str, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    yield Tracked
    for cli in started:
        cli.kill()


def count_frames(video: Path) -> int:
    """Read a recording back, frame by frame, as a player would."""
    capture = cv2.VideoCapture(str(video))
    frames = 0
    while True:
        ok, _ = capture.read()
        if not ok:
            break
        frames += 1
    capture.release()
    return frames


def make_video(path: Path, frames: int, size: tuple[int, int] = (640, 360), fps: float = 25.0) -> Path:
    """A video file: the cat for the first half, the espresso for the second."""
    photos = [cv2.resize(cv2.imread(str(p)), size, interpolation=cv2.INTER_AREA) for p in (CHELSEA, COFFEE)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        writer.write(photos[0] if i < frames // 2 else photos[1])
    writer.release()
    return path


@pytest.fixture(scope="session")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4", 60)


@pytest.fixture
def camera() -> Iterator[MjpegServer]:
    """A fake live camera at 30 fps on 127.0.0.1."""
    with MjpegServer(CHELSEA, fps=30) as server:
        yield server


def assert_clean_error(run: Run, *fragments: str) -> None:
    """A user error: non-zero exit, one line on stderr naming the problem, no traceback."""
    assert run.returncode != 0, run
    assert "Traceback" not in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, run.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.fixture(scope="session")
def model_path() -> Path:
    return default_model_path()


@pytest.fixture(scope="session")
def classifier(model_path: Path) -> Classifier:
    return Classifier.open(model_path, provider="cpu")


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[socket.socket]:
    """A datagram socket where systemd's notify socket would be, read without blocking."""
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(tmp_path / "notify"))
    receiver.setblocking(False)
    yield receiver
    receiver.close()
