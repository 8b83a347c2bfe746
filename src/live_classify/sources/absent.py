"""A camera of several that could not be opened at the start: the run goes on with the others.

A box often boots before one of its cameras. Rather than end the whole run, that camera starts
out lost: its first ``read()`` says so, its camera reopens it with the usual backoff (said in
its tile, ``/healthz`` and the log, exactly as a camera lost mid-run), and the first reopen that
works makes it an ordinary source.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from live_classify.config import SourceConfig
from live_classify.errors import LiveClassifyError
from live_classify.log import info, warning
from live_classify.sources.capture import Source, SourceSpec
from live_classify.sources.opening import open_source
from live_classify.sources.picture import Picture


def open_or_absent(src: SourceConfig) -> Source:
    """One camera of several, opened; a live one that cannot be yet is retried with backoff while
    the others run (a file that cannot be opened is an error: the command line named it)."""
    open_ = partial(open_source, src)
    try:
        source = open_()
    except LiveClassifyError as failure:
        if not src.spec.live:
            raise
        why = AbsentSource.reason(src.spec, failure)
        warning(f"{src.name}: cannot open {src.spec.name} ({why}); the others go on, {src.name} is retried")
        return AbsentSource(src.spec, open_, why, src.name)
    info(f"{src.name}: opened {source.describe()}")
    return source


def check_one_opened(sources: Sequence[Source]) -> None:
    """A run where no camera could be opened fails as one camera's would (exit 1), naming each."""
    if all(isinstance(s, AbsentSource) for s in sources):
        reasons = "; ".join(f"{s.name}: {s.why}" for s in sources if isinstance(s, AbsentSource))
        raise LiveClassifyError(f"no camera could be opened ({reasons})")


class AbsentSource:
    """A live :class:`~live_classify.sources.capture.Source` not opened yet: ``open`` is tried at each ``reopen()``."""

    claimed_fps: float | None = None  # a live rate is measured anyway

    def __init__(self, spec: SourceSpec, open_: Callable[[], Source], why: str, name: str = "") -> None:
        """``open_``: opens the source as at the start (raises :class:`LiveClassifyError`); ``why``:
        it did not; ``name``: the camera's."""
        self.spec = spec
        self.name = name
        self.why = why
        self.lost_because = f"not reachable at the start: {why}"
        self._open = open_
        self._opened: Source | None = None

    @staticmethod
    def reason(spec: SourceSpec, failure: LiveClassifyError) -> str:
        """The reason of an open failure, without the source's name (the log line already names it)."""
        return str(failure).split(f"{spec.name}: ", 1)[-1]

    def describe(self) -> str:
        return self._opened.describe() if self._opened else f"{self.spec.name}: not opened yet"

    def read(self) -> np.ndarray | Picture | None:
        """None until a reopen has worked (the camera then reopens with backoff), frames after."""
        if self._opened is None:
            return None
        image = self._opened.read()
        self.lost_because = self._opened.lost_because
        return image

    def reopen(self) -> bool:
        """One try: the first that works opens the source for good; later ones reopen it as usual."""
        if self._opened is not None:
            return self._opened.reopen()
        try:
            self._opened = self._open()
        except LiveClassifyError:
            return False
        return True

    def release(self) -> None:
        if self._opened is not None:
            self._opened.release()
