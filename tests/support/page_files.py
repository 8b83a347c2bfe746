"""The product's web page as plain files over HTTP on 127.0.0.1, for browser tests that give the
API's answers themselves (Playwright routes): what the page does with them, not how a run made them."""
from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import live_classify

PAGE = Path(live_classify.__file__).parent / "sinks" / "web" / "page"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def served_page(root: Path) -> Iterator[str]:
    """The page's files copied into ``root`` (more may be written there) and served; its base URL."""
    shutil.copytree(PAGE, root, dirs_exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
