"""What an output that goes on running cannot do for now (a recording stopped by a full disk until
there is room again), for ``/api/status`` and ``/healthz`` to say, and for the events to know
(no clip is named while its camera records nothing). Set and cleared by the output itself, from
any thread; read by the web view and the clip names. An output that fails for good has ``error``
instead (``base.py``) and is dropped."""
from __future__ import annotations

import threading

_lock = threading.Lock()
_now: dict[tuple[str, str], str] = {}  # (output, camera): what it cannot do, in words


def report(output: str, camera: str, why: str | None) -> None:
    """``output`` of ``camera`` (its name; "" for the run's only camera) cannot work now, and
    why; ``why`` None: it works again."""
    with _lock:
        if why is None:
            _now.pop((output, camera), None)
        else:
            _now[(output, camera)] = why


def of(camera: str | None = None) -> list[str]:
    """What is wrong now, as "<output> <why>", of one camera (and of the run's only one), or of all."""
    with _lock:
        return [f"{output} {why}" for (output, where), why in sorted(_now.items())
                if camera is None or where in (camera, "")]


def stopped(output: str, camera: str) -> str | None:
    with _lock:
        return _now.get((output, camera))
