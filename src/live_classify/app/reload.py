"""``--config`` reloaded on SIGHUP while the run goes on.

The signal handler only sets :attr:`Reloader.requested`. The main loop, between two frames, starts
a thread that rereads the file and opens what is new (a file, a camera, a stream may take seconds
to open: the other cameras' frames go on meanwhile); when that is ready, the main loop applies the
difference at once: a camera removed ends (its recording closed, its MQTT status ``offline``), one
added starts, one whose keys changed restarts alone, and an untouched camera never pauses; the
outputs whose settings changed are rebuilt (``rebuild.py``). A file that cannot be read changes
nothing: one line says why.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from live_classify.app.annotate import Annotator
from live_classify.app.cameras import Cameras
from live_classify.app.outputs import camera_sinks, check_events, check_outputs
from live_classify.app.rebuild import Context, Plan, rebuild_shared, sinks_of
from live_classify.config import RunConfig, SourceConfig
from live_classify.engine.classifier import Classifier
from live_classify.errors import LiveClassifyError
from live_classify.log import debug_traceback, info, warning
from live_classify.sinks.base import Sinks
from live_classify.sinks.notify import Notifier
from live_classify.sinks.record.recording import Recording
from live_classify.sinks.summary_text import plural
from live_classify.sources.absent import open_or_absent
from live_classify.sources.capture import Source

ReRead = Callable[[RunConfig], RunConfig]  # the file read anew beside what runs; LiveClassifyError: why it cannot run
OpenModel = Callable[[Path], Classifier]  # a model loaded; LiveClassifyError: one line why not


class Reloader:
    """Rereads the configuration when asked, off the main loop; the main loop applies it (:meth:`step`)."""

    def __init__(self, reread: ReRead | None, config: RunConfig, context: Context, open_model: OpenModel) -> None:
        """``reread`` None: no file to read again (``--watch-model`` alone)."""
        self.requested = threading.Event()  # set by the signal handler, and nothing else there
        self.model_changed = threading.Event()  # set by the model file's watch
        self._open_model = open_model
        self.config = config
        self.loaded = 0  # how many reloads were applied
        self.loaded_at = time.time()  # when the running configuration was loaded (wall clock)
        self._reread = reread
        self._context = context
        context.configuration = self.shown if config.shown else None
        self._plans: queue.Queue[Plan | None] = queue.Queue()
        self._busy = False

    def shown(self) -> dict[str, object]:
        """The running configuration for /api/status: as --check shows it (masked), and since when."""
        loaded = datetime.fromtimestamp(self.loaded_at, timezone.utc).isoformat(timespec="seconds")
        return {"text": self.config.shown, "loaded": loaded, "reloads": self.loaded}

    def step(self, cameras: Cameras, sinks: Sinks) -> None:
        """On the main loop, between two frames: start a requested reload, or apply a ready one."""
        notifier = next((s for s in sinks.active if isinstance(s, Notifier)), None)
        if (self.requested.is_set() or self.model_changed.is_set()) and not self._busy:
            reread = self.requested.is_set() and self._reread is not None
            model = self.model_changed.is_set()
            self.requested.clear()
            self.model_changed.clear()
            self._busy = True
            info("SIGHUP: reading the configuration again" if reread else "the model file changed: loading it")
            if notifier:
                notifier.reloading()
            threading.Thread(target=self._prepare, args=(cameras, reread, model), name="reload", daemon=True).start()
        try:
            plan = self._plans.get_nowait()
        except queue.Empty:
            return
        self._busy = False
        if plan is not None:
            self._apply(plan, cameras, sinks)
        if notifier:
            notifier.reloaded()

    def _prepare(self, cameras: Cameras, reread: bool, model: bool) -> None:
        """The reload's slow part, in a thread: read the file, check it, load a new model, open the
        new cameras."""
        new = None
        try:
            new = self._reread(self.config) if reread and self._reread else self.config
            self._plans.put(self._plan(new, cameras, model))
        except LiveClassifyError as error:
            self._unbind(new)
            warning(f"reload refused: {error}; the run goes on as it was")
            self._plans.put(None)
        except Exception as error:  # noqa: BLE001 - a reload never ends the run
            self._unbind(new)
            debug_traceback("reload failed", error)
            warning(f"reload failed: {error}; the run goes on as it was")
            self._plans.put(None)

    def _unbind(self, refused: RunConfig | None) -> None:
        """A refused reload's new web server socket, bound for nothing: closed."""
        serve = refused.outputs.serve if refused else None
        if serve is not None and serve != self.config.outputs.serve:
            serve.sock.close()

    def _plan(self, new: RunConfig, cameras: Cameras, model_changed: bool = False) -> Plan:
        """What differs between the running configuration and ``new``, its new model loaded and
        its new cameras opened."""
        old = {src.name: src for src in self.config.sources}
        fresh = {src.name: src for src in new.sources}
        removed = [name for name in old if name not in fresh or _restart(old[name], fresh[name])]
        starting = [src for src in new.sources if src.name not in old or src.name in removed]
        if (removed or starting) and not cameras.changeable:
            raise LiveClassifyError("the cameras of a run of one video file cannot change: restart it")
        unchanged = [name for name in old if name not in removed]
        thresholds = {n: fresh[n].min_confidence for n in unchanged if fresh[n] != old[n]}
        rerecord = [name for name in old if name in fresh and fresh[name].record != old[name].record]
        recording = [src for src in new.sources if src.name not in old or src.name in rerecord]
        encoding = check_outputs(replace(new.outputs, jsonl=None), recording)  # one that cannot be written
        if new.outputs.jsonl != self.config.outputs.jsonl:
            check_outputs(new.outputs, [])
        classifier = None
        if new.model and (model_changed or new.model != self.config.model):
            if not cameras.swappable:
                raise LiveClassifyError("the model of a run of one video file cannot change: restart it")
            classifier = self._open_model(new.model)
        check_events(new.outputs.events, classifier or cameras.classifier)
        opened: list[tuple[SourceConfig, Source]] = []
        try:
            for src in starting:
                opened.append((src, open_or_absent(src)))
        except BaseException:
            for _, source in opened:
                source.release()
            raise
        was = self.config.outputs
        outputs = new.outputs.jsonl != was.jsonl, new.outputs.mqtt != was.mqtt, new.outputs.serve != was.serve
        return Plan(new, removed, opened, thresholds, rerecord, encoding, classifier, *outputs)

    def _apply(self, plan: Plan, cameras: Cameras, sinks: Sinks) -> None:
        """The plan, at once, between two frames: cameras ended and started, outputs rebuilt."""
        out, fresh = plan.config.outputs, {src.name: src for src in plan.config.sources}
        old_names = {src.name for src in self.config.sources}
        if plan.classifier is not None:  # before a new camera is made: it smooths with the new model's classes
            cameras.swap_model(plan.classifier)
            info(f"model {plan.config.model}: swapped in from the next batch")
        for name in plan.removed:
            cameras.remove(name)  # its capture thread ends by itself; the run's end joins it
            kept = name in fresh and name not in plan.rerecord  # a restart: its recording goes on
            sinks.remove([s for s in sinks_of(sinks, name) if not (kept and isinstance(s.sink, Recording))])
            info(f"{name}: {'restarting' if name in fresh else 'removed'}")
        for src, source in plan.added:
            member = cameras.new_member(src, source)
            member.annotator = Annotator(member.camera.snapshot, member.camera.flow, cameras.provider,
                                         src.min_confidence, self._context.window, self._context.collector)
            kept = src.name in old_names and src.name not in plan.rerecord
            sinks.add(camera_sinks(out, plan.encoding, member, True, recording=not kept))
            cameras.add(member)
            info(f"{src.name}: started")
        for member in cameras.members:
            member.config = fresh[member.name]  # the same, or a new threshold
            if member.annotator:
                member.annotator.min_confidence = member.config.min_confidence
            if member.name in plan.rerecord and member.name not in plan.removed:
                sinks.remove([s for s in sinks_of(sinks, member.name) if isinstance(s.sink, Recording)])
                sinks.add(camera_sinks(out, plan.encoding, member, True, mqtt=False))
                info(f"{member.name}: its recording closed; recording anew as the file says")
        rebuild_shared(plan, cameras, sinks, self._context, self.config)
        what = "model" if plan.config is self.config else "configuration"  # --watch-model alone: the same config
        self.config = plan.config
        self.loaded += 1
        self.loaded_at = time.time()
        info(f"{what} reloaded: {plural(len(cameras.members), 'camera')}")


def _restart(old: SourceConfig, new: SourceConfig) -> bool:
    """Whether a camera's new keys need it restarted (a new threshold, recording or event rules alone do not)."""
    return replace(old, min_confidence=None, record=None, events=None) != replace(new, min_confidence=None, record=None,
                                                                                   events=None)
