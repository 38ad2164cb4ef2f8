"""Which of the offered times a reply's words describe: all of them, not the first."""

from __future__ import annotations

from datetime import UTC, datetime

from skills.parse_times import slots_named

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
# Thu Dec 3, Fri Dec 4, Mon Dec 7 at 9:00, Thu Dec 10 at 9:00 and at 14:00 in New York.
OFFERED = [
    datetime(2026, 12, 3, 14, tzinfo=UTC),
    datetime(2026, 12, 4, 14, tzinfo=UTC),
    datetime(2026, 12, 7, 14, tzinfo=UTC),
    datetime(2026, 12, 10, 14, tzinfo=UTC),
    datetime(2026, 12, 10, 19, tzinfo=UTC),
]


def named(text: str) -> tuple[int, ...]:
    return slots_named(text, OFFERED, now=NOW, tz="America/New_York")


def test_a_weekday_names_every_offered_time_on_it() -> None:
    assert named("Thursday works for me.") == (0, 3, 4)


def test_a_day_ruled_out_is_left_out() -> None:
    assert named("Thursday works, but not the 10th.") == (0,)


def test_a_clock_narrows_the_day() -> None:
    assert named("Thursday at 2pm works") == (4,)


def test_no_time_names_nothing() -> None:
    assert named("Sounds good to me") == ()
