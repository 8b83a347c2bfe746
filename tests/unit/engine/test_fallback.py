"""``--backend-fallback local`` in-process: which backend answers, the exact lines said at each
switch, the retry schedule on a fake clock, and what the wrapper passes through unchanged."""
from __future__ import annotations

import numpy as np
import pytest

from live_classify.engine.backend import BackendUnavailable
from live_classify.engine.fallback import FallbackBackend
from live_classify.engine.triton_target import backend_url
from live_classify.errors import LiveClassifyError

DOWN = "Triton at box:8001 does not answer: Connection refused"


class Remote:
    """A server that answers (with 1.0 everywhere) or not, as the test says; it keeps what it was sent."""

    provider, short_name = "Triton at box:8001 (gRPC)", "Triton"
    target = backend_url("triton://box/m")

    def __init__(self, classes: int = 3, max_batch: int | None = None) -> None:
        self.classes, self.max_batch = classes, max_batch
        self.up = True
        self.sent: list[np.ndarray] = []

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.sent.append(batch)
        if not self.up:
            raise BackendUnavailable(DOWN)
        return np.full((len(batch), self.classes), 1.0, np.float32)

    def describe(self, verbose: bool = True) -> str:
        return f"remote({verbose})"

    def sibling(self) -> Remote:
        return Remote(self.classes, self.max_batch)


class Local:
    """The local model: 2.0 everywhere; one buffer per batch size, as the real backend keeps them."""

    short_name, normalize_on_device = "CPU", False

    def __init__(self, classes: int = 3, max_batch: int | None = None) -> None:
        self.classes, self.max_batch = classes, max_batch
        self.buffers: dict[int, np.ndarray] = {}
        self.inferred: list[int] = []

    def batch_buffer(self, n: int) -> np.ndarray:
        return self.buffers.setdefault(n, np.zeros((n, 3, 2, 2), np.float32))

    def infer(self, n: int) -> np.ndarray:
        self.inferred.append(n)
        return np.full((n, self.classes), 2.0, np.float32)

    def describe(self, verbose: bool = True) -> str:
        return f"local({verbose})"

    def sibling(self) -> Local:
        return Local(self.classes, self.max_batch)


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    clock = [100.0]
    monkeypatch.setattr("live_classify.engine.fallback.time.monotonic", lambda: clock[0])
    return clock


def test_the_server_gets_the_local_buffer_itself_and_its_scores_are_returned(now: list[float]) -> None:
    remote, local, lines = Remote(), Local(), []
    backend = FallbackBackend(remote, local, lines.append)  # type: ignore[arg-type]
    assert backend.batch_buffer(2) is local.buffers[2]
    scores = backend.infer(2)
    assert scores.shape == (2, 3) and float(scores[0, 0]) == 1.0
    assert remote.sent == [local.buffers[2]] and remote.sent[0] is local.buffers[2]
    assert local.inferred == [] and lines == [] and backend.falling_back is False


def test_the_lines_said_at_each_switch_are_exact(now: list[float]) -> None:
    remote, local, lines = Remote(), Local(), []
    backend = FallbackBackend(remote, local, lines.append)  # type: ignore[arg-type]
    remote.up = False
    assert float(backend.infer(3)[0, 0]) == 2.0 and local.inferred == [3]
    assert backend.falling_back is True
    assert lines == [f"{DOWN}: classifying on CPU here until it answers again"]
    now[0] += 0.5  # exactly the first wait: tried again
    backend.infer(1)
    assert len(remote.sent) == 2 and len(lines) == 1  # still down: said once
    remote.up = True
    now[0] += 1.0  # exactly the second wait
    assert float(backend.infer(1)[0, 0]) == 1.0
    assert lines[1:] == ["Triton at box:8001 answers again: classifying there"]
    assert backend.falling_back is False


def test_just_before_the_wait_is_over_the_server_is_not_tried(now: list[float]) -> None:
    remote = Remote()
    backend = FallbackBackend(remote, Local(), lambda _: None)  # type: ignore[arg-type]
    remote.up = False
    backend.infer(1)
    now[0] += 0.49
    backend.infer(1)
    assert len(remote.sent) == 1
    now[0] += 0.01
    backend.infer(1)
    assert len(remote.sent) == 2


def test_a_local_model_normalizing_on_the_gpu_cannot_stand_in() -> None:
    local = Local()
    local.normalize_on_device = True
    with pytest.raises(ValueError, match="^the local backend must take the model's float input, as the server does$"):
        FallbackBackend(Remote(), local, print)  # type: ignore[arg-type]


def test_a_server_with_another_number_of_classes_is_refused() -> None:
    with pytest.raises(LiveClassifyError) as raised:
        FallbackBackend(Remote(classes=1000), Local(classes=10), print)  # type: ignore[arg-type]
    assert str(raised.value) == "the server's model outputs 1000 classes, the local one 10"


@pytest.mark.parametrize("remote_max, local_max, expected", [
    (None, None, None), (8, None, 8), (None, 4, 4), (8, 4, 4), (4, 8, 4),
])
def test_the_batch_limit_is_the_smaller_of_the_two(remote_max: int | None, local_max: int | None,
                                                    expected: int | None) -> None:
    backend = FallbackBackend(Remote(max_batch=remote_max), Local(max_batch=local_max), print)  # type: ignore[arg-type]
    assert backend.max_batch == expected


def test_names_description_and_sibling_come_from_the_two_backends() -> None:
    lines: list[str] = []
    remote, local = Remote(classes=5), Local(classes=5)
    backend = FallbackBackend(remote, local, lines.append)  # type: ignore[arg-type]
    assert (backend.classes, backend.provider, backend.short_name) == (5, "Triton at box:8001 (gRPC)", "Triton")
    assert FallbackBackend.normalize_on_device is False and backend.normalize_on_device is False
    assert backend.describe() == "remote(True); while it is unreachable, here: local(True)"
    assert backend.describe(False) == "remote(False); while it is unreachable, here: local(False)"
    twin = backend.sibling()
    assert isinstance(twin, FallbackBackend) and twin.remote is not remote and twin.local is not local
    assert twin.classes == 5 and twin.log == lines.append and twin.falling_back is False
