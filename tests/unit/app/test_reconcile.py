"""The run's components brought from one set of specs to another (``app/reconcile.py``), and a
reload's lines (``app/changes.py``), without cameras or outputs: fake components that note what
happens to them."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from live_classify.app import reconcile as module
from live_classify.app.changes import changes
from live_classify.app.reconcile import reconcile


@dataclass(frozen=True)
class Fake:
    value: int
    in_place: bool = True  # whether a change to this spec is taken in place


@dataclass
class Part:
    spec: Fake
    log: list[str]
    sink: object | None = field(default_factory=object)

    def reconfigure(self, spec: Fake) -> bool:
        if not spec.in_place:
            return False
        self.log.append(f"reconfigure {self.spec.value}->{spec.value}")
        self.spec = spec
        return True

    def retire(self, successor: Fake | None) -> None:
        self.log.append(f"retire {self.spec.value}" + (f" for {successor.value}" if successor else ""))


@dataclass
class World:
    components: dict = field(default_factory=dict)


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    said: list[str] = []

    def build(spec: Fake, world: World) -> Part:
        said.append(f"build {spec.value}")
        return Part(spec, said)

    monkeypatch.setattr(module, "build", build)
    return said


def test_the_start_builds_everything_events_cameras_and_index_first(log: list[str]) -> None:
    world = World()
    new = {("jsonl",): Fake(1), ("index",): Fake(2), ("camera", "a"): Fake(3), ("events",): Fake(4)}
    assert reconcile(world, {}, new) == []  # type: ignore[arg-type]
    assert log == ["build 4", "build 3", "build 2", "build 1"]
    assert list(world.components) == list(new), "the outputs' order is the specs'"


def test_equal_untouched_changed_reconfigured_or_replaced_removed_closed_new_opened(log: list[str]) -> None:
    world = World()
    old = {("same",): Fake(1), ("tuned",): Fake(2), ("swapped",): Fake(3), ("gone",): Fake(4)}
    reconcile(world, {}, old)  # type: ignore[arg-type]
    parts = dict(world.components)
    log.clear()
    new = {("same",): Fake(1), ("tuned",): Fake(20), ("swapped",): Fake(30, in_place=False), ("new",): Fake(5)}
    gone = reconcile(world, old, new)  # type: ignore[arg-type]
    assert log == ["retire 4", "reconfigure 2->20", "retire 3 for 30", "build 30", "build 5"]
    assert gone == [parts[("gone",)].sink, parts[("swapped",)].sink], "the sinks to close"
    assert world.components[("same",)] is parts[("same",)] and world.components[("tuned",)] is parts[("tuned",)]
    assert list(world.components) == list(new)


def test_a_reload_says_each_change_once_and_no_secret() -> None:
    before = ('min-confidence = 0.3  # box.toml:1\n[[camera]]\nname = "door"\nsource = "rtsp://u:***@a/"\n'
              'min-confidence = 0.3\n[[camera]]\nname = "two"\nsource = "x"\n')
    after = ('min-confidence = 0.15  # box.toml:2\n[[camera]]\nname = "door"\nsource = "rtsp://u:***@b/"\n'
             'min-confidence = 0.15\n[[camera]]\nname = "three"\nsource = "y"\n')
    assert changes(before, after) == ["min-confidence: 0.3 -> 0.15", "camera three added", "camera two removed",
                                      'camera door: source: "rtsp://u:***@a/" -> "rtsp://u:***@b/"']
    assert changes(before, before) == []


def test_a_key_switched_on_or_off_is_said_as_the_file_spells_it() -> None:
    """A top-level key that a reload adds or removes (``watch-model``) is one line, its value as in the file."""
    before = '[[camera]]\nname = "door"\nsource = "x"\n'
    after = 'watch-model = true\n[[camera]]\nname = "door"\nsource = "x"\n'
    assert changes(before, after) == ["watch-model: (not set) -> true"]
    assert changes(after, before) == ["watch-model: true -> (not set)"]
