"""The shipped systemd unit, checked by systemd's own verifier with this install's command in it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "live-classify.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None and not os.environ.get("CI"),
                    reason="systemd-analyze is not installed")
def test_the_service_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "live-classify"
    assert command.exists(), "the package's console script is installed"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/live-classify/bin/live-classify", str(command)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
    text = UNIT.read_text()
    for needed in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "SupplementaryGroups=video",
                   "DeviceAllow=char-video4linux rw", "StateDirectory=live-classify", "--config /etc/live-classify/",
                   "ExecReload=/bin/kill -HUP $MAINPID", "LoadCredential=serve-token:",
                   "LoadCredential=yard-password:"):
        assert needed in text, needed


def test_the_units_documentation_names_only_what_an_install_has() -> None:
    """``pip install`` puts no README or man page under /opt: a ``file:`` or ``man:`` link there would
    send systemctl status readers to nothing; ``--help`` is what the box has."""
    text = UNIT.read_text()
    links = [uri for line in text.splitlines() if line.startswith("Documentation=") for uri in line[14:].split()]
    assert all(uri.startswith(("https://", "http://")) for uri in links), links
    assert "`live-classify --help`" in text
