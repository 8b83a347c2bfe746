"""Configuration files for the reload tests, and the JSON lines such a run writes."""
from __future__ import annotations

import json
from pathlib import Path

from mjpeg_server import MjpegServer


def box(cameras: dict[str, MjpegServer], extra: str = "", jsonl: str = "p.jsonl") -> str:
    """A configuration file: the JSON lines to ``jsonl``, one [[camera]] per entry."""
    text = f'provider = "cpu"\nheadless = true\njsonl = "{jsonl}"\n{extra}'
    for name, camera in cameras.items():
        text += f'\n[[camera]]\nname = "{name}"\nsource = "{camera.url}"\n'
    return text


def lines(path: Path) -> list[dict]:
    """The whole JSON lines written so far (a line being written is left out)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
