"""A reload applied (``app/reload.py``: ``Reloader._apply``) on a fake assembly: its lines."""
from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from live_classify.app import reload as module
from live_classify.app.reload import Plan, Reloader
from live_classify.config import OutputConfig, RunConfig

SHOWN = 'min-confidence = 0.3\n[[camera]]\nname = "door"\nsource = "x"\n'


class Cameras:
    def __init__(self) -> None:
        self.members = [object()]
        self.swapped: list[object] = []

    def swap_model(self, classifier: object) -> None:
        self.swapped.append(classifier)


def reloader(config: RunConfig) -> tuple[Reloader, Cameras, list[dict]]:
    cameras, applied = Cameras(), []
    world = SimpleNamespace(model_changed=threading.Event(), cameras=cameras, opened={}, encoders={})
    assembly: Any = SimpleNamespace(world=world, apply=applied.append)
    return Reloader(None, config, assembly, lambda path: None), cameras, applied  # type: ignore[arg-type,return-value]


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(module, "info", lines.append)
    return lines


def test_a_new_model_with_the_same_file_is_a_model_reload_not_nothing_changed(said: list[str]) -> None:
    config = RunConfig((), OutputConfig(), shown=SHOWN)
    run, cameras, applied = reloader(config)
    model = object()
    run._apply(Plan(config, {}, classifier=model))  # type: ignore[arg-type]
    assert cameras.swapped == [model] and applied == [{}]
    assert "reload: nothing changed" not in said, said
    assert said[-1] == "model reloaded: 1 camera" and run.loaded == 1


def test_a_file_reread_unchanged_says_nothing_changed_and_a_changed_one_its_lines(said: list[str]) -> None:
    config = RunConfig((), OutputConfig(), shown=SHOWN)
    run, cameras, _ = reloader(config)
    run._apply(Plan(RunConfig((), OutputConfig(), shown=SHOWN), {}))
    assert said == ["reload: nothing changed", "configuration reloaded: 1 camera"] and cameras.swapped == []
    said.clear()
    changed = RunConfig((), OutputConfig(), shown=SHOWN.replace("0.3", "0.15"))
    run._apply(Plan(changed, {}))
    assert said == ["min-confidence: 0.3 -> 0.15", "configuration reloaded: 1 camera"]
    assert run.config is changed and run.loaded == 2
