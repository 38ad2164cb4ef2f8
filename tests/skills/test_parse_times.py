"""Unit tests for skills.parse_times: one test group per bullet of issue 3."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from skills.parse_times import (
    ParsedTime,
    detect_timezone,
    extract_exclusions,
    extract_times,
    match_to_proposed,
    parse_time,
)

NY = "America/New_York"
NYZ = ZoneInfo(NY)
# Tuesday 5 March 2024, 09:00 in New York (EST, UTC-5; DST starts Sunday 10 March).
NOW = datetime(2024, 3, 5, 9, 0, tzinfo=NYZ)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, tz: str = NY) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz))


def parse(text: str, now: datetime = NOW, tz: str = NY, **kw: bool) -> ParsedTime:
    parsed = parse_time(text, now=now, tz=tz, **kw)
    assert parsed is not None, f"no parse for {text!r}"
    return parsed


# ---- seed 001: "10:30 AM" booked as 3:30 PM ---------------------------------------------


@pytest.mark.parametrize(
    "now",
    [
        NOW,
        datetime(2024, 3, 5, 14, 0, tzinfo=UTC),  # same instant family, reference given in UTC
        datetime(2024, 7, 1, 22, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
    ],
)
def test_seed_001_1030_am_new_york_is_never_330_pm(now: datetime) -> None:
    p = parse("10:30 AM", now=now)
    local = p.start.astimezone(NYZ)
    assert (local.hour, local.minute) == (10, 30)
    assert p.tz == NY
    # The instant is 10:30 New York time; in UTC that is 15:30 (EST) or 14:30 (EDT)...
    assert p.start.astimezone(UTC).hour == (15 if local.utcoffset() == timedelta(hours=-5) else 14)
    # ...and it is displayed as 10:30 AM to the New York rep, never as 3:30 PM.
    assert "10:30 AM" in p.display(NY)
    assert "3:30 PM" not in p.display(NY)


def test_seed_001_bare_1030_and_email_body() -> None:
    assert parse("10:30").start == at(2024, 3, 5, 10, 30)
    found = extract_times("Can we do 10:30 AM on Thursday?", now=NOW, tz=NY)
    assert [p.start for p in found] == [at(2024, 3, 7, 10, 30)]


# ---- weekdays and relative days ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thursday", at(2024, 3, 7)),
        ("this Thursday", at(2024, 3, 7)),
        ("coming Thursday", at(2024, 3, 7)),
        ("next Thursday", at(2024, 3, 14)),  # the Thursday of next week
        ("next Monday", at(2024, 3, 11)),
        ("Tuesday", at(2024, 3, 12)),  # said on a Tuesday: next week's
        ("this Tuesday", at(2024, 3, 5)),
        ("Friday after next", at(2024, 3, 15)),
        ("Wednesday of next week", at(2024, 3, 13)),
        ("today", at(2024, 3, 5)),
        ("tomorrow", at(2024, 3, 6)),
        ("the day after tomorrow", at(2024, 3, 7)),
        ("in 3 days", at(2024, 3, 8, 9, 0)),
        ("a week from tomorrow", at(2024, 3, 13)),
        ("2 days after next Friday", at(2024, 3, 17)),
    ],
)
def test_weekdays_and_relative_days(text: str, expected: datetime) -> None:
    p = parse(text)
    assert p.start == expected
    assert p.grain == "day"


# ---- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("March 14", at(2024, 3, 14)),
        ("Mar 14th, 2025", at(2025, 3, 14)),
        ("14 March", at(2024, 3, 14)),
        ("the 14th of March", at(2024, 3, 14)),
        ("3/14", at(2024, 3, 14)),
        ("3/14/2024", at(2024, 3, 14)),
        ("2024-03-14", at(2024, 3, 14)),
        ("Thu, Mar 14", at(2024, 3, 14)),
        ("the 14th", at(2024, 3, 14)),
        ("the 1st", at(2024, 4, 1)),  # the 1st of March is past
    ],
)
def test_dates_in_common_formats(text: str, expected: datetime) -> None:
    assert parse(text).start == expected


def test_numeric_dates_are_month_first_by_default_and_configurable() -> None:
    assert parse("4/5").start == at(2024, 4, 5)
    assert parse("4/5", dayfirst=True).start == at(2024, 5, 4)
    assert parse("25/4").start == at(2024, 4, 25)  # 25 cannot be a month


def test_monday_the_5th_is_the_month_whose_5th_is_a_monday() -> None:
    # Seed 001: in late December 2025, "Monday the 5th" is 5 January 2026.
    now = at(2025, 12, 29, 10)
    assert parse("Monday the 5th", now=now).start == at(2026, 1, 5)
    # From March 2024 the next Monday-the-5th is August 2024.
    assert parse("Monday the 5th").start == at(2024, 8, 5)


def test_year_rollover() -> None:
    now = at(2024, 12, 18, 11)
    assert parse("Jan 5", now=now).start == at(2025, 1, 5)
    assert parse("Dec 20", now=now).start == at(2024, 12, 20)
    assert parse("next Thursday", now=now).start == at(2024, 12, 26)
    assert parse("the 3rd", now=now).start == at(2025, 1, 3)


def test_weekday_date_mismatch_is_flagged() -> None:
    p = parse("Monday, March 14")  # 14 March 2024 is a Thursday; 2025 too
    assert p.start == at(2024, 3, 14)
    assert p.confidence == "low"


# ---- clock times and the business-hours rule -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "hour", "minute", "grain"),
    [
        ("2", 14, 0, "hour"),
        ("2pm", 14, 0, "hour"),
        ("14:00", 14, 0, "minute"),
        ("noon", 12, 0, "minute"),
        ("half past 3", 15, 30, "minute"),
        ("a quarter to 4", 15, 45, "minute"),
        ("10:30", 10, 30, "minute"),
        ("4:30", 16, 30, "minute"),
        ("11", 11, 0, "hour"),
        ("7:45pm", 19, 45, "minute"),
        ("09:15", 9, 15, "minute"),
        ("15h30", 15, 30, "minute"),
    ],
)
def test_clock_times(text: str, hour: int, minute: int, grain: str) -> None:
    p = parse(text, now=at(2024, 3, 5, 8, 0))
    assert p.start == at(2024, 3, 5, hour, minute)
    assert p.grain == grain


def test_business_rule_is_medium_confidence_explicit_is_high() -> None:
    assert parse("2").confidence == "medium"
    assert parse("4:30").confidence == "medium"
    assert parse("2pm").confidence == "high"


def test_this_time_tomorrow_keeps_the_time_of_day() -> None:
    assert parse("this time tomorrow").start == at(2024, 3, 6, 9, 0)
    assert parse("the week after next").start == at(2024, 3, 18)


def test_a_time_already_past_today_means_tomorrow() -> None:
    assert parse("8am").start == at(2024, 3, 6, 8)
    assert parse("8am today").start == at(2024, 3, 5, 8)


def test_tomorrow_3pm_late_at_night_and_in_utc() -> None:
    late = at(2024, 3, 5, 23, 30)
    assert parse("tomorrow 3pm", now=late).start == at(2024, 3, 6, 15)
    # 00:30 UTC on the 6th is still the evening of the 5th in New York.
    utc_now = datetime(2024, 3, 6, 0, 30, tzinfo=UTC)
    assert parse("tomorrow 3pm", now=utc_now).start == at(2024, 3, 6, 15)
    assert parse("tomorrow 3pm", now=utc_now, tz="UTC").start == at(2024, 3, 7, 15, tz="UTC")


# ---- parts of day ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("Friday morning", at(2024, 3, 8, 9), at(2024, 3, 8, 12)),
        ("tomorrow afternoon", at(2024, 3, 6, 12), at(2024, 3, 6, 17)),
        ("end of day", at(2024, 3, 5, 16), at(2024, 3, 5, 17)),
        ("this evening", at(2024, 3, 5, 17), at(2024, 3, 5, 21)),
    ],
)
def test_parts_of_day(text: str, start: datetime, end: datetime) -> None:
    p = parse(text)
    assert (p.start, p.end, p.grain) == (start, end, "part_of_day")


def test_part_of_day_sets_the_meridiem() -> None:
    assert parse("Thursday afternoon at 4").start == at(2024, 3, 7, 16)
    assert parse("8 tonight").start == at(2024, 3, 5, 20)
    assert parse("tomorrow morning at 7").start == at(2024, 3, 6, 7)


# ---- ranges and windows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("between 2 and 4", at(2024, 3, 5, 14), at(2024, 3, 5, 16)),
        ("2-3pm", at(2024, 3, 5, 14), at(2024, 3, 5, 15)),
        ("11-1", at(2024, 3, 5, 11), at(2024, 3, 5, 13)),
        ("9:30 - 11:00 on Thursday", at(2024, 3, 7, 9, 30), at(2024, 3, 7, 11)),
        ("Thursday from 9 to 11am", at(2024, 3, 7, 9), at(2024, 3, 7, 11)),
        ("March 12-14", at(2024, 3, 12), at(2024, 3, 15)),
        ("early next week", at(2024, 3, 11), at(2024, 3, 14)),
        ("later this week", at(2024, 3, 6), at(2024, 3, 9)),
        ("next week", at(2024, 3, 11), at(2024, 3, 18)),
    ],
)
def test_ranges_and_windows(text: str, start: datetime, end: datetime) -> None:
    p = parse(text)
    assert (p.start, p.end) == (start, end)


def test_any_time_after_3_is_open_until_the_end_of_the_day() -> None:
    p = parse("any time after 3")
    assert p.start == at(2024, 3, 5, 15)
    assert p.end == at(2024, 3, 6)


def test_or_list_shares_the_part_of_day() -> None:
    found = extract_times("Tue or Wed afternoon works", now=NOW, tz=NY)
    assert [(p.start, p.end) for p in found] == [
        (at(2024, 3, 12, 12), at(2024, 3, 12, 17)),
        (at(2024, 3, 6, 12), at(2024, 3, 6, 17)),
    ]


def test_several_times_in_one_sentence_in_order_with_spans() -> None:
    text = "I could do Thursday at 2pm, or Friday 10:30-11:30, otherwise March 12."
    found = extract_times(text, now=NOW, tz=NY)
    assert [p.start for p in found] == [
        at(2024, 3, 7, 14),
        at(2024, 3, 8, 10, 30),
        at(2024, 3, 12),
    ]
    assert [text[p.span[0] : p.span[1]] for p in found] == [
        "Thursday at 2pm",
        "Friday 10:30-11:30",
        "March 12",
    ]
    assert found[1].end == at(2024, 3, 8, 11, 30)


def test_plain_numbers_in_prose_are_not_times() -> None:
    text = "We are 3 people and my extension is 42. Meeting at 5 is fine."
    found = extract_times(text, now=NOW, tz=NY)
    assert [(p.text, p.start) for p in found] == [("at 5", at(2024, 3, 5, 17))]


@pytest.mark.parametrize(
    "text",
    [
        "I'm the second person to ask, thanks for the 1st draft.",
        "We sat down and the sun was out.",
        "Call +1 (555) 123-4567, Suite 300, version 2.5, up 25%.",
        "2-3 people from our side will join.",
    ],
)
def test_prose_that_is_not_a_time(text: str) -> None:
    assert extract_times(text, now=NOW, tz=NY) == []


# ---- negatives ------------------------------------------------------------------------------


def test_negatives_are_exclusions_not_proposals() -> None:
    text = "Not Monday, and anything but Friday. Wednesday at 3 works."
    assert [p.start for p in extract_times(text, now=NOW, tz=NY)] == [at(2024, 3, 6, 15)]
    excluded = extract_exclusions(text, now=NOW, tz=NY)
    assert [(p.start, p.excluded) for p in excluded] == [
        (at(2024, 3, 11), True),
        (at(2024, 3, 8), True),
    ]
    every = extract_times(text, now=NOW, tz=NY, include_excluded=True)
    assert [p.excluded for p in every] == [True, True, False]


def test_not_before_is_a_lower_bound_not_an_exclusion() -> None:
    p = parse("not before 10am")
    assert (p.start, p.excluded) == (at(2024, 3, 5, 10), False)


# ---- time zones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        ("Thursday 2pm EST", datetime(2024, 3, 7, 19, 0, tzinfo=UTC)),
        ("Thursday 2pm ET", datetime(2024, 3, 7, 19, 0, tzinfo=UTC)),
        ("Thursday 2pm PT", datetime(2024, 3, 7, 22, 0, tzinfo=UTC)),
        ("Thursday 2pm GMT+1", datetime(2024, 3, 7, 13, 0, tzinfo=UTC)),
        ("Thursday 2pm UTC-03:30", datetime(2024, 3, 7, 17, 30, tzinfo=UTC)),
        ("Thursday 2pm London time", datetime(2024, 3, 7, 14, 0, tzinfo=UTC)),
        ("Thursday 9:30pm IST", datetime(2024, 3, 7, 16, 0, tzinfo=UTC)),
        ("2024-03-07T14:00:00+02:00", datetime(2024, 3, 7, 12, 0, tzinfo=UTC)),
    ],
)
def test_timezone_mentions(text: str, expected_utc: datetime) -> None:
    assert parse(text).start == expected_utc


def test_abbreviations_keep_their_dst_meaning() -> None:
    july = at(2024, 7, 1, 9)
    # EST is UTC-5 even in July; ET follows New York's summer time (UTC-4).
    assert parse("Thursday 2pm EST", now=july).start == datetime(2024, 7, 4, 19, tzinfo=UTC)
    assert parse("Thursday 2pm ET", now=july).start == datetime(2024, 7, 4, 18, tzinfo=UTC)
    assert parse("Thursday 2pm EDT", now=july).start == datetime(2024, 7, 4, 18, tzinfo=UTC)


def test_explicit_zone_is_reported() -> None:
    p = parse("Thursday 2pm PT")
    assert p.tz == "America/Los_Angeles"
    assert p.start.astimezone(NYZ) == at(2024, 3, 7, 17)


@pytest.mark.parametrize(
    ("text", "header", "zone"),
    [
        ("Can we talk at 2pm EST?", None, "America/New_York"),
        ("2pm Pacific works", None, "America/Los_Angeles"),
        ("10am London time", None, "Europe/London"),
        ("9am GMT+1", None, "Etc/GMT-1"),
        ("Best,\nAnna Schmidt\nSales, Munich", None, "Europe/Berlin"),
        ("Thanks!", "Tue, 5 Mar 2024 10:00:00 +0530", "UTC+05:30"),
        ("Thanks!", "-0500", "Etc/GMT+5"),
    ],
)
def test_detect_timezone(text: str, header: str | None, zone: str) -> None:
    found, evidence = detect_timezone(text, header_offset=header)
    assert found == zone
    assert evidence
    if header:
        assert "weak" in evidence


def test_detect_timezone_without_evidence() -> None:
    assert detect_timezone("See you soon")[0] is None


# ---- DST gaps and folds -------------------------------------------------------------------------


def test_dst_gap_moves_forward_and_is_low_confidence() -> None:
    p = parse("March 10 at 2:30am")  # clocks jump 02:00 -> 03:00 in New York
    assert p.start == datetime(2024, 3, 10, 7, 30, tzinfo=UTC)
    assert p.start.astimezone(NYZ).hour == 3
    assert p.confidence == "low"
    assert "does not exist" in p.reasoning


def test_dst_fold_takes_the_first_occurrence_and_is_low_confidence() -> None:
    p = parse("Nov 3 at 1:30am")  # 01:30 happens twice in New York
    # Compare in UTC: PEP 495 makes an ambiguous local time unequal to any other zone's.
    assert p.start.astimezone(UTC) == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert p.confidence == "low"
    assert "twice" in p.reasoning
    second = parse("Nov 3 at 1:30am EST")
    assert second.start.astimezone(UTC) == datetime(2024, 11, 3, 6, 30, tzinfo=UTC)


def test_in_2_hours_across_spring_forward_is_elapsed_time() -> None:
    now = at(2024, 3, 10, 1, 30)
    assert parse("in 2 hours", now=now).start == datetime(2024, 3, 10, 8, 30, tzinfo=UTC)


# ---- quoted email history ---------------------------------------------------------------------


def test_quoted_lines_are_not_the_writers_proposal() -> None:
    body = (
        "Friday at 11 is better for me.\n\n"
        "On Mon, Mar 4, 2024 at 10:00 AM Jane Doe <jane@example.com> wrote:\n"
        "> How about Thursday at 3pm?\n"
    )
    assert [p.start for p in extract_times(body, now=NOW, tz=NY)] == [at(2024, 3, 8, 11)]
    quoted = extract_times(body, now=NOW, tz=NY, ignore_quoted=False)
    assert at(2024, 3, 7, 15) in [p.start for p in quoted]


def test_outlook_history_and_gt_lines_are_ignored() -> None:
    body = (
        "> Thursday 3pm?\n"
        "Monday at 10 works.\n"
        "-----Original Message-----\n"
        "From: Jane\nSent: Monday\nSubject: Re: call\n\nTuesday 4pm?\n"
    )
    found = extract_times(body, now=NOW, tz=NY)
    assert [p.start for p in found] == [at(2024, 3, 11, 10)]
    assert body[found[0].span[0] : found[0].span[1]] == "Monday at 10"


# ---- matching replies to proposed slots ---------------------------------------------------------

SLOTS = [
    at(2024, 3, 6, 10),  # Wed 10am
    at(2024, 3, 7, 14),  # Thu 2pm
    at(2024, 3, 7, 16),  # Thu 4pm
    at(2024, 3, 8, 11),  # Fri 11am
]


@pytest.mark.parametrize(
    ("reply", "index"),
    [
        ("The first one works for me", 0),
        ("Option 2 please", 1),
        ("#3", 2),
        ("Let's do the last one", 3),
        ("Wednesday works", 0),
        ("4pm is fine", 2),
        ("the later one on Thursday", 2),
        ("the earlier Thursday slot", 1),
        ("Friday at 11 works great", 3),
        ("Thursday works", None),  # two Thursday slots: ambiguous
        ("Any of those work", None),
        ("How about Monday instead?", None),
        ("Not Thursday. Wednesday or Friday are both ok", None),
        ("Not Wednesday or Friday. The 2pm one", 1),
    ],
)
def test_match_to_proposed(reply: str, index: int | None) -> None:
    assert match_to_proposed(reply, SLOTS, now=NOW, tz=NY) == index


def test_match_never_picks_an_excluded_slot() -> None:
    assert match_to_proposed("the first one, but not Wednesday", SLOTS, now=NOW, tz=NY) is None


def test_match_uses_the_writer_zone() -> None:
    # Thu 2pm New York is 11am Pacific: "11am PT" singles out slot 1 for any reader.
    assert match_to_proposed("11am PT works", SLOTS, now=NOW, tz=NY) == 1
    assert match_to_proposed("11am works", SLOTS, now=NOW, tz="America/Los_Angeles") == 1
    assert match_to_proposed("11am works", SLOTS, now=NOW, tz=NY) == 3


# ---- result object and purity ---------------------------------------------------------------


def test_parsed_time_fields_and_display() -> None:
    p = parse("Thursday at 2:15pm")
    assert p.start == at(2024, 3, 7, 14, 15)
    assert p.end is None
    assert p.grain == "minute"
    assert p.span == (0, len("Thursday at 2:15pm"))
    assert p.confidence == "high"
    assert p.reasoning.startswith("'Thursday at 2:15pm' read as Thu 2024-03-07T14:15-05:00")
    assert p.display() == "Thu, Mar 7, 2024, 2:15 PM EST"
    assert p.display("Europe/Berlin") == "Thu, Mar 7, 2024, 8:15 PM CET"
    with pytest.raises(AttributeError):
        p.start = NOW  # type: ignore[misc]


def test_unparseable_input_gives_none() -> None:
    assert parse_time("sounds great, thanks!", now=NOW, tz=NY) is None
    assert parse_time("", now=NOW, tz=NY) is None
    assert extract_times("no dates here", now=NOW, tz=NY) == []


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        parse_time("tomorrow", now=datetime(2024, 3, 5, 9), tz=NY)  # noqa: DTZ001


def test_time_parsing_code_is_pure() -> None:
    root = Path(__file__).resolve().parents[2] / "skills"
    files = [root / "parse_times.py", *sorted((root / "timeparse").glob("*.py"))]
    clock_reads = {"now", "utcnow", "today", "perf_counter", "monotonic", "uuid4"}
    io_calls = {"open", "print", "input", "uuid4"}
    banned_modules = {
        "slack_sdk",
        "slack_bolt",
        "rq",
        "redis",
        "google",
        "msgraph",
        "litellm",
        "requests",
        "socket",
        "os",
        "time",
        "uuid",
        "random",
    }
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for name in names:
                    assert name.split(".")[0] not in banned_modules, f"{path.name} imports {name}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in clock_reads, f"{path.name} calls .{node.func.attr}()"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in io_calls, f"{path.name} calls {node.func.id}()"
