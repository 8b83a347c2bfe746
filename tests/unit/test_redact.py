"""``redact``: the one masking every shown URL goes through (``--check``, the log, /api/status, JSON
lines, the webhook summary), for a query parameter's name however it is written."""
from __future__ import annotations

from live_classify.redact import redact


def test_secret_query_names_are_masked_in_any_case() -> None:
    """Cameras and signed URLs write their names capitalised (``Password=``, ``X-Amz-Signature=``):
    masked like ``password=``, the harmless parameters shown as written."""
    camera = "http://10.0.0.5/cgi-bin/mjpg/video.cgi?User=admin&Password=hunter2&subtype=1"
    assert redact(camera) == "http://10.0.0.5/cgi-bin/mjpg/video.cgi?User=admin&Password=***&subtype=1"
    signed = "https://bucket.example/hook?X-Amz-Credential=AKIA123&X-Amz-Signature=abcdef&X-Amz-Expires=60"
    assert redact(signed) == "https://bucket.example/hook?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Expires=60"
    assert redact("rtsp://cam/live?TOKEN=t0p&camPassword=p4ss") == "rtsp://cam/live?TOKEN=***&camPassword=***"


def test_a_password_with_an_at_sign_is_masked_whole() -> None:
    """Cameras' generated passwords hold ``@`` unquoted (``admin:p@ss@cam``): the host is after the
    last ``@``, as ``urlsplit`` reads it, so no part of the password is shown."""
    assert redact("rtsp://admin:p@ss@10.0.0.5:554/live") == "rtsp://admin:***@10.0.0.5:554/live"
    assert redact("http://u:a@b@c@cam/mjpg?subtype=1") == "http://u:***@cam/mjpg?subtype=1"
