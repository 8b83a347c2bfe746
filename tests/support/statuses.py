"""Snapshots of cameras as the run hands them to its outputs, for tests of one output alone."""
from __future__ import annotations

from live_classify.pipeline.status import CameraState, CameraStatus, RunStatus


def camera_status(**fields: object) -> CameraStatus:
    """A camera's status: live, nothing counted yet, unless ``fields`` say otherwise."""
    defaults: dict[str, object] = {
        "name": "cam0", "source_name": "cam0", "state": CameraState.LIVE, "lost_because": "", "last_capture": 0.0,
        "captured": 0, "classified": 0, "dropped": 0, "reconnects": 0, "capture_fps": 0.0, "inference_fps": 0.0,
        "display_fps": 0.0, "recent_latencies_ms": (), "backend_down": None, "ended": False, "error": None,
    }
    if fields.pop("reconnecting", False):
        fields["state"] = CameraState.RECONNECTING
    return CameraStatus(**{**defaults, **fields})  # type: ignore[arg-type]


def run_status(**fields: object) -> RunStatus:
    """A run of one camera with that status."""
    return RunStatus([camera_status(**fields)])
