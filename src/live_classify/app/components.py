"""Each component of the run, built from its spec (:func:`build`), changed by it where continuity
matters (``reconfigure``: an untouched camera's capture, the web server's listening socket, the
broker's connection, the events going on), and ended by a reload (``retire``). A component
speaks to its sink through the sink's own methods only."""
from __future__ import annotations

import threading
from functools import partial

from live_classify.app.annotate import Annotator
from live_classify.app.outputs import recording
from live_classify.app.specs import (
    CameraSpec,
    CollectSpec,
    EventsSpec,
    IndexSpec,
    JsonlSpec,
    MqttSpec,
    NotifySpec,
    RecordSpec,
    Spec,
    TeachSpec,
    WatchSpec,
    WebhooksSpec,
    WebSpec,
    WindowSpec,
)
from live_classify.app.watch import watch
from live_classify.app.world import Part, World
from live_classify.engine.model import default_model_path
from live_classify.log import info, warning
from live_classify.sinks.base import Sink
from live_classify.sinks.collect import Collecting
from live_classify.sinks.events.index import Index
from live_classify.sinks.events.sink import Events
from live_classify.sinks.events.webhooks import Webhooks
from live_classify.sinks.jsonl import JsonLines
from live_classify.sinks.mqtt import MqttSink
from live_classify.sinks.notify import Notifier
from live_classify.sinks.record.clip_names import ClipNames
from live_classify.sinks.web.view import Feed, Options, WebView
from live_classify.sources.absent import open_or_absent
from live_classify.teach.teacher import Teacher


class Simple:
    """A component that a changed spec replaces, and that ends with its sink."""

    sink: Sink | None = None

    def reconfigure(self, spec: Spec) -> bool:
        return False

    def retire(self, successor: Spec | None) -> None:
        pass

    def wire(self, sinks: list[Sink]) -> None:
        pass

    def end(self) -> None:
        pass


class CameraPart(Simple):
    """A camera: its capture (on its own thread) and what draws its frames; its live fields
    (``CameraSpec.LIVE``) change between two frames, anything else restarts it."""

    def __init__(self, spec: CameraSpec, world: World) -> None:
        self.spec, self.world = spec, world
        cameras = world.cameras
        member = cameras.find(spec.name)  # at the start: opened with the others, the engine chosen for them
        if member is None:
            source = world.opened.pop(spec.name, None) or open_or_absent(spec.source)
            member = cameras.new_member(spec.source, source)
            cameras.add(member)
        cameras.annotate(spec.name, Annotator(member.camera.snapshot, member.camera.flow, cameras.provider,
                                              spec.min_confidence, world.window, world.collector))
        cameras.retune(spec.name, spec.min_confidence, spec.gate, spec.health, spec.every_picture)

    def reconfigure(self, spec: Spec) -> bool:
        assert isinstance(spec, CameraSpec)
        if not self.spec.same_capture(spec):
            return False
        self.spec = spec
        self.world.cameras.retune(spec.name, spec.min_confidence, spec.gate, spec.health, spec.every_picture)
        return True

    def retire(self, successor: Spec | None) -> None:
        self.world.removed(self.spec.name)  # its capture thread ends by itself; the run's end joins it
        if successor is not None:
            info(f"{self.spec.name}: restarting")


class RecordPart(Simple):
    def __init__(self, spec: RecordSpec, world: World) -> None:
        index = world.components.get(("index",))
        member = world.cameras.find(spec.camera)
        assert member is not None
        encoding = world.encoders.get(spec.record.path, spec.record.encoding)
        made = recording(spec, member, encoding, index.index if isinstance(index, IndexPart) else None,
                         partial(world.captured_of, spec.camera))
        self.sink = world.own(spec.camera, made)


class JsonlPart(Simple):
    def __init__(self, spec: JsonlSpec, world: World) -> None:
        self.spec = spec
        self.jsonl = JsonLines(spec.target, spec.first_source, drop=spec.drop, min_confidence=spec.min_confidence,
                               sources=dict(spec.sources), thresholds=dict(spec.thresholds), rotation=spec.rotation)
        self.sink = self.jsonl

    def reconfigure(self, spec: Spec) -> bool:
        assert isinstance(spec, JsonlSpec)
        if (spec.target, spec.drop, spec.rotation) != (self.spec.target, self.spec.drop, self.spec.rotation):
            return False
        self.spec = spec
        self.jsonl.reconfigure(dict(spec.sources), dict(spec.thresholds), spec.min_confidence)
        return True


class MqttPart(Simple):
    """A camera's MQTT topics; a new threshold or new event labels keep its connection."""

    def __init__(self, spec: MqttSpec, world: World) -> None:
        self.spec = spec
        self.mqtt = MqttSink(spec.mqtt, spec.camera, spec.source_name, partial(world.status_of, spec.camera),
                             spec.min_confidence, events=spec.labels, problems=spec.problems)
        self.sink = world.own(spec.camera, self.mqtt)

    def reconfigure(self, spec: Spec) -> bool:
        assert isinstance(spec, MqttSpec)
        if (spec.mqtt, spec.camera, spec.source_name) != (self.spec.mqtt, self.spec.camera, self.spec.source_name):
            return False
        self.spec = spec
        self.mqtt.reconfigure(spec.min_confidence, spec.labels, spec.problems)
        return True

    def retire(self, successor: Spec | None) -> None:
        """Home Assistant's configs the successor will not publish again are cleared (empty, retained)."""
        assert successor is None or isinstance(successor, MqttSpec)
        same = successor is not None and successor.mqtt.discovery and \
            (successor.mqtt.broker, successor.camera) == (self.spec.mqtt.broker, self.spec.camera)
        self.mqtt.forget(successor.labels if same and successor else None)


class WebPart(Simple):
    """The web view; on the same socket and settings, the server stays and its cameras follow."""

    def __init__(self, spec: WebSpec, world: World) -> None:
        self.spec, self.world = spec, world
        options = Options(world.cameras.provider, spec.serve.token, spec.serve.fps,
                          spec.min_confidence, spec.serve.clients, spec.serve.password, spec.recordings,
                          spec.serve.hosts, spec.users, self._teacher)
        self.web = WebView(spec.serve.sock, self._feeds(spec), options, configuration=world.configuration)
        self.sink = self.web

    def _teacher(self) -> Teacher | None:
        part = self.world.components.get(("teach",))
        return part.teacher if isinstance(part, TeachPart) else None

    def _feeds(self, spec: WebSpec) -> list[Feed]:
        return [Feed(name, source, partial(self.world.status_of, name), partial(self.world.relearn, name))
                for name, source in spec.feeds]

    def reconfigure(self, spec: Spec) -> bool:
        assert isinstance(spec, WebSpec)
        if spec.serve != self.spec.serve:
            return False
        self.spec = spec
        self.web.reconfigure(self._feeds(spec), spec.min_confidence, spec.recordings, spec.users)
        return True


class EventsPart(Simple):
    """The events: always changed in place, so that an untouched camera's event goes on."""

    def __init__(self, spec: EventsSpec, world: World) -> None:
        self.spec, self.world = spec, world
        self.names = ClipNames(dict(spec.roots)) if spec.roots else None
        self.events = Events(spec.rules, self._clocks(spec), [], spec.live, self.names, dict(spec.own),
                             problems=self._problems)
        self.sink = self.events

    def _problems(self) -> dict[str, str | None]:
        """Each camera's health problem now (the events of its health checks)."""
        return {camera.name: camera.health for camera in self.world.cameras.status().cameras}

    def _clocks(self, spec: EventsSpec) -> dict:
        return {camera: self.world.clock_of(camera) for camera, _ in spec.own}

    def reconfigure(self, spec: Spec) -> bool:
        assert isinstance(spec, EventsSpec)
        if self.names is not None:
            self.names.reroot(dict(spec.roots))  # in place: an event going on keeps the clip its start named
        elif spec.roots:
            self.names = ClipNames(dict(spec.roots))
        self.spec = spec
        self.events.reconfigure(spec.rules, self._clocks(spec), spec.live, dict(spec.own), self.names)
        return True

    def wire(self, sinks: list[Sink]) -> None:
        """Every output that tells of events hears of each start and end."""
        self.events.listen_to([sink for sink in sinks if sink is not self.events])


class IndexPart(Simple):
    def __init__(self, spec: IndexSpec, world: World) -> None:
        self.index = Index(spec.root)
        self.sink = self.index


class NotifyPart(Simple):
    def __init__(self, spec: NotifySpec, world: World) -> None:
        self.notifier = Notifier(spec.notify, world.cameras.status)
        self.sink = self.notifier


class WebhooksPart(Simple):
    def __init__(self, spec: WebhooksSpec, world: World) -> None:
        self.sink = Webhooks(spec.urls, spec.token, media=spec.media)


class WatchPart(Simple):
    """``--watch-model``: a small thread that tells the reloader of a new model file."""

    def __init__(self, spec: WatchSpec, world: World) -> None:
        self.stop = threading.Event()
        watch(spec.model, world.model_changed, self.stop)

    def retire(self, successor: Spec | None) -> None:
        self.stop.set()

    def end(self) -> None:
        self.stop.set()


class WindowPart(Simple):
    """The window or grid, made at the start; a reload changes the grid's tiles."""

    def __init__(self, spec: WindowSpec, world: World) -> None:
        self.window = world.window
        self.sink = self.window

    def reconfigure(self, spec: Spec) -> bool:
        assert isinstance(spec, WindowSpec)
        tiles = getattr(self.window, "set_cameras", None)  # the grid, or one window per camera
        if tiles is not None:
            tiles(list(spec.cameras))
        elif len(spec.cameras) > 1:
            warning("reload: one window shows one camera; the others show in a grid after a restart")
        return True


class TeachPart(Simple):
    """The classes taught from the recordings: loaded and matched by every camera from the start."""

    def __init__(self, spec: TeachSpec, world: World) -> None:
        classifier = world.cameras.classifier
        self.teacher = Teacher(spec.root, spec.model or default_model_path(), classifier.taught, classifier.labels)
        try:
            self.teacher.load()
        except (OSError, ValueError) as error:  # a damaged features file: the run goes on without them
            warning(f"the taught classes in {spec.root} cannot be read ({error}); none is used")

    def retire(self, successor: Spec | None) -> None:
        if successor is None:
            self.teacher.clear()


class CollectPart(Simple):
    def __init__(self, spec: CollectSpec, world: World) -> None:
        assert world.collector is not None
        self.sink = Collecting(world.collector, world.quota, world.window, info)


KINDS: dict[type, type] = {CameraSpec: CameraPart, RecordSpec: RecordPart, JsonlSpec: JsonlPart, MqttSpec: MqttPart,
                           WebSpec: WebPart, EventsSpec: EventsPart, IndexSpec: IndexPart, NotifySpec: NotifyPart,
                           WebhooksSpec: WebhooksPart, WatchSpec: WatchPart, WindowSpec: WindowPart,
                           CollectSpec: CollectPart, TeachSpec: TeachPart}


def build(spec: Spec, world: World) -> Part:
    """The component ``spec`` describes, opened."""
    part: Part = KINDS[type(spec)](spec, world)
    return part
