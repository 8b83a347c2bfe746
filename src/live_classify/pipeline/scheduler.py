"""Inference for the run, always through one :class:`Scheduler`, chosen here and nowhere else.

* :class:`~live_classify.pipeline.batching.Batcher`, for any number of cameras (one included): the
  newest frame of each live camera, the next in order of a file, as one batch; fixed-size batches
  on a GPU, where each new size costs a new plan.
* :class:`~live_classify.pipeline.workers.WorkerPool`, for one video file on a CPU with several
  cores: a single-threaded engine per core sharing the session, which does more frames a second
  than one engine on every core while decoding and drawing take their turns.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from live_classify.config import BatchConfig, SourceConfig
from live_classify.engine.classifier import Classifier
from live_classify.engine.providers import CPU, CUDA, TENSORRT
from live_classify.log import info
from live_classify.pipeline.batching import Batcher
from live_classify.pipeline.camera import Camera
from live_classify.pipeline.frames import Flow
from live_classify.pipeline.queues import Wake
from live_classify.pipeline.workers import WorkerPool


class Scheduler(Protocol):
    """Takes the cameras' frames to the engine and their predictions back, in a thread of its own."""

    error: str | None  # why inference failed (every camera is stopped then)

    def start(self) -> object: ...

    def stop(self) -> None: ...

    def join(self, timeout: float) -> None: ...

    def summary(self) -> str: ...


def per_core(sources: Sequence[SourceConfig]) -> bool:
    """Whether the run wants the per-core worker pool (then one single-threaded engine is opened):
    every frame of one file, no ``--threads``, several cores. Live sources want one engine on all
    cores, for the shortest latency."""
    src = sources[0]
    flow = Flow.of(src.spec.live, src.realtime)
    return len(sources) == 1 and flow is Flow.EVERY and not src.threads and (os.cpu_count() or 1) > 1


def lanes(classifier: Classifier, parallel: bool) -> int:
    """How many workers share the file's frames: one per core on the CPU, else one."""
    return (os.cpu_count() or 1) if parallel and classifier.backend.provider == CPU else 1


def scheduler(classifier: Classifier, cameras: Sequence[Camera], wake: Wake, batch: BatchConfig) -> Scheduler:
    """The worker pool for a camera with several lanes, else the batcher (one line says how, for several)."""
    if len(cameras) == 1 and cameras[0].lanes > 1:
        return WorkerPool(classifier, cameras[0])
    on_cpu = classifier.backend.provider == CPU
    given = batch.max_batch if len(cameras) > 1 else None  # one camera: a batch of one, always
    max_batch = given or (1 if on_cpu else len(cameras))
    if len(cameras) > 1:
        why = " (on the CPU a bigger batch costs more per frame; --max-batch to change)" \
            if on_cpu and max_batch == 1 else ""
        info(f"{len(cameras)} cameras, one model: batches of up to {max_batch}{why}"
             + (f", waiting up to {batch.wait_s * 1e3:g} ms for the others" if batch.wait_s else ""))
    return Batcher(classifier, cameras, wake, max_batch=max_batch, wait_s=batch.wait_s,
                   pad=classifier.backend.provider in (CUDA, TENSORRT))
