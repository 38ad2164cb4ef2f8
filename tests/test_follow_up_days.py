"""When a follow-up may go out: never on the prospect's weekend or a public holiday where they
are (the country read from their zone), else at 9:00 their next working day."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from orchestrator.cadence import next_working_moment
from orchestrator.steps.public_holidays import weekend_days

NY = ZoneInfo("America/New_York")


def test_the_weekend_is_the_countrys() -> None:
    assert weekend_days("US") == {5, 6}
    assert weekend_days("IL") == {4, 5}  # Friday and Saturday
    assert weekend_days(None) == {5, 6}
    assert weekend_days("XX") == {5, 6}


def test_a_working_moment_is_kept() -> None:
    thursday = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)
    assert next_working_moment(thursday, "America/New_York") == thursday


def test_a_weekend_moment_moves_to_monday_morning_their_time() -> None:
    sunday = datetime(2026, 12, 6, 9, 0, tzinfo=NY)
    assert next_working_moment(sunday, "America/New_York") == datetime(2026, 12, 7, 9, 0, tzinfo=NY)
    # Late Friday in New York is already Saturday in Tokyo.
    friday_evening = datetime(2026, 12, 4, 18, 0, tzinfo=NY)
    assert next_working_moment(friday_evening, "Asia/Tokyo") == datetime(
        2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")
    )
    # Friday is the weekend in Jerusalem; Sunday is a working day.
    friday = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert next_working_moment(friday, "Asia/Jerusalem") == datetime(
        2026, 12, 6, 9, 0, tzinfo=ZoneInfo("Asia/Jerusalem")
    )


def test_holidays_where_they_are() -> None:
    christmas = datetime(2026, 12, 25, 14, 0, tzinfo=UTC)
    assert next_working_moment(christmas, "America/New_York") == datetime(
        2026, 12, 28, 14, 0, tzinfo=UTC
    )
    # Boxing Day falls on a Saturday in 2026: Monday Dec 28 is the day off in England.
    assert next_working_moment(christmas, "Europe/London") == datetime(
        2026, 12, 29, 9, 0, tzinfo=UTC
    )
    # A zone of no country keeps no holidays, only the weekend.
    assert next_working_moment(christmas, "UTC") == christmas
