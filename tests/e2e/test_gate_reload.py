"""``--gate motion`` changed by a reload (SIGHUP) through the real command: the camera of a
configuration file keeps running while its gate is turned on, its masks changed, and turned off."""
from __future__ import annotations

import signal
from pathlib import Path

from boxes import lines
from conftest import CHELSEA, LiveCli
from mjpeg_server import MjpegServer

# The fake camera's burnt-in parts, which change every frame (640x480): the time bits along the
# top, the frame number at the bottom left. Left unmasked, they are motion on every frame.
STAMPS = '["0,0,400,12", "0,410,260,70"]'


def box(camera: MjpegServer, gate: str) -> str:
    """One camera, ``door``, with these gate keys."""
    return (f'provider = "cpu"\nheadless = true\njsonl = "p.jsonl"\n\n'
            f'[[camera]]\nname = "door"\nsource = "{camera.url}"\n{gate}')


def test_a_reload_turns_the_gate_on_changes_its_masks_and_turns_it_off_without_a_restart(
        live_cli: type[LiveCli], tmp_path: Path) -> None:
    config, out = tmp_path / "box.toml", tmp_path / "p.jsonl"
    with MjpegServer(CHELSEA, fps=15) as camera:
        config.write_text(box(camera, 'gate = "motion"\ngate-refresh = 1000\n'))
        cli = live_cli("--config", str(config), cwd=tmp_path)
        cli.wait_for(lambda: len(lines(out)) >= 15, 90, "a line per frame: the stamps move")

        def reload(gate: str, times: int) -> None:
            config.write_text(box(camera, gate))
            cli.signal(signal.SIGHUP)
            cli.wait_for(lambda: cli.stderr.count("configuration reloaded") == times, 60, f"reload {times}")
            assert "door: restarting" not in cli.stderr, "a change of the gate restarted the camera"

        def written_over(frames: int) -> int:
            """JSON lines written while the camera sends ``frames`` more frames."""
            before, sent = len(lines(out)), camera.sent
            cli.wait_for(lambda: camera.sent >= sent + frames, 60, f"{frames} more frames")
            return len(lines(out)) - before

        reload(f'gate = "motion"\ngate-refresh = 1000\ngate-mask = {STAMPS}\n', 1)  # the stamps masked: still
        written_over(15)  # the frames under way when the gate changed, and the first one after it
        assert written_over(30) == 0, "the masks a reload added leave the stamps moving"
        reload("", 2)  # the gate off: every frame classified again
        assert written_over(60) >= 10, "the reload that turned the gate off left it on"
        reload(f'gate = "motion"\ngate-refresh = 1000\ngate-mask = {STAMPS}\n', 3)  # on again
        written_over(15)
        assert written_over(30) == 0, "the reload that turned the gate on left it off"
        cli.signal(signal.SIGINT)
        run = cli.finish(timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "restarting" not in run.stderr, "a change of the gate restarted the camera"
    frames = [line["frame"] for line in lines(out)]
    assert frames == sorted(set(frames)), "the camera restarted: its frames counted from 0 again"
