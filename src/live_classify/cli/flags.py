"""The command line's flags, grouped by task: what each takes and says in ``--help``. Parsing only:
``main.py`` decides what the parsed flags mean together and runs them."""
from __future__ import annotations

import argparse
from pathlib import Path

from live_classify import __version__
from live_classify.cli import output_flags
from live_classify.cli.argtypes import (
    OneLineParser,
    backend_url,
    fourcc,
    fraction,
    gate_mask,
    gate_refresh,
    gate_threshold,
    non_negative_float,
    non_negative_int,
    percent,
    positive_float,
    positive_int,
    size,
    triple,
)
from live_classify.cli.health_flags import health_flags
from live_classify.cli.inputs import AddInput, NameInput, camera_name
from live_classify.engine.provider_names import CHOICES

PROG = "live-classify"


KEYS = """\
keys in the window:
  q, Esc     quit
  space      pause the picture (classification, recording and JSON lines go on)
  s          save a snapshot PNG in --snapshot-dir
  1-9        save the next frame under that class of --classes
  click      several cameras: focus a tile (again: let go); s and 1-9 then act on its camera"""

#: The exit codes, as ``--help`` lists them (errors.py and argtypes.py return them).
EXIT_CODES = {0: "done, or stopped cleanly (q, Ctrl+C, SIGTERM, the end of a file)",
              1: "an error: a bad file, model or device, a source lost for good, a photo unreadable",
              2: "a bad command line", 130: "interrupted: a second Ctrl+C, or Ctrl+C while classifying photos"}

EXAMPLES = """examples:
  live-classify --camera 0
  live-classify --source 'shots/*.jpg' --json
  live-classify --source rtsp://cam/stream --headless --record rec/ --segment 10m --jsonl out.jsonl
  live-classify --source rtsp://a/s --name door --source rtsp://b/s --name yard --serve 127.0.0.1:8080"""


#: The commands besides the run itself, one line each in ``--help`` (a word before any flag, or a
#: command of its own).
COMMANDS = {f"{PROG} index DIR": "rebuild DIR/index.db from the recordings under --record DIR/ (see its --help)",
            "live-classify-train DIR": "teach the model your own classes from a folder of photos (see its --help)"}


def epilog() -> str:
    """The other commands, the keys, the exit codes and a few examples, after the flags in ``--help``."""
    width = max(map(len, COMMANDS)) + 2
    commands = "\n".join(f"  {name:<{width}}{does}" for name, does in COMMANDS.items())
    codes = "\n".join(f"  {code:<10} {meaning}" for code, meaning in EXIT_CODES.items())
    return f"other commands:\n{commands}\n\n{KEYS}\n\nexit codes:\n{codes}\n\n{EXAMPLES}"


def build_parser() -> argparse.ArgumentParser:
    """The flags, grouped by task; each default is written '(default: X)'."""
    parser = OneLineParser(prog=PROG, usage=f"%(prog)s [flags]\n       {PROG} index DIR [--quiet]",
                           description="Classify what a camera, a video or photos show, with an ImageNet model.",
                           epilog=epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("--quiet", action="store_true", help="on stderr only warnings and errors (for scripts)")
    loudness.add_argument("--verbose", action="store_true",
                          help="also the details, e.g. why a GPU provider was not taken")
    box = parser.add_argument_group("one file for the box (deploy/box.toml)")
    box.add_argument("--config", metavar="FILE.toml", help="take the flags from a TOML file: keys named as the "
                     "flags, a [[camera]] table per camera; a flag given here overrides the file")
    box.add_argument("--check", action="store_true",
                     help="--config: print the configuration as it would run, then exit")
    _source_flags(parser)
    _camera_flags(parser)
    _gate_flags(parser)
    health_flags(parser)
    _output_flags(parser)
    output_flags.recording_flags(parser)
    output_flags.jsonl_flags(parser)
    output_flags.browser_flags(parser)
    output_flags.mqtt_flags(parser)
    output_flags.event_flags(parser)
    _collect_flags(parser)
    _result_flags(parser)
    _model_flags(parser)
    _preprocessing_flags(parser)
    return parser


def _source_flags(parser: argparse.ArgumentParser) -> None:
    """What to classify: a camera, or files, streams and photos."""
    what = parser.add_argument_group("what to classify (one or more, in any mix: several share one model)")
    what.add_argument("--camera", action=AddInput, metavar="N|/dev/videoN", help="a camera by index or device")
    what.add_argument("--source", action=AddInput, metavar="URI", nargs="+",
                      help="a video file, a stream (rtsp://, http://...), photos, a directory of photos, "
                           "or a quoted glob such as 'shots/*.jpg'")
    what.add_argument("--name", action=NameInput, type=camera_name, metavar="NAME",
                      help="name the --camera or --source just before it, in JSON lines, recordings and MQTT topics "
                           "(default: cam0, cam1... with several; with one, from the source)")
    what.add_argument("--max-batch", type=positive_int, metavar="N",
                      help="several cameras: at most N frames in one inference run (default: the number of cameras; "
                           "1 on the CPU, where a bigger batch costs more per frame)")
    what.add_argument("--batch-wait", type=non_negative_float, default=0.0, metavar="MS",
                      help="several cameras: wait up to MS ms after a camera's frame for the others' (default: 0, "
                           "a batch forms by itself while the previous one runs)")


def _camera_flags(parser: argparse.ArgumentParser) -> None:
    """What to ask a camera or a stream for, and how long to wait for it."""
    cam = parser.add_argument_group("camera and stream")
    cam.add_argument("--width", type=positive_int, metavar="PX", help="ask the camera for this width")
    cam.add_argument("--height", type=positive_int, metavar="PX", help="ask the camera for this height")
    cam.add_argument("--fps", type=positive_float, help="ask the camera for this frame rate")
    cam.add_argument("--fourcc", type=fourcc, metavar="CODE",
                     help="ask the camera for this pixel format, e.g. MJPG (720p@30 on most USB cameras)")
    cam.add_argument("--open-timeout", type=positive_float, default=10.0, metavar="S",
                     help="give up opening a stream after S seconds (default: 10)")
    cam.add_argument("--read-timeout", type=positive_float, default=5.0, metavar="S",
                     help="a stream that sends nothing for S seconds is lost (default: 5)")
    cam.add_argument("--reconnect", type=non_negative_int, metavar="N",
                     help="reconnection attempts, with backoff (0.5 s doubled up to 5 s), before a lost camera or "
                          "stream is an error (default: retried for as long as the run lasts, the camera "
                          "shown offline meanwhile; one that cannot be opened at the start is an error at once)")
    cam.add_argument("--rtsp-transport", choices=["tcp", "udp"],
                     help="RTSP over TCP only (a camera behind NAT) or UDP only (default: TCP first, then UDP)")


def _gate_flags(parser: argparse.ArgumentParser) -> None:
    """Which frames go through the model: all of them, or those where something changed."""
    gate = parser.add_argument_group("motion gate (cameras, streams, video files)")
    gate.add_argument("--gate", choices=["off", "motion"], default="off",
                      help="motion: classify a frame only when something moved, the scene changed or the refresh is "
                           "due; a still frame keeps the last answer and writes no JSON line (default: off)")
    gate.add_argument("--gate-refresh", type=gate_refresh, default=10.0, metavar="S",
                      help="--gate motion: classify at least every S seconds of the source, still or not (default: 10)")
    gate.add_argument("--gate-mask", type=gate_mask, action="append", metavar="X,Y,W,H",
                      help="--gate motion: leave this rectangle (source pixels) out of the check, e.g. a burnt-in "
                           "clock or a tree in the wind; repeatable")
    gate.add_argument("--gate-threshold", type=gate_threshold, default=30, metavar="L",
                      help="--gate motion: a pixel changed when its luma (0-255, contrast stretched, at about 100 px "
                           "high) differs this much from the background (default: 30)")
    gate.add_argument("--gate-area", type=percent, default=0.1, metavar="PCT",
                      help="--gate motion: motion when one changed region covers PCT %% of the picture "
                           "(default: 0.1, about 30x30 px of 720p)")


def _output_flags(parser: argparse.ArgumentParser) -> None:
    """The window and where the results go."""
    live = parser.add_argument_group("window and outputs (cameras, streams, video files)")
    live.add_argument("--headless", action="store_true", help="no window, even if a display is there")
    live.add_argument("--realtime", action="store_true",
                      help="play a video file at its own frame rate, newest frame wins, like a camera")
    live.add_argument("--jsonl", metavar="FILE|-",
                      help="one JSON line per classified frame, appended to a file, or to stdout")
    live.add_argument("--snapshot-dir", type=Path, default=Path("."), metavar="DIR",
                      help="where the s key saves snapshots (default: the current directory)")
    live.add_argument("--windows", action="store_true",
                      help="several cameras: one window each, titled with its name, instead of one grid of tiles")










def _collect_flags(parser: argparse.ArgumentParser) -> None:
    """Frames for your own classes."""
    collect = parser.add_argument_group("collect frames of your own classes (for live-classify-train)")
    collect.add_argument("--classes", type=_class_list, metavar="A,B,...",
                         help="up to 9 classes: in the window, keys 1-9 save the next frame under one")
    collect.add_argument("--collect", metavar="LABEL",
                         help="save --count frames of LABEL, --interval apart (no window needed)")
    collect.add_argument("--count", type=positive_int, default=20, metavar="N",
                         help="--collect: new frames to save (default: 20)")
    collect.add_argument("--interval", type=positive_float, default=1.0, metavar="S",
                         help="--collect: seconds of the source between saved frames (default: 1)")
    collect.add_argument("--collect-dir", type=Path, default=Path("dataset"), metavar="DIR",
                         help="where collected frames go, one folder per class (default: ./dataset)")


def _result_flags(parser: argparse.ArgumentParser) -> None:
    """What each answer holds."""
    out = parser.add_argument_group("results")
    out.add_argument("--top-k", type=positive_int, default=5, metavar="K", help="classes to report (default: 5)")
    out.add_argument("--min-confidence", type=fraction, metavar="P",
                     help='answer "unknown" when the top score is below P, e.g. 0.5 '
                          '(default: none, always the top class)')
    out.add_argument("--smooth", type=fraction, default=1.0, metavar="A",
                     help="video: smooth probabilities over frames, weight of the newest (default: 1, no smoothing)")
    photos = out.add_mutually_exclusive_group()  # one is for programs, the other for reading: never both
    photos.add_argument("--json", action="store_true", help="photos: one JSON object per image on stdout")
    photos.add_argument("--trace", action="store_true",
                        help="photos: show the four stages per image, the tensor after each and its time "
                             "(not with --json)")


def _model_flags(parser: argparse.ArgumentParser) -> None:
    """The model and what runs it."""
    model = parser.add_argument_group("model and engine")
    model.add_argument("--model", type=Path, metavar="PATH",
                       help="an ONNX classifier (default: the bundled EfficientNet-Lite0)")
    model.add_argument("--watch-model", action="store_true", help="take up the model file anew when it is replaced")
    model.add_argument("--labels", type=Path, metavar="FILE", help="class names, one per line (overrides the model's)")
    model.add_argument("--backend", type=backend_url, metavar="URL",
                       help="run the model on a Triton Inference Server: triton://HOST[:8001]/MODEL (gRPC) or "
                            "triton+http://HOST[:8000]/MODEL (default: here, with onnxruntime)")
    model.add_argument("--backend-timeout", type=positive_float, default=2.0, metavar="S",
                       help="--backend: a request not answered within S seconds fails (default: 2)")
    model.add_argument("--backend-fallback", choices=["local"],
                       help="--backend: classify here with --model while the server cannot be reached")
    model.add_argument("--provider", choices=list(CHOICES), default="auto",
                       help="auto tries TensorRT, then CUDA, then CPU; a GPU named here must start or it is an error "
                            "(default: auto)")
    model.add_argument("--device-id", type=non_negative_int, default=0, metavar="N", help="GPU index (default: 0)")
    model.add_argument("--threads", type=non_negative_int, default=0, metavar="N",
                       help="CPU inference threads, 0 for one per core (default: 0)")
    model.add_argument("--cuda-graph", action=argparse.BooleanOptionalAction, default=None,
                       help="CUDA: replay the model as a CUDA graph (default: on where the model allows it)")
    model.add_argument("--normalize", choices=["auto", "host", "device"], default="auto",
                       help="where (x - mean) / std runs: device sends uint8 pixels to the GPU "
                            "(default: auto, device on a GPU, host on the CPU)")
    model.add_argument("--no-fp16", action="store_true", help="TensorRT: build fp32 engines instead of fp16")
    model.add_argument("--trt-cache", type=Path, metavar="DIR",
                       help="TensorRT engine cache directory (default: ~/.cache/live-classify/tensorrt)")


def _preprocessing_flags(parser: argparse.ArgumentParser) -> None:
    """Preprocessing, overriding the model's metadata."""
    pre = parser.add_argument_group("preprocessing (overrides the model's metadata)")
    pre.add_argument("--input-size", type=size, metavar="N|HxW", help="model input size, e.g. 224 or 256x320")
    pre.add_argument("--crop-fraction", type=fraction, metavar="F", help="center crop, fraction of the shorter side")
    pre.add_argument("--color-order", type=str.upper, choices=["RGB", "BGR"], help="channel order the model expects")
    pre.add_argument("--mean", type=triple, metavar="M|R,G,B", help="per-channel mean in 0..255 units")
    pre.add_argument("--std", type=triple, metavar="S|R,G,B", help="per-channel std in 0..255 units")




def _class_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not 1 <= len(names) <= 9:
        raise argparse.ArgumentTypeError(f"give 1 to 9 comma-separated class names, not {text!r}")
    return names
