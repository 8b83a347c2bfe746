"""How often a live camera's frames are looked at by its checks (the motion gate, the health checks).

Looking costs a small decoding of the picture even where nothing else does: on a still MJPEG camera
it is most of what the camera costs (about 1.5-2 ms of a 720p JPEG's 4, the entropy decoding that no
reduced scale skips). A scene does not need 30 looks a second to be seen changing: Frigate detects
at 5 frames a second. :data:`LOOKS_PER_S` looks, spread evenly, see a change within 67 ms and a
frame, well inside the gate's 200 ms from change to label, and halve a 30 fps camera's cost.
"""
from __future__ import annotations

import math

LOOKS_PER_S = 15.0  # a live camera's frames looked at each second, at most (a 30 fps camera: every other one)


class Pace:
    """Which frames to look at: at most ``rate`` a second, on the source's clock, evenly spread (a
    20 fps camera: three frames in four, not every other one). ``rate`` None: every frame (a file)."""

    def __init__(self, rate: float | None) -> None:
        self.period = 1.0 / rate if rate else 0.0
        self._due = -math.inf  # when the next look is due

    def due(self, t: float) -> bool:
        """Whether the frame seen at ``t`` is looked at (and if so, counted as the newest look)."""
        if not self.period:
            return True
        ahead = self._due - t
        if self.period / 8 < ahead <= self.period:
            return False  # between two looks (an eighth of a period early is on time: the frames' jitter)
        on_time = -self.period < ahead <= self.period / 8  # else first, far late, or a clock gone back (a loop)
        self._due = (self._due if on_time else t) + self.period  # on time: the next a period after this one's due
        return True

    def restart(self) -> None:
        """The next frame is looked at (new settings: nothing waits for the old pace)."""
        self._due = -math.inf
