"""The ``live-classify`` command: what the parsed flags mean together (``flags.py`` parses them), wiring and exit codes.

Every problem the user can fix ends in one line on stderr and a non-zero exit, never a traceback:
exit 2 for a bad command line, 1 for a bad file, model or device, 130 for Ctrl+C.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from live_classify import log
from live_classify.cli.flags import PROG, build_parser
from live_classify.cli.inputs import default_names, name_problems
from live_classify.cli.modes import (
    PHOTOS,
    given_flags,
    headless_problems,
    recording_problems,
    several_problems,
    source_modes,
)
from live_classify.errors import LiveClassifyError, exit_code
from live_classify.sinks.record.target import is_directory

if TYPE_CHECKING:
    from live_classify.cli.config_file import ConfigFile
    from live_classify.config import OutputConfig
    from live_classify.engine.backend import Backend
    from live_classify.engine.classifier import Classifier
    from live_classify.engine.model import ModelSpec, Overrides
    from live_classify.engine.providers import ProviderOptions

# The engine (onnxruntime), the run (OpenCV) and the sinks (PyAV, aiohttp) are imported in the
# functions that need them: ``--help`` and a refused command line answer without loading them.


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    if words[:1] == ["index"]:  # a word before any flag: the index's rebuild
        from live_classify.cli.index_command import index_main

        return index_main(words[1:])
    if words[:1] == ["passwd"]:  # a word before any flag: a password's hash for --serve-users
        from live_classify.cli.passwd_command import passwd_main

        return passwd_main(words[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    from live_classify.app import hangup
    from live_classify.cli import config_check, config_file
    from live_classify.cli.config_toml import exposed
    typed = list(sys.argv[1:] if argv is None else argv)
    if config := config_file.from_command_line(args, argv):  # the file's keys, as if typed before the flags
        hangup.hold()  # a SIGHUP while it starts: a reload once it runs, not the end of the service
        argv = config.argv
        args = parser.parse_args(argv)
    log.configure(quiet=args.quiet, verbose=args.verbose)
    for warning in config.warnings if config else []:
        log.warning(warning)
    if getattr(args, "serve_password_file", None) and (exposure := exposed(args.serve_password_file)):
        log.warning(f"--serve-password-file: {exposure}")
    cameras_events = config is not None and any(camera.args.event for camera in config.cameras)
    mode = _check_mode(parser, args, argv, config.located if config else str, cameras_events)
    if config and args.check:  # the reload's own validation, the model's classes included
        code = exit_code(PROG, partial(_check_runs, args, config)) if mode != PHOTOS else 0
        if code == 0:
            print(config_check.render(config), end="")
        return code
    import cv2

    # Our one-line errors say it all: OpenCV's warnings and FFmpeg's decoder complaints about a
    # damaged frame (which the source skips) would only bury them.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        return exit_code(PROG, partial(_run, args, mode, Reloadable(config, typed) if config else None), timed=True)
    except BrokenPipeError:  # `live-classify --source shots/ --json | head -1`: the reader had enough
        from live_classify.sinks.jsonl import silence_stdout

        silence_stdout()
        return 0


def _check_mode(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str] | None,
                located: Callable[[str], str] = str, cameras_events: bool = False) -> str:
    """The mode the sources chose (PHOTOS, or the video mode of the first); a flag that does
    nothing in it is a warning, or exit 2 if it can only be a mistake. ``args.given`` keeps the
    flags on the command line for later checks; ``located``: a problem named by its file's line;
    ``cameras_events``: a [[camera]] of the file has its own ``event`` (the flags that need one have it)."""
    if not getattr(args, "inputs", None):
        parser.error("what to classify? give --camera N or --source URI")
    try:
        modes = source_modes(args.camera, args.source)
    except ValueError as error:
        parser.error(str(error))
    args.given = given_flags(build_parser, argv)
    given = args.given | ({"event"} if cameras_events else set())
    rtsp = any(s.lower().startswith(("rtsp:", "rtsps:")) for s in args.source or [])
    errors, warnings = several_problems(modes, given, rtsp)
    errors += name_problems(args.inputs, default_names(args.inputs, ""), bool(args.collect or args.classes))
    if modes != [PHOTOS]:
        directory = args.record is not None and is_directory(args.record)
        more_errors, more_warnings = recording_problems(args.record, directory, given, args.encoder, args.retain,
                                                        cameras=len(modes), mode=args.record_mode)
        errors, warnings = errors + more_errors, warnings + more_warnings
        if args.mqtt_ca and args.mqtt and not args.mqtt.tls:
            warnings.append("--mqtt-ca does nothing without mqtts:// (MQTT over TLS)")
    if errors:
        parser.error(located(errors[0]))
    for warning in warnings:
        log.warning(located(warning))
    return modes[0]


def _check_runs(args: argparse.Namespace, config: ConfigFile) -> int:
    """``--check``: the configuration validated as a reload validates it, against the model it names
    (its classes, its input), with nothing opened, bound or written."""
    from live_classify.app.validate import validate
    from live_classify.cli.run_config import run_config
    from live_classify.engine.model import describe_model
    from live_classify.sinks.record.retention import camera_folder
    from live_classify.sources.capture import parse_camera, parse_video_source

    specs = [parse_camera(i.value) if i.kind == "camera" else parse_video_source(i.value) for i in args.inputs]
    run = run_config(args, specs, default_names(args.inputs, camera_folder(specs[0])), None,
                     [camera.args for camera in config.cameras])
    assert run.model is not None
    validate(run, describe_model(run.model, _overrides(args)).labels)
    return 0


@dataclass(frozen=True)
class Reloadable:
    """A run from ``--config``: its file resolved, and the command line typed with it."""

    config: ConfigFile
    argv: list[str]


def _run(args: argparse.Namespace, mode: str, reloadable: Reloadable | None = None) -> int:
    """Photos, or a camera / stream / video file, as the source says; with ``--config`` each
    camera's own flags, and the file read again on SIGHUP."""
    if mode == PHOTOS:
        return classify_images(args)
    from live_classify.app.run import run
    from live_classify.cli.reread import serve_config
    from live_classify.cli.run_config import run_config
    from live_classify.sinks.record.retention import camera_folder
    from live_classify.sources.capture import parse_camera, parse_video_source

    specs = [parse_camera(i.value) if i.kind == "camera" else parse_video_source(i.value) for i in args.inputs]
    names = default_names(args.inputs, camera_folder(specs[0]))
    serve = serve_config(args)  # a port in use fails now, before the camera opens
    cameras = [camera.args for camera in reloadable.config.cameras] if reloadable else None
    config = run_config(args, specs, names, serve, cameras)
    config = replace(config, outputs=_window_or_headless(config.outputs))
    if reloadable is None:
        return run(config, partial(open_classifier, args))
    from live_classify.cli.config_check import render
    from live_classify.cli.reread import rereader

    reread = rereader(reloadable.config.path, reloadable.argv, args)
    return run(replace(config, shown=render(reloadable.config)), partial(open_classifier, args), reread)


def _window_or_headless(out: OutputConfig) -> OutputConfig:
    """Headless as asked, or when there is no display (one line says so); then the flags only a
    window uses are warned about. Said before the source opens, which can take seconds."""
    from live_classify.sinks.display.window import display_problem

    if not out.headless and (problem := display_problem()):
        log.info(f"{problem}: running headless")
        out = replace(out, headless=True)
    if out.headless:
        for unused in headless_problems(out.given):
            log.warning(unused)
    return out


def open_classifier(args: argparse.Namespace, threads: int | None = None, spin: bool = True,
                    model: Path | None = None) -> Classifier:
    """The engine as the flags describe it; says on stderr which provider runs and what it assumed.

    ``threads`` and ``spin`` let the video pipeline tune the CPU provider (``--threads`` wins).
    """
    from live_classify.engine.classifier import Classifier
    from live_classify.engine.model import default_model_path, describe_model
    from live_classify.engine.providers import ProviderOptions

    options = ProviderOptions(device_id=args.device_id, cuda_graph=args.cuda_graph, normalize=args.normalize,
                              tensorrt_fp16=not args.no_fp16, threads=args.threads or threads or 0, spin=spin,
                              **({"tensorrt_cache": args.trt_cache} if args.trt_cache else {}))
    model = model or args.model or default_model_path()
    spec = describe_model(model, _overrides(args))
    classifier = Classifier(spec, _backend(args, model, spec, options), top=args.top_k)
    log.info(classifier.backend.describe(verbose=log.verbose()))
    for notice in classifier.spec.notices:
        log.info(f"note: {notice}")
    top_k_given = "top_k" in getattr(args, "given", frozenset())  # the default 5 of a 3-class model is no news
    if top_k_given and args.top_k > (classes := len(classifier.spec.labels or ())):
        log.info(f"note: --top-k {args.top_k}, but the model has {classes} classes: all {classes} are reported")
    return classifier


def _overrides(args: argparse.Namespace) -> Overrides:
    """The flags that describe a foreign model (its labels, size, crop, colours, normalization)."""
    from live_classify.engine.model import Overrides

    return Overrides(labels_file=args.labels, size=args.input_size, crop_fraction=args.crop_fraction,
                     color_order=args.color_order, mean=args.mean, std=args.std)


LOCAL_ENGINE_FLAGS = {"provider", "device_id", "threads", "cuda_graph", "normalize", "no_fp16", "trt_cache"}


def _backend(args: argparse.Namespace, model: Path, spec: ModelSpec, options: ProviderOptions) -> Backend:
    """onnxruntime here, or a Triton server (with the local model standing in while it is down, if asked)."""
    from live_classify.engine.fallback import FallbackBackend
    from live_classify.engine.onnx_backend import OnnxBackend
    from live_classify.engine.triton_backend import TritonBackend

    if args.backend is None:
        for unused in sorted({"backend_timeout", "backend_fallback"} & getattr(args, "given", frozenset())):
            log.warning(f"--{unused.replace('_', '-')} does nothing without --backend")
        return OnnxBackend.open(model, spec, args.provider, options)
    remote = TritonBackend.open(args.backend, spec, args.backend_timeout)
    if args.backend_fallback != "local":
        for unused in sorted(LOCAL_ENGINE_FLAGS & getattr(args, "given", frozenset())):
            log.warning(f"--{unused.replace('_', '-')} does nothing with --backend (the server runs the model) "
                        "unless --backend-fallback local")
        return remote
    local = OnnxBackend.open(model, spec, args.provider, replace(options, normalize="host"))
    return FallbackBackend(remote, local, log.warning)


def classify_images(args: argparse.Namespace) -> int:
    """Print the top-k of every image; an unreadable image is reported and the rest still run."""
    from live_classify.cli.report import as_json, as_text, as_trace
    from live_classify.sources.photos import expand_images, read_image

    paths = [path for source in args.source for path in expand_images(source)]
    classifier = open_classifier(args)
    failed = 0
    for path in paths:
        try:
            t0 = time.perf_counter()
            image = read_image(path)
            decode_ms = (time.perf_counter() - t0) * 1e3
        except LiveClassifyError as error:
            print(f"{PROG}: error: {error}", file=sys.stderr)
            failed += 1
            continue
        result = classifier.classify(image)
        if args.json:
            print(as_json(str(path), result, args.min_confidence), flush=True)
        elif args.trace:
            print(as_trace(str(path), image, decode_ms, result, classifier, args.min_confidence), flush=True)
        else:
            print(as_text(str(path), result, args.min_confidence), flush=True)
    if failed:
        print(f"{PROG}: {failed} of {len(paths)} images could not be read", file=sys.stderr)
    return 1 if failed else 0
