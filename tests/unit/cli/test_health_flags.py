"""``--health`` as a camera's flags make it: on by default for a live camera, never for a file, off,
or the problems picked (repeated or comma-separated); the thresholds carried."""
from __future__ import annotations

import pytest

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
