"""Tests for skills.find_slots: one test per rule, DST weeks, a prospect 9 hours away, and a
brute-force check of the interval arithmetic against ``check_slots`` one grid start at a time."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skills.find_slots import (
    AttendeeAvailability,
    Slot,
    SlotQuery,
    check_slots,
    default_working_hours,
    find_slots,
)

NY = "America/New_York"
LA = "America/Los_Angeles"
LONDON = "Europe/London"
BERLIN = "Europe/Berlin"
TOKYO = "Asia/Tokyo"
KOLKATA = "Asia/Kolkata"
REP = "rep@acme.test"
SE = "se@acme.test"
SAM = "sam@acme.test"
FREE = "all required attendees free"


def at(tz: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(tz))


# The week of Monday 16 March 2026: New York is on EDT (UTC-4), London and Berlin not yet on
# summer time (UTC+0, UTC+1).
MON, TUE, WED, THU, FRI, SAT = (date(2026, 3, 16) + timedelta(days=i) for i in range(6))
SUNDAY_NOON = at(NY, date(2026, 3, 15), 12)


def person(
    email: str = REP,
    tz: str = NY,
    busy: list[tuple[datetime, datetime]] | None = None,
    hours: dict[int, tuple[time, time]] | None = None,
    required: bool = True,
) -> AttendeeAvailability:
    working = default_working_hours() if hours is None else hours
    return AttendeeAvailability(email, tz, busy or [], working, required)


def query(**changes: object) -> SlotQuery:
    """Rep in New York, prospect in New York, 30 minutes, the whole week of 16 March."""
    base = SlotQuery(
        now=SUNDAY_NOON,
        duration=timedelta(minutes=30),
        window_start=at(NY, MON, 0),
        window_end=at(NY, SAT, 0),
        attendees=[person()],
        prospect_tz=NY,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def one_day(day: date, tz: str = NY, **changes: object) -> SlotQuery:
    return query(
        window_start=at(tz, day, 0), window_end=at(tz, day + timedelta(days=1), 0), **changes
    )


def local(slots: list[Slot], tz: str = NY) -> list[str]:
    return [f"{s.start.astimezone(ZoneInfo(tz)):%a %d %H:%M}" for s in slots]


def utc(slots: list[Slot]) -> list[str]:
    return [f"{s.start.astimezone(UTC):%a %d %H:%M}" for s in slots]


# --- shape ------------------------------------------------------------------------------------


def test_default_working_hours_are_monday_to_friday_nine_to_five() -> None:
    assert default_working_hours() == {d: (time(9), time(17)) for d in range(5)}


def test_a_slot_has_start_end_score_reasons_and_utc_times() -> None:
    [slot] = find_slots(one_day(MON, count=1))
    assert slot == Slot(
        start=datetime(2026, 3, 16, 13, 0, tzinfo=UTC),
        end=datetime(2026, 3, 16, 13, 30, tzinfo=UTC),
        score=100,
        reasons=(FREE,),
        optional_conflicts=(),
    )
    assert slot.start.tzinfo is UTC


# --- spread across days -----------------------------------------------------------------------


def test_results_spread_one_per_day_before_a_second_pass() -> None:
    assert local(find_slots(query())) == [
        "Mon 16 09:00",
        "Tue 17 09:00",
        "Wed 18 09:00",
        "Thu 19 09:00",
        "Fri 20 09:00",
    ]


def test_second_round_robin_pass_takes_the_next_slot_that_does_not_overlap() -> None:
    two_days = query(window_end=at(NY, WED, 0))
    assert local(find_slots(two_days)) == [
        "Mon 16 09:00",
        "Mon 16 09:30",
        "Mon 16 10:00",
        "Tue 17 09:00",
        "Tue 17 09:30",
    ]


def test_days_are_ranked_by_their_best_slot() -> None:
    monday_morning_busy = [person(busy=[(at(NY, MON, 9), at(NY, MON, 12))])]
    q = query(attendees=monday_morning_busy, preferred_parts=("morning",), count=1)
    assert local(find_slots(q)) == ["Tue 17 09:00"]


def test_count_limits_the_answer() -> None:
    assert local(find_slots(query(count=2))) == ["Mon 16 09:00", "Tue 17 09:00"]
    assert find_slots(query(count=0)) == []


# --- required attendees, buffers, optional attendees ------------------------------------------


def test_required_attendee_busy_time_is_never_proposed() -> None:
    busy = [person(busy=[(at(NY, MON, 9), at(NY, MON, 10, 10))])]
    assert local(find_slots(one_day(MON, attendees=busy, count=1))) == ["Mon 16 10:15"]


def test_buffer_is_kept_clear_on_both_sides_of_busy_time() -> None:
    busy = [person(busy=[(at(NY, MON, 9, 50), at(NY, MON, 10))])]
    q = query(
        attendees=busy,
        duration=timedelta(minutes=15),
        window_start=at(NY, MON, 9),
        window_end=at(NY, MON, 10, 30),
        count=9,
    )
    assert local(find_slots(q)) == [
        "Mon 16 09:00",
        "Mon 16 09:15",
        "Mon 16 09:30",
        "Mon 16 10:00",
        "Mon 16 10:15",
    ]
    buffered = dataclasses.replace(q, buffer=timedelta(minutes=15))
    assert local(find_slots(buffered)) == ["Mon 16 09:00", "Mon 16 09:15", "Mon 16 10:15"]


def test_every_required_attendee_must_be_free() -> None:
    rep = person(busy=[(at(NY, MON, 9), at(NY, MON, 10))])
    se = person(SE, busy=[(at(NY, MON, 10), at(NY, MON, 11))])
    assert local(find_slots(one_day(MON, attendees=[rep, se], count=1))) == ["Mon 16 11:00"]


def test_busy_optional_attendee_lowers_the_score_but_does_not_block() -> None:
    sam_morning = person(SAM, busy=[(at(NY, MON, 9, 15), at(NY, MON, 10))], required=False)
    q = one_day(MON, attendees=[person(), sam_morning], duration=timedelta(minutes=15), count=3)
    slots = find_slots(q)
    assert local(slots) == ["Mon 16 09:00", "Mon 16 10:00", "Mon 16 10:15"]
    assert [(s.score, s.optional_conflicts) for s in slots] == [(100, ()), (100, ()), (100, ())]

    sam_all_day = person(SAM, busy=[(at(NY, MON, 0), at(NY, TUE, 0))], required=False)
    [slot] = find_slots(one_day(MON, attendees=[person(), sam_all_day], count=1))
    assert local([slot]) == ["Mon 16 09:00"]
    assert slot.score == 90
    assert slot.optional_conflicts == (SAM,)
    assert slot.reasons == (FREE, f"optional {SAM} unavailable")


def test_optional_attendee_outside_working_hours_is_a_conflict() -> None:
    # Berlin's 17:00 is New York's 12:00 this week.
    sam = person(SAM, tz=BERLIN, required=False)
    q = one_day(MON, attendees=[person(), sam], preferred_parts=("afternoon",), count=1)
    [slot] = find_slots(q)
    assert local([slot]) == ["Mon 16 12:00"]
    assert slot.score == 110
    assert slot.optional_conflicts == (SAM,)

    sam_leaves_early = person(SAM, hours={0: (time(9), time(14, 30))}, required=False)
    team = [person(), sam_leaves_early]
    hourly = one_day(MON, attendees=team, duration=timedelta(hours=1), count=9)
    slots = find_slots(hourly)
    assert [s[-5:] for s in local(slots)] == [f"{h:02d}:00" for h in range(9, 17)]
    assert [s.optional_conflicts for s in slots] == [()] * 5 + [(SAM,)] * 3


# --- working hours ----------------------------------------------------------------------------


def test_inside_every_required_attendees_working_hours_in_their_own_zone() -> None:
    team = [person(), person(SE, tz=BERLIN)]
    q = one_day(MON, attendees=team, duration=timedelta(hours=1), step=timedelta(hours=1))
    assert local(find_slots(q)) == ["Mon 16 09:00", "Mon 16 10:00", "Mon 16 11:00"]


def test_working_hours_on_a_local_date_that_is_yesterday_in_utc() -> None:
    # Auckland is UTC+13 in March: its Monday morning is Sunday evening in UTC.
    auckland = "Pacific/Auckland"
    q = query(
        attendees=[person(tz=auckland)],
        prospect_tz=auckland,
        window_start=at(auckland, MON, 0),
        window_end=at(auckland, MON, 12),
        count=1,
    )
    assert utc(find_slots(q)) == ["Sun 15 20:00"]


def test_a_missing_weekday_is_a_day_off() -> None:
    monday_to_thursday = {d: (time(9), time(17)) for d in range(4)}
    q = query(attendees=[person(hours=monday_to_thursday)])
    assert local(find_slots(q)) == [
        "Mon 16 09:00",
        "Mon 16 09:30",
        "Tue 17 09:00",
        "Wed 18 09:00",
        "Thu 19 09:00",
    ]


def test_working_hours_end_bounds_the_meeting_end() -> None:
    q = query(window_start=at(NY, MON, 16), window_end=at(NY, TUE, 0), count=5)
    assert local(find_slots(q)) == ["Mon 16 16:00", "Mon 16 16:30"]


# --- the prospect's hours ---------------------------------------------------------------------


def test_early_for_the_prospect_is_flagged_and_penalised() -> None:
    # London 09:00-17:00 is 05:00-13:00 in New York this week.
    team = [person(tz=LONDON)]
    [best] = find_slots(one_day(MON, tz=LONDON, attendees=team, count=1))
    assert (utc([best]), best.score, best.reasons) == (["Mon 16 12:00"], 100, (FREE,))

    before_eight = query(
        attendees=team, window_start=at(LONDON, MON, 0), window_end=at(LONDON, MON, 12), count=5
    )
    slots = find_slots(before_eight)
    assert local(slots) == ["Mon 16 07:00", "Mon 16 07:30"]
    assert [s.score for s in slots] == [70, 70]
    assert all(s.reasons == (FREE, f"early for them (before 08:00 {NY})") for s in slots)


def test_late_for_the_prospect_is_flagged_and_never_past_eight_pm() -> None:
    # New York 13:30 is 17:30 in London this week.
    q = query(prospect_tz=LONDON, window_start=at(NY, MON, 13, 30), window_end=at(NY, TUE, 0))
    slots = find_slots(q)
    assert local(slots, LONDON) == [
        "Mon 16 17:30",
        "Mon 16 18:00",
        "Mon 16 18:30",
        "Mon 16 19:00",
        "Mon 16 19:30",
    ]
    assert [s.score for s in slots] == [100, 70, 70, 70, 70]
    assert slots[0].reasons == (FREE,)
    late = (FREE, f"late for them (after 18:00 {LONDON})")
    assert all(s.reasons == late for s in slots[1:])


def test_prospect_nine_hours_away_gets_only_their_early_morning() -> None:
    # January: Berlin is UTC+1, Los Angeles UTC-8. Berlin's 16:00-17:00 is 07:00-08:00 in LA.
    monday = date(2026, 1, 12)
    q = SlotQuery(
        now=at(BERLIN, monday - timedelta(days=1), 12),
        duration=timedelta(minutes=30),
        window_start=at(BERLIN, monday, 0),
        window_end=at(BERLIN, monday + timedelta(days=5), 0),
        attendees=[person(tz=BERLIN)],
        prospect_tz=LA,
    )
    slots = find_slots(q)
    assert local(slots, LA) == [
        "Mon 12 07:00",
        "Tue 13 07:00",
        "Wed 14 07:00",
        "Thu 15 07:00",
        "Fri 16 07:00",
    ]
    assert local(slots, BERLIN) == [
        "Mon 12 16:00",
        "Tue 13 16:00",
        "Wed 14 16:00",
        "Thu 15 16:00",
        "Fri 16 16:00",
    ]
    assert {s.reasons for s in slots} == {(FREE, f"early for them (before 08:00 {LA})")}
    assert {s.score for s in slots} == {70}
    an_hour = dataclasses.replace(q, duration=timedelta(hours=1))
    assert len(find_slots(an_hour)) == 5
    assert find_slots(dataclasses.replace(q, duration=timedelta(minutes=90))) == []


def test_prospect_weekend_is_excluded_unless_they_work_then() -> None:
    saturday_shift = {**default_working_hours(), 5: (time(10), time(14))}
    q = one_day(SAT, attendees=[person(hours=saturday_shift)], count=1)
    assert find_slots(q) == []
    assert local(find_slots(dataclasses.replace(q, prospect_weekend=()))) == ["Sat 21 10:00"]


def test_start_times_sit_on_the_step_grid_of_the_prospects_clock() -> None:
    # Kolkata is UTC+5:30: whole hours there are half past in London.
    q = one_day(
        MON,
        tz=LONDON,
        attendees=[person(tz=LONDON)],
        prospect_tz=KOLKATA,
        duration=timedelta(hours=1),
        step=timedelta(hours=1),
        count=3,
    )
    assert local(find_slots(q), LONDON) == ["Mon 16 09:30", "Mon 16 10:30", "Mon 16 11:30"]
    assert local(find_slots(q), KOLKATA) == ["Mon 16 15:00", "Mon 16 16:00", "Mon 16 17:00"]


# --- preferences and avoid --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected", "score", "reasons"),
    [
        ((), "Mon 16 09:00", 100, (FREE,)),
        (("afternoon",), "Mon 16 12:00", 120, (FREE, "afternoon for them, as preferred")),
        (("evening",), "Mon 16 17:00", 120, (FREE, "evening for them, as preferred")),
        (("morning", "evening"), "Mon 16 09:00", 120, (FREE, "morning for them, as preferred")),
    ],
)
def test_preferred_parts_raise_the_score(
    parts: tuple[str, ...], expected: str, score: int, reasons: tuple[str, ...]
) -> None:
    long_day = [person(hours={0: (time(9), time(19))})]
    [slot] = find_slots(one_day(MON, attendees=long_day, preferred_parts=parts, count=1))
    assert (local([slot]), slot.score, slot.reasons) == ([expected], score, reasons)


def test_avoided_weekday_is_excluded() -> None:
    assert local(find_slots(query(avoid=("monday",)))) == [
        "Tue 17 09:00",
        "Tue 17 09:30",
        "Wed 18 09:00",
        "Thu 19 09:00",
        "Fri 20 09:00",
    ]


@pytest.mark.parametrize(
    ("avoid", "expected"),
    [
        (("friday_afternoon",), ["09:00", "10:00", "11:00"]),
        (("Fridays afternoon",), ["09:00", "10:00", "11:00"]),
        (("afternoon",), ["09:00", "10:00", "11:00"]),
        (("monday_afternoon",), ["09:00", "10:00", "11:00", "12:00", "13:00"]),
    ],
)
def test_avoided_part_of_a_day_excludes_any_overlapping_meeting(
    avoid: tuple[str, ...], expected: list[str]
) -> None:
    q = one_day(FRI, avoid=avoid, duration=timedelta(hours=1), step=timedelta(minutes=30))
    assert [s[-5:] for s in local(find_slots(q))] == expected


def test_avoid_is_read_in_the_prospects_zone() -> None:
    # London is New York + 4 h this week: its Friday afternoon is New York's 08:00-13:00.
    q = one_day(FRI, prospect_tz=LONDON, count=1)
    assert local(find_slots(q)) == ["Fri 20 09:00"]
    assert local(find_slots(dataclasses.replace(q, avoid=("friday_afternoon",)))) == [
        "Fri 20 13:00"
    ]


# --- holidays, notice, window -----------------------------------------------------------------


def test_holidays_are_excluded() -> None:
    assert local(find_slots(query(holidays=(WED,)))) == [
        "Mon 16 09:00",
        "Mon 16 09:30",
        "Tue 17 09:00",
        "Thu 19 09:00",
        "Fri 20 09:00",
    ]


def test_holiday_counts_in_the_prospects_zone_and_in_ours() -> None:
    # LA 15:00 is 08:00 next day in Tokyo. 14 Jan is a holiday: LA's Tuesday 15:00 falls on it in
    # Tokyo, LA's Wednesday falls on it in LA, and LA's Friday 15:00 is Saturday in Tokyo.
    monday = date(2026, 1, 12)
    q = SlotQuery(
        now=at(LA, monday - timedelta(days=1), 12),
        duration=timedelta(minutes=30),
        window_start=at(LA, monday, 0),
        window_end=at(LA, monday + timedelta(days=5), 0),
        attendees=[person(tz=LA)],
        prospect_tz=TOKYO,
        holidays=(date(2026, 1, 14),),
        count=2,
    )
    assert local(find_slots(q), LA) == ["Mon 12 15:00", "Thu 15 15:00"]
    assert local(find_slots(q), TOKYO) == ["Tue 13 08:00", "Fri 16 08:00"]


def test_an_attendees_own_holiday_counts_in_their_zone_only() -> None:
    # Sam in Berlin is off on Wednesday, a Berlin date: 00:00-24:00 CET is Tue 19:00-Wed 19:00 in
    # New York. The rep in New York is not off, and both work late.
    late = {d: (time(0, 30), time(23, 30)) for d in range(5)}
    sam = dataclasses.replace(person(SAM, BERLIN, hours=late), holidays=(WED,))
    q = query(attendees=[person(hours=late), sam], count=20)
    days = {s.start.astimezone(ZoneInfo(NY)).date() for s in find_slots(q)}
    assert days == {MON, TUE, WED, THU, FRI}
    answers = check_slots([at(NY, WED, 9), at(NY, WED, 18, 30), at(NY, WED, 19, 30)], q)
    assert [(ok, reason) for _, ok, reason in answers] == [
        (False, f"on a holiday of {SAM} (2026-03-18 in {BERLIN})"),
        (False, f"on a holiday of {SAM} (2026-03-18 in {BERLIN})"),
        (True, f"available; late for them (after 18:00 {NY})"),
    ]
    wednesday = [s for s in find_slots(q) if s.start.astimezone(ZoneInfo(NY)).date() == WED]
    assert wednesday and all(s.start >= at(NY, WED, 19) for s in wednesday)
    # Without Sam the rep meets on Wednesday morning: the holiday is Sam's, not everyone's.
    assert local(find_slots(one_day(WED, attendees=[person()], count=1))) == ["Wed 18 09:00"]


def test_an_optional_attendees_holiday_is_a_conflict_not_a_block() -> None:
    sam = dataclasses.replace(person(SAM, required=False), holidays=(WED,))
    (slot,) = find_slots(one_day(WED, attendees=[person(), sam], count=1))
    assert local([slot]) == ["Wed 18 09:00"]
    assert slot.optional_conflicts == (SAM,)


def test_the_prospects_holiday_counts_in_their_zone_and_only_for_finding() -> None:
    # 19 March is a holiday in Tokyo: New York's Wednesday 19:00-24:00 is Thursday there.
    q = query(
        attendees=[person(hours={d: (time(7), time(23)) for d in range(5)})],
        prospect_tz=TOKYO,
        prospect_holidays=(THU,),
        count=10,
    )
    tokyo_days = {s.start.astimezone(ZoneInfo(TOKYO)).date() for s in find_slots(q)}
    assert THU not in tokyo_days and tokyo_days
    free = find_slots(dataclasses.replace(q, prospect_holidays=()))
    assert THU in {s.start.astimezone(ZoneInfo(TOKYO)).date() for s in free}
    # A time they chose themselves on their own holiday is theirs to choose.
    ((_, ok, _),) = check_slots([at(TOKYO, THU, 9)], q)
    assert ok


@pytest.mark.parametrize(
    ("notice", "expected"),
    [
        (None, "Mon 16 12:00"),  # the default is 4 hours
        (timedelta(0), "Mon 16 09:00"),
        (timedelta(hours=1, minutes=5), "Mon 16 09:15"),
    ],
)
def test_min_notice_counts_from_now(notice: timedelta | None, expected: str) -> None:
    q = one_day(MON, now=at(NY, MON, 8), count=1)
    if notice is not None:
        q = dataclasses.replace(q, min_notice=notice)
    assert local(find_slots(q)) == [expected]


def test_meeting_lies_inside_the_window() -> None:
    q = query(window_start=at(NY, MON, 10, 20), window_end=at(NY, MON, 11))
    assert local(find_slots(q)) == ["Mon 16 10:30"]


def test_same_input_gives_the_same_answer_whatever_the_busy_order() -> None:
    rng = random.Random(7)
    busy = []
    for _ in range(120):
        start = at(NY, MON, 8) + timedelta(minutes=5 * rng.randrange(5 * 288))
        busy.append((start, start + timedelta(minutes=5 * rng.randint(1, 12))))
    team = [person(busy=busy), person(SE, tz=LONDON, busy=busy[::3]), person(SAM, required=False)]
    q = query(attendees=team, buffer=timedelta(minutes=10))
    shuffled = [dataclasses.replace(p, busy=sorted(p.busy, reverse=True)) for p in team]
    answer = find_slots(q)
    assert len(answer) == 5
    assert all(s.start.tzinfo is UTC for s in answer)
    assert find_slots(q) == answer
    assert find_slots(dataclasses.replace(q, attendees=shuffled)) == answer


# --- daylight saving time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "thursday", "utc_hours"),
    [
        (NY, date(2026, 3, 5), [14, 14, 13, 13, 13]),  # EST -> EDT on Sunday 8 March
        (NY, date(2026, 10, 29), [13, 13, 14, 14, 14]),  # EDT -> EST on Sunday 1 November
        (BERLIN, date(2026, 3, 26), [8, 8, 7, 7, 7]),  # CET -> CEST on Sunday 29 March
        (BERLIN, date(2026, 10, 22), [7, 7, 8, 8, 8]),  # CEST -> CET on Sunday 25 October
    ],
)
def test_dst_week_keeps_nine_oclock_local(tz: str, thursday: date, utc_hours: list[int]) -> None:
    q = SlotQuery(
        now=at(tz, thursday - timedelta(days=1), 12),
        duration=timedelta(minutes=30),
        window_start=at(tz, thursday, 0),
        window_end=at(tz, thursday + timedelta(days=7), 0),
        attendees=[person(tz=tz)],
        prospect_tz=tz,
    )
    slots = find_slots(q)
    weekdays = [thursday + timedelta(days=d) for d in (0, 1, 4, 5, 6)]
    assert [s.start for s in slots] == [at(tz, day, 9) for day in weekdays]
    assert [s.start.astimezone(UTC).hour for s in slots] == utc_hours


@pytest.mark.parametrize(
    ("wednesday", "expected"),
    [
        (date(2026, 3, 4), ["09:00", "10:00"]),  # New York 6 h behind Berlin
        (date(2026, 3, 11), ["09:00", "10:00", "11:00"]),  # only New York on summer time: 5 h
        (date(2026, 4, 1), ["09:00", "10:00"]),  # both on summer time: 6 h again
    ],
)
def test_dst_gap_weeks_between_new_york_and_berlin(wednesday: date, expected: list[str]) -> None:
    team = [person(), person(SE, tz=BERLIN)]
    q = SlotQuery(
        now=at(NY, wednesday, 0) - timedelta(days=1),
        duration=timedelta(hours=1),
        window_start=at(NY, wednesday, 0),
        window_end=at(NY, wednesday, 23),
        attendees=team,
        prospect_tz=NY,
        step=timedelta(hours=1),
    )
    assert [s[-5:] for s in local(find_slots(q))] == expected


@pytest.mark.parametrize(
    ("tz", "sunday", "utc_start"),
    [
        (NY, date(2026, 3, 8), datetime(2026, 3, 8, 13, tzinfo=UTC)),
        (NY, date(2026, 11, 1), datetime(2026, 11, 1, 14, tzinfo=UTC)),
        (BERLIN, date(2026, 3, 29), datetime(2026, 3, 29, 7, tzinfo=UTC)),
        (BERLIN, date(2026, 10, 25), datetime(2026, 10, 25, 8, tzinfo=UTC)),
    ],
)
def test_working_on_the_day_the_clocks_change(tz: str, sunday: date, utc_start: datetime) -> None:
    q = SlotQuery(
        now=at(tz, sunday, 0) - timedelta(days=1),
        duration=timedelta(minutes=30),
        window_start=at(tz, sunday, 0),
        window_end=at(tz, sunday + timedelta(days=1), 0),
        attendees=[person(tz=tz, hours={6: (time(9), time(17))})],
        prospect_tz=tz,
        prospect_weekend=(),
        count=1,
    )
    assert [s.start for s in find_slots(q)] == [utc_start]


# --- check_slots ------------------------------------------------------------------------------


def test_check_slots_names_the_first_rule_each_time_breaks() -> None:
    rep = person(hours={d: (time(7), time(17)) for d in range(5)})
    rep = dataclasses.replace(rep, busy=[(at(NY, TUE, 10), at(NY, TUE, 11))])
    sam = person(SAM, busy=[(at(NY, TUE, 14), at(NY, TUE, 15))], required=False)
    q = query(
        attendees=[rep, sam],
        buffer=timedelta(minutes=15),
        holidays=(THU,),
        avoid=("friday_afternoon",),
    )
    candidates = [
        at(NY, date(2026, 3, 15), 10),
        at(NY, date(2026, 3, 15), 12, 30),
        at(NY, date(2026, 3, 23), 9),
        at(NY, THU, 9),
        at(NY, FRI, 13),
        at(NY, MON, 17),
        at(NY, TUE, 10, 30),
        at(NY, TUE, 11, 10),
        at(NY, TUE, 14, 15),
        at(NY, MON, 7, 30),
        at(NY, WED, 9, 7),
    ]
    answers = check_slots(candidates, q)
    assert [(ok, reason) for _, ok, reason in answers] == [
        (False, "in the past"),
        (False, "less than 4 h notice"),
        (False, "outside the search window"),
        (False, f"on a holiday (2026-03-19 in {NY})"),
        (False, "avoided (friday_afternoon)"),
        (False, f"outside working hours of {REP}"),
        (False, f"{REP} is busy"),
        (False, f"too close to another meeting of {REP}"),
        (True, f"available; optional {SAM} unavailable"),
        (True, f"available; early for them (before 08:00 {NY}); optional {SAM} unavailable"),
        (True, "available"),
    ]
    assert [start for start, _, _ in answers] == candidates


def test_check_slots_rejects_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_slots([datetime(2026, 3, 16, 9)], query())  # noqa: DTZ001


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"now": datetime(2026, 3, 15, 12)}, "now must be timezone-aware"),  # noqa: DTZ001
        ({"duration": timedelta(0)}, "must be positive"),
        ({"buffer": timedelta(minutes=-5)}, "must not be negative"),
        ({"avoid": ("someday",)}, "cannot read avoid rule 'someday'"),
        ({"avoid": ("monday_tuesday",)}, "cannot read avoid rule"),
        ({"preferred_parts": ("lunch",)}, "unknown preferred parts"),
    ],
)
def test_query_rejects_bad_input(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        query(**changes)


def test_attendee_rejects_bad_working_hours() -> None:
    with pytest.raises(ValueError, match="end before they start"):
        person(hours={0: (time(17), time(9))})
    with pytest.raises(ValueError, match="weekday 7"):
        person(hours={7: (time(9), time(17))})


def test_plural_avoid_rules_mean_the_same() -> None:
    assert find_slots(query(avoid=("Mondays",))) == find_slots(query(avoid=("monday",)))


# --- the intervals agree with checking every start on its own ---------------------------------

ZONES = (NY, LA, LONDON, BERLIN, KOLKATA, TOKYO, "Pacific/Auckland")
DAYS = (date(2026, 1, 12), date(2026, 3, 6), date(2026, 3, 27), date(2026, 10, 23))
MINUTES = timedelta(minutes=1)


@st.composite
def scenarios(draw: st.DrawFn) -> SlotQuery:
    first = draw(st.sampled_from(DAYS))
    window_start = datetime.combine(first, time(draw(st.integers(0, 12))), tzinfo=UTC)
    attendees = []
    for i in range(draw(st.integers(1, 3))):
        busy = []
        for _ in range(draw(st.integers(0, 12))):
            start = window_start + draw(st.integers(-120, 3 * 1440)) * MINUTES
            busy.append((start, start + draw(st.integers(1, 240)) * MINUTES))
        begin = draw(st.integers(6, 11))
        hours = {d: (time(begin), time(begin + draw(st.integers(4, 9)))) for d in range(6)}
        required = i == 0 or draw(st.booleans())
        days_off = draw(st.sets(st.sampled_from([first + timedelta(days=d) for d in range(3)])))
        attendees.append(
            AttendeeAvailability(
                f"p{i}@x.test", draw(st.sampled_from(ZONES)), busy, hours, required, days_off
            )
        )
    step = timedelta(minutes=draw(st.sampled_from((15, 30, 60))))
    return SlotQuery(
        now=window_start - draw(st.integers(0, 600)) * MINUTES,
        duration=step,  # slots one step long never overlap, so every allowed start comes back
        window_start=window_start,
        window_end=window_start + draw(st.integers(60, 3 * 1440)) * MINUTES,
        attendees=attendees,
        prospect_tz=draw(st.sampled_from(ZONES)),
        preferred_parts=draw(st.sets(st.sampled_from(("morning", "afternoon", "evening")))),
        avoid=draw(st.sets(st.sampled_from(("monday", "friday_afternoon", "evening", "tuesday")))),
        buffer=draw(st.sampled_from((0, 7, 15))) * MINUTES,
        min_notice=draw(st.sampled_from((0, 90))) * MINUTES,
        holidays=draw(st.sets(st.sampled_from([first + timedelta(days=d) for d in range(3)]))),
        prospect_holidays=draw(
            st.sets(st.sampled_from([first + timedelta(days=d) for d in range(3)]))
        ),
        step=step,
        count=10_000,
    )


def brute_force(q: SlotQuery) -> list[tuple[datetime, bool, str]]:
    """Every start on the grid that check_slots accepts and the prospect's hours and days
    off allow."""
    tz = ZoneInfo(q.prospect_tz)
    grid = []
    start = q.window_start
    while start < q.window_end:
        here, there = start.astimezone(tz), (start + q.duration).astimezone(tz)
        since_midnight = here - here.replace(hour=0, minute=0)
        on_grid = since_midnight % q.step == timedelta(0)
        workday = (
            here.weekday() not in q.prospect_weekend
            and here.date() not in q.prospect_holidays
            and here.date() == there.date()
        )
        if on_grid and workday and time(7) <= here.time() and there.time() <= time(20):
            grid.append(start)
        start += timedelta(minutes=15)
    return [answer for answer in check_slots(grid, q) if answer[1]]


@settings(max_examples=80, deadline=None)
@given(scenarios())
def test_find_slots_returns_exactly_the_starts_check_slots_accepts(q: SlotQuery) -> None:
    expected = brute_force(q)
    slots = find_slots(q)
    assert [s.start for s in slots] == [start for start, _, _ in expected]
    assert ["; ".join(("available", *s.reasons[1:])) for s in slots] == [r for _, _, r in expected]
