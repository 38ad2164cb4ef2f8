"""Free/busy truth: recurring instances, exceptions, transparency, responses, all-day entries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from skills.calendar_busy import (
    CalendarItem,
    availability,
    busy_intervals,
    counts_as_busy,
    expand,
    show_as_availability,
)
from skills.intervals import merge

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def weekly_standup(**changes: object) -> CalendarItem:
    """Mondays 09:00–09:30 New York, from 19 Oct 2026 (US DST ends 1 Nov 2026)."""
    base: dict[str, object] = {
        "uid": "standup",
        "start": datetime(2026, 10, 19, 9, 0, tzinfo=NY),
        "end": datetime(2026, 10, 19, 9, 30, tzinfo=NY),
        "rrules": ("FREQ=WEEKLY;BYDAY=MO",),
    }
    base.update(changes)
    return CalendarItem(**base)  # type: ignore[arg-type]


def test_weekly_series_keeps_wall_clock_time_across_dst() -> None:
    busy = busy_intervals(
        [weekly_standup()], window_start=utc(2026, 10, 18), window_end=utc(2026, 11, 10)
    )
    assert busy == [
        (utc(2026, 10, 19, 13, 0), utc(2026, 10, 19, 13, 30)),
        (utc(2026, 10, 26, 13, 0), utc(2026, 10, 26, 13, 30)),
        (utc(2026, 11, 2, 14, 0), utc(2026, 11, 2, 14, 30)),
        (utc(2026, 11, 9, 14, 0), utc(2026, 11, 9, 14, 30)),
    ]


def test_exdate_in_utc_removes_the_local_instance() -> None:
    item = weekly_standup(exdates=(utc(2026, 10, 26, 13, 0),))
    busy = busy_intervals([item], window_start=utc(2026, 10, 18), window_end=utc(2026, 11, 3))
    assert [start for start, _ in busy] == [utc(2026, 10, 19, 13), utc(2026, 11, 2, 14)]


def test_moved_instance_counts_at_its_new_time_only() -> None:
    moved = CalendarItem(
        uid="standup",
        recurrence_id=datetime(2026, 10, 26, 9, 0, tzinfo=NY),
        start=datetime(2026, 10, 27, 15, 0, tzinfo=NY),
        end=datetime(2026, 10, 27, 16, 0, tzinfo=NY),
    )
    busy = busy_intervals(
        [weekly_standup(), moved], window_start=utc(2026, 10, 26), window_end=utc(2026, 10, 28)
    )
    assert busy == [(utc(2026, 10, 27, 19, 0), utc(2026, 10, 27, 20, 0))]


def test_instance_moved_out_of_the_window_leaves_it_free() -> None:
    moved = CalendarItem(
        uid="standup",
        recurrence_id=datetime(2026, 10, 26, 9, 0, tzinfo=NY),
        start=datetime(2026, 12, 1, 9, 0, tzinfo=NY),
        end=datetime(2026, 12, 1, 9, 30, tzinfo=NY),
    )
    busy = busy_intervals(
        [moved, weekly_standup()], window_start=utc(2026, 10, 26), window_end=utc(2026, 10, 27)
    )
    assert busy == []


def test_cancelled_instance_is_free_but_the_series_is_not() -> None:
    cancelled = CalendarItem(
        uid="standup",
        recurrence_id=datetime(2026, 10, 19, 9, 0, tzinfo=NY),
        start=datetime(2026, 10, 19, 9, 0, tzinfo=NY),
        end=datetime(2026, 10, 19, 9, 30, tzinfo=NY),
        status="cancelled",
    )
    busy = busy_intervals(
        [weekly_standup(), cancelled], window_start=utc(2026, 10, 19), window_end=utc(2026, 10, 27)
    )
    assert busy == [(utc(2026, 10, 26, 13, 0), utc(2026, 10, 26, 13, 30))]
    # expand still reports the cancelled override, so a mirror of the calendar can see it.
    statuses = [
        o.item.status
        for o in expand(
            [weekly_standup(), cancelled],
            window_start=utc(2026, 10, 19),
            window_end=utc(2026, 10, 20),
        )
    ]
    assert statuses == ["cancelled"]


def test_count_until_and_naive_until_with_a_zoned_start() -> None:
    counted = weekly_standup(rrules=("RRULE:FREQ=WEEKLY;COUNT=2",))
    # A naive UNTIL (non-conforming but common) is read in the series' own zone.
    until = weekly_standup(uid="u2", rrules=("FREQ=WEEKLY;UNTIL=20261026T090000",))
    window: dict[str, Any] = {"window_start": utc(2026, 10, 1), "window_end": utc(2027, 1, 1)}
    assert [o.start for o in expand([counted], **window)] == [
        datetime(2026, 10, 19, 9, tzinfo=NY),
        datetime(2026, 10, 26, 9, tzinfo=NY),
    ]
    assert len(expand([until], **window)) == 2


def test_rdate_adds_an_instance() -> None:
    item = CalendarItem(
        uid="r",
        start=utc(2026, 11, 2, 10),
        end=utc(2026, 11, 2, 11),
        rdates=(utc(2026, 11, 4, 16),),
    )
    busy = busy_intervals([item], window_start=utc(2026, 11, 1), window_end=utc(2026, 11, 8))
    assert busy == [
        (utc(2026, 11, 2, 10), utc(2026, 11, 2, 11)),
        (utc(2026, 11, 4, 16), utc(2026, 11, 4, 17)),
    ]


def test_transparent_free_showas_and_declined_are_not_busy() -> None:
    start, end = utc(2026, 11, 2, 10), utc(2026, 11, 2, 11)
    free_ones = [
        CalendarItem(start=start, end=end, transparency="transparent"),
        CalendarItem(start=start, end=end, show_as="free"),
        CalendarItem(start=start, end=end, show_as="workingElsewhere"),
        CalendarItem(start=start, end=end, response="declined"),
        CalendarItem(start=start, end=end, status="cancelled"),
    ]
    for item in free_ones:
        assert availability(item) == "free", item
    assert busy_intervals(free_ones, window_start=start, window_end=end) == []
    assert availability(CalendarItem(start=start, end=end)) == "busy"
    assert availability(CalendarItem(start=start, end=end, show_as="oof")) == "busy"
    assert availability(CalendarItem(start=start, end=end, response="needs_action")) == "busy"


def test_tentative_is_busy_by_default_and_configurable() -> None:
    start, end = utc(2026, 11, 2, 10), utc(2026, 11, 2, 11)
    items = [
        CalendarItem(start=start, end=end, status="tentative"),
        CalendarItem(
            start=start + timedelta(hours=2), end=end + timedelta(hours=2), response="tentative"
        ),
        CalendarItem(
            start=start + timedelta(hours=4), end=end + timedelta(hours=4), show_as="Tentative"
        ),
    ]
    assert [availability(i) for i in items] == ["tentative", "tentative", "tentative"]
    window: dict[str, Any] = {"window_start": utc(2026, 11, 2), "window_end": utc(2026, 11, 3)}
    assert len(busy_intervals(items, **window)) == 3
    assert busy_intervals(items, tentative_is_busy=False, **window) == []


def test_all_day_blocks_the_day_only_when_marked_busy() -> None:
    day = date(2026, 11, 3)
    plain = CalendarItem(start=day, end=day + timedelta(days=1), title="Holiday")
    opaque = CalendarItem(start=day, end=day + timedelta(days=1), transparency="opaque")
    oof = CalendarItem(start=day, show_as="OOF")  # no DTEND: one day (RFC 5545)
    window: dict[str, Any] = {
        "window_start": utc(2026, 11, 1),
        "window_end": utc(2026, 11, 6),
        "tz": BERLIN,
    }
    assert availability(plain) == "free"
    assert busy_intervals([plain], **window) == []
    # The day is the calendar's day: Berlin midnight to midnight (UTC+1 in November).
    assert busy_intervals([opaque], **window) == [(utc(2026, 11, 2, 23), utc(2026, 11, 3, 23))]
    assert busy_intervals([oof], **window) == [(utc(2026, 11, 2, 23), utc(2026, 11, 3, 23))]


def test_recurring_all_day_with_date_exdate() -> None:
    item = CalendarItem(
        start=date(2026, 11, 2),
        end=date(2026, 11, 3),
        rrules=("FREQ=DAILY;COUNT=3",),
        exdates=(date(2026, 11, 3),),
        transparency="opaque",
    )
    busy = busy_intervals([item], window_start=utc(2026, 11, 1), window_end=utc(2026, 11, 10))
    assert busy == [(utc(2026, 11, 2), utc(2026, 11, 3)), (utc(2026, 11, 4), utc(2026, 11, 5))]


def test_floating_times_are_read_in_the_calendar_zone() -> None:
    # Floating (naive) on purpose: ICS times without TZID.
    floating = datetime(2026, 11, 2, 9, 0)  # noqa: DTZ001
    item = CalendarItem(start=floating, end=floating + timedelta(hours=1))
    busy = busy_intervals([item], window_start=utc(2026, 11, 2), window_end=utc(2026, 11, 3), tz=NY)
    assert busy == [(utc(2026, 11, 2, 14), utc(2026, 11, 2, 15))]


def test_busy_is_clipped_to_the_window_and_merged() -> None:
    items = [
        CalendarItem(start=utc(2026, 11, 2, 8), end=utc(2026, 11, 2, 10)),
        CalendarItem(start=utc(2026, 11, 2, 9, 30), end=utc(2026, 11, 2, 11)),
        CalendarItem(start=utc(2026, 11, 2, 11), end=utc(2026, 11, 2, 12)),
        CalendarItem(start=utc(2026, 11, 2, 17), end=utc(2026, 11, 2, 20)),
    ]
    busy = busy_intervals(items, window_start=utc(2026, 11, 2, 9), window_end=utc(2026, 11, 2, 18))
    assert busy == [
        (utc(2026, 11, 2, 9), utc(2026, 11, 2, 12)),
        (utc(2026, 11, 2, 17), utc(2026, 11, 2, 18)),
    ]
    assert merge([]) == []


def test_old_daily_series_expands_into_a_recent_window() -> None:
    item = CalendarItem(
        start=datetime(2000, 1, 3, 8, 0, tzinfo=BERLIN),
        end=datetime(2000, 1, 3, 8, 15, tzinfo=BERLIN),
        rrules=("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",),
    )
    occurrences = expand([item], window_start=utc(2026, 11, 2), window_end=utc(2026, 11, 7))
    assert [o.start.astimezone(UTC) for o in occurrences] == [
        utc(2026, 11, d, 7, 0) for d in (2, 3, 4, 5, 6)
    ]
    assert all(o.recurring for o in occurrences)


def test_show_as_vocabulary_and_unknowns_block() -> None:
    assert show_as_availability("busy") == "busy"
    assert show_as_availability("unknown") is None
    assert counts_as_busy(None) is True
    assert counts_as_busy("free") is False


def test_naive_window_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        expand([], window_start=datetime(2026, 1, 1), window_end=utc(2026, 1, 2))  # noqa: DTZ001
