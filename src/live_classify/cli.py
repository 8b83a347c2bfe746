"""The ``live-classify`` command: argument parsing, wiring and exit codes.

Every problem the user can fix ends in one line on stderr and a non-zero exit, never a traceback:
exit 2 for a bad command line, 1 for a bad file, model or device, 130 for Ctrl+C.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import cv2

from live_classify import __version__
from live_classify.argtypes import (
    OneLineParser, fourcc, fraction, non_negative_int, positive_float, positive_int, size, triple,
)
from live_classify.classifier import Classifier
from live_classify.errors import LiveClassifyError, exit_code
from live_classify.images import expand_images, looks_like_images, read_image
from live_classify.live import run_video
from live_classify.model import Overrides, default_model_path
from live_classify.providers import CHOICES, ProviderOptions
from live_classify.report import as_json, as_text, as_trace
from live_classify.sinks import silence_stdout
from live_classify.sources import is_stream, parse_camera, parse_video_source

PROG = "live-classify"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="Classify what a camera, a video or photos show, with an ImageNet model.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--camera", metavar="N|/dev/videoN", help="a camera by index or device")
    what.add_argument("--source", metavar="URI",
                      help="a video file, a stream (rtsp://, http://...), a photo, a directory of photos, "
                           "or a quoted glob such as 'shots/*.jpg'")

    cam = parser.add_argument_group("camera and stream")
    cam.add_argument("--width", type=positive_int, help="ask the camera for this width")
    cam.add_argument("--height", type=positive_int, help="ask the camera for this height")
    cam.add_argument("--fps", type=positive_float, help="ask the camera for this frame rate")
    cam.add_argument("--fourcc", type=fourcc, help="ask the camera for this pixel format, e.g. MJPG (720p@30 on most USB cameras)")
    cam.add_argument("--open-timeout", type=positive_float, default=10.0, metavar="S",
                     help="give up opening a stream after S seconds (10)")
    cam.add_argument("--read-timeout", type=positive_float, default=5.0, metavar="S",
                     help="a stream that sends nothing for S seconds is lost (5)")
    cam.add_argument("--reconnect", type=non_negative_int, default=10, metavar="N",
                     help="reconnection attempts, with backoff, before a lost camera or stream is an error (10)")
    cam.add_argument("--realtime", action="store_true",
                     help="play a video file at its own frame rate, newest frame wins, like a camera")

    live = parser.add_argument_group("window and outputs (cameras, streams, video files)")
    live.add_argument("--headless", action="store_true", help="no window, even if a display is there")
    live.add_argument("--record", type=Path, metavar="FILE.avi", help="record the annotated video (Motion-JPEG AVI)")
    live.add_argument("--overwrite", action="store_true", help="replace an existing recording")
    live.add_argument("--jsonl", metavar="FILE|-", help="one JSON line per classified frame, appended to a file, or to stdout")
    live.add_argument("--classes", type=_class_list, metavar="A,B,...",
                      help="your own classes (up to 9): keys 1-9 in the window save the next frame under one")
    live.add_argument("--collect", metavar="LABEL", help="headless: save frames of LABEL (with --count, --interval)")
    live.add_argument("--count", type=positive_int, default=20, metavar="N", help="--collect: frames to save (20)")
    live.add_argument("--interval", type=positive_float, default=1.0, metavar="S",
                      help="--collect: seconds between saved frames (1)")
    live.add_argument("--collect-dir", type=Path, default=Path("dataset"), metavar="DIR",
                      help="where collected frames go, one folder per class (./dataset), for live-classify-train")
    live.add_argument("--snapshot-dir", type=Path, default=Path("."), metavar="DIR",
                      help="where the s key saves snapshots (current directory)")

    out = parser.add_argument_group("output")
    out.add_argument("--top-k", type=positive_int, default=5, metavar="K", help="classes to report (default 5)")
    out.add_argument("--min-confidence", type=fraction, metavar="P",
                     help='answer "unknown" when the top score is below P, e.g. 0.5 (default: always the top class)')
    out.add_argument("--json", action="store_true", help="photos: one JSON object per image on stdout")
    out.add_argument("--trace", action="store_true",
                     help="photos: show the four stages per image, the tensor after each and its time")

    model = parser.add_argument_group("model")
    model.add_argument("--model", type=Path, metavar="PATH", help="an ONNX classifier (default: the bundled EfficientNet-Lite0)")
    model.add_argument("--labels", type=Path, metavar="FILE", help="class names, one per line (overrides the model's)")
    model.add_argument("--provider", choices=list(CHOICES), default="auto",
                       help="auto tries TensorRT, then CUDA, then CPU; a GPU named here must start or it is an error")
    model.add_argument("--device-id", type=non_negative_int, default=0, metavar="N", help="GPU index (default 0)")
    model.add_argument("--threads", type=non_negative_int, default=0, metavar="N",
                       help="CPU inference threads (default 0: one per core)")
    model.add_argument("--cuda-graph", action="store_true", help="capture the model as a CUDA graph (CUDA only)")
    model.add_argument("--no-fp16", action="store_true", help="TensorRT: build fp32 engines instead of fp16")
    model.add_argument("--trt-cache", type=Path, metavar="DIR", help="TensorRT engine cache directory")

    pre = parser.add_argument_group("preprocessing (overrides the model's metadata)")
    pre.add_argument("--input-size", type=size, metavar="N|HxW", help="model input size, e.g. 224 or 256x320")
    pre.add_argument("--crop-fraction", type=fraction, metavar="F", help="center crop, fraction of the shorter side")
    pre.add_argument("--color-order", type=str.upper, choices=["RGB", "BGR"], help="channel order the model expects")
    pre.add_argument("--mean", type=triple, metavar="M|R,G,B", help="per-channel mean in 0..255 units")
    pre.add_argument("--std", type=triple, metavar="S|R,G,B", help="per-channel std in 0..255 units")
    pre.add_argument("--smooth", type=fraction, default=1.0, metavar="A",
                     help="probability smoothing over frames, weight of the newest (default 1: none)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Our one-line errors say it all: OpenCV's warnings and FFmpeg's decoder complaints about a
    # damaged frame (which the source skips) would only bury them.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        return exit_code(PROG, partial(_run, args))
    except BrokenPipeError:  # `live-classify --source shots/ --json | head -1`: the reader had enough
        silence_stdout()
        return 0


def _run(args: argparse.Namespace) -> int:
    """Photos, or a camera / stream / video file, as the source says."""
    if args.camera is not None:
        return run_video(args, parse_camera(args.camera), partial(open_classifier, args))
    if is_stream(args.source) or not looks_like_images(args.source):
        return run_video(args, parse_video_source(args.source), partial(open_classifier, args))
    return classify_images(args)


def _class_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not 1 <= len(names) <= 9:
        raise argparse.ArgumentTypeError(f"give 1 to 9 comma-separated class names, not {text!r}")
    return names


def open_classifier(args: argparse.Namespace, threads: int | None = None, spin: bool = True) -> Classifier:
    """The engine as the flags describe it; says on stderr which provider runs and what it assumed.

    ``threads`` and ``spin`` let the video pipeline tune the CPU provider (``--threads`` wins).
    """
    options = ProviderOptions(device_id=args.device_id, cuda_graph=args.cuda_graph,
                              tensorrt_fp16=not args.no_fp16, threads=args.threads or threads or 0, spin=spin,
                              **({"tensorrt_cache": args.trt_cache} if args.trt_cache else {}))
    overrides = Overrides(labels_file=args.labels, size=args.input_size, crop_fraction=args.crop_fraction,
                          color_order=args.color_order, mean=args.mean, std=args.std)
    classifier = Classifier.open(args.model or default_model_path(), args.provider, overrides, options,
                                 top=args.top_k)
    print(f"{PROG}: {classifier.opened.describe()}", file=sys.stderr)
    for notice in classifier.spec.notices:
        print(f"{PROG}: note: {notice}", file=sys.stderr)
    return classifier


def classify_images(args: argparse.Namespace) -> int:
    """Print the top-k of every image; an unreadable image is reported and the rest still run."""
    paths = expand_images(args.source)
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
