"""The history APIs' query values: times as Unix seconds or ISO 8601, each bad value one line."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from aiohttp import web
from multidict import MultiDict

from live_classify.sinks.web.history import params


def test_a_time_is_unix_seconds_or_iso_8601_local_unless_it_names_a_zone() -> None:
    assert params.moment(MultiDict(since="1733140800.5"), "since") == 1733140800.5
    assert params.moment(MultiDict(since="2024-12-02T12:00:00Z"), "since") == 1733140800.0
    local = datetime(2024, 12, 2, 12, 0).timestamp()
    assert params.moment(MultiDict(since="2024-12-02T12:00"), "since") == local
    assert params.moment(MultiDict(since=""), "since") is None
    assert params.moment(MultiDict(), "since") is None
    assert datetime.fromtimestamp(1733140800, timezone.utc).hour == 12


@pytest.mark.parametrize("query", [{"since": "yesterday"}, {"since": "nan"}, {"since": "inf"},
                                   {"since": "10", "until": "5"}, {"since": "-1e300"}, {"until": "1e300"},
                                   {"since": "-1"}])
def test_a_bad_time_is_a_400_of_one_line(query: dict[str, str]) -> None:
    with pytest.raises(web.HTTPBadRequest) as refused:
        params.span(MultiDict(query))
    assert refused.value.text is not None and refused.value.text.count("\n") == 1


def test_the_step_keeps_the_answer_small() -> None:
    assert params.step(MultiDict(), 0, 86_400) == 87  # under 1000 steps by default
    assert params.step(MultiDict(step="60"), 0, 86_400) == 60
    for bad in ("0", "-5", "1.5", "x", "1" + "0" * 30):
        with pytest.raises(web.HTTPBadRequest):
            params.step(MultiDict(step=bad), 0, 86_400)
    with pytest.raises(web.HTTPBadRequest) as refused:
        params.step(MultiDict(step="1"), 0, 86_400)
    assert "more than 10000 steps" in str(refused.value.text)


def test_an_export_needs_a_camera_and_a_range_of_at_most_six_hours() -> None:
    assert params.export(MultiDict(camera="a", start="10", end="20")) == ("a", 10.0, 20.0)
    for query in ({"start": "10", "end": "20"}, {"camera": "a", "start": "10"},
                  {"camera": "a", "start": "20", "end": "10"}, {"camera": "a", "start": "0", "end": str(6 * 3600 + 1)}):
        with pytest.raises(web.HTTPBadRequest):
            params.export(MultiDict(query))


def refusal(call, *args: object) -> str:  # noqa: ANN001
    """The one line a 400 says."""
    with pytest.raises(web.HTTPBadRequest) as refused:
        call(*args)
    return str(refused.value.text)


def test_a_span_may_be_open_on_either_side_or_one_moment() -> None:
    assert params.span(MultiDict(until="5")) == params.Span(None, None, None, 5.0)
    assert params.span(MultiDict(since="5", camera="door", label="cup")) == params.Span("door", "cup", 5.0, None)
    assert params.span(MultiDict(since="5", until="5", camera="")) == params.Span(None, None, 5.0, 5.0)
    assert refusal(params.span, MultiDict(since="6", until="5")) == "since is after until\n"


def test_the_summary_s_span_is_the_day_before_now_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(params.time, "time", lambda: 1_800_000_000.0)
    assert params.closed(MultiDict()) == (1_800_000_000.0 - params.DAY_S, 1_800_000_000.0)
    assert params.closed(MultiDict(since="1799999000")) == (1_799_999_000.0, 1_800_000_000.0)
    assert params.closed(MultiDict(until="1700000000")) == (1_700_000_000.0 - params.DAY_S, 1_700_000_000.0)
    assert params.closed(MultiDict(since="1800000000")) == (1_800_000_000.0, 1_800_000_000.0)
    assert refusal(params.closed, MultiDict(since="1800000001")) == "since is after until\n"


def test_the_default_step_and_the_limits_of_a_step() -> None:
    assert params.step(MultiDict(), 0, 500) == 1
    assert params.step(MultiDict(), 0, 1_000_000) == 1000
    assert params.step(MultiDict(), 0, 999_999) == 1000
    assert params.step(MultiDict(), 1_800_000_000, 1_800_086_400) == 87
    assert params.step(MultiDict(step="1"), 1_800_000_000, 1_800_010_000) == 1, "10000 steps: the most"
    assert params.step(MultiDict(step=f"{params.LATEST:.0f}"), 0, 10) == int(params.LATEST)
    assert refusal(params.step, MultiDict(step="x"), 0, 10) == "step='x': not a whole number of seconds\n"


def test_an_export_s_refusals_say_what_is_wrong() -> None:
    assert refusal(params.export, MultiDict(start="10", end="20")) == "camera, start and end are required\n"
    assert refusal(params.export, MultiDict(camera="a", start="20", end="20")) == "end must be after start\n"
    assert refusal(params.export, MultiDict(camera="a", start="0", end="21601")) == "at most 6 hours in one export\n"
    assert params.export(MultiDict(camera="a", start="0", end="21600")) == ("a", 0.0, 21600.0)
    assert params.export(MultiDict(camera="a", start="1800000000", end="1800021600")) == ("a", 1.8e9, 1.8e9 + 21600)
    assert refusal(params.moment, MultiDict(since=f"{params.LATEST:.0f}"), "since").startswith("since='95617584000'")
    assert params.bad("two\nlines").text == "two lines\n"


def test_the_kind_is_class_or_health_and_anything_else_is_a_400() -> None:
    """``?kind=health`` lists the cameras' problems, ``?kind=class`` the labels' events; a typo
    (``healthy``, ``Health``) is one line, not an empty list that looks like "no problem ever"
    (mutation round issue35-health-8, N8)."""
    assert params.span(MultiDict(kind="health")).kind == "health"
    assert params.span(MultiDict(kind="class")).kind == "class"
    assert params.span(MultiDict(kind="")).kind is None
    for typo in ("healthy", "Health", "problem"):
        assert refusal(params.span, MultiDict(kind=typo)) == "kind is class or health\n"
