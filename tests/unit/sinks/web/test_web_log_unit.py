"""What aiohttp's request log becomes, call by call: the level kept, the 4xx/5xx line drawn where
it is, the token blanked, a message whose arguments do not fit shown as it is."""
from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong

from live_classify.sinks.web import requests as web_log
from live_classify.sinks.web.requests import RequestLog, _text


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    monkeypatch.setattr(web_log, "log", SimpleNamespace(detail=lambda m: lines.append(("detail", m)),
                                                        warning=lambda m: lines.append(("warning", m))))
    return lines


def test_below_warning_nothing_and_at_warning_a_line(said: list[tuple[str, str]]) -> None:
    request_log = RequestLog(None)
    request_log.log(logging.INFO, "an info note")
    request_log.log(logging.WARNING - 1, "just below")
    assert said == []
    request_log.log(logging.WARNING, "at %s", "warning")
    request_log.log(logging.ERROR, "plain")
    assert said == [("warning", "web server: a request failed: at warning"),
                    ("warning", "web server: a request failed: plain")]


@pytest.mark.parametrize("code, kind", [(400, "detail"), (499, "detail"), (399, "warning"), (500, "warning")])
def test_only_a_4xx_is_a_malformed_request(said: list[tuple[str, str]], code: int, kind: str) -> None:
    error = HttpProcessingError(code=code, message="boom")
    RequestLog(None).log(logging.ERROR, "Error handling request", exc_info=error)
    expected = (f"web server: answered {code} to a malformed request (HttpProcessingError)" if kind == "detail"
                else "web server: a request failed: HttpProcessingError: " + str(error).splitlines()[0])
    assert said == [(kind, expected)]


def test_the_error_comes_from_exc_info_given_or_true_and_never_from_an_old_one(said: list[tuple[str, str]]) -> None:
    request_log = RequestLog("s3cret")
    request_log.log(logging.ERROR, "given", exc_info=LineTooLong("/x?token=s3cret", 10))
    try:
        raise KeyError("s3cret camera")
    except KeyError:
        request_log.log(logging.ERROR, "handling %s", "s3cret", exc_info=True)
        request_log.log(logging.ERROR, "without exc_info %s", "s3cret")
    assert said == [("detail", "web server: answered 400 to a malformed request (LineTooLong)"),
                    ("warning", "web server: a request failed: KeyError: '*** camera'"),
                    ("warning", "web server: a request failed: without exc_info ***")]


def test_no_token_blanks_nothing(said: list[tuple[str, str]]) -> None:
    RequestLog(None).log(logging.ERROR, "token=%s", "abc")
    assert said == [("warning", "web server: a request failed: token=abc")]


def test_a_message_whose_arguments_do_not_fit_is_shown_as_it_is() -> None:
    assert _text("a %s b", ("x",)) == "a x b"
    assert _text("no args %s", ()) == "no args %s"
    assert _text("100%% sure", ()) == "100%% sure"  # formatted only with arguments, as logging does
    assert _text("%d", ("text",)) == "%d"  # TypeError
    assert _text("%(x", ("y",)) == "%(x"  # ValueError
    assert _text(42, ()) == "42"


def test_asked_whether_a_level_is_on_it_answers_as_the_programs_log_is_configured() -> None:
    """aiohttp (or anyone) asking the adapter ``isEnabledFor`` gets the answer of live_classify's
    own logger, which --quiet and --verbose set."""
    from live_classify import log

    request_log = RequestLog(None)
    try:
        log.configure(verbose=True)
        assert request_log.isEnabledFor(logging.DEBUG)
        log.configure(quiet=True)
        assert not request_log.isEnabledFor(logging.INFO) and request_log.isEnabledFor(logging.WARNING)
    finally:
        log.configure()
    assert request_log.logger.name == "live_classify.web"
