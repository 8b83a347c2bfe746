"""N simulated cameras into one engine, batched: how many 30 fps cameras one GPU (or CPU) keeps up with.

    PYTHONPATH=src python benchmarks/cameras.py --cameras 1 4 8 16 --provider cuda

Each camera is a thread that, at its frame rate, takes the next 640x480 JPEG (as a USB camera or
an MJPEG stream sends them), stamps the moment it "arrived", decodes it (the CPU work a real
camera costs) and leaves it in a one-slot mailbox: the newest frame wins, a frame replaced before
inference took it is counted as dropped. One batcher thread takes the newest frame of every
camera that has one (waiting at most ``--max-wait-ms`` for the others once the first is there),
classifies them in one batched run of the bound session, and records each frame's latency from
arrival to result. This is the shape the many-cameras feature will have; here it measures.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"


def jpeg_frames(count: int = 30, size: tuple[int, int] = (640, 480)) -> list[bytes]:
    """``count`` different JPEG frames of ``size``: the test photos, panned a little each frame."""
    photos = [cv2.resize(cv2.imread(str(p)), (size[0] + 64, size[1] + 48)) for p in sorted(DATA.glob("*.png"))]
    frames = []
    for i in range(count):
        photo = photos[(i // 15) % len(photos)]
        dx, dy = (i * 4) % 64, (i * 3) % 48
        frames.append(cv2.imencode(".jpg", photo[dy : dy + size[1], dx : dx + size[0]],
                                   [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
    return frames


@dataclass
class Mailbox:
    """One camera's newest decoded frame, and how many were replaced unseen."""

    frame: tuple[float, np.ndarray] | None = None
    captured: int = 0
    dropped: int = 0


@dataclass
class Fleet:
    """The cameras, their mailboxes, and the condition the batcher waits on."""

    count: int
    fps: float
    jpegs: list[bytes]
    boxes: list[Mailbox] = field(init=False)
    ready: threading.Condition = field(default_factory=threading.Condition)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.boxes = [Mailbox() for _ in range(self.count)]

    def camera(self, index: int) -> None:
        """One camera: a frame every 1/fps seconds, on a fixed schedule (a late frame does not shift the next)."""
        period = 1.0 / self.fps
        next_at = time.monotonic() + period * index / self.count  # cameras out of phase, as real ones are
        n = index * 7
        while not self.stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            arrived = time.monotonic()
            image = cv2.imdecode(np.frombuffer(self.jpegs[n % len(self.jpegs)], np.uint8), cv2.IMREAD_COLOR)
            n += 1
            next_at += period
            with self.ready:
                box = self.boxes[index]
                box.dropped += box.frame is not None
                box.frame = (arrived, image)
                box.captured += 1
                self.ready.notify()

    def take(self, max_batch: int, max_wait: float) -> list[tuple[float, np.ndarray]]:
        """The newest frame of each camera that has one; once one is there, wait up to ``max_wait`` for the rest."""
        with self.ready:
            while not self.stop.is_set() and not any(box.frame for box in self.boxes):
                self.ready.wait(0.1)
            deadline = time.monotonic() + max_wait
            while (not self.stop.is_set()
                   and sum(box.frame is not None for box in self.boxes) < min(max_batch, self.count)):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.ready.wait(left)
            taken = []
            for box in sorted(self.boxes, key=lambda b: b.frame[0] if b.frame else float("inf"))[:max_batch]:
                if box.frame is not None:
                    taken.append(box.frame)
                    box.frame = None
            return taken


def run_fleet(classifier, cameras: int, fps: float = 30.0, seconds: float = 8.0,  # noqa: ANN001 - a Classifier
              max_batch: int = 16, max_wait_ms: float = 2.0, warmup: float = 1.0, sizes: tuple[int, ...] = ()) -> dict:
    """Run ``cameras`` simulated cameras into ``classifier`` for ``seconds``; latency, drops and batch sizes.

    ``sizes``: run only these batch sizes, padding a batch up to the next one (fewer CUDA graphs).
    """
    fleet = Fleet(cameras, fps, jpeg_frames())
    sizes = sizes or tuple(range(1, min(max_batch, cameras) + 1))
    for n in sizes:  # bind (and, with CUDA graphs, capture) every size first
        classifier.backend.bound.warm_up(3, n)
    threads = [threading.Thread(target=fleet.camera, args=(i,), daemon=True) for i in range(cameras)]
    for thread in threads:
        thread.start()
    latencies: list[float] = []
    batches: list[int] = []
    t_start = time.monotonic()
    measure_from = t_start + warmup
    cpu0 = None
    while time.monotonic() < measure_from + seconds:
        taken = fleet.take(max_batch, max_wait_ms / 1e3)
        if not taken:
            continue
        images = [image for _, image in taken]
        padded = next(n for n in sizes if n >= len(images))
        classifier.classify_batch(images + images[-1:] * (padded - len(images)))
        done = time.monotonic()
        if done >= measure_from:
            if cpu0 is None:
                cpu0 = (time.process_time(), done, [(b.captured, b.dropped) for b in fleet.boxes])
            latencies += [(done - arrived) * 1e3 for arrived, _ in taken]
            batches.append(len(taken))
    fleet.stop.set()
    for thread in threads:
        thread.join(2)
    wall = time.monotonic() - cpu0[1]
    captured = sum(b.captured - c for b, (c, _) in zip(fleet.boxes, cpu0[2], strict=True))
    dropped = sum(b.dropped - d for b, (_, d) in zip(fleet.boxes, cpu0[2], strict=True))
    return {
        "cameras": cameras, "fps_each": fps, "seconds": round(wall, 2),
        "captured_fps": round(captured / wall, 1), "classified_fps": round(len(latencies) / wall, 1),
        "dropped_pct": round(100 * dropped / max(1, captured), 2),
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "latency_p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "mean_batch": round(float(np.mean(batches)), 2),
        "cpu_pct": round(100 * (time.process_time() - cpu0[0]) / wall, 1),
    }


def main() -> int:
    sys.path.insert(0, str(HERE.parent / "src"))
    from live_classify.engine.classifier import Classifier
    from live_classify.engine.model import default_model_path
    from live_classify.engine.providers import ProviderOptions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4],
                        help="camera counts to run, one after another")
    parser.add_argument("--provider", default="auto", help="auto, cuda, tensorrt or cpu")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per count (after 1 s of warm-up)")
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--cuda-graph", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*", default=[], help="batch sizes to pad to (default: every size)")
    args = parser.parse_args()
    classifier = Classifier.open(default_model_path(), args.provider,
                                 options=ProviderOptions(cuda_graph=args.cuda_graph))
    print(classifier.backend.opened.describe(), file=sys.stderr)
    for count in args.cameras:
        print(json.dumps(run_fleet(classifier, count, seconds=args.seconds, max_batch=args.max_batch,
                                   sizes=tuple(args.sizes))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
