"""``--health`` as a camera's flags make it: on by default for a live camera, never for a file, off,
or the problems picked (repeated or comma-separated); the thresholds carried."""
from __future__ import annotations

from pathlib import Path

import pytest

from live_classify.cli.config_file import resolve
from live_classify.cli.flags import build_parser
from live_classify.cli.health_flags import health_config
from live_classify.config import HEALTH_PROBLEMS, SourceSpec
from live_classify.errors import UsageError

CAMERA = SourceSpec("http://cam/", "stream", "cam")
FILE = SourceSpec("clip.mp4", "file", "clip")


def config(*flags: str, spec: SourceSpec = CAMERA):  # noqa: ANN201 - HealthConfig | None
    return health_config(build_parser().parse_args(["--source", spec.name, *flags]), spec)


def test_on_by_default_for_a_live_camera_only() -> None:
    assert config().checks == HEALTH_PROBLEMS
    assert config(spec=FILE) is None


def test_off_and_the_problems_picked() -> None:
    assert config("--health", "off") is None
    assert config("--health", "moved,dark", "--health", "offline").checks == ("offline", "dark", "moved")
    picked = config("--health-after", "1m", "--health-learn", "20", "--health-blur", "0.3", "--health-moved", "0.4")
    assert (picked.after_s, picked.learn_s, picked.blur_ratio, picked.moved_match) == (60.0, 20.0, 0.3, 0.4)


def test_the_dark_level_is_carried() -> None:
    # --health-dark 40: a mean luma of 30 is dark (the default, 25, would not say so).
    assert config("--health-dark", "40").dark_level == 40.0
    assert config().dark_level == 25.0


def test_off_with_problems_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--health off cannot go with other --health values"):
        config("--health", "off", "--health", "dark")


def test_each_camera_of_a_file_picks_its_own_health_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``health = [...]`` in a ``[[camera]]`` picks that camera's problems, over the top level's
    (mutation round 6 of issue 35: ``health`` left out of the per-camera keys, so the file is refused)."""
    monkeypatch.chdir(tmp_path)
    Path("box.toml").write_text(
        'health-after = 10\n'
        '[[camera]]\nname = "door"\nsource = "http://cam/door"\nhealth = ["dark", "moved"]\nhealth-learn = 20\n'
        '[[camera]]\nname = "yard"\nsource = "http://cam/yard"\n'
        '[[camera]]\nname = "hall"\nsource = "http://cam/hall"\nhealth = ["off"]\n')
    config = resolve("box.toml", ["--config", "box.toml"], {})
    assert config.warnings == []
    made = [health_config(camera.args, CAMERA) for camera in config.cameras]
    assert made[0] is not None and made[1] is not None
    assert (made[0].checks, made[0].after_s, made[0].learn_s) == (("dark", "moved"), 10.0, 20.0)
    assert (made[1].checks, made[1].after_s, made[1].learn_s) == (HEALTH_PROBLEMS, 10.0, 60.0)
    assert made[2] is None


@pytest.mark.parametrize("typo", ["dark,blured", "frozen,,movd", "on,dark", "off,moved"])
def test_a_typo_among_the_problems_is_refused_not_left_out(typo: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--health dark,blured`` (a typo) is a usage error naming the choices, not ``dark`` alone with the
    blur silently unwatched (mutation round 9 of issue 35: a word accepted when *any* was a problem)."""
    with pytest.raises(SystemExit) as exited:
        config("--health", typo)
    assert exited.value.code == 2
    assert "on, off, or problems among offline, frozen, dark, blurred, moved" in capsys.readouterr().err


def test_the_problems_are_read_whatever_their_case() -> None:
    """``--health Dark,MOVED`` (as a config file or a person may write them) picks dark and moved."""
    picked = config("--health", "Dark, MOVED")
    assert picked is not None and picked.checks == ("dark", "moved")
