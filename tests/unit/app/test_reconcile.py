"""The run's components brought from one set of specs to another (``app/reconcile.py``), and a
reload's lines (``app/changes.py``), without cameras or outputs: fake components that note what
happens to them."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from live_classify.app import reconcile as module
from live_classify.app.changes import changes
from live_classify.app.reconcile import Assembly, reconcile
from live_classify.errors import LiveClassifyError


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

    def wire(self, sinks: list[object]) -> None:
        self.log.append(f"wire {self.spec.value} to {len(sinks)}")

    def end(self) -> None:
        self.log.append(f"end {self.spec.value}")


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


def test_a_reload_ends_the_events_first_then_the_cameras_then_the_index(log: list[str]) -> None:
    """An event of a removed camera ends while the outputs that tell of it are still open."""
    world = World()
    old = {("jsonl",): Fake(1), ("index",): Fake(2), ("camera", "a"): Fake(3), ("events",): Fake(4), ("web",): Fake(5)}
    reconcile(world, {}, old)  # type: ignore[arg-type]
    log.clear()
    reconcile(world, old, {("web",): Fake(5)})  # type: ignore[arg-type]
    assert log[:3] == ["retire 4", "retire 3", "retire 2"] and log[3] == "retire 1"


def test_what_has_no_sink_is_not_closed(log: list[str]) -> None:
    """A camera, the model's watch: no sink of theirs goes to the closing thread."""
    world = World()
    reconcile(world, {}, {("watch-model",): Fake(1)})  # type: ignore[arg-type]
    world.components[("watch-model",)].sink = None
    assert reconcile(world, {("watch-model",): Fake(1)}, {}) == []  # type: ignore[arg-type]
    assert log[-1] == "retire 1"


@pytest.fixture
def failing(log: list[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``build`` fails for a spec of value 0 (a port taken, a broker refused), with one line why."""
    built = module.build
    warned: list[str] = []

    def build(spec: Fake, world: World) -> Part:
        if spec.value == 0:
            raise LiveClassifyError("port 8080 is taken")
        return built(spec, world)  # type: ignore[arg-type,return-value]

    monkeypatch.setattr(module, "build", build)
    monkeypatch.setattr(module, "warning", warned.append)
    return warned


def test_at_the_start_a_component_that_cannot_start_is_the_runs_error(failing: list[str]) -> None:
    with pytest.raises(LiveClassifyError, match="port 8080"):
        reconcile(World(), {}, {("web",): Fake(0)})  # type: ignore[arg-type]


def test_a_reload_goes_on_without_a_component_that_cannot_start(failing: list[str], log: list[str]) -> None:
    world = World()
    reconcile(world, {}, {("jsonl",): Fake(1)})  # type: ignore[arg-type]
    reconcile(world, {("jsonl",): Fake(1)}, {("web",): Fake(0), ("jsonl",): Fake(2)}, strict=False)  # type: ignore
    assert failing == ["reload: web could not start (port 8080 is taken); the run goes on without it"]
    assert list(world.components) == [("jsonl",)] and log[-1] == "reconfigure 1->2"


class Sinks:
    def __init__(self) -> None:
        self.arranged: list[tuple[list[object], list[object]]] = []

    def arrange(self, active: list[object], gone: list[object]) -> None:
        self.arranged.append((active, gone))


def test_the_assembly_feeds_the_running_sinks_in_order_closes_the_gone_and_wires_each(log: list[str]) -> None:
    world, sinks = World(), Sinks()
    assembly = Assembly(world, sinks)  # type: ignore[arg-type]
    first = {("jsonl",): Fake(1), ("camera", "a"): Fake(2), ("web",): Fake(3)}
    assembly.apply(first, strict=True)  # type: ignore[arg-type]
    jsonl, camera, web = (world.components[key] for key in first)
    camera.sink = None  # a camera feeds the outputs, it is none of them
    log.clear()
    assembly.apply({("web",): Fake(3), ("jsonl",): Fake(10, in_place=False), ("camera", "a"): Fake(2)})  # type: ignore
    assert assembly.specs == {("web",): Fake(3), ("jsonl",): Fake(10, in_place=False), ("camera", "a"): Fake(2)}
    assert sinks.arranged[-1] == ([web.sink, world.components[("jsonl",)].sink], [jsonl.sink])
    assert log[-3:] == ["wire 3 to 2", "wire 10 to 2", "wire 2 to 2"]
    assert assembly.part(("web",)) is web and assembly.part(("mqtt", "a")) is None
    log.clear()
    assembly.end()
    assert log == ["end 3", "end 10", "end 2"]


def test_the_assemblys_reload_goes_on_without_it_too(failing: list[str]) -> None:
    assembly = Assembly(World(), Sinks())  # type: ignore[arg-type]
    assembly.apply({("web",): Fake(0), ("jsonl",): Fake(1)})  # type: ignore[arg-type]
    assert len(failing) == 1 and assembly.part(("jsonl",)) is not None and assembly.part(("web",)) is None


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


def test_a_cameras_own_change_of_a_key_the_top_level_also_changes_is_said_too() -> None:
    """A reload that lowers the run's ``min-confidence`` and raises the door's own: the run's line, and the
    door's (its change is not the top level's); a camera that only follows the top level says nothing more."""
    before = ('min-confidence = 0.3  # box.toml:1\n[[camera]]\nname = "door"\nsource = "x"\nmin-confidence = 0.5\n'
              '[[camera]]\nname = "yard"\nsource = "y"\nmin-confidence = 0.3\n')
    after = ('min-confidence = 0.2  # box.toml:1\n[[camera]]\nname = "door"\nsource = "x"\nmin-confidence = 0.6\n'
             '[[camera]]\nname = "yard"\nsource = "y"\nmin-confidence = 0.2\n')
    assert changes(before, after) == ["min-confidence: 0.3 -> 0.2", "camera door: min-confidence: 0.5 -> 0.6"]
