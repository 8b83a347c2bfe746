"""``--health`` and its thresholds: the flags of a live camera's health checks, their types, and
the :class:`HealthConfig` a camera's flags (the top level's, or its [[camera]]'s) make."""
from __future__ import annotations

import argparse

from live_classify.cli.argtypes import below_one, correlation, health_choice, luma, seconds
from live_classify.config import HEALTH_PROBLEMS, HealthConfig, SourceSpec
from live_classify.errors import UsageError


def health_flags(parser: argparse.ArgumentParser) -> None:
    """The health checks of live cameras: which problems, how long before they are said, the thresholds."""
    health = parser.add_argument_group("camera health (live cameras: offline, frozen, dark, blurred, moved)")
    health.add_argument("--health", type=health_choice, action="append", metavar="on|off|PROBLEM",
                        help="watch each live camera for being offline, frozen (identical frames), dark (covered), "
                             "blurred or moved (its view changed): on, off, or the problems to watch (repeatable, "
                             "or comma-separated) (default: on, all five)")
    health.add_argument("--health-after", type=seconds, default=30.0, metavar="S",
                        help="a problem is raised once it has held for S seconds, and cleared once it has been "
                             "gone as long (default: 30)")
    health.add_argument("--health-learn", type=seconds, default=60.0, metavar="S",
                        help="a camera's normal view and sharpness are learned over its first S seconds of frames "
                             "(default: 60)")
    health.add_argument("--health-dark", type=luma, default=25.0, metavar="L",
                        help="dark: mean luma (0-255) below L, with almost no contrast (default: 25)")
    health.add_argument("--health-blur", type=below_one, default=0.2, metavar="F",
                        help="blurred: sharpness below F times the camera's learned normal (default: 0.2)")
    health.add_argument("--health-moved", type=correlation, default=0.5, metavar="C",
                        help="moved: the view's likeness to the learned reference below C, -1 to 1 (the "
                             "median over 12 parts of the picture of their correlation) (default: 0.5)")


def health_config(args: argparse.Namespace, spec: SourceSpec) -> HealthConfig | None:
    """A camera's health checks as its flags say: on by default for a live camera, never for a file."""
    chosen = [word for words in (args.health or [("on",)]) for word in words]
    if not spec.live or "off" in chosen:
        if "off" in chosen and len(chosen) > 1:
            raise UsageError("--health off cannot go with other --health values")
        return None
    checks = HEALTH_PROBLEMS if "on" in chosen else tuple(p for p in HEALTH_PROBLEMS if p in chosen)
    return HealthConfig(checks, args.health_after, args.health_learn, args.health_dark,
                        blur_ratio=args.health_blur, moved_match=args.health_moved)
