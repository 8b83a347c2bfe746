"""``--smooth ALPHA``: a camera's results averaged over frames, on the main thread in frame order."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

from live_classify.engine.classifier import Classification, Classifier
from live_classify.engine.postprocess import Smoother

Smoothing = Callable[[Classification], Classification]


def smoothing(classifier: Classifier, alpha: float) -> Smoothing | None:
    """Each result averaged with the ones before it (one smoother per camera); None for ``alpha`` 1."""
    return partial(classifier.smoothed, smoother=Smoother(alpha)) if alpha < 1 else None
