"""A reload says what it changed, one line each, with no secret (issue 31), and systemd hears of
every reload, applied or refused (RELOADING=1, then READY=1 with a STATUS= naming a refusal);
``--watch-model`` switched on and off by a reload."""
from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

from boxes import box, lines
from conftest import CHELSEA, COFFEE, LiveCli, headless_env
from foreign_models import pooled_classifier
from mjpeg_server import MjpegServer

PASSWORD = "pa55-of-the-door"


def said(listener: socket.socket) -> list[str]:
    """The datagrams systemd would have read since the last call."""
    messages = []
    while True:
        try:
            messages.append(listener.recv(4096).decode())
        except BlockingIOError:
            return messages


def config_with(door: str, cameras: dict[str, MjpegServer], extra: str) -> str:
    return box(cameras, extra) + f'\n[[camera]]\nname = "door"\nsource = "{door}"\n'


def test_each_change_is_one_line_and_systemd_hears_every_reload(listener: socket.socket, live_cli: type[LiveCli],
                                                               tmp_path: Path) -> None:
    with MjpegServer(CHELSEA, fps=15) as a, MjpegServer(COFFEE, fps=15) as b, MjpegServer(CHELSEA, fps=15) as c:
        config, out = tmp_path / "box.toml", tmp_path / "p.jsonl"
        door = a.url.replace("http://", f"http://viewer:{PASSWORD}@")
        config.write_text(config_with(door, {"hall": b}, "min-confidence = 0.3\n"))
        env = headless_env(NOTIFY_SOCKET=str(tmp_path / "notify"))
        cli = live_cli("--config", str(config), cwd=tmp_path, env=env)
        cli.wait_for(lambda: len(lines(out)) >= 10, 60, "the first lines")
        heard = Heard(listener)
        cli.wait_for(lambda: any("READY=1" in m for m in said(listener)), 30, "READY=1 at the start")

        moved = c.url.replace("http://", f"http://viewer:{PASSWORD}@")
        config.write_text(config_with(moved, {"yard": b}, "min-confidence = 0.15\n"))
        cli.signal(signal.SIGHUP)
        cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == 1, 60, "the reload")
        told = [line.partition("live-classify: ")[2] for line in cli.stderr_lines]
        start = told.index("SIGHUP: reading the configuration again")
        changes = told[start + 1:told.index(next(t for t in told if t.startswith("configuration reloaded")))]
        assert "camera yard added" in changes and "camera hall removed" in changes, changes
        assert "min-confidence: 0.3 -> 0.15" in changes, changes
        source = [line for line in changes if line.startswith("camera door: source: ")]
        assert source and "viewer:***@" in source[0] and str(c.port) in source[0], changes
        assert not [line for line in changes if line.startswith("camera yard: min-confidence")], \
            "the top level's change said again for each camera"
        cli.wait_for(heard.reload_done, 30, "READY=1 after RELOADING=1")

        cli.signal(signal.SIGHUP)  # the same file again
        cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == 2, 60, "the second reload")
        assert "reload: nothing changed" in cli.stderr
        cli.wait_for(heard.reload_done, 30, "READY=1 after an empty reload")

        config.write_text(config_with(moved, {"yard": b}, 'segmnet = "10m"\n'))
        cli.signal(signal.SIGHUP)
        refused: list[str] = []
        cli.wait_for(lambda: refused.extend(heard.reload_done() or []) or refused, 30, "READY=1 after a refusal")
        assert any("STATUS=reload refused: " in m and "unknown key 'segmnet'" in m for m in refused), refused
        cli.signal(signal.SIGINT)
        run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert PASSWORD not in run.stderr


class Heard:
    """What systemd was told, read as it comes."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.messages: list[str] = []

    def reload_done(self) -> list[str] | None:
        """The messages from RELOADING=1 to READY=1, once both have come (then forgotten)."""
        self.messages += said(self.listener)
        starts = [i for i, m in enumerate(self.messages) if "RELOADING=1" in m.splitlines()]
        if starts and any("READY=1" in m.splitlines() for m in self.messages[starts[0]:]):
            done, self.messages = self.messages[starts[0]:], []
            return done
        return None


def tiny(path: Path, prefix: str) -> Path:
    labels = json.dumps([f"{prefix}-{i}" for i in range(3)])
    os.replace(pooled_classifier(path.with_suffix(".part"), classes=3, softmax=True, metadata={"labels": labels}),
               path)
    return path


def test_watch_model_switched_on_and_off_by_a_reload(camera: MjpegServer, live_cli: type[LiveCli],
                                                      tmp_path: Path) -> None:
    model, config, out = tiny(tmp_path / "m.onnx", "first"), tmp_path / "box.toml", tmp_path / "p.jsonl"
    config.write_text(box({"door": camera}, f'model = "{model}"\n'))
    cli = live_cli("--config", str(config), cwd=tmp_path)
    cli.wait_for(lambda: len(lines(out)) >= 10, 60, "the first model's lines")

    def labelled(prefix: str, since: int) -> int:
        return sum(r["top"][0]["label"].startswith(prefix) for r in lines(out)[since:])

    config.write_text(box({"door": camera}, f'model = "{model}"\nwatch-model = true\n'))
    cli.signal(signal.SIGHUP)
    cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == 1, 60, "watch-model on")
    tiny(model, "second")
    cli.wait_for(lambda: labelled("second-", 0) >= 10, 60, "the model file watched since the reload")

    config.write_text(box({"door": camera}, f'model = "{model}"\n'))
    cli.signal(signal.SIGHUP)
    cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == 2, 60, "watch-model off")
    assert cli.stderr.count("model reloaded: 1 camera") == 1, "the watched file's swap says it was the model"
    tiny(model, "third")
    since = len(lines(out))
    cli.wait_for(lambda: len(lines(out)) >= since + 60, 60, "lines long after the watch would have seen it")
    assert labelled("third-", 0) == 0 and cli.stderr.count("the model file changed") == 1, cli.stderr
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
