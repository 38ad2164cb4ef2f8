"""What a reply asks of fresh times ("next Tuesday afternoon", "after the 15th", "not
mornings", "push it to next week"), and the slot finder keeping to avoided parts of the day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from skills.asked_window import AskedWindow, asked_window, asks_for_times
from skills.find_slots import AttendeeAvailability, SlotQuery, find_slots

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
BOOKED = (datetime(2026, 12, 7, 14, 0, tzinfo=UTC), datetime(2026, 12, 7, 14, 45, tzinfo=UTC))


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=NY)


def read(text: str, booked: tuple[datetime, datetime] | None = None) -> AskedWindow:
    return asked_window(text, now=NOW, tz="America/New_York", booked=booked)


def test_a_part_of_a_named_day_is_the_only_span() -> None:
    window = read("None of those work. I'm free next Tuesday afternoon though.")
    assert window.spans == ((at(8, 12), at(8, 17)),)
    assert window.allows(at(8, 14), at(8, 15))
    assert not window.allows(at(8, 9), at(8, 10))
    assert not window.allows(at(9, 14), at(9, 15))


def test_after_a_date_is_a_floor_from_the_next_day() -> None:
    window = read("Anything after the 15th?")
    assert window.not_before == at(16)
    assert not window.allows(at(15, 14), at(15, 15))
    assert window.allows(at(16, 9), at(16, 10))


def test_a_week_called_packed_gives_way_to_the_floor_after_it() -> None:
    window = read("Next week is packed. Anything after the 15th?")
    assert window.spans == ()
    assert window.not_before == at(16)


def test_a_part_of_the_day_ruled_out_is_avoided_every_day() -> None:
    assert read("not mornings please").avoid == ("morning",)


def test_a_part_of_the_day_asked_for_keeps_the_search_to_it() -> None:
    window = read("Mornings are bad for me, could you do an afternoon instead?")
    assert set(window.avoid) == {"morning", "evening"}
    assert window.spans == ()


def test_a_day_ruled_out_is_excluded_and_the_other_one_offered() -> None:
    window = read("Not Monday, but Tuesday afternoon works")
    assert window.excluded == ((at(7), at(8)),)
    assert window.spans == ((at(1, 12), at(1, 17)),)


def test_pushing_a_booked_meeting_looks_later_than_it() -> None:
    window = read("Something came up, can we push to next week?", booked=BOOKED)
    assert window.not_before == BOOKED[1]
    assert window.spans == ((at(7), at(14)),)
    assert not window.allows(at(7, 8), at(7, 9))
    assert window.allows(at(7, 13), at(7, 14))


def test_without_a_booking_push_sets_no_floor() -> None:
    assert read("Can we push to next week?").not_before is None


@pytest.mark.parametrize(
    "text",
    ["None of those work, sorry.", "Could we do Wednesday Dec 9 at 2pm instead?", ""],
)
def test_nothing_in_particular_or_an_exact_time_is_no_window(text: str) -> None:
    assert not read(text)


def test_the_finder_avoids_two_parts_of_the_day_at_once() -> None:
    query = SlotQuery(
        now=NOW,
        duration=timedelta(minutes=45),
        window_start=NOW + timedelta(days=1),
        window_end=NOW + timedelta(days=8),
        attendees=[AttendeeAvailability(email="rep@example.com", tz="America/New_York")],
        prospect_tz="America/New_York",
        avoid=("morning", "evening"),
    )
    starts = [s.start.astimezone(NY) for s in find_slots(query)]
    assert starts
    assert all(s.hour >= 12 and (s + timedelta(minutes=45)).hour < 17 for s in starts), starts


@pytest.mark.parametrize(
    ("question", "for_times"),
    [
        ("Anything after the 15th?", True),
        ("Do you have time Tuesday afternoon?", True),
        ("Are you available next week?", True),
        ("Will the demo cover the API next week?", False),
        ("Who else joins on Tuesday?", False),
    ],
)
def test_a_question_for_times(question: str, for_times: bool) -> None:
    assert asks_for_times(question) is for_times
