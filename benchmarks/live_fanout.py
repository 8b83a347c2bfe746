"""What one more ``/live.mp4`` viewer costs the server, per fragment, from two source trees side by side:

    python benchmarks/live_fanout.py --before /path/to/old/src --after src    # about 2 minutes
    python benchmarks/live_fanout.py --after src --profile 20                  # where 20 viewers' time goes

Written for issue 37 (20 viewers may cost at most 25 % more than one). The whole command's CPU
is mostly its capture, classification and encoder, which do not change with the viewers and
which a loaded machine makes noisy; this isolates the part that does change: the server's event
loop handing each fragment to each viewer. Each case runs in a process of its own with
``PYTHONPATH`` set to the tree: the real ``LiveStreams`` behind aiohttp, a thread that hands it
a 30 fps stream of fragments as the encoder does (``FRAGMENT`` bytes, a ``KEYFRAME`` one a second),
and N readers in another process that read as fast as they can. Measured: the CPU time of the
server's loop thread per fragment, with 1 and with N viewers (rounds alternate the trees, so a
neighbour's load hits both alike). Writes ``live-fanout-<host>.json`` and ``.md`` into ``--out``.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FPS, FRAGMENT, KEYFRAME = 30, 1_600, 12_000  # a noisy 640x480 camera's fragments, about (live-view-vm-480p.md)
WINDOW_S, SETTLE_S = 10.0, 2.0
READERS = """
import selectors, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
select, socks = selectors.DefaultSelector(), []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /live.mp4 HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")
    s.setblocking(False)
    select.register(s, selectors.EVENT_READ)
while True:
    for key, _ in select.select():
        if not key.fileobj.recv(1 << 20):
            sys.exit(0)
"""


def serve(viewers: int, seconds: float, profile: bool) -> dict:
    """One case, in this process: the server, the fragments, ``viewers`` readers; the loop's CPU."""
    from aiohttp import web

    from live_classify.sinks.web.clients import Places
    from live_classify.sinks.web.live_streams import LiveStreams

    loop = asyncio.new_event_loop()
    streams = LiveStreams(["cam"], Places(viewers + 4), loop.call_soon_threadsafe)
    app = web.Application()
    app.router.add_get("/live.mp4", streams.stream)
    runner = web.AppRunner(app, handler_cancellation=True)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    threading.Thread(target=loop.run_forever, daemon=True).start()
    readers = subprocess.Popen([sys.executable, "-c", READERS, str(port), str(viewers)])
    stop = threading.Event()
    threading.Thread(target=produce, args=(streams, stop), daemon=True).start()
    while streams.counts()["viewers"] < viewers:
        time.sleep(0.1)
    time.sleep(SETTLE_S)
    profiler = cProfile.Profile() if profile else None
    cpu0, n0, t0 = on_loop(loop, lambda: (profiler and profiler.enable(), time.thread_time())[1]), \
        streams.fragments, time.monotonic()
    time.sleep(seconds)
    cpu1, n1 = on_loop(loop, lambda: (time.thread_time(), profiler and profiler.disable())[0]), streams.fragments
    stop.set()
    readers.kill()
    result = {"viewers": viewers, "fragments_per_s": round((n1 - n0) / (time.monotonic() - t0), 1),
              "loop_us_per_fragment": round(1e6 * (cpu1 - cpu0) / (n1 - n0), 1),
              "skipped": streams.counts()["skipped"], "viewers_at_end": streams.counts()["viewers"]}
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        result["profile"] = text.getvalue()
    return result


def on_loop(loop: asyncio.AbstractEventLoop, function):  # noqa: ANN001, ANN201 - a benchmark's helper
    return asyncio.run_coroutine_threadsafe(_call(function), loop).result(10)


async def _call(function):  # noqa: ANN001, ANN202
    return function()


def produce(streams, stop: threading.Event) -> None:  # noqa: ANN001 - LiveStreams of either tree
    """The encoder's side: an init, then a fragment each 1/FPS s, a keyframe each second or when asked."""
    streams.init("cam", b"\0\0\0\x08ftyp")
    n, t = 0, time.monotonic()
    while not stop.is_set():
        key = n % FPS == 0 or streams.take_key_request("cam")
        streams.fragment("cam", os.urandom(KEYFRAME if key else FRAGMENT), key)
        n, t = n + 1, t + 1 / FPS
        time.sleep(max(0.0, t - time.monotonic()))


def case(tree: str, viewers: int, seconds: float, profile: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
    args = [sys.executable, __file__, "--serve", str(viewers), "--seconds", str(seconds)]
    args += ["--profile", "1"] if profile else []
    out = subprocess.run(args, env=env, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def compare(trees: dict[str, str], viewers: int, rounds: int) -> dict:
    runs: dict[str, dict[int, list[float]]] = {name: {1: [], viewers: []} for name in trees}
    for r in range(rounds):
        for name in (list(trees) if r % 2 == 0 else list(reversed(trees))):
            for n in (1, viewers):
                result = case(trees[name], n, WINDOW_S)
                runs[name][n].append(result["loop_us_per_fragment"])
                print(f"round {r + 1} {name} x{n}: {result}", flush=True)
    report = {}
    for name, by in runs.items():
        one, many = statistics.median(by[1]), statistics.median(by[viewers])
        report[name] = {"us_per_fragment_1": one, f"us_per_fragment_{viewers}": many,
                        "us_per_viewer_per_fragment": round((many - one) / (viewers - 1), 1), "runs": by}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="the old tree's src folder")
    parser.add_argument("--after", default=str(HERE.parent / "src"))
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--profile", type=int, metavar="N", help="profile the loop with N viewers (after's tree)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=WINDOW_S, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(args.serve, args.seconds, bool(args.profile))))
        return
    if args.profile:
        print(case(args.after, args.profile, WINDOW_S, profile=True)["profile"])
        return
    trees = {"before": args.before, "after": args.after} if args.before else {"after": args.after}
    load0 = os.getloadavg()[0]
    report = {"trees": trees, "viewers": args.viewers, "fps": FPS, "fragment_bytes": FRAGMENT,
              "results": compare(trees, args.viewers, args.rounds)}
    report["load_average_1min"] = {"start": round(load0, 1), "end": round(os.getloadavg()[0], 1)}
    print(json.dumps(report, indent=1))
    if args.out:
        sys.path.insert(0, str(HERE))
        from benchlib import machine, save_report
        host = machine()["host"]
        save_report(args.out, f"live-fanout-{host}", {**report, "machine": machine()}, markdown(report))


def markdown(report: dict) -> str:
    n = report["viewers"]
    rows = "\n".join(f"| {name} | {r['us_per_fragment_1']} | {r[f'us_per_fragment_{n}']} | "
                     f"{r['us_per_viewer_per_fragment']} |" for name, r in report["results"].items())
    return f"""# /live.mp4: the server loop's CPU per fragment, 1 viewer against {n}

`python benchmarks/live_fanout.py` ({report['fps']} fragments/s of {report['fragment_bytes']} bytes, a keyframe
each second); trees {report['trees']}; load average {report['load_average_1min']['start']} at the start,
{report['load_average_1min']['end']} at the end (2 shared cores). Medians of the rounds, in microseconds.

| tree | loop CPU per fragment, 1 viewer | {n} viewers | per viewer per fragment |
|---|---|---|---|
{rows}
"""


if __name__ == "__main__":
    main()
