"""benchlib: what the benchmarks share: the machine they ran on, where a run writes, and what a process costs.

The fake camera itself lives with the tests (``tests/support/mjpeg_server.py``); a benchmark that starts
the real command in its own process reads that process's CPU time and memory here, from /proc.
"""
from __future__ import annotations

import json
import os
import platform
import socket
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """The lines a report needs to say where its figures hold: CPU, cores, library versions, date."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"host": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "onnxruntime": ort.__version__, "opencv": cv2.__version__, "numpy": np.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def default_out(host: str, when: time.struct_time) -> Path:
    """A fresh, git-ignored folder per run: the committed reports are only replaced on purpose."""
    return RESULTS / f"local-{host}-{time.strftime('%Y%m%d-%H%M%S', when)}"


def save_report(out: Path, name: str, report: dict, markdown: str) -> None:
    """``name``.json (every figure) and ``name``.md (the tables) into ``out``, said on stderr."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=1))
    (out / f"{name}.md").write_text(markdown)
    print(f"wrote {out / name}.json and .md", file=sys.stderr)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict[str, float]:
    """A process's resident memory now: ``rss`` counts every shared page in full, ``pss`` shares
    them out among the processes that map them, so PSS adds up across processes and RSS does not."""
    found = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Rss", "Pss"):
            found[key.lower()] = int(value.split()[0]) / 1024
    return found


def wait_for(path: Path, text: str, timeout: float) -> bool:
    """Whether ``text`` appeared in the file at ``path`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text():
            return True
        time.sleep(0.1)
    return False
