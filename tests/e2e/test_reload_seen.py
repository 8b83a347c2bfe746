"""What a reload changes, seen from outside through the real command and SIGHUP: the time
``/api/status`` says the configuration was loaded, a new ``min-confidence`` in the JSON lines, a new
``record`` directory under ``/history`` (the web server kept), and systemd told ``READY=1`` again
after a reload that was refused (else ``systemctl reload`` waits forever). One run holds them all."""
from __future__ import annotations

import json
import signal
import time
from datetime import datetime
from pathlib import Path

from boxes import box, lines
from conftest import LiveCli, headless_env
from mjpeg_server import MjpegServer
from systemd import FakeSystemd
from web_client import free_port, get


def status(port: int) -> dict:
    code, body = get(port, "/api/status")
    assert code == 200, body
    return json.loads(body)["configuration"]


def test_a_reload_moves_loaded_thresholds_history_and_a_refused_one_is_ready_again(
        camera: MjpegServer, live_cli: type[LiveCli], systemd: FakeSystemd, tmp_path: Path) -> None:
    port, config, out = free_port(), tmp_path / "box.toml", tmp_path / "p.jsonl"
    outputs = f'serve = "127.0.0.1:{port}"\nsegment = "1s"\n'
    config.write_text(box({"door": camera}, outputs + 'min-confidence = 0.01\nrecord = "rec/"\n'))
    cli = live_cli("--config", str(config), cwd=tmp_path, env=headless_env(NOTIFY_SOCKET=str(systemd.path)))
    cli.wait_for(lambda: len(lines(out)) >= 5 and systemd.count("READY=1") == 1, 60, "the first lines, ready")
    assert all(r["unknown"] is False for r in lines(out)), "a cat at 1 % is known"
    first = status(port)
    started = datetime.fromisoformat(first["loaded"]).timestamp()
    cli.wait_for(lambda: time.time() >= started + 1.5, 5, "a second later than the start's time")

    config.write_text(box({"door": camera}, outputs + 'min-confidence = 0.999\nrecord = "rec2/"\n'))
    asked = int(time.time())  # the loaded time is shown to the second
    cli.signal(signal.SIGHUP)
    cli.wait_for_stderr("configuration reloaded")
    after = status(port)
    assert after["reloads"] == 1 and 'record = "rec2/"' in after["text"], after
    assert datetime.fromisoformat(after["loaded"]).timestamp() >= asked > started, (first["loaded"], after["loaded"])

    reloaded = len(lines(out))
    cli.wait_for(lambda: len(lines(out)) >= reloaded + 10, 60, "lines after the reload")
    assert [r["unknown"] for r in lines(out)[-5:]] == [True] * 5, "a cat at 99.9 % is unknown"

    rec, rec2 = tmp_path / "rec", tmp_path / "rec2"

    def only_in_rec2() -> list[str]:  # the last of rec/ and the first of rec2/ may share their second
        names = (path.relative_to(rec2).as_posix() for path in rec2.rglob("*.mp4"))
        return [name for name in names if not (rec / name).exists()]

    cli.wait_for(only_in_rec2, 30, "a segment in rec2/ alone")
    segment = only_in_rec2()[0]
    code, body = get(port, f"/media/{segment}")
    assert code == 200 and body[4:8] == b"ftyp", (code, body[:80])  # /history serves rec2/ now

    readies, reloading = systemd.count("READY=1"), systemd.count("RELOADING=1")
    config.write_text(box({"door": camera}, outputs + 'segmnet = "10m"\n'))
    cli.signal(signal.SIGHUP)
    cli.wait_for_stderr("reload refused")
    cli.wait_for(lambda: systemd.count("READY=1") == readies + 1, 30, "READY=1 after the refused reload")
    assert systemd.count("RELOADING=1") == reloading + 1
    assert status(port)["reloads"] == 1
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
