"""Where webhook receivers find the clips: a web view bound to every address is reached by this
machine's name, never by ``0.0.0.0`` (an address no receiver can connect to)."""
from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from live_classify.app.specs import media_url


def test_a_web_view_on_every_address_gives_this_machines_name_and_the_public_url_wins(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        port = sock.getsockname()[1]
        out: Any = SimpleNamespace(events=SimpleNamespace(), webhooks=None, serve=SimpleNamespace(sock=sock),
                                   record=SimpleNamespace(path=tmp_path / "rec", segment_s=None))
        assert media_url(out) == f"http://{socket.getfqdn()}:{port}"
        out.webhooks = SimpleNamespace(public_url="https://cams.example.com/box")
        assert media_url(out) == "https://cams.example.com/box"


def test_a_web_view_on_ipv6_is_given_in_brackets_and_on_every_ipv6_address_by_this_machines_name(
        tmp_path: Path) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    for address, host in (("::1", "[::1]"), ("::", socket.getfqdn())):
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind((address, 0))
            port = sock.getsockname()[1]
            out: Any = SimpleNamespace(events=SimpleNamespace(), webhooks=None, serve=SimpleNamespace(sock=sock),
                                       record=SimpleNamespace(path=tmp_path / "rec", segment_s=None))
            assert media_url(out) == f"http://{host}:{port}"
