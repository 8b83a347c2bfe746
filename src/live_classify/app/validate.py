"""What a configuration must satisfy to run, beyond its keys (``cli/`` checks those): the same
checks at the start, on a reload, and for ``--check`` (which describes the model file to know its
classes), so that a file passes ``--check`` exactly when a reload would take it."""
from __future__ import annotations

from collections.abc import Sequence

from live_classify.app.specs import indexed_directory
from live_classify.config import RunConfig
from live_classify.errors import UsageError
from live_classify.teach.store import ClassStore


def validate(config: RunConfig, labels: Sequence[str] | None) -> None:
    """``labels``: the model's classes (None: it names none, any label goes). A class taught from the
    recordings (``DIR/classes``) is a label too."""
    events = config.outputs.events
    wanted = [label for label in (events.labels if events else ()) if labels is not None and label not in labels]
    root = indexed_directory(config.outputs) if wanted else None
    taught = set(ClassStore(root).labels()) if root is not None else set()
    for label in wanted:
        if label not in taught:
            raise UsageError(f"--event {label}: the model has no class of that name (see --model, --labels), "
                             "nor is it taught (/history)")
