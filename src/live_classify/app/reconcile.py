"""The run assembled one way: from no components to the configuration's at the start, and from the
running configuration's to the new one's at each reload (:class:`Assembly`, :func:`reconcile`).

An equal spec leaves its component untouched; a changed one is reconfigured by the component
itself where it can keep going (an untouched capture, a listening socket, a broker connection,
the events going on), else it is closed and built anew; a removed one is closed, a new one
opened. The events come first (an event of a removed camera ends while the outputs that tell of
it are still open), then the cameras (the outputs read them), then the index (the recordings
write to it).
"""
from __future__ import annotations

from collections.abc import Mapping

from live_classify.app.components import build
from live_classify.app.specs import Key, Spec
from live_classify.app.world import Part, World
from live_classify.errors import LiveClassifyError
from live_classify.log import debug_traceback, warning
from live_classify.sinks.base import Sink, Sinks

FIRST = ("events", "camera", "index")  # built (and changed) before the rest, in this order


def _rank(key: Key) -> int:
    return FIRST.index(key[0]) if key[0] in FIRST else len(FIRST)


def reconcile(world: World, old: Mapping[Key, Spec], new: Mapping[Key, Spec],
              strict: bool = True) -> list[Sink]:
    """``world.components`` brought from ``old`` to ``new``; returns the sinks to close. ``strict``
    (the start): a component that cannot be built is the run's error; else (a reload) one line,
    and the run goes on without it."""
    parts, gone = world.components, []
    for key in sorted(old.keys() - new.keys(), key=_rank):
        part = parts.pop(key)
        part.retire(None)
        gone += [part.sink] if part.sink is not None else []
    for key in sorted(new, key=_rank):
        if (running := parts.get(key)) is not None:
            if old[key] == new[key] or running.reconfigure(new[key]):
                continue
            del parts[key]
            running.retire(new[key])
            gone += [running.sink] if running.sink is not None else []
        try:
            parts[key] = build(new[key], world)
        except Exception as error:
            if strict:
                raise
            debug_traceback(f"reload: {' '.join(key)} failed", error)
            why = str(error) if isinstance(error, LiveClassifyError) else f"{type(error).__name__}: {error}"
            warning(f"reload: {' '.join(key)} could not start ({why}); the run goes on without it")
    ordered = {key: parts[key] for key in new if key in parts}  # the outputs' order
    parts.clear()
    parts.update(ordered)
    return gone


class Assembly:
    """The run's components, fed as the specs order them; what a reload changes, nothing else."""

    def __init__(self, world: World, sinks: Sinks) -> None:
        self.world = world
        self.sinks = sinks
        self.specs: dict[Key, Spec] = {}

    def apply(self, new: dict[Key, Spec], strict: bool = False) -> None:
        """From the running specs to ``new``, between two frames of the main loop."""
        gone = reconcile(self.world, self.specs, new, strict)
        self.specs = new
        active = [part.sink for part in self.world.components.values() if part.sink is not None]
        self.sinks.arrange(active, gone)
        for part in self.world.components.values():
            part.wire(active)

    def part(self, key: Key) -> Part | None:
        return self.world.components.get(key)

    def end(self) -> None:
        """The run ends: what is not a sink (the model's watch) stops too."""
        for part in self.world.components.values():
            part.end()
