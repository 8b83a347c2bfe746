"""The teacher: moments of the recordings in, a class every camera uses out. The frames at those
moments are read from the segments (as /history's thumbnails are), their features computed with
the run's model file on the CPU, kept in ``DIR/classes`` and matched from the next batch on: a
new :class:`Matcher` swapped into the engines' shared :class:`Taught` cell, never a restart."""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from live_classify.engine.taught import Matcher, Taught, TaughtClass
from live_classify.log import info
from live_classify.pipeline.frames import Log
from live_classify.sinks.web.history.queries import History, NoIndex, media_url
from live_classify.teach import Refused
from live_classify.teach.store import BadLabel, ClassStore, Examples, check_label, example_name, fingerprint

if TYPE_CHECKING:
    from live_classify.train.features import FeatureExtractor

MAX_EXAMPLES = 50  # moments in one request: each is a frame decoded and run through the model
JPEG_QUALITY = 90
Moment = tuple[str, float]  # (camera, unix seconds)


class Teacher:
    """The taught classes of one recording directory, for the run whose engines share ``taught``."""

    def __init__(self, recordings: Path, model: Path, taught: Taught, model_labels: Sequence[str],
                 log: Log = info) -> None:
        self.store = ClassStore(recordings)
        self.history = History(recordings)
        self.model = model
        self.taught = taught
        self.model_labels = frozenset(model_labels)
        self._log = log
        self._lock = threading.Lock()  # one change at a time (requests run on executor threads)
        self._extractor: FeatureExtractor | None = None
        self._fingerprint: str | None = None
        self._classes: dict[str, TaughtClass] = {}

    def load(self) -> None:
        """The classes kept in the directory, matched from now on (features computed anew from their
        frames where another model file made them)."""
        with self._lock:
            for label in self.store.labels():
                examples = self.store.load(label)
                if examples.model != self._model_fingerprint():
                    examples = self._recomputed(label, examples)
                self._classes[label] = TaughtClass.of(label, examples.features)
            self._publish()
        if self._classes:
            self._log(f"taught classes: {', '.join(self._classes)}")

    def classes(self) -> list[dict[str, object]]:
        """Every taught class with its examples (camera, time, the URL of its frame), by label."""
        listed: list[dict[str, object]] = []
        with self._lock:  # not a class half deleted
            for label in self.store.labels():
                names = self.store.load(label).names
                listed.append({"label": label, "threshold": round(self._classes[label].threshold, 4)
                               if label in self._classes else None,
                               "examples": [_example(label, name) for name in names]})
        return listed

    def teach(self, label: str, moments: Sequence[Moment]) -> dict[str, object]:
        """``label`` taught (or refined) from the frames at ``moments``; Refused for what cannot be."""
        try:
            label = check_label(label)
        except BadLabel as error:
            raise Refused(400, str(error)) from None
        if not 0 < len(moments) <= MAX_EXAMPLES:
            raise Refused(400, f"give 1 to {MAX_EXAMPLES} examples, not {len(moments)}")
        frames = self._frames(moments)
        with self._lock:
            features = self._features(list(frames.values()))
            old = self.store.load(label) if label in self.store.labels() else None
            examples = _merged(old, tuple(frames), features, self._model_fingerprint())
            jpegs = {name: cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()
                     for name, image in frames.items()}
            self.store.save(label, examples, jpegs)
            taught = self._classes[label] = TaughtClass.of(label, examples.features)
            self._publish()
        also = label in self.model_labels
        self._log(f"taught {label!r} from {len(frames)} example(s), {len(examples.names)} in all "
                  f"(threshold {taught.threshold:.2f})" + (": also one of the model's classes" if also else ""))
        answer: dict[str, object] = {"label": label, "added": len(frames), "examples": len(examples.names),
                                     "threshold": round(taught.threshold, 4), "model_class": also}
        if also:
            answer["note"] = f"{label!r} is also one of the model's classes: the taught one wins where it matches"
        return answer

    def forget(self, label: str) -> bool:
        """The class gone from every camera and from the directory; False if it was never taught."""
        with self._lock:
            if not self.store.remove(label):
                return False
            self._classes.pop(label, None)
            self._publish()
        self._log(f"forgot the taught class {label!r}")
        return True

    def clear(self) -> None:
        """Nothing taught any more for the run (its recording directory is no longer this one)."""
        self.taught.set(Matcher())

    def _publish(self) -> None:
        self.taught.set(Matcher(tuple(self._classes[label] for label in sorted(self._classes))))

    def _frames(self, moments: Sequence[Moment]) -> dict[str, np.ndarray]:
        """Each moment's frame, by its example's file name (each segment opened once); Refused (422)
        for a camera the recordings do not know or a moment they do not hold."""
        try:
            known = set(self.history.cameras())
            wanted: dict[tuple[Path, float], list[Moment]] = {}
            for camera, t in moments:
                if camera not in known:
                    raise Refused(422, f"no camera named {camera!r} in the recordings ({', '.join(sorted(known))})")
                wanted.setdefault(self._segment(camera, t), []).append((camera, t))
        except (NoIndex, sqlite3.Error) as error:
            raise Refused(422, f"nothing can be read from the recordings: {error}") from None
        frames = {}
        for (path, begins), held in wanted.items():
            images = _read(path, [when - begins for _, when in held])
            for (camera, when), image in zip(held, images, strict=True):
                if image is None:
                    raise Refused(422, f"nothing of {camera} is recorded at {when}")
                frames[example_name(camera, when)] = image
        return frames

    def _segment(self, camera: str, t: float) -> tuple[Path, float]:
        """The segment that holds ``t`` and its start, as the thumbnails find it (one still being
        written is not indexed yet)."""
        held = [s for s in self.history.segments(camera, t - 1, t) if s[1] <= t <= s[2] + 0.5]
        if not held:
            raise Refused(422, f"nothing of {camera} is recorded at {t} (a segment still being written "
                               "is readable once it is closed)")
        return held[-1][0], held[-1][1]

    def _features(self, images: list[np.ndarray]) -> np.ndarray:
        if self._extractor is None:
            from live_classify.train.features import FeatureExtractor  # onnxruntime's session, once

            self._extractor = FeatureExtractor(self.model)
        return self._extractor(images)

    def _model_fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self.model)
        return self._fingerprint

    def _recomputed(self, label: str, examples: Examples) -> Examples:
        """A class's features computed anew from its frames (another model file made them)."""
        folder = self.store.folder(label)
        images = [cv2.imread(str(folder / name)) for name in examples.names]
        kept = [(name, image) for name, image in zip(examples.names, images, strict=True) if image is not None]
        fresh = Examples(tuple(n for n, _ in kept), self._features([i for _, i in kept]), self._model_fingerprint())
        self.store.save(label, fresh, {})
        return fresh


def _merged(old: Examples | None, names: tuple[str, ...], features: np.ndarray, model: str) -> Examples:
    """The class's examples with the new ones added (a moment taught again replaces its old copy)."""
    if old is None or old.model != model:
        return Examples(names, features, model)
    kept = [i for i, name in enumerate(old.names) if name not in names]
    return Examples(tuple(old.names[i] for i in kept) + names,
                    np.concatenate([old.features[kept], features]), model)


def _example(label: str, name: str) -> dict[str, object]:
    camera, _, millis = name.removesuffix(".jpg").rpartition("-")
    return {"camera": camera, "time": int(millis) / 1000, "url": media_url(f"classes/{label}/{name}")}


def _read(path: Path, offsets: list[float]) -> list[np.ndarray | None]:
    from live_classify.sinks.record.frame_at import frames_at  # PyAV, only when teaching

    try:
        return frames_at(path, offsets)
    except Exception as error:  # noqa: BLE001 - av.FFmpegError or OSError: a file cut short or gone
        raise Refused(422, f"cannot read {path.name}: {error}") from None
