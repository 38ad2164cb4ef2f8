"""The days off a follow-up waits out: the prospect's weekend and public holidays where they
are (the country from the zone unless one is given)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from skills.public_holidays import (
    country_of_zone,
    next_working_moment,
    public_holidays,
    weekend,
)

NY = ZoneInfo("America/New_York")


def test_the_country_comes_from_the_zone() -> None:
    assert country_of_zone("America/New_York") == "US"
    assert country_of_zone("Europe/London") == "GB"
    assert country_of_zone("Asia/Tokyo") == "JP"
    assert country_of_zone("UTC") is None


def test_public_holidays_between_two_days() -> None:
    assert public_holidays("America/New_York", date(2026, 12, 1), date(2027, 1, 5)) == {
        date(2026, 12, 25),
        date(2027, 1, 1),
    }
    # Boxing Day falls on a Saturday in 2026: Monday Dec 28 is the day off in England.
    assert date(2026, 12, 28) in public_holidays(
        "Europe/London", date(2026, 12, 20), date(2027, 1, 1)
    )
    assert date(2026, 12, 28) not in public_holidays(
        "America/New_York", date(2026, 12, 20), date(2027, 1, 1)
    )
    # A setting names the country when the zone would say otherwise.
    assert date(2026, 11, 26) in public_holidays(
        "Europe/London", date(2026, 11, 26), date(2026, 11, 26), country="US"
    )
    assert public_holidays("UTC", date(2026, 12, 1), date(2026, 12, 31)) == frozenset()


def test_the_weekend_is_the_countrys() -> None:
    assert weekend("America/New_York") == {5, 6}
    assert weekend("Asia/Jerusalem") == {4, 5}  # Friday and Saturday
    assert weekend("UTC") == {5, 6}


def test_a_working_moment_is_kept_and_a_day_off_moves_to_the_next_morning() -> None:
    thursday = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)
    assert next_working_moment(thursday, "America/New_York") == thursday
    sunday = datetime(2026, 12, 6, 9, 0, tzinfo=NY)
    assert next_working_moment(sunday, "America/New_York") == datetime(2026, 12, 7, 9, 0, tzinfo=NY)
    christmas = datetime(2026, 12, 25, 14, 0, tzinfo=UTC)
    assert next_working_moment(christmas, "America/New_York") == datetime(
        2026, 12, 28, 14, 0, tzinfo=UTC
    )
    assert next_working_moment(christmas, "Europe/London") == datetime(
        2026, 12, 29, 9, 0, tzinfo=UTC
    )
    # Late Friday in New York is already Saturday in Tokyo.
    friday_evening = datetime(2026, 12, 4, 18, 0, tzinfo=NY)
    assert next_working_moment(friday_evening, "Asia/Tokyo") == datetime(
        2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")
    )
