"""Where webhook receivers find the clips: a web view bound to every address is reached by this
machine's name, never by ``0.0.0.0`` (an address no receiver can connect to)."""
from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from live_classify.app.specs import media_url


def test_a_web_view_on_every_address_gives_this_machines_name_and_the_public_url_wins(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        port = sock.getsockname()[1]
        out: Any = SimpleNamespace(events=SimpleNamespace(public_url=None), serve=SimpleNamespace(sock=sock),
                                   record=SimpleNamespace(path=tmp_path / "rec", segment_s=None))
        assert media_url(out) == f"http://{socket.getfqdn()}:{port}"
        out.events = SimpleNamespace(public_url="https://cams.example.com/box")
        assert media_url(out) == "https://cams.example.com/box"
