"""What the components of a run are built with beside their specs: the cameras and their engine,
the window and collector made once at the start, the sources a reload opened beforehand, the
encoders chosen, and the components themselves (one component finds another by its key)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from live_classify.app.cameras import Cameras
from live_classify.config import EncoderSettings
from live_classify.pipeline.frames import Frame
from live_classify.pipeline.status import CameraStatus
from live_classify.sinks.base import OneCamera, Sink
from live_classify.sinks.collect import Collector, Quota
from live_classify.sinks.display.window import Window
from live_classify.sources.capture import Source

if TYPE_CHECKING:
    from live_classify.app.specs import Key, Spec


class Part(Protocol):
    """A component of the run: what it feeds (``sink``, None for a camera or the model's watch),
    how it takes a changed spec, how a reload ends it."""

    sink: Sink | None

    def reconfigure(self, spec: Spec) -> bool:
        """Take ``spec`` in place (True), or say it must be closed and built anew (False)."""

    def retire(self, successor: Spec | None) -> None:
        """A reload ends it (``successor``: the spec of the one that replaces it); its sink is closed after."""

    def wire(self, sinks: list[Sink]) -> None:
        """The run's outputs, after a change: those it tells of what it sees (the events' listeners)."""

    def end(self) -> None:
        """The run ends (its sink, if any, is closed with the others')."""


@dataclass
class World:
    """The run's shared state, as the components see it."""

    cameras: Cameras
    window: Window | None = None
    collector: Collector | None = None
    quota: Quota | None = None
    reloadable: bool = False  # cameras may come and go: each camera's outputs see only its frames
    model_changed: threading.Event = field(default_factory=threading.Event)  # set by the model file's watch
    configuration: Callable[[], dict[str, object]] | None = None  # --config: /api/status's running configuration
    opened: dict[str, Source] = field(default_factory=dict)  # sources opened beforehand, by camera
    encoders: dict[Path, EncoderSettings] = field(default_factory=dict)  # each --record target's encoder, chosen
    components: dict[Key, Part] = field(default_factory=dict)
    _last: dict[str, CameraStatus] = field(default_factory=dict)  # removed cameras, as they ended

    def shows(self, configuration: Callable[[], dict[str, object]]) -> None:
        """``--config``: the running configuration, for the web view's /api/status."""
        self.configuration = configuration

    def status_of(self, name: str) -> CameraStatus:
        """Camera ``name`` now (a restarted camera's new capture), or as it was when a reload removed it."""
        member = self.cameras.find(name)
        return member.camera.snapshot() if member else self._last[name]

    def relearn(self, name: str) -> bool:
        """Camera ``name``'s health checks learn its normal anew; False when it has none."""
        member = self.cameras.find(name)
        if member is None or member.camera.health.config is None:
            return False
        member.camera.health.relearn()
        return True

    def clock_of(self, name: str) -> Callable[[Frame], float]:
        """Camera ``name``'s clock, looked up at each frame (a restart gives it a new capture)."""
        def clock(frame: Frame) -> float:
            member = self.cameras.find(name)
            return member.clock(frame) if member else frame.t_capture
        return clock

    def captured_of(self, name: str) -> int:
        member = self.cameras.find(name)
        return member.camera.stats.captured if member else self._last[name].captured

    def removed(self, name: str) -> None:
        """Camera ``name`` goes: what the outputs closing after it may still ask of it, kept."""
        self._last[name] = self.status_of(name)
        self.cameras.remove(name)

    def own(self, camera: str, sink: Sink) -> Sink:
        """A camera's own output, seeing only its frames when there are (or may be) several cameras."""
        several = self.reloadable or len(self.cameras.members) > 1
        return OneCamera(camera, sink) if several else sink
