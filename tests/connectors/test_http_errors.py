"""The one rule for provider HTTP errors and the one Retry-After parser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.errors import (
    EventNotFound,
    PermanentError,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from connectors.http_errors import error_for, header, retry_after

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("Mon, 30 Nov 2026 14:00:30 GMT", 30.0),
        ("Mon, 30 Nov 2026 13:59:00 GMT", 0.0),  # already past: retry now
        (None, None),
        ("", None),
        ("-3", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_reads_seconds_or_a_date_against_the_given_now(
    value: str | None, seconds: float | None
) -> None:
    assert retry_after(value, now=NOW) == seconds


def test_header_lookup_ignores_case_and_takes_the_first_of_a_list() -> None:
    assert header({"Retry-After": "5"}, "retry-after") == "5"
    assert header({"retry-after": ["9", "10"]}, "Retry-After") == "9"
    assert header(None, "retry-after") is None


@pytest.mark.parametrize(
    ("status", "codes", "kind"),
    [
        (401, (), ReconnectRequired),
        (403, (), ReconnectRequired),
        (403, ("quota",), RateLimited),
        (429, (), RateLimited),
        (408, (), TransientError),
        (503, (), TransientError),
        (404, (), EventNotFound),
        (410, (), EventNotFound),
        (409, (), PermanentError),
        (400, (), PermanentError),
    ],
)
def test_status_and_codes_pick_the_error(
    status: int, codes: tuple[str, ...], kind: type[Exception]
) -> None:
    found = error_for(status, "x", codes=codes, throttle_codes={"quota"})
    assert type(found) is kind


def test_a_5xx_that_says_how_long_is_rate_limited() -> None:
    found = error_for(503, "x", retry_after=12.0)
    assert isinstance(found, RateLimited) and found.retry_after == 12.0


def test_only_named_scope_codes_make_a_403_a_reconnect_when_given() -> None:
    assert type(error_for(403, "x", codes=("scope",), scope_codes={"scope"})) is ReconnectRequired
    assert type(error_for(403, "x", codes=("other",), scope_codes={"scope"})) is PermanentError


def test_conflict_and_not_found_are_the_callers_types() -> None:
    class Missing(PermanentError):
        pass

    assert type(error_for(409, "x", conflict=TransientError)) is TransientError
    assert type(error_for(404, "x", not_found=Missing)) is Missing
