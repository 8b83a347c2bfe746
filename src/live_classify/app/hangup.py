"""SIGHUP with ``--config`` from the process's first moment. The run takes SIGHUP as "reload" only
once its cameras and outputs are up, which can take seconds (a model to load, an RTSP camera slow
to open); a SIGHUP before that would kill the service with the default action. Held here instead,
it becomes the run's first reload."""
from __future__ import annotations

import signal
import threading

PENDING = threading.Event()  # a SIGHUP came before the run could reload


def hold() -> None:
    """From now on a SIGHUP is kept for the run (``PENDING``), not fatal."""
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda _signum, _frame: PENDING.set())
