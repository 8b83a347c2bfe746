"""The cameras of a run and the scheduler that serves them: opened, started, stopped and read
together. One camera is the case N = 1."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from live_classify.app.annotate import Annotator
from live_classify.config import GateConfig, HealthConfig, RunConfig, SourceConfig
from live_classify.engine.classifier import Classifier
from live_classify.errors import UsageError
from live_classify.log import info, warning
from live_classify.pipeline.camera import Camera
from live_classify.pipeline.frames import Flow, Frame
from live_classify.pipeline.gate import check_masks
from live_classify.pipeline.queues import Wake
from live_classify.pipeline.scheduler import Scheduler, lanes, per_core, scheduler
from live_classify.pipeline.smoothing import smoothing
from live_classify.pipeline.status import RunStatus
from live_classify.sources.absent import check_one_opened, open_or_absent
from live_classify.sources.capture import Source, SourceSpec
from live_classify.sources.opening import open_source


@dataclass
class Member:
    """One camera of the run and what the main loop keeps of it."""

    config: SourceConfig
    camera: Camera
    clock: Callable[[Frame], float]  # seconds on the source's own clock
    annotator: Annotator | None = None  # set once the window is known
    gone: bool = False  # its frames have ended (the source ended, or was lost for good)

    @property
    def name(self) -> str:
        return self.config.name

    def annotate(self, annotator: Annotator | None) -> None:
        """What draws its frames (None: it is gone, its last frame let go)."""
        self.annotator = annotator

    def end(self) -> None:
        """Its frames have ended."""
        self.gone = True


class Cameras:
    """Every camera of the run, and the scheduler that serves them."""

    def __init__(self, members: list[Member], scheduler: Scheduler, wake: Wake, classifier: Classifier) -> None:
        self.members = members
        self.scheduler = scheduler
        self.wake = wake
        self.classifier = classifier
        self.provider = classifier.backend.short_name
        self.stopping = False  # the run is ending: cameras no longer end one by one
        self._by_name = {m.name: m for m in members}
        self._retired: list[Member] = []  # removed by a reload: their threads are joined at the end too

    @classmethod
    def open(cls, config: RunConfig, open_classifier: Callable[..., Classifier]) -> Cameras:
        """Each source opened, then the engine: with several cameras one that cannot be reached yet
        is retried while the others run; one alone that cannot be opened is an error."""
        sources = _open_sources(config.sources)
        try:
            parallel = per_core(config.sources)
            classifier = open_classifier(threads=1 if parallel else None, spin=False)
            wake = Wake()
            members = [_member(src, source, classifier, wake, lanes(classifier, parallel), len(sources) == 1)
                       for src, source in zip(config.sources, sources, strict=True)]
            chosen = scheduler(classifier, [m.camera for m in members], wake, config.batch)
        except BaseException:
            for source in sources:
                source.release()
            raise
        return cls(members, chosen, wake, classifier)

    @property
    def running(self) -> list[Member]:
        return [m for m in self.members if not m.gone]

    def status(self) -> RunStatus:
        """Every camera now (systemd's notifications read the run as a whole)."""
        return RunStatus([m.camera.snapshot() for m in self.members])

    def stale(self, name: str) -> np.ndarray | None:
        """The one stale redraw: camera ``name``'s last frame saying why no new one comes, or None."""
        member = self._by_name.get(name)
        return member.annotator.stale() if member and member.annotator else None

    def why_waiting(self, name: str) -> str | None:
        """Why a camera has sent no frame yet, for its tile: it cannot be reached (and is retried)."""
        status = self._by_name[name].camera.snapshot()
        return f"reconnecting: {status.lost_because}" if status.reconnecting else None

    def find(self, name: str) -> Member | None:
        """Camera ``name`` of the run, if it runs."""
        return self._by_name.get(name)

    def annotate(self, name: str, annotator: Annotator) -> None:
        """What draws camera ``name``'s frames (its camera component's)."""
        self._by_name[name].annotate(annotator)

    def retune(self, name: str, min_confidence: float | None, gate: GateConfig | None,
               health: HealthConfig | None = None, every_picture: bool = True) -> None:
        """A reload's threshold, motion gate, health checks and pictures shown for camera ``name``, from its
        next frame on (a gate whose masks do not fit the camera's frame: one warning, and the old gate goes
        on; new health settings: its normal learned again)."""
        member = self._by_name[name]
        if member.annotator is not None:
            member.annotator.retune(min_confidence)
        member.camera.gate.show_every_picture(every_picture)
        if health != member.camera.health.config:
            member.camera.health.set(health)
        if gate == member.camera.gate.config:
            return
        try:
            for line in member.camera.gate.set(gate):
                warning(f"{name}: {line}")
        except UsageError as error:
            warning(f"{name}: {error}; its motion gate stays as it was")

    def add(self, member: Member) -> None:
        """A camera a reload added, served from the next batch on, then started."""
        self._set([*self.members, member])
        member.camera.start()

    def remove(self, name: str) -> Member:
        """A camera a reload removed: out of the next batch, then stopped (its thread ends by itself)."""
        member = self._by_name[name]
        self._set([m for m in self.members if m is not member])
        member.camera.stop()
        member.annotate(None)  # its last frame, let go
        self._retired = [*[m for m in self._retired if m.camera.running], member]  # ended: let go
        return member

    def _set(self, members: list[Member]) -> None:
        set_cameras = getattr(self.scheduler, "set_cameras", None)
        if set_cameras is None:  # the worker pool serves its one file
            raise RuntimeError("this run's cameras cannot change")
        set_cameras([m.camera for m in members])
        self.members = members
        self._by_name = {m.name: m for m in members}

    def swap_model(self, classifier: Classifier) -> None:
        """A new model, loaded: the scheduler takes it up between two batches."""
        def rebind(new: Classifier) -> None:
            for member in self.members:
                member.camera.smooth_with(smoothing(new, member.config.smooth))

        swap = getattr(self.scheduler, "swap", None)
        if swap is None:
            raise RuntimeError("this run's model cannot change")
        classifier.succeeds(self.classifier)  # what was taught stays taught
        swap(classifier, rebind)
        self.classifier = classifier

    @property
    def swappable(self) -> bool:
        """Whether a new model can be swapped in (not in the per-core workers' engines)."""
        return hasattr(self.scheduler, "swap")

    @property
    def changeable(self) -> bool:
        """Whether a reload can add and remove cameras (not for one file on the per-core workers)."""
        return hasattr(self.scheduler, "set_cameras")

    def new_member(self, src: SourceConfig, source: Source) -> Member:
        """A camera for ``src`` (a reload's), made as the first ones were."""
        return _member(src, source, self.classifier, self.wake, 1, alone=False)

    def start(self) -> None:
        for member in self.members:
            member.camera.start()
        self.scheduler.start()

    def stop(self) -> None:
        """Every camera and the scheduler; safe from a signal handler."""
        self.stopping = True
        for member in self.members:
            member.camera.stop()
        self.scheduler.stop()
        self.wake.set()

    def join(self, timeout: float) -> None:
        self.stop()
        deadline = time.monotonic() + timeout
        self.scheduler.join(timeout)
        for member in [*self.members, *self._retired]:
            member.camera.join(max(0.0, deadline - time.monotonic()))

    @property
    def failures(self) -> list[str]:
        return [m.camera.error for m in self.members if m.camera.error]


def _open_sources(sources: tuple[SourceConfig, ...]) -> list[Source]:
    """One source: opened, or an error. Several: each opened or retried later; none at all is an error."""
    if len(sources) == 1:
        src = sources[0]
        source = open_source(src)
        info(f"opened {source.describe()}")
        return [source]
    opened: list[Source] = []
    try:
        for src in sources:
            opened.append(open_or_absent(src))
        check_one_opened(opened)
    except BaseException:
        for one in opened:
            one.release()
        raise
    return opened


def _member(src: SourceConfig, source: Source, classifier: Classifier, wake: Wake, workers: int,
            alone: bool) -> Member:
    """One camera: its flow, its pace (``--realtime``), its smoothing, its lanes for the workers."""
    flow = Flow.of(src.spec.live, src.realtime)
    pace = None if src.spec.live or not src.realtime else source.claimed_fps or 30.0
    clock = source_clock(src.spec, source.claimed_fps)
    camera = Camera(source, flow=flow, name=src.name, source_name=src.spec.name, lanes=workers,
                    smoothed=smoothing(classifier, src.smooth), pace_fps=pace, max_reconnects=src.reconnect,
                    stall_s=src.read_timeout, alone=alone, wake=wake, gate=src.gate, clock=clock,
                    health=src.health)
    width, height = getattr(source, "width", 0), getattr(source, "height", 0)  # a camera not reached yet: unknown
    if src.gate and width and height:  # masks beyond the frame: exit 2
        for line in check_masks(src.gate.masks, width, height, "--gate-mask" if alone else f"{src.name}: --gate-mask"):
            warning(line)
    return Member(src, camera, clock)


def source_clock(spec: SourceSpec, claimed_fps: float | None) -> Callable[[Frame], float]:
    """Seconds on the source's own clock: a file's time from its frame rate, else the capture time."""
    if spec.live:
        return lambda frame: frame.t_capture
    fps = claimed_fps or 25.0
    if not claimed_fps:
        info(f"{spec.name} does not say its frame rate: its time is counted at {fps:g} fps")
    return lambda frame: frame.index / fps
