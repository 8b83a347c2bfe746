"""What a video run was asked to do, as frozen values: ``cli/run_config.py`` builds them from the
flags, and nothing past the command line reads ``argparse.Namespace``.

A leaf: it imports nothing of the package but ``redact`` (a leaf too), so that any layer may read its values.
"""
from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from live_classify.redact import redact

#: ``--encoder`` choices for MP4; ``auto`` takes the first hardware encoder that opens here.
ENCODERS = ("auto", "libx264", "h264_nvenc", "h264_v4l2m2m")
HARDWARE = ("h264_nvenc", "h264_v4l2m2m")  # NVIDIA GPUs (Jetson, desktop); Raspberry Pi and other V4L2 boards
RECORD_MODES = ("continuous", "events", "both")  # --record-mode


@dataclass(frozen=True)
class SourceSpec:
    """A parsed ``--camera`` / ``--source`` value."""

    target: int | str  # camera index, device path, file path or URL
    kind: str  # "camera", "stream" or "file"
    name: str  # for logs and overlays: credentials removed

    @property
    def live(self) -> bool:
        return self.kind != "file"


@dataclass(frozen=True)
class CameraSettings:
    """What to ask a camera for; it may grant something else, which we report."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    fourcc: str | None = None  # e.g. MJPG: what makes 720p@30 work on most USB cameras


@dataclass(frozen=True)
class EncoderSettings:
    """How the video is compressed; the defaults suit a camera recorded around the clock."""

    encoder: str = "auto"
    crf: int = 26  # libx264 quality (lower is better and bigger); ignored when ``bitrate`` is set
    bitrate: int | None = None  # bits per second; hardware encoders use 2 Mbit/s when this is None
    keyframe_s: float = 1.0
    preset: str = "veryfast"  # libx264: about 220 fps at 640x480 on one core here, 3x smaller than ultrafast


@dataclass(frozen=True)
class NotifyConfig:
    """Where systemd listens, and how often it wants to hear that the service is alive."""

    address: str  # a path, or "@name" for the abstract namespace
    ping_s: float = 1.0  # half of WatchdogSec, as sd_notify's documentation asks; 1 s without one
    stall_s: float = 5.0  # --read-timeout: no frame for longer than this, and the camera is not healthy

    @classmethod
    def of(cls, environ: Mapping[str, str], stall_s: float = 5.0) -> NotifyConfig | None:
        """From ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC``, which systemd sets; None when not run by it."""
        address = environ.get("NOTIFY_SOCKET")
        if not address:
            return None
        usec = environ.get("WATCHDOG_USEC", "")
        ping_s = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else 1.0
        return cls(address, ping_s, stall_s)


@dataclass(frozen=True)
class BrokerUrl:
    """``mqtt[s]://[user:pass@]host[:port]/prefix``, parsed; ``str()`` never shows the password."""

    url: str
    host: str
    port: int
    prefix: str
    username: str | None = None
    password: str | None = None
    tls: bool = False  # mqtts://

    def __str__(self) -> str:
        return redact(self.url)


@dataclass(frozen=True)
class RecordConfig:
    """``--record`` and what goes with it."""

    path: Path
    overwrite: bool = False
    encoding: EncoderSettings = EncoderSettings()
    segment_s: float | None = None
    retain: tuple[tuple[str, float], ...] = ()
    mode: str = "continuous"  # --record-mode: continuous, events (a clip per event) or both
    pre_roll_s: float = 5.0  # a clip starts this long before its event (from the ring of encoded packets)
    post_roll_s: float = 3.0  # and ends this long after it
    retain_events: tuple[tuple[str, float], ...] = ()  # --retain-events: the clips' own limits
    event_max_s: float = 300.0  # --event-max: a longer event goes on in a next clip (one event, its clips in parts)

    @property
    def clips(self) -> bool:
        """Each event recorded as a clip of its own."""
        return self.mode in ("events", "both")

    @property
    def continuous(self) -> bool:
        """Everything recorded (a file, or segments)."""
        return self.mode in ("continuous", "both")


Rect = tuple[int, int, int, int]  # x, y, width, height in a source's pixels


@dataclass(frozen=True)
class GateConfig:
    """``--gate motion``: a camera's frame goes through the model only when something in it moved,
    the scene changed, or ``refresh_s`` passed since its last classified frame."""

    refresh_s: float = 10.0  # a frame is classified at least this often (on the source's clock)
    threshold: int = 30  # a pixel changed: its luma (0-255, contrast stretched) differs this much from the background
    area_pct: float = 0.1  # motion: one changed region covers at least this % of the picture
    masks: tuple[Rect, ...] = ()  # regions left out of the check (a burnt-in clock, a tree, a TV)


HEALTH_PROBLEMS = ("offline", "frozen", "dark", "blurred", "moved")  # the most telling first


@dataclass(frozen=True)
class HealthConfig:
    """A live camera's health checks (``--health``): which problems are watched and their thresholds."""

    checks: tuple[str, ...] = HEALTH_PROBLEMS  # the problems watched (``health = [...]`` in a [[camera]])
    after_s: float = 30.0  # a problem is raised once it held this long, cleared once gone as long
    learn_s: float = 60.0  # the camera's normal view and sharpness are learned over this long
    dark_level: float = 25.0  # dark: mean luma (0-255) below this ...
    dark_contrast: float = 8.0  # ... and its spread (standard deviation) below this
    blur_ratio: float = 0.2  # blurred: sharpness below this fraction of the learned normal
    moved_match: float = 0.5  # moved: likeness (-1..1, a median of parts' correlations) to the learned view below this


@dataclass(frozen=True)
class SourceConfig:
    """The source and how frames flow from it."""

    spec: SourceSpec
    name: str = "cam0"  # on its frames, JSON lines, recordings and MQTT topics
    camera: CameraSettings = CameraSettings()
    open_timeout: float = 10.0
    read_timeout: float = 5.0
    rtsp_transport: str | None = None
    realtime: bool = False  # a file played at its own rate, newest frame wins
    reconnect: int | None = None  # tries before a lost live source is an error (None: retried for the run)
    threads: int = 0  # CPU inference threads asked for (0: the program decides)
    smooth: float = 1.0  # weight of the newest frame's probabilities (1: no smoothing)
    record: RecordConfig | None = None  # its recording (``--record``, or its [[camera]]'s ``record``)
    min_confidence: float | None = None  # below it its answer is "unknown" (JSON lines, MQTT, overlay)
    events: EventConfig | None = None  # its event rules (``--event``, or its [[camera]]'s); None: no events of it
    gate: GateConfig | None = None  # ``--gate motion``: still frames keep the last answer (None: all classified)
    health: HealthConfig | None = None  # its health checks (None: not checked)


@dataclass(frozen=True)
class CollectConfig:
    """Frames for your own classes: keys 1-9 (``classes``) or headless (``label``)."""

    folder: Path
    classes: tuple[str, ...] = ()
    label: str | None = None
    count: int = 20
    interval_s: float = 1.0


@dataclass(frozen=True)
class ServeConfig:
    """``--serve``: the socket already bound (a port in use failed before the camera opened)."""

    sock: socket.socket
    token: str | None = None  # required on every request but /healthz
    fps: float | None = None  # at most this many JPEGs a second (None: every shown frame)
    clients: int | None = None  # streams and event feeds at once (None: web.serve_places decides)
    password: str | None = None  # --serve-password-file: a person's, for the login form (not for machines)
    address: str = ""  # --serve as asked (HOST:PORT): a reload that asks for another binds anew
    hosts: tuple[str, ...] = ()  # --serve-host: names a loopback server without a login answers besides its own
    users_file: Path | None = None  # --serve-users: its users are OutputConfig.users (changed live by a reload)


@dataclass(frozen=True)
class WebUser:
    """A person of ``--serve-users``: an admin may do everything, a viewer watch ``cameras`` (None: all)."""

    name: str
    password_hash: str  # scrypt, PHC format (``live-classify passwd``): never the password
    role: str  # "admin" or "viewer"
    cameras: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MqttConfig:
    """``--mqtt``: the broker, and which classifications are published."""

    broker: BrokerUrl
    qos: int = 1
    every_s: float | None = None  # at most one prediction message per this many seconds
    on_change: bool = False  # only when the top label changes
    required: bool = False  # a broker that cannot be reached at the start fails the run
    ca: Path | None = None  # mqtts://: the CA bundle that verifies the broker (None: the system's CAs)
    discovery: bool = False  # --mqtt-discovery: Home Assistant's discovery configs, retained under homeassistant/
    device_classes: tuple[tuple[str, str], ...] = ()  # --mqtt-device-class LABEL=CLASS: an event label's sensor's kind


@dataclass(frozen=True)
class EventConfig:
    """``--event``: the labels watched, and what makes an event of them."""

    labels: tuple[str, ...]
    threshold: float = 0.5
    hold_s: float = 1.0
    gap_s: float = 3.0


@dataclass(frozen=True)
class WebhookConfig:
    """``--webhook``: who is told of every event, the labels' and the cameras' health problems alike."""

    urls: tuple[str, ...]
    token: str | None = None  # sent as Authorization: Bearer, never printed
    public_url: str | None = None  # --public-url: the web view as receivers reach it (clip URLs; None: --serve's)


@dataclass(frozen=True)
class OutputConfig:
    """Where the results go."""

    record: RecordConfig | None = None  # the run records (each camera's own settings: SourceConfig.record)
    jsonl: str | None = None  # a file, or "-" for stdout
    jsonl_rotate: int | str | None = None  # --jsonl-rotate: bytes, or "daily"; None: never
    jsonl_keep: int = 7  # --jsonl-keep: rotated files kept
    min_confidence: float | None = None  # the run's; each camera's own: SourceConfig.min_confidence
    headless: bool = False
    snapshot_dir: Path = Path(".")
    windows: bool = False  # several cameras: one window each instead of one grid
    collect: CollectConfig | None = None
    serve: ServeConfig | None = None
    notify: NotifyConfig | None = None  # run by systemd (NOTIFY_SOCKET set)
    mqtt: MqttConfig | None = None
    events: EventConfig | None = None
    webhooks: WebhookConfig | None = None
    users: tuple[WebUser, ...] | None = None  # --serve-users: who may log in, and to see what (None: no such file)
    given: frozenset[str] = frozenset()  # the flags typed on the command line, for warnings about unused ones


@dataclass(frozen=True)
class BatchConfig:
    """Several cameras: how their frames are batched for the one model."""

    max_batch: int | None = None  # None: as many as there are cameras
    wait_s: float = 0.0  # after the first frame of a batch, wait this long for the other cameras'


@dataclass(frozen=True)
class RunConfig:
    """One video run: one source, or several sharing the model."""

    sources: tuple[SourceConfig, ...]
    outputs: OutputConfig
    batch: BatchConfig = BatchConfig()
    model: Path | None = None  # the model file: a reload that names another swaps it in
    watch_model: bool = False  # --watch-model: the file replaced on disk is loaded anew
    shown: str | None = None  # --config: the configuration as --check shows it (secrets masked), for /api/status

    @property
    def source(self) -> SourceConfig:
        """The first (with one source, the) source."""
        return self.sources[0]
