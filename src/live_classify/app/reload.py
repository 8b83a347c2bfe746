"""``--config`` reloaded on SIGHUP (and ``--watch-model``'s new model file) while the run goes on.

The signal handler only sets :attr:`Reloader.requested`. The main loop, between two frames, starts
a thread that rereads the file, validates it as ``--check`` does, loads a new model and opens what
is new (a file, a camera, a stream may take seconds to open: the other cameras' frames go on
meanwhile); when that is ready, the main loop applies it at once, as the difference between the
running components and the new configuration's (``reconcile.py``): an untouched camera never
pauses. One line says each change; a file that cannot be read or run changes nothing, and one
line says why. systemd hears RELOADING=1, then READY=1 either way.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from live_classify.app.changes import changes
from live_classify.app.components import NotifyPart
from live_classify.app.outputs import check_outputs
from live_classify.app.reconcile import Assembly
from live_classify.app.specs import CameraSpec, Key, RecordSpec, Spec, specs
from live_classify.app.validate import validate
from live_classify.config import EncoderSettings, RunConfig
from live_classify.engine.classifier import Classifier
from live_classify.errors import LiveClassifyError
from live_classify.log import debug_traceback, info, warning
from live_classify.sinks.notify import Notifier
from live_classify.sinks.summary_text import plural
from live_classify.sources.absent import open_or_absent
from live_classify.sources.capture import Source

ReRead = Callable[[RunConfig], RunConfig]  # the file read anew beside what runs; LiveClassifyError: why it cannot run
OpenModel = Callable[[Path], Classifier]  # a model loaded; LiveClassifyError: one line why not


@dataclass
class Plan:
    """A reload, ready to apply: the new configuration, its components, what was opened for them."""

    config: RunConfig
    specs: dict[Key, Spec]
    classifier: Classifier | None = None  # a new model, loaded already
    opened: dict[str, Source] = field(default_factory=dict)  # the new (or restarted) cameras' sources
    encoders: dict[Path, EncoderSettings] = field(default_factory=dict)  # the new recordings' encoders


class Reloader:
    """Rereads the configuration when asked, off the main loop; the main loop applies it (:meth:`step`)."""

    def __init__(self, reread: ReRead | None, config: RunConfig, assembly: Assembly, open_model: OpenModel) -> None:
        """``reread`` None: no file to read again (``--watch-model`` alone)."""
        self.requested = threading.Event()  # set by the signal handler, and nothing else there
        self.model_changed = assembly.world.model_changed  # set by the model file's watch
        self.config = config
        self.loaded = 0  # how many reloads were applied
        self.loaded_at = time.time()  # when the running configuration was loaded (wall clock)
        self._open_model = open_model
        self._reread = reread
        self._assembly = assembly
        self._plans: queue.Queue[Plan | str] = queue.Queue()  # a plan, or why the reload was refused
        self._busy = False

    def shown(self) -> dict[str, object]:
        """The running configuration for /api/status: as --check shows it (masked), and since when."""
        loaded = datetime.fromtimestamp(self.loaded_at, timezone.utc).isoformat(timespec="seconds")
        return {"text": self.config.shown, "loaded": loaded, "reloads": self.loaded}

    def _notifier(self) -> Notifier | None:
        part = self._assembly.part(("notify",))
        return part.notifier if isinstance(part, NotifyPart) else None

    def step(self) -> None:
        """On the main loop, between two frames: start a requested reload, or apply a ready one."""
        if (self.requested.is_set() or self.model_changed.is_set()) and not self._busy:
            reread = self.requested.is_set() and self._reread is not None
            model = self.model_changed.is_set()
            self.requested.clear()
            self.model_changed.clear()
            self._busy = True
            info("SIGHUP: reading the configuration again" if reread else "the model file changed: loading it")
            if notifier := self._notifier():
                notifier.reloading()
            threading.Thread(target=self._prepare, args=(reread, model), name="reload", daemon=True).start()
        try:
            plan = self._plans.get_nowait()
        except queue.Empty:
            return
        self._busy = False
        refused = plan if isinstance(plan, str) else None
        if isinstance(plan, Plan):
            self._apply(plan)
        if notifier := self._notifier():
            notifier.reloaded(refused)

    def _prepare(self, reread: bool, model: bool) -> None:
        """The reload's slow part, in a thread: read the file, check it, load a new model, open the
        new cameras."""
        new = None
        try:
            new = self._reread(self.config) if reread and self._reread else self.config
            self._plans.put(self.plan(new, model))
        except LiveClassifyError as error:
            self._unbind(new)
            warning(f"reload refused: {error}; the run goes on as it was")
            self._plans.put(f"reload refused: {error}")
        except Exception as error:  # noqa: BLE001 - a reload never ends the run
            self._unbind(new)
            debug_traceback("reload failed", error)
            warning(f"reload failed: {error}; the run goes on as it was")
            self._plans.put(f"reload failed: {error}")

    def _unbind(self, refused: RunConfig | None) -> None:
        """A refused reload's new web server socket, bound for nothing: closed."""
        serve = refused.outputs.serve if refused else None
        if serve is not None and serve != self.config.outputs.serve:
            serve.sock.close()

    def plan(self, new: RunConfig, model_changed: bool = False) -> Plan:
        """``new`` validated as ``--check`` does (with the model it will run), its new model
        loaded, its new recordings' encoders chosen, its new cameras opened."""
        world, running = self._assembly.world, self._assembly.specs
        cameras = world.cameras
        classifier = None
        if new.model and (model_changed or new.model != self.config.model):
            if not cameras.swappable:
                raise LiveClassifyError("the model of a run of one video file cannot change: restart it")
            classifier = self._open_model(new.model)
        validate(new, (classifier or cameras.classifier).spec.labels)
        wanted = specs(new, world.window is not None)
        starting = [spec for key, spec in wanted.items() if isinstance(spec, CameraSpec)
                    and not (isinstance(old := running.get(key), CameraSpec) and old.same_capture(spec))]
        gone = [key for key in running if key[0] == "camera" and key not in wanted]
        if (starting or gone) and not cameras.changeable:
            raise LiveClassifyError("the cameras of a run of one video file cannot change: restart it")
        recording = [spec.camera for key, spec in wanted.items() if isinstance(spec, RecordSpec)
                     and running.get(key) != spec]
        jsonl = new.outputs.jsonl if new.outputs.jsonl != self.config.outputs.jsonl else None
        encoders = check_outputs(jsonl, [src for src in new.sources if src.name in recording])
        opened: dict[str, Source] = {}
        try:
            for spec in starting:
                opened[spec.name] = open_or_absent(spec.source)
        except BaseException:
            for source in opened.values():
                source.release()
            raise
        return Plan(new, wanted, classifier, opened, encoders)

    def _apply(self, plan: Plan) -> None:
        """The plan, at once, between two frames: the model swapped, the components reconciled."""
        world = self._assembly.world
        if plan.classifier is not None:  # before a new camera is made: it smooths with the new model's classes
            world.cameras.swap_model(plan.classifier)
            info(f"model {plan.config.model}: swapped in from the next batch")
        said = changes(self.config.shown, plan.config.shown)
        for line in said:
            info(line)
        if not said and plan.classifier is None:
            info("reload: nothing changed")
        world.opened.update(plan.opened)
        world.encoders.update(plan.encoders)
        self._assembly.apply(plan.specs)
        for source in world.opened.values():  # opened for a camera that could not start after all
            source.release()
        world.opened.clear()
        what = "model" if plan.config is self.config else "configuration"  # --watch-model alone: the same config
        self.config = plan.config
        self.loaded += 1
        self.loaded_at = time.time()
        info(f"{what} reloaded: {plural(len(world.cameras.members), 'camera')}")
