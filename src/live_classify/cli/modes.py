"""Flags that do nothing in the mode the source chose: one warning each, or a usage error where the
flag can only be a mistake (an output that the mode never writes).

The mode is known once the source is: photos, a camera, a stream or a video file; whether a window
opens is known only later (no display means headless), so that part is checked apart.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from live_classify.cli.argparse_parts import typed
from live_classify.redact import redact
from live_classify.sources.names import is_stream, looks_like_images

PHOTOS, CAMERA, STREAM, FILE = "photos", "a camera", "a stream", "a video file"

# Outputs only the live modes write: asking for them with photos can only be a mistake.
VIDEO_OUTPUTS = ("record", "jsonl", "collect", "classes", "serve", "mqtt", "event", "webhook")
VIDEO_TUNING = ("max_batch", "batch_wait", "name", "realtime", "headless", "overwrite", "snapshot_dir", "windows",
                "count", "interval", "collect_dir", "width", "height", "fps", "fourcc", "open_timeout", "read_timeout",
                "reconnect", "rtsp_transport", "smooth",
                "segment", "retain", "encoder", "crf", "bitrate", "serve_token", "serve_password_file", "serve_fps",
                "serve_users",
                "serve_clients", "serve_host",
                "mqtt_qos", "mqtt_every", "mqtt_on_change", "mqtt_required", "mqtt_ca", "mqtt_discovery",
                "mqtt_device_class",
                "event_threshold", "event_hold", "event_gap", "webhook_token", "public_url", "record_mode", "pre_roll",
                "post_roll", "event_max",
                "retain_events")
PHOTO_OUTPUTS = ("json", "trace")
CAMERA_REQUESTS = ("width", "height", "fps", "fourcc")


def flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def source_modes(cameras: Sequence[str] | None, sources: Sequence[str] | None) -> list[str]:
    """[PHOTOS] when ``--source`` names only photos; else CAMERA, STREAM or FILE for each camera
    and source. ValueError (a usage error) for photos mixed with video."""
    cameras, sources = list(cameras or []), list(sources or [])
    photos = [s for s in sources if looks_like_images(s) and not is_stream(s)]
    if photos and not cameras and len(photos) == len(sources):
        return [PHOTOS]
    if photos:
        raise ValueError(f"photos ({redact(photos[0])}) cannot be mixed with cameras, streams or videos: "
                         "classify them in a run of their own")
    return [CAMERA] * len(cameras) + [STREAM if is_stream(s) else FILE for s in sources]


def several_problems(modes: Sequence[str], given: frozenset[str], rtsp: bool) -> tuple[list[str], list[str]]:
    """(errors, warnings) for several sources: an error for any, a flag unused only if unused by all."""
    results = [mode_problems(mode, given, rtsp) for mode in dict.fromkeys(modes)]
    errors = list(dict.fromkeys(e for errs, _ in results for e in errs))
    unused = [{w.split()[0]: w for w in warns} for _, warns in results]
    warnings = [w for flag_, w in unused[0].items() if all(flag_ in u for u in unused)]
    if len(modes) == 1:
        warnings += [f"{flag(d)} does nothing with one camera (it batches several)" for d in ("max_batch", "batch_wait")
                     if d in given]
    if len(modes) == 1 and modes != [PHOTOS] and "windows" in given:
        warnings.append("--windows does nothing with one camera (it has one window already)")
    return errors, warnings


def given_flags(make_parser: Callable[[], argparse.ArgumentParser], argv: Sequence[str] | None) -> frozenset[str]:
    """The destinations of the flags that are on the command line (not those left at a default)."""
    return frozenset(typed(make_parser(), argv))


def mode_problems(mode: str, given: frozenset[str], rtsp: bool = False) -> tuple[list[str], list[str]]:
    """(errors, warnings): the flags in ``given`` that do nothing for ``mode``."""
    if mode == PHOTOS:
        errors = [f"{flag(d)} is for cameras, streams and video files, not photos"
                  + ("; for photos use --json" if d == "jsonl" else "") for d in VIDEO_OUTPUTS if d in given]
        return errors, [f"{flag(d)} does nothing for photos" for d in VIDEO_TUNING if d in given]
    errors = [f"{flag(d)} is for photos; for video use --jsonl FILE|-" for d in PHOTO_OUTPUTS if d in given]
    unused = {d: f"does nothing for {mode} (only a camera is asked for it)" for d in CAMERA_REQUESTS if mode != CAMERA}
    if mode != STREAM:
        unused["open_timeout"] = f"does nothing for {mode} (only a stream is opened with a timeout)"
    if mode == FILE:
        unused |= {d: "does nothing for a video file (a file does not stall or drop)"
                   for d in ("read_timeout", "reconnect")}
    else:
        unused["realtime"] = f"does nothing for {mode} (a live source plays in real time already)"
    if not rtsp:
        unused["rtsp_transport"] = "does nothing for a source that is not rtsp://"
    needs = {"overwrite": ("record",), "count": ("collect",), "interval": ("collect",),
             "collect_dir": ("collect", "classes"), "encoder": ("record",), "crf": ("record",), "bitrate": ("record",),
             "serve_token": ("serve",), "serve_password_file": ("serve",), "serve_fps": ("serve",),
             "serve_users": ("serve",), "serve_clients": ("serve",), "serve_host": ("serve",), "mqtt_ca": ("mqtt",),
             "mqtt_discovery": ("mqtt",), "mqtt_device_class": ("mqtt_discovery",),
             "event_threshold": ("event",), "event_hold": ("event",),
             "event_gap": ("event",), "webhook": ("event",), "webhook_token": ("webhook",), "public_url": ("webhook",),
             "record_mode": ("record",), "pre_roll": ("record_mode",), "post_roll": ("record_mode",),
             "event_max": ("record_mode",), "retain_events": ("record_mode",)}
    if mode != FILE:
        del needs["webhook"]  # a live camera's health problems are events too
    for dest, any_of in needs.items():
        if not given & set(any_of):
            unused[dest] = f"does nothing without {' or '.join(flag(d) for d in any_of)}"
    if "collect" in given:
        unused["classes"] = "does nothing with --collect, which saves every frame under its LABEL"
    return errors, [f"{flag(d)} {why}" for d, why in unused.items() if d in given]


def recording_problems(record: Path | None, directory: bool, given: frozenset[str], encoder: str,
                       retain: list[tuple[str, float]] | None, cameras: int = 1,
                       mode: str = "continuous") -> tuple[list[str], list[str]]:
    """(errors, warnings) of the recording flags: segments need a directory, and several cameras
    record into one (``DIR/<name>.mp4`` each, as one camera may); the MP4 encoder's flags do
    nothing for Motion-JPEG, --crf nothing beside a bitrate."""
    errors = [f"{flag(d)} needs a directory to write segments in: --record DIR/ (with a trailing slash)"
              for d in ("segment", "retain") if d in given and not directory]
    if record is not None and not directory and cameras > 1:
        errors.append(f"--record {record}: with {cameras} cameras, record into a directory, --record DIR/ "
                      "(DIR/<name>.mp4 each, or segments with --segment)")
    if mode != "continuous" and record is not None and not directory:
        errors.append(f"--record-mode {mode} needs a directory for its clips: --record DIR/ (with a trailing slash)")
    if mode != "continuous" and "event" not in given:
        errors.append(f"--record-mode {mode} records a clip per event: name them with --event LABEL")
    kinds = [kind for kind, _ in retain or []]
    if len(kinds) > len(set(kinds)):
        errors.append("--retain takes at most one size (e.g. 50GB) and one age (e.g. 7d)")
    warnings = [f"{flag(d)} does nothing with --record-mode events (only clips are kept; both keeps segments too)"
                for d in ("segment", "retain") if d in given and mode == "events"]
    if directory and "overwrite" in given:
        warnings.append("--overwrite does nothing for --record DIR/ (a segment never replaces a file)")
    if record is not None and not directory and record.suffix.lower() == ".avi":
        warnings += [f"{flag(d)} does nothing for a .avi recording (Motion-JPEG); use .mp4 for H.264"
                     for d in ("encoder", "crf", "bitrate") if d in given]
    elif "crf" in given and "bitrate" in given:
        warnings.append("--crf does nothing with --bitrate (the encoder keeps to the bitrate)")
    elif "crf" in given and encoder not in ("auto", "libx264"):
        warnings.append(f"--crf does nothing for {encoder} (it takes --bitrate)")
    return errors, warnings


def headless_problems(given: frozenset[str]) -> list[str]:
    """Warnings for the flags that only the window uses, once it is known no window opens."""
    why = {"classes": "does nothing without the window (keys 1-9); headless, use --collect LABEL",
           "snapshot_dir": "does nothing without the window (the s key)",
           "windows": "does nothing without a window"}
    if "collect" in given:
        del why["classes"]  # already warned about: --collect wins
    return [f"{flag(d)} {text}" for d, text in why.items() if d in given]
