"""Property tests for skills.parse_times around DST transitions (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from skills.parse_times import ParsedTime, parse_time

ZONES = ("America/New_York", "Europe/Berlin", "Australia/Melbourne", "Asia/Kolkata")
YEARS = range(2021, 2031)


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """UTC instants where the zone's offset changes (none for Asia/Kolkata)."""
    tz = ZoneInfo(zone)
    found = []
    moment = datetime(YEARS.start, 1, 1, tzinfo=UTC)
    end = datetime(YEARS.stop, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1)
    previous = moment.astimezone(tz).utcoffset()
    while moment < end:
        moment += step
        offset = moment.astimezone(tz).utcoffset()
        if offset != previous:
            found.append(moment)
            previous = offset
    return tuple(found)


@st.composite
def instants_near_dst(draw: st.DrawFn) -> tuple[str, datetime]:
    zone = draw(st.sampled_from(ZONES))
    anchors = transitions(zone) or (datetime(2024, 3, 31, 1, tzinfo=UTC),)
    anchor = draw(st.sampled_from(anchors))
    minutes = draw(st.integers(min_value=-36 * 60, max_value=36 * 60))
    return zone, anchor + timedelta(minutes=minutes)


def test_the_zones_really_have_transitions() -> None:
    assert len(transitions("America/New_York")) == 2 * len(YEARS)
    assert len(transitions("Australia/Melbourne")) == 2 * len(YEARS)
    assert transitions("Asia/Kolkata") == ()


@settings(max_examples=300, deadline=None)
@given(instants_near_dst(), st.integers(min_value=-40, max_value=40))
def test_display_then_parse_gives_the_same_instant(case: tuple[str, datetime], days: int) -> None:
    zone, instant = case
    shown = ParsedTime(
        start=instant.astimezone(ZoneInfo(zone)),
        end=None,
        grain="minute",
        tz=zone,
        span=(0, 0),
        confidence="high",
        reasoning="",
    ).display()
    now = instant + timedelta(days=days)
    parsed = parse_time(shown, now=now, tz=zone)
    assert parsed is not None, shown
    assert parsed.start.astimezone(UTC) == instant, (shown, parsed.reasoning)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.dates(min_value=date(2021, 1, 1), max_value=date(2030, 12, 30)),
)
def test_tomorrow_3pm_late_evening_local_and_just_after_midnight_utc(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    late_local = datetime(day.year, day.month, day.day, 23, 30, tzinfo=tz)
    parsed = parse_time("tomorrow 3pm", now=late_local, tz=zone)
    assert parsed is not None
    local = parsed.start.astimezone(tz)
    assert (local.date(), local.hour, local.minute) == (day + timedelta(days=1), 15, 0)

    early_utc = datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)
    parsed = parse_time("tomorrow 3pm", now=early_utc, tz=zone)
    assert parsed is not None
    local = parsed.start.astimezone(tz)
    expected_day = early_utc.astimezone(tz).date() + timedelta(days=1)
    assert (local.date(), local.hour, local.minute) == (expected_day, 15, 0)


@settings(max_examples=200, deadline=None)
@given(
    instants_near_dst(),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=0, max_value=59),
    st.sampled_from(["am", "AM", " a.m.", "pm", " PM", " p.m."]),
)
def test_explicit_meridiem_is_kept_in_the_writers_zone(
    case: tuple[str, datetime], hour: int, minute: int, meridiem: str
) -> None:
    zone, now = case
    parsed = parse_time(f"{hour}:{minute:02d}{meridiem}", now=now, tz=zone)
    assert parsed is not None
    local = parsed.start.astimezone(ZoneInfo(zone))
    expected = hour % 12 + (12 if "p" in meridiem.lower() else 0)
    if parsed.confidence == "low":  # moved out of a DST gap
        assert "does not exist" in parsed.reasoning or "twice" in parsed.reasoning
    else:
        assert (local.hour, local.minute) == (expected, minute)
    assert parsed.start > now - timedelta(minutes=1)


@settings(max_examples=150, deadline=None)
@given(instants_near_dst(), st.integers(min_value=7, max_value=11))
def test_bare_morning_hours_are_never_afternoon(case: tuple[str, datetime], hour: int) -> None:
    zone, now = case
    parsed = parse_time(f"{hour}:30", now=now, tz=zone)
    assert parsed is not None
    assert parsed.start.astimezone(ZoneInfo(zone)).hour in (hour, hour + 1)  # +1 only in a gap
