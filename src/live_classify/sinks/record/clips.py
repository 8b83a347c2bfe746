"""``--record-mode events|both``: each event a clip of its own, from ``--pre-roll`` before its start
to ``--post-roll`` after its end, made of the packets the recording's encoder already made.

Every packet the encoder makes passes through :meth:`Clips.packet` (``mp4.py``'s tap, on the
recording's thread): it goes into the pre-roll :class:`~.ring.Ring` and into each clip being
written. An event's start (told on the main loop, taken up here at the next packet) opens its clip
with the ring's packets from the last keyframe at or before start − pre-roll; its end sets where the
post-roll stops. Nothing is encoded twice: a clip is those packets remuxed into a fragmented MP4
with the muxer settings of the recordings (``mp4.py``), so a SIGKILL leaves it playable up to its
last fragment (200 ms). When a clip is done: its thumbnail (the event's best frame with its own
prediction, kept by the events sink: not the recording's frame, which carries the prediction newest
when it was shown), its sidecar, ``--retain-events``.
"""
from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import av
from av.video.stream import VideoStream

from live_classify import log
from live_classify.errors import LiveClassifyError, first_line
from live_classify.sinks.events.moment import Moment
from live_classify.sinks.events.rules import START, Change, Event
from live_classify.sinks.record.clip_files import ClipLog, prune_clips, write_sidecar, write_thumbnail
from live_classify.sinks.record.clip_names import part_path
from live_classify.sinks.record.mp4 import MILLISECONDS, MUXER_OPTIONS, Durations
from live_classify.sinks.record.ring import RING_BYTES, Packet, Ring

RING_SLACK_S = 2.0  # beyond pre-roll + hold: a keyframe's interval, and the start's way to the recording


@dataclass(frozen=True)
class ClipPlan:
    """One camera's clips: where, how much before and after, how long kept."""

    root: Path  # --record DIR/
    camera: str  # the folder under it
    pre_roll_s: float = 5.0
    post_roll_s: float = 3.0
    ring_s: float = 8.0  # the ring's span: pre-roll, the hold before a start is known, RING_SLACK_S
    ring_bytes: int = RING_BYTES
    retain_bytes: int | None = None
    retain_age_s: float | None = None
    max_s: float = 300.0  # --event-max: a clip this long goes on in a next part, from its next keyframe


class Clip:
    """One event's clip being written: packets in, on their source times from its first one."""

    def __init__(self, path: Path, event: Event, template: VideoStream, first: Packet) -> None:
        self.path, self.event, self.template = path, event, first.template
        self.moment: Moment | None = None  # the event's best frame so far, for the thumbnail
        self.part = 1  # --event-max: which of the event's clips (1, 2...: <name>.mp4, <name>.2.mp4...)
        self.parts: list[str] = [str(event.clip)]  # the event's clips so far, relative to --record DIR/
        self.t0 = first.t
        self.until: float | None = None  # the source time past which it is done (known at the event's end)
        self._last_pts = -1
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._container = av.open(str(path), "w", format="mp4", options=MUXER_OPTIONS)
        except (av.FFmpegError, OSError) as error:
            raise LiveClassifyError(f"cannot write the event clip {path}: {first_line(error)}") from None
        self._stream = self._container.add_stream_from_template(template)
        self._stream.time_base = MILLISECONDS
        self._durations = Durations()

    def write(self, packet: Packet) -> None:
        pts = max(self._last_pts + 1, round((packet.t - self.t0) * 1000))  # the encoder's spacing
        out = av.Packet(packet.data)
        out.pts = out.dts = pts
        out.time_base, out.stream, out.is_keyframe = MILLISECONDS, self._stream, packet.key
        self._durations.stamp(out)
        self._container.mux(out)
        self._last_pts = pts

    def close(self) -> None:
        self._container.close()

    def write_sidecar(self) -> None:
        """Its event beside it, with the wall time of its first frame (the source clock set on the event's)."""
        event = self.event
        write_sidecar(self.path, event, event.start - (event.source_start - self.t0), self.part, self.parts)

    def next_part(self, root: Path, template: VideoStream, first: Packet) -> Clip:
        """The event's next clip (``--event-max``), from ``first`` (a keyframe) on; this one is done."""
        path = part_path(root / str(self.event.clip), self.part + 1)
        following = Clip(path, self.event, template, first)
        following.part, following.parts = self.part + 1, [*self.parts, str(path.relative_to(root))]
        following.moment, following.until = self.moment, self.until
        return following


class Clips:
    """A camera's ring and its clips; fed on the recording's thread, told of events from the main loop."""

    def __init__(self, plan: ClipPlan, log_to: ClipLog | None = None) -> None:
        self.plan = plan
        self.folder = plan.root / plan.camera
        self.ring = Ring(plan.ring_s, plan.ring_bytes)
        self.written = 0  # clips finished
        self._log = log_to
        self._changes: queue.SimpleQueue[Change] = queue.SimpleQueue()
        self._open: dict[str, Clip] = {}  # event id: its clip
        # Each encoder's parameters, copied once (a segment's encoder goes with its segment; a clip
        # may start in its packets): held by FFmpeg's null muxer, which writes nothing.
        self._holder = av.open(os.devnull, "w", format="null")
        self._templates: dict[tuple[int, int, bytes], int] = {}
        self._streams: list[VideoStream] = []
        self._source: tuple[VideoStream, int] | None = None  # the encoder's stream now, its template

    def tell(self, change: Change) -> None:
        """From the main loop: an event started or ended (taken up at the next packet)."""
        self._changes.put(change)

    def packet(self, t: float, key: bool, data: bytes, stream: VideoStream) -> None:
        """From the encoder (the recording's thread): one packet, to the ring and the clips."""
        packet = Packet(t, key, data, self._template_of(stream))
        self._take_changes()
        self.ring.add(packet)
        for clip in list(self._open.values()):
            if (clip.until is not None and t > clip.until) or clip.template != packet.template:
                self._finish(clip)
            else:
                self._feed(clip, packet)

    def _feed(self, clip: Clip, packet: Packet) -> None:
        """One packet to an open clip, or (``--event-max``: the clip is long enough and this is a
        keyframe) to the event's next clip."""
        if packet.key and packet.t - clip.t0 >= self.plan.max_s:
            self._guarded(f"the event clip {clip.path}", partial(self._next_part, clip, packet))
        elif not self._guarded(f"the event clip {clip.path}", partial(clip.write, packet)):
            del self._open[clip.event.id]

    def close(self) -> None:
        """The run ends: every clip ends where its packets do (its post-roll cut short)."""
        self._take_changes()
        for clip in list(self._open.values()):
            self._finish(clip)
        self._holder.close()

    def _take_changes(self) -> None:
        while True:
            try:
                change = self._changes.get_nowait()
            except queue.Empty:
                return
            clip = self._open.get(change.event.id)
            if change.kind == START and clip is None:
                self._guarded(f"the event clip {change.event.clip}", partial(self._start, change))
            elif clip is not None:
                clip.event, clip.moment = change.event, change.moment or clip.moment
                end = change.event.source_end
                clip.until = None if end is None else end + self.plan.post_roll_s

    def _start(self, change: Change) -> None:
        """Its clip, opened with the ring's packets from the last keyframe at or before start − pre-roll."""
        event = change.event
        packets = self.ring.since(event.source_start - self.plan.pre_roll_s)
        if event.clip is None:
            return
        if not packets:  # no video yet, or none since the recording stopped: the event has no clip
            log.info(f"{self.folder}: no footage for the {event.label} event {event.id}: it has no clip")
            if self._log is not None:
                self._log.clip_missing(event.id)
            return
        template = packets[-1].template
        packets = [packet for packet in packets if packet.template == template]
        clip = Clip(self.plan.root / event.clip, event, self._streams[template], packets[0])
        clip.moment = change.moment
        clip.write(packets[0])
        self._open[event.id] = clip
        clip.write_sidecar()
        write_thumbnail(clip.path, clip.moment)
        for packet in packets[1:]:  # the pre-roll and the hold, cut into parts as the rest will be
            if (current := self._open.get(event.id)) is not None:
                self._feed(current, packet)

    def _next_part(self, clip: Clip, packet: Packet) -> None:
        """``--event-max``: the clip is long enough; the event goes on in its next one, from this keyframe."""
        self._finish(clip)
        following = clip.next_part(self.plan.root, self._streams[packet.template], packet)
        self._open[clip.event.id] = following
        following.write(packet)
        following.write_sidecar()
        write_thumbnail(following.path, following.moment)

    def _finish(self, clip: Clip) -> None:
        """Close it, then its thumbnail and sidecar (with its end), then retention."""
        del self._open[clip.event.id]
        self.written += self._guarded(f"the event clip {clip.path}", partial(self._done, clip))

    def _done(self, clip: Clip) -> None:
        clip.close()
        write_thumbnail(clip.path, clip.moment)
        clip.write_sidecar()
        kept = {c.path for c in self._open.values()}
        prune_clips(self.folder, self.plan.retain_bytes, self.plan.retain_age_s, kept, time.time(), self._log)

    def _guarded(self, what: str, action: Callable[[], None]) -> bool:
        """A clip that cannot be written (a full disk, a folder gone) is one line and that clip
        lost: the recording it shares packets with goes on."""
        try:
            action()
        except (av.FFmpegError, OSError, LiveClassifyError) as error:
            log.warning(f"{what}: {first_line(error)}; the recording goes on")
            return False
        return True

    def _template_of(self, stream: VideoStream) -> int:
        """The index of ``stream``'s codec parameters (a copy, kept as long as the clips are)."""
        if self._source is not None and self._source[0] is stream:
            return self._source[1]
        context = stream.codec_context
        key = (context.width, context.height, bytes(context.extradata or b""))
        if key not in self._templates:
            if self._templates:
                log.info(f"{self.folder}: the encoder's parameters changed: a clip going on ends there")
            self._templates[key] = len(self._streams)
            self._streams.append(self._holder.add_stream_from_template(stream))
        self._source = (stream, self._templates[key])
        return self._templates[key]
