"""The one place where a source's kind picks the class that opens it.

Every source has the :class:`~live_classify.sources.capture.Source` shape: ``read()``,
``reopen()``, ``release()``, ``describe()``. Cameras, streams and files all open through OpenCV
today. A new kind of source (a GStreamer pipeline, a CSI camera's own library) is one module in
``sources/`` with that shape, and one line in :data:`OPENERS` under the kind its ``--source``
value parses to.
"""
from __future__ import annotations

from collections.abc import Callable

from live_classify.config import SourceConfig
from live_classify.sources.capture import Source, VideoSource


def _opencv(src: SourceConfig) -> Source:
    return VideoSource(src.spec, src.camera, src.open_timeout, src.read_timeout, src.rtsp_transport)


OPENERS: dict[str, Callable[[SourceConfig], Source]] = {
    "camera": _opencv,
    "stream": _opencv,
    "file": _opencv,
}


def open_source(src: SourceConfig) -> Source:
    """The source of ``src``, opened (a :class:`~live_classify.errors.LiveClassifyError` if it cannot be)."""
    return OPENERS[src.spec.kind](src)
