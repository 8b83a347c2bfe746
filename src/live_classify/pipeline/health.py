"""A camera's health: whether it is in trouble, and which trouble, from a cheap look at each frame.

Camera vendors call it tampering detection. Each frame's small luma (the motion gate's: about
100 px high, :func:`~live_classify.pipeline.gate.frame_luma`) is looked at for four problems:

- ``frozen``: identical to the frame before, pixel for pixel. A live camera always has sensor
  noise, so a still scene still differs by a little; only a stuck encoder or decoder repeats itself.
- ``dark``: a low mean and a low spread of luma (a hand, a bag, a lens cap, a dead sensor).
- ``blurred``: the sharpness (the Laplacian's mean square, each pixel's over its neighbourhood's
  squared mean luma: a light switched on or off scales both) far below the camera's own learned
  normal in most of twelve parts of the picture (a flat object parked over a few of them is no blur).
- ``moved``: the picture, shrunk to a few hundred pixels and normalised (robustly, to mean 0 and
  spread 1: the lights do not count), is unlike the learned reference view in most of its twelve
  parts (an object that covers a few of them is no move).

The fifth, ``offline``, is no frame at all: the camera's capture reports it (:class:`CameraHealth`).
A problem is *raised* once it has held for ``after_s`` and *cleared* once it has been gone as long
(:class:`Latch`): a person walking through, a door opened, a cloud passing never last that long.
The normal (sharpness and reference view) is learned over the first ``learn_s`` of frames, then
follows slow changes (dusk, seasons) on frames that look normal. Pure: no thread, no clock of its own.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from live_classify.config import HEALTH_PROBLEMS, HealthConfig
from live_classify.pipeline.frames import Frame
from live_classify.pipeline.gate import frame_luma

PROBLEMS = HEALTH_PROBLEMS  # the most telling first: a camera shows one
VIEW_SIZE = (32, 18)  # (width, height) of the picture the reference view is compared on
PARTS = (3, 4)  # rows and columns of the parts of the view compared one by one
AVERAGE_ALPHA = 0.1  # weight of a frame in the running mean that sharpness and view are measured on
SAMPLE_S = 0.5  # sharpness and view are compared at most this often (seconds)
FOLLOW_S = 600.0  # after learning, the normal follows changes this slow (a time constant, in seconds)
CLIP = 2.5  # a view's values beyond this many (robust) deviations count as this many
LOCAL = 17  # side (px of the small luma) of the neighbourhood whose mean luma a pixel's Laplacian is over


class Latch:
    """One problem's flag, frame after frame: raised when it has held for ``after_s``, cleared when
    it has been gone as long (a flag that flickers changes nothing)."""

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self.raised = False
        self.since: float | None = None  # when the flag began to disagree with ``raised``

    def update(self, flag: bool, t: float) -> bool:
        if flag == self.raised:
            self.since = None
        elif self.since is None:
            self.since = t
        if self.since is not None and t - self.since >= self.after_s:
            self.raised, self.since = flag, None
        return self.raised


@dataclass
class Normal:
    """What the camera looks like when all is well, learned from its own frames."""

    sharpness: np.ndarray  # float32, one per part (:data:`PARTS`)
    view: np.ndarray  # float32, VIEW_SIZE, normalised


class Looks:
    """The four frame problems of one camera, as its frames come (the capture thread's)."""

    def __init__(self, config: HealthConfig) -> None:
        self.config = config
        self._forget()

    def _forget(self) -> None:
        """Nothing learned yet (a new camera, or one back at another size)."""
        self.normal: Normal | None = None
        self._previous: np.ndarray | None = None
        self._started: float | None = None  # when learning began (the first frame)
        self._sharpness: list[np.ndarray] = []  # while learning
        self._views: list[np.ndarray] = []
        self._average: np.ndarray | None = None  # float32: the frames' running mean (their noise averages out)
        self._sampled: float | None = None  # when sharpness and view were last compared
        self._unlike: set[str] = set()  # what that comparison found: blurred, moved

    @property
    def learning(self) -> bool:
        return self.normal is None

    def look(self, small: np.ndarray, t: float) -> set[str]:
        """The problems ``small`` (a frame's small luma, uint8) shows, seen at ``t`` (seconds)."""
        previous = self._previous
        if previous is not None and previous.shape != small.shape:  # a camera back at another size
            self._forget()
            previous = None
        self._previous = small
        if self._average is None or previous is None:
            self._average = small.astype(np.float32)
        else:
            cv2.accumulateWeighted(small, self._average, AVERAGE_ALPHA)
        found: set[str] = set()
        if previous is not None and np.array_equal(previous, small):
            found.add("frozen")
        mean, spread = (float(v[0][0]) for v in cv2.meanStdDev(small))
        if mean < self.config.dark_level and spread < self.config.dark_contrast:
            found.add("dark")
        if found:  # frozen or dark: nothing to learn from, nothing more to tell
            return found
        if self._sampled is None or t - self._sampled >= SAMPLE_S:
            self._compare(sharpness(self._average), view_of(self._average), t)
        return found | self._unlike

    def _compare(self, sharp: np.ndarray, view: np.ndarray, t: float) -> None:
        """The slower half of the look (a few times a second: a problem must last for seconds anyway)."""
        dt, self._sampled = (0.0 if self._sampled is None else t - self._sampled), t
        if self.normal is None:
            self._learn(sharp, view, t)
            return
        unlike = set()
        if sharpened(sharp, self.normal.sharpness) < self.config.blur_ratio:
            unlike.add("blurred")
        if likeness(view, self.normal.view) < self.config.moved_match:
            unlike.add("moved")
        self._unlike = unlike
        if not unlike:
            self._follow(sharp, view, dt)

    def _learn(self, sharp: np.ndarray, view: np.ndarray, t: float) -> None:
        if self._started is None:
            self._started = t
        self._sharpness.append(sharp)
        self._views.append(view)
        if t - self._started >= self.config.learn_s and len(self._views) >= 2:
            learned = np.median(self._sharpness, axis=0).astype(np.float32)
            self.normal = Normal(learned, normalised(np.mean(self._views, axis=0)))
            self._sharpness, self._views = [], []

    def _follow(self, sharp: np.ndarray, view: np.ndarray, dt: float) -> None:
        """A normal-looking sample moves the normal a little toward it (slow changes are no problem)."""
        assert self.normal is not None
        weight = min(1.0, max(0.0, dt) / FOLLOW_S)
        self.normal.sharpness += weight * (sharp - self.normal.sharpness)
        self.normal.view = normalised(self.normal.view + weight * (view - self.normal.view))


def sharpness(small: np.ndarray) -> np.ndarray:
    """Each part's (:data:`PARTS`) mean square of the Laplacian, each pixel's over the mean luma of its
    neighbourhood (:data:`LOCAL`): a sharp picture has much, a blurred one little, and a light switched
    on or off scales both alike. Over its neighbourhood's luma, not the whole picture's: a bright flat
    object parked on a dark scene would raise that and so lower the sharpness of every part, though
    nothing blurred. Measured on the frames' running mean: a camera's noise (much at night, its gain
    up) would pass for detail."""
    laplacian = cv2.Laplacian(small, cv2.CV_32F)
    local = cv2.boxFilter(small, cv2.CV_32F, (LOCAL, LOCAL))
    contrast = laplacian / (local + 1.0)
    return split(contrast * contrast).mean(axis=1)


def sharpened(sharp: np.ndarray, normal: np.ndarray) -> float:
    """How sharp a picture is against the normal (1: as sharp, 0: no detail left): the median over the
    parts of each one's ratio. A median: a flat object over a few parts (a parked car, a box) takes
    their detail away and leaves the answer as it was; a fogged lens or a lost focus takes it from all."""
    return float(np.median(sharp / (normal + 1e-6)))


def likeness(view: np.ndarray, reference: np.ndarray) -> float:
    """How alike two views are: the median, over :data:`PARTS` parts of the picture, of each part's
    cosine similarity (1: the same, about 0: unrelated). A median: an object that covers a few parts
    (a parked car, a box, a person close by) leaves the rest, and the answer, as they were."""
    a, b = split(view), split(reference)
    similarity = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1) + 1e-6)
    return float(np.median(similarity))


def split(picture: np.ndarray) -> np.ndarray:
    """``picture`` cut into its :data:`PARTS` parts, one a row (the few rows and columns that do not
    divide evenly left out)."""
    rows, cols = PARTS
    height, width = picture.shape[0] // rows, picture.shape[1] // cols
    grid = picture[:rows * height, :cols * width].reshape(rows, height, cols, width)
    return grid.transpose(0, 2, 1, 3).reshape(rows * cols, height * width)


def view_of(small: np.ndarray) -> np.ndarray:
    """The picture as the reference compares it: tiny (objects and detail average out), normalised."""
    return normalised(cv2.resize(small, VIEW_SIZE, interpolation=cv2.INTER_AREA))


def normalised(view: np.ndarray) -> np.ndarray:
    """``view`` with mean 0 and spread 1 (a flat picture: all 0, which matches nothing), scaled first
    by its median and median deviation and clipped, so that a bright object on a dark scene (a box
    put down, a lamp) does not outweigh the rest of the picture."""
    centred = view - float(np.median(view))
    deviation = 1.4826 * float(np.median(np.abs(centred)))
    if deviation < 1e-3:
        return (centred * 0).astype(np.float32)
    clipped = np.clip(centred / deviation, -CLIP, CLIP)
    mean, spread = (float(v[0][0]) for v in cv2.meanStdDev(clipped))
    return ((clipped - mean) * (1.0 / spread if spread > 1e-3 else 0.0)).astype(np.float32)


class CameraHealth:
    """A camera's health as its threads see it: the capture thread shows it each frame
    (:meth:`see`), anyone asks what it is now (:meth:`problem`). ``config`` None: not checked."""

    def __init__(self, config: HealthConfig | None) -> None:
        self._lock = threading.Lock()
        self.set(config)

    @property
    def config(self) -> HealthConfig | None:
        return self._config

    def set(self, config: HealthConfig | None) -> None:
        """New settings (None: off): learned again from the next frame on."""
        with self._lock:
            self._config = config
            self._looks = Looks(config) if config else None
            after = config.after_s if config else 0.0
            self._latches = {name: Latch(after) for name in PROBLEMS}

    def relearn(self) -> None:
        """The camera's normal learned again from its next frames (it was moved on purpose)."""
        self.set(self._config)

    @property
    def learning(self) -> bool:
        looks = self._looks
        return looks is not None and looks.learning

    def look(self, frame: Frame) -> np.ndarray | None:
        """A frame, from the capture thread: its small luma (for the motion gate too), None when off."""
        if self._config is None:
            return None
        small = frame_luma(frame)
        self.see(small, frame.t_capture)
        return small

    def see(self, small: np.ndarray, t: float) -> None:
        """A frame's small luma, seen at ``t`` (``time.monotonic()``): the capture thread's."""
        with self._lock:
            looks, config = self._looks, self._config
            if looks is None or config is None:
                return
            found = looks.look(small, t)
            for name in PROBLEMS[1:]:
                self._latches[name].update(name in found and name in config.checks, t)

    def problem(self, now: float, receiving: bool) -> str | None:
        """The most telling problem raised at ``now`` (``receiving``: frames come), or None."""
        with self._lock:
            config = self._config
            if config is None:
                return None
            offline = self._latches["offline"].update(not receiving and "offline" in config.checks, now)
            if offline:
                return "offline"
            return next((name for name in PROBLEMS[1:] if self._latches[name].raised), None)
