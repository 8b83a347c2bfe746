"""The flags of the outputs that keep or send what was seen: recording, the web view, MQTT and
events. Their own module beside ``flags.py`` so that each output's flags grow in one place."""
from __future__ import annotations

import argparse

from live_classify.cli.argtypes import (
    bitrate,
    broker_url,
    ca_file,
    crf,
    device_class,
    duration,
    fraction,
    jsonl_rotation,
    positive_float,
    positive_int,
    public_url,
    record_target,
    retention_limit,
    segment_length,
    serve_address,
    serve_clients,
    serve_host,
    serve_password_file,
    serve_users_file,
    webhook_url,
)
from live_classify.config import ENCODERS, RECORD_MODES, EncoderSettings, RecordConfig
from live_classify.sinks.web.listen import DEFAULT_ADDRESS, DEFAULT_CLIENTS, TOKEN_ENV


def recording_flags(parser: argparse.ArgumentParser) -> None:
    """The annotated video: one file, or segments kept for a while."""
    rec = parser.add_argument_group("recording (cameras, streams, video files)")
    rec.add_argument("--record", type=record_target, metavar="FILE.mp4|.avi|DIR/",
                     help="record the annotated video: .mp4 H.264, .avi Motion-JPEG, DIR/ H.264 segments (--segment)")
    rec.add_argument("--overwrite", action="store_true", help="replace an existing recording")
    rec.add_argument("--segment", type=segment_length, metavar="DURATION",
                     help="--record DIR/: a new MP4 every DURATION of the source (30s, 10m, 2h), "
                           "as DIR/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4")
    rec.add_argument("--retain", type=retention_limit, action="append", metavar="SIZE|AGE",
                     help="--record DIR/: delete the camera's oldest segments beyond a size (50GB) or an age (7d); "
                           "give it twice for both")
    rec.add_argument("--record-mode", choices=RECORD_MODES, default="continuous",
                     help="--record DIR/: continuous (everything), events (a clip per --event: DIR/<camera>/events/"
                          "<YYYY-MM-DD>/<HH-MM-SS>-<label>.mp4 and .jpg) or both (default: continuous)")
    rec.add_argument("--pre-roll", type=duration, default=RecordConfig.pre_roll_s, metavar="DURATION",
                     help="--record-mode events|both: a clip starts this long before its event (default: 5s)")
    rec.add_argument("--post-roll", type=duration, default=RecordConfig.post_roll_s, metavar="DURATION",
                     help="--record-mode events|both: a clip ends this long after its event (default: 3s)")
    rec.add_argument("--event-max", type=duration, default=RecordConfig.event_max_s, metavar="DURATION",
                     help="--record-mode events|both: an event longer than this goes on in a next clip (<name>.2.mp4, "
                          ".3...): one event, its clips in parts (default: 5m)")
    rec.add_argument("--retain-events", type=retention_limit, action="append", metavar="SIZE|AGE",
                     help="--record-mode events|both: delete each camera's oldest clips beyond a size (10GB) or an "
                          "age (30d), apart from --retain's segments; give it twice for both")
    rec.add_argument("--encoder", choices=ENCODERS, default="auto",
                     help="MP4: the H.264 encoder; auto takes a hardware one when it opens, else libx264 "
                          "(default: auto)")
    rec.add_argument("--crf", type=crf, default=EncoderSettings.crf, metavar="N",
                     help=f"MP4 with libx264: quality, 0 (best) to 51 (smallest) (default: {EncoderSettings.crf})")
    rec.add_argument("--bitrate", type=bitrate, metavar="RATE",
                     help="MP4: a fixed bitrate such as 2M or 800k instead of --crf (default: 2M on hardware encoders)")
def jsonl_flags(parser: argparse.ArgumentParser) -> None:
    """The JSON lines' file, kept from filling the disk."""
    lines = parser.add_argument_group("JSON lines files")
    lines.add_argument("--jsonl-rotate", type=jsonl_rotation, metavar="SIZE|daily",
                       help="--jsonl FILE: start a new file past SIZE (100MB) or each day; FILE becomes FILE.1, "
                            "the older ones FILE.2... (SIGUSR1 reopens FILE, for logrotate) (default: never)")
    lines.add_argument("--jsonl-keep", type=positive_int, default=7, metavar="N",
                       help="--jsonl-rotate: keep the newest N rotated files, delete older ones (default: 7)")


def browser_flags(parser: argparse.ArgumentParser) -> None:
    """The web view: the video, the answers and the counters in a browser."""
    web_view = parser.add_argument_group("watch it from a browser")
    web_view.add_argument("--serve", nargs="?", const=serve_address(DEFAULT_ADDRESS), type=serve_address,
                          metavar="[HOST:]PORT",
                          help=f"watch it from a browser at http://HOST:PORT/ (alone: {DEFAULT_ADDRESS})")
    web_view.add_argument("--serve-token", metavar="TOKEN",
                          help="a machine sends it (Authorization: Bearer TOKEN, or ?token=), a person logs in "
                               "with it; every request but /healthz and the page's script and style needs it "
                               "or a login; serving beyond 127.0.0.1 "
                               f"needs it or --serve-password-file (or set {TOKEN_ENV})")
    web_view.add_argument("--serve-password-file", type=serve_password_file, metavar="FILE",
                          help="a person logs in with the password in FILE (or the token) on the page's form")
    web_view.add_argument("--serve-users", type=serve_users_file, metavar="FILE",
                          help="people who log in with a name and a password: a TOML file of [[user]] tables "
                               "(name, password-hash from `live-classify passwd`, role = \"admin\" or \"viewer\", "
                               "a viewer's cameras = [...]); read again on reload")
    web_view.add_argument("--serve-fps", type=positive_float, metavar="N",
                          help="at most N frames a second to the browser (default: every frame)")
    web_view.add_argument("--serve-clients", type=serve_clients, metavar="N",
                          help="at most N streams and event feeds at once (a page takes one per camera and one); "
                               f"more are answered 503 (default: {DEFAULT_CLIENTS}, or what one page of the "
                               "cameras takes if more)")
    web_view.add_argument("--serve-host", type=serve_host, action="append", metavar="NAME",
                          help="on loopback without a token or a password, the server answers only "
                               "Host: 127.0.0.1, localhost or [::1] (against DNS rebinding): NAME too, "
                               "e.g. a reverse proxy's public name; give it once per name")
def mqtt_flags(parser: argparse.ArgumentParser) -> None:
    """Publish to an MQTT broker: the predictions and a retained online/offline status."""
    broker = parser.add_argument_group("publish to MQTT")
    broker.add_argument("--mqtt", type=broker_url, metavar="mqtt[s]://[USER:PASS@]HOST[:PORT]/PREFIX",
                        help="publish each classification to PREFIX/CAMERA/prediction and a retained "
                             "PREFIX/CAMERA/status; mqtts:// is over TLS; PORT is 1883 (mqtts: 8883) if left out")
    broker.add_argument("--mqtt-ca", type=ca_file, metavar="FILE",
                        help="mqtts://: the CA certificates (PEM) that verify the broker (default: the system's)")
    broker.add_argument("--mqtt-qos", type=int, choices=[0, 1, 2], default=1,
                        help="MQTT quality of service (default: 1)")
    broker.add_argument("--mqtt-every", type=positive_float, metavar="S",
                        help="at most one prediction message every S seconds (default: every classification)")
    broker.add_argument("--mqtt-on-change", action="store_true",
                        help="publish a prediction only when the top label changes")
    broker.add_argument("--mqtt-required", action="store_true",
                        help="a broker that cannot be reached at the start is an error (default: a warning, retried)")
    broker.add_argument("--mqtt-device-class", type=device_class, action="append", metavar="LABEL=CLASS",
                        help="--mqtt-discovery: the Home Assistant device class of an event label's binary sensor "
                             "(occupancy, presence, motion...; give it once per label; default: none, a plain on/off)")
    broker.add_argument("--mqtt-discovery", action="store_true",
                        help="Home Assistant: retained discovery configs under homeassistant/ for each camera's "
                             "top label and event labels")
def event_flags(parser: argparse.ArgumentParser) -> None:
    """Events: a class on top long enough starts one, gone long enough ends it."""
    events = parser.add_argument_group("events (cameras, streams, video files)")
    events.add_argument("--event", action="append", metavar="LABEL",
                        help="an event while LABEL (a class of the model) is on top; give it once per label: "
                             "a JSON line, an MQTT message, an SSE message and a webhook at its start and end")
    events.add_argument("--event-threshold", type=fraction, default=0.5, metavar="P",
                        help="--event: the class counts when its score is at least P (default: 0.5)")
    events.add_argument("--event-hold", type=duration, default=1.0, metavar="DURATION",
                        help="--event: on top this long before the event starts, back-dated to its first frame "
                             "(default: 1s)")
    events.add_argument("--event-gap", type=duration, default=3.0, metavar="DURATION",
                        help="--event: the event ends when the class has been gone this long (default: 3s)")
    events.add_argument("--webhook", type=webhook_url, action="append", metavar="URL",
                        help="POST each event's start and end as JSON to URL: --event's, and a live camera's health "
                             "problems (give it once per URL)")
    events.add_argument("--webhook-token", metavar="TOKEN", help="--webhook: sent as Authorization: Bearer TOKEN")
    events.add_argument("--public-url", type=public_url, metavar="URL",
                        help="--webhook: the web view's address as the receivers reach it, for the clip's and "
                             "thumbnail's absolute URLs (default: --serve's address)")
