"""``--config`` read again on SIGHUP (``cli/reread.py``): a key that changes only with a restart
says so in one line, and the run keeps it as it was."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from live_classify import log
from live_classify.cli import reread as module
from live_classify.cli.config_file import resolve
from live_classify.config import OutputConfig, RunConfig

BOX = 'headless = true\n{extra}[[camera]]\nname = "door"\nsource = "http://127.0.0.1:9/cam"\n'


@pytest.mark.parametrize(("before", "after", "key"), [
    ("top-k = 5\n", "top-k = 3\n", "top-k"),
    ("max-batch = 4\n", "max-batch = 2\n", "max-batch"),
    ("", "provider = \"cpu\"\n", "provider"),
])
def test_a_key_that_changes_only_with_a_restart_says_so_on_reload(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str, after: str, key: str) -> None:
    warned: list[str] = []
    monkeypatch.setattr(log, "warning", warned.append)
    box = tmp_path / "box.toml"
    box.write_text(BOX.format(extra=before))
    first = resolve(str(box), [], os.environ).args
    box.write_text(BOX.format(extra=after))
    module.rereader(str(box), [], first)(RunConfig((), OutputConfig(headless=True)))
    assert warned == [f"reload: {key} changes only with a restart; it stays as it was"]
