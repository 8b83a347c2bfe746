"""A reload applied (``app/reload.py``: ``Reloader._apply``) on a fake assembly: its lines."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from live_classify.app import reload as module
from live_classify.app.components import NotifyPart
from live_classify.app.reload import Plan, Reloader
from live_classify.app.specs import specs
from live_classify.config import OutputConfig, RecordConfig, RunConfig, ServeConfig, SourceConfig
from live_classify.errors import LiveClassifyError
from live_classify.sources.capture import parse_video_source

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


def test_a_camera_a_reload_adds_is_built_with_the_source_the_reload_opened(said: list[str]) -> None:
    """The new camera's stream was opened off the main loop (``plan``): the components are built with
    it, not opened again on the main loop (where a slow open pauses every other camera), nor released."""
    config, taken = RunConfig((), OutputConfig(), shown=SHOWN), []
    world = SimpleNamespace(model_changed=threading.Event(), cameras=Cameras(), opened={}, encoders={})
    assembly: Any = SimpleNamespace(world=world, apply=lambda specs: taken.append(world.opened.pop("yard", None)))
    run = Reloader(None, config, assembly, lambda path: None)  # type: ignore[arg-type,return-value]
    yard = Opened(YARD)
    run._apply(Plan(config, {}, opened={"yard": yard}))  # type: ignore[dict-item]
    assert taken == [yard], "the camera was built without the source the reload opened for it"
    assert not yard.released and world.opened == {}


DOOR = SourceConfig(parse_video_source("http://127.0.0.1:8554/door"), name="door", min_confidence=0.3)
YARD = SourceConfig(parse_video_source("http://127.0.0.1:8554/yard"), name="yard")


class Opened:
    def __init__(self, src: SourceConfig) -> None:
        self.name, self.released = src.name, False

    def release(self) -> None:
        self.released = True


@dataclass
class Planning:
    """What ``Reloader.plan`` asked for: the models loaded, the labels validated against, the outputs checked."""

    models: list[Path] = field(default_factory=list)
    labels: list[object] = field(default_factory=list)
    checked: list[tuple[str | None, list[str]]] = field(default_factory=list)
    opened: list[Opened] = field(default_factory=list)
    notifier: Any = field(default_factory=lambda: SimpleNamespace(
        told=[], reloading=lambda: None, reloaded=lambda refused: None))


@pytest.fixture
def planning(monkeypatch: pytest.MonkeyPatch) -> Planning:
    seen = Planning()
    told = seen.notifier.told
    seen.notifier.reloading, seen.notifier.reloaded = lambda: told.append("RELOADING=1"), told.append
    monkeypatch.setattr(module, "validate", lambda config, labels: seen.labels.append(labels))
    monkeypatch.setattr(module, "check_outputs", lambda jsonl, sources: seen.checked.append(
        (jsonl, [src.name for src in sources])) or {})
    monkeypatch.setattr(module, "open_or_absent", lambda src: seen.opened.append(Opened(src)) or seen.opened[-1])
    return seen


def running(config: RunConfig, seen: Planning, swappable: bool = True, changeable: bool = True,
            reread: Callable[[RunConfig], RunConfig] | None = None) -> Reloader:
    """A reloader of ``config``, running as a start from it would."""
    def open_model(path: Path) -> object:
        seen.models.append(path)
        return SimpleNamespace(spec=SimpleNamespace(labels=f"labels of {path.name}"))

    cameras = SimpleNamespace(swappable=swappable, changeable=changeable, members=[object()],
                              classifier=SimpleNamespace(spec=SimpleNamespace(labels="the running labels")),
                              swap_model=lambda classifier: None)
    world = SimpleNamespace(model_changed=threading.Event(), cameras=cameras, opened={}, encoders={}, window=None)
    notify = NotifyPart.__new__(NotifyPart)
    notify.notifier = seen.notifier  # type: ignore[assignment]
    assembly: Any = SimpleNamespace(world=world, specs=specs(config, False), apply=lambda new: None,
                                    part=lambda key: notify if key == ("notify",) else None)
    return Reloader(reread, config, assembly, open_model)  # type: ignore[arg-type]


def test_a_reload_loads_a_model_only_when_it_is_another_file_or_the_file_changed(planning: Planning) -> None:
    out = OutputConfig(headless=True)
    run = running(RunConfig((DOOR,), out, model=Path("a.onnx")), planning)
    assert run.plan(RunConfig((DOOR,), out, model=Path("a.onnx"))).classifier is None
    assert run.plan(RunConfig((DOOR,), out, model=Path("a.onnx")), model_changed=True).classifier is not None
    assert run.plan(RunConfig((DOOR,), out, model=Path("b.onnx"))).classifier is not None
    assert planning.models == [Path("a.onnx"), Path("b.onnx")]
    assert planning.labels == ["the running labels", "labels of a.onnx", "labels of b.onnx"], "checked with its model"
    one_file = running(RunConfig((DOOR,), out, model=Path("a.onnx")), planning, swappable=False)
    with pytest.raises(LiveClassifyError, match="model of a run of one video file cannot change"):
        one_file.plan(RunConfig((DOOR,), out, model=Path("b.onnx")))


def test_a_reload_opens_the_new_and_restarted_cameras_only_and_checks_the_new_outputs(planning: Planning) -> None:
    run = running(RunConfig((DOOR,), OutputConfig(headless=True)), planning)
    record = RecordConfig(Path("/rec/"), segment_s=60.0)
    new = RunConfig((replace(DOOR, min_confidence=0.5, record=record), YARD),
                    OutputConfig(headless=True, record=record, jsonl="p.jsonl"))
    plan = run.plan(new)
    assert list(plan.opened) == ["yard"] and [o.name for o in planning.opened] == ["yard"], "the door runs on"
    assert planning.checked == [("p.jsonl", ["door"])]
    restarted = run.plan(RunConfig((replace(DOOR, smooth=0.5),), OutputConfig(headless=True)))
    assert list(restarted.opened) == ["door"] and planning.checked[-1] == (None, [])
    one_file = running(RunConfig((DOOR, YARD), OutputConfig(headless=True)), planning, changeable=False)
    for cameras in ((DOOR, YARD, replace(YARD, name="gate")), (DOOR,)):
        with pytest.raises(LiveClassifyError, match="cameras of a run of one video file cannot change"):
            one_file.plan(RunConfig(cameras, OutputConfig(headless=True)))
    assert one_file.plan(RunConfig((replace(DOOR, min_confidence=0.5), YARD), OutputConfig(headless=True))).opened == {}


def test_only_the_outputs_a_reload_changes_are_checked(planning: Planning) -> None:
    """A new --jsonl file must be writable, a changed recording's encoder chosen; what runs on is not checked again."""
    seg60 = RecordConfig(Path("/rec/"), segment_s=60.0)
    seg30 = replace(seg60, segment_s=30.0)
    out = OutputConfig(headless=True, jsonl="p.jsonl", record=seg60)
    run = running(RunConfig((replace(DOOR, record=seg60), replace(YARD, record=seg60)), out), planning)
    run.plan(RunConfig((replace(DOOR, record=seg30), replace(YARD, record=seg60)), replace(out, record=seg30)))
    run.plan(RunConfig((replace(DOOR, record=seg60), replace(YARD, record=seg60)), replace(out, jsonl="q.jsonl")))
    assert planning.checked == [(None, ["door"]), ("q.jsonl", [])]


def test_a_camera_that_cannot_open_releases_those_opened_before_it(planning: Planning,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def opening(src: SourceConfig) -> Opened:
        if src.name == "gate":
            raise LiveClassifyError("gate: no such device")
        planning.opened.append(Opened(src))
        return planning.opened[-1]

    monkeypatch.setattr(module, "open_or_absent", opening)
    run = running(RunConfig((DOOR,), OutputConfig(headless=True)), planning)
    with pytest.raises(LiveClassifyError):
        run.plan(RunConfig((DOOR, YARD, replace(YARD, name="gate")), OutputConfig(headless=True)))
    assert [(o.name, o.released) for o in planning.opened] == [("yard", True)]


def reload_once(run: Reloader, done: Callable[[], bool]) -> None:
    """``step`` on the main loop, as between frames, until the reload started is ``done``."""
    for _ in range(1000):
        run.step()
        if done():
            return
        time.sleep(0.01)
    raise AssertionError("the reload never came back")


def test_a_sighup_rereads_the_file_and_a_refused_one_leaves_the_run_as_it_was(planning: Planning, said: list[str],
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    warned: list[str] = []
    monkeypatch.setattr(module, "warning", warned.append)
    first = RunConfig((DOOR,), OutputConfig(headless=True), shown=SHOWN)
    files = [RunConfig((DOOR, YARD), OutputConfig(headless=True), shown=SHOWN)]

    def reread(config: RunConfig) -> RunConfig:
        if not files:
            raise LiveClassifyError("box.toml:3: min-confidence: not a number")
        return files.pop()

    run = running(first, planning, reread=reread)
    run.requested.set()
    reload_once(run, lambda: run.loaded == 1)
    assert said[0] == "SIGHUP: reading the configuration again" and run.config.sources == (DOOR, YARD)
    assert run.loaded == 1 and not run.requested.is_set()
    run.requested.set()
    reload_once(run, lambda: bool(warned))
    assert warned == ["reload refused: box.toml:3: min-confidence: not a number; the run goes on as it was"]
    assert run.loaded == 1 and run.config.sources == (DOOR, YARD)
    assert planning.notifier.told == ["RELOADING=1", None, "RELOADING=1", "reload refused: box.toml:3: "
                                      "min-confidence: not a number"], "systemd hears of each, and why one was refused"


def test_a_new_model_file_is_loaded_without_reading_the_configuration(planning: Planning, said: list[str]) -> None:
    config = RunConfig((DOOR,), OutputConfig(headless=True), model=Path("a.onnx"), watch_model=True, shown=SHOWN)
    run = running(config, planning, reread=lambda config: pytest.fail("the configuration was read"))
    run.model_changed.set()
    reload_once(run, lambda: run.loaded == 1)
    assert said[0] == "the model file changed: loading it" and planning.models == [Path("a.onnx")]
    assert said[-1] == "model reloaded: 1 camera" and not run.model_changed.is_set()


def test_a_new_model_file_is_a_reload_systemd_hears_begin_and_end(planning: Planning) -> None:
    """``Type=notify-reload``: the watched model's swap is a reload too, RELOADING=1 before its READY=1."""
    config = RunConfig((DOOR,), OutputConfig(headless=True), model=Path("a.onnx"), watch_model=True, shown=SHOWN)
    run = running(config, planning)
    run.model_changed.set()
    reload_once(run, lambda: run.loaded == 1)
    assert planning.notifier.told == ["RELOADING=1", None]


def test_a_reload_that_fails_unexpectedly_says_why_to_systemd_and_the_next_one_applies(
        planning: Planning, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only a refusal (a LiveClassifyError): any failure of the reload's thread comes back to the
    main loop, so that systemd hears READY=1 and a later SIGHUP is taken up (not ignored as busy)."""
    warned: list[str] = []
    monkeypatch.setattr(module, "warning", warned.append)
    files: list[RunConfig | Exception] = [RunConfig((DOOR, YARD), OutputConfig(headless=True), shown=SHOWN),
                                          PermissionError("box.toml: permission denied")]

    def reread(config: RunConfig) -> RunConfig:
        if isinstance(found := files.pop(), Exception):
            raise found
        return found

    run = running(RunConfig((DOOR,), OutputConfig(headless=True), shown=SHOWN), planning, reread=reread)
    run.requested.set()
    reload_once(run, lambda: len(planning.notifier.told) == 2)
    assert warned == ["reload failed: box.toml: permission denied; the run goes on as it was"]
    assert planning.notifier.told == ["RELOADING=1", "reload failed: box.toml: permission denied"]
    run.requested.set()
    reload_once(run, lambda: run.loaded == 1)
    assert run.config.sources == (DOOR, YARD) and planning.notifier.told[2:] == ["RELOADING=1", None]


def test_a_refused_reload_closes_only_a_socket_it_bound_itself(planning: Planning,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The running web server's socket, read again unchanged, stays open after a refusal (the page
    goes on); a new address's socket, bound for the refused file alone, is closed."""
    def bound() -> socket.socket:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        return sock

    def refuse(config: RunConfig, labels: object) -> None:
        raise LiveClassifyError("event: espresso is not a class of the model")

    monkeypatch.setattr(module, "validate", refuse)
    serve = ServeConfig(bound(), address="127.0.0.1:8080")
    out = OutputConfig(headless=True, serve=serve)
    moved = ServeConfig(bound(), address="127.0.0.1:8081")
    files = [RunConfig((DOOR,), replace(out, serve=moved), shown=SHOWN), RunConfig((DOOR,), out, shown=SHOWN)]
    run = running(RunConfig((DOOR,), out, shown=SHOWN), planning, reread=lambda config: files.pop())
    try:
        for told in (2, 4):
            run.requested.set()
            reload_once(run, lambda told=told: len(planning.notifier.told) == told)  # type: ignore[misc]
        assert serve.sock.fileno() != -1, "the running web server's socket closed by a refused reload"
        assert moved.sock.fileno() == -1, "the refused file's new socket left bound"
    finally:
        serve.sock.close()
        moved.sock.close()
