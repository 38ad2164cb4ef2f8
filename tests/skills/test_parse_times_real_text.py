"""Times as real mail writes them: dotted and compact numbers, holidays, zones, other languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from skills.parse_times import detect_timezone, extract_times, parse_time

# A Tuesday morning in spring.
NOW = datetime(2031, 4, 15, 9, 0, tzinfo=UTC)


def _start(text: str) -> tuple[int, int, int, int, int] | None:
    p = parse_time(text, now=NOW, tz="UTC")
    if p is None:
        return None
    s = p.start.astimezone(UTC)
    return (s.year, s.month, s.day, s.hour, s.minute)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("04.09.", (2031, 9, 4, 0, 0)),  # trailing dot: day-first
        ("7.7.", (2031, 7, 7, 0, 0)),
        ("Thursday 21.08", (2031, 8, 21, 0, 0)),
        ("22.11.2031", (2031, 11, 22, 0, 0)),
        ("02.05.2032", (2032, 5, 2, 0, 0)),  # dots never mean month-first
    ],
)
def test_dotted_dates_are_day_first(text: str, expected: tuple[int, ...]) -> None:
    assert _start(text) == expected


def test_dotted_date_range() -> None:
    p = parse_time("11.06 - 13.06", now=NOW, tz="UTC")
    assert p is not None and p.end is not None
    assert (p.start.month, p.start.day, p.end.month, p.end.day) == (6, 11, 6, 14)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("16.20-17.45", (16, 20), (17, 45)),
        ("0730-1215", (7, 30), (12, 15)),
        ("1305 to 1550", (13, 5), (15, 50)),
    ],
)
def test_dotted_and_four_digit_clock_ranges(
    text: str, start: tuple[int, int], end: tuple[int, int]
) -> None:
    p = parse_time(text, now=NOW, tz="UTC")
    assert p is not None and p.end is not None
    assert (p.start.hour, p.start.minute) == start
    assert (p.end.hour, p.end.minute) == end


def test_dotted_clock_when_minutes_cannot_be_a_month() -> None:
    assert _start("09.35")[3:] == (9, 35)  # type: ignore[index]
    assert _start("19.50")[3:] == (19, 50)  # type: ignore[index]


@pytest.mark.parametrize("text", ["it grew 3.75 percent", "about 2.50 hours", "$4.20", "v1.25"])
def test_amounts_are_not_dotted_times(text: str) -> None:
    found = extract_times(text, now=NOW, tz="UTC")
    assert [p.text for p in found if "." in p.text] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 Dec 2215", (2031, 12, 3, 22, 15)),
        ("Mon 6 Oct 0640", (2031, 10, 6, 6, 40)),
        ("June 2 2031", (2031, 6, 2, 0, 0)),  # a real year stays a year
    ],
)
def test_four_digit_time_after_a_date(text: str, expected: tuple[int, ...]) -> None:
    assert _start(text) == expected


def test_four_digit_numbers_alone_are_not_extracted() -> None:
    found = extract_times("we expect 1430 guests and 0800 badges", now=NOW, tz="UTC")
    assert found == []


def test_years_range_is_not_a_clock_range() -> None:
    assert parse_time("2015-2019", now=NOW, tz="UTC") is None or _start("2015-2019")[3] == 0  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oct-12-2031", (2031, 10, 12, 0, 0)),
        ("2032/14/Feb", (2032, 2, 14, 0, 0)),
        ("20310905", (2031, 9, 5, 0, 0)),
        ("Mar/9", (2032, 3, 9, 0, 0)),  # no year: the next one to come
        ("31/12/71", (1971, 12, 31, 0, 0)),  # two-digit years pivot at 69
        ("5/1/29", (2029, 5, 1, 0, 0)),
        ("25 / 8", (2031, 8, 25, 0, 0)),
    ],
)
def test_year_first_and_unusual_orders(text: str, expected: tuple[int, ...]) -> None:
    assert _start(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("between the third and the eighth of June", ((2031, 6, 3), (2031, 6, 9))),
        ("from 10:45 to 11:30 am", ((2031, 4, 15), (2031, 4, 15))),
    ],
)
def test_ranges_in_words(text: str, expected: tuple[tuple[int, ...], ...]) -> None:
    p = parse_time(text, now=NOW, tz="UTC")
    assert p is not None and p.end is not None
    assert (p.start.year, p.start.month, p.start.day) == expected[0]
    assert (p.end.year, p.end.month, p.end.day) == expected[1]


def test_clock_range_in_words_keeps_the_morning() -> None:
    p = parse_time("from 10:45 to 11:30 am", now=NOW, tz="UTC")
    assert p is not None and p.end is not None
    assert (p.start.hour, p.start.minute, p.end.hour, p.end.minute) == (10, 45, 11, 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanksgiving", (2031, 11, 27)),
        ("xmas eve", (2031, 12, 24)),
        ("fathers day", (2031, 6, 15)),
        ("Mother's Day", (2031, 5, 11)),
        ("whit monday", (2031, 6, 2)),
        ("the August bank holiday", (2031, 8, 25)),
        ("Victoria Day 2032", (2032, 5, 24)),
        ("cyber monday", (2031, 12, 1)),
        ("st paddy's day", (2032, 3, 17)),  # this year's has passed
        ("Good Friday 2032", (2032, 3, 26)),
    ],
)
def test_named_holidays(text: str, expected: tuple[int, ...]) -> None:
    assert _start(text)[:3] == expected  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4pm my time on Thursday the 17th", (2031, 4, 17, 16, 0)),
        ("11am your time on Monday", (2031, 4, 21, 11, 0)),
    ],
)
def test_zone_words_between_time_and_date(text: str, expected: tuple[int, ...]) -> None:
    assert _start(text) == expected


def test_city_zone_with_weekday_after() -> None:
    p = parse_time("9am Paris time Friday", now=NOW, tz="America/New_York")
    assert p is not None
    assert (p.start.weekday(), p.start.hour) == (4, 9)
    assert p.start.utcoffset() is not None and p.start.utcoffset().total_seconds() == 7200  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wednesday 31", (2031, 12, 31)),  # the next Wednesday that is a 31st
        ("Sunday the 20th", (2031, 4, 20)),  # this very week
    ],
)
def test_weekday_with_day_number(text: str, expected: tuple[int, ...]) -> None:
    assert _start(text)[:3] == expected  # type: ignore[index]


def test_weekday_with_a_count_after_it_is_not_a_date() -> None:
    assert _found("On Friday 20 attendees came") == ["Friday"]


def test_weekday_with_small_number_stays_a_clock() -> None:
    assert _start("Friday 9")[3] == 9  # type: ignore[index]


def test_dates_without_year_lean_to_the_future() -> None:
    assert _start("Feb 3")[:3] == (2032, 2, 3)  # type: ignore[index]
    assert _start("the 2nd")[:3] == (2031, 5, 2)  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "hours"),
    [("early morning", (6, 9)), ("late afternoon", (15, 17)), ("mid day", (12, 12))],
)
def test_parts_of_day(text: str, hours: tuple[int, int]) -> None:
    p = parse_time(text, now=NOW, tz="UTC")
    assert p is not None
    assert p.start.hour == hours[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jueves 4 de septiembre de 2031", (2031, 9, 4, 0, 0)),
        ("3. März 2032 um 14:15 Uhr", (2032, 3, 3, 14, 15)),
        ("le 9 décembre 2031 à 10h30", (2031, 12, 9, 10, 30)),
        ("12 giugno 2031", (2031, 6, 12, 0, 0)),
        ("7 augustus 2031", (2031, 8, 7, 0, 0)),
        ("quinta-feira, 2 de outubro de 2031", (2031, 10, 2, 0, 0)),
    ],
)
def test_other_languages_fall_back_to_dateparser(text: str, expected: tuple[int, ...]) -> None:
    p = parse_time(text, now=NOW, tz="UTC")
    assert p is not None and p.confidence == "medium"
    s = p.start.astimezone(UTC)
    assert (s.year, s.month, s.day, s.hour, s.minute) == expected


def test_fallback_answer_must_agree_with_the_month_named() -> None:
    # No readable date: nothing is better than a guess.
    assert parse_time("dezember irgendwann", now=NOW, tz="UTC") is None


def test_dotted_clock_after_at_whatever_the_minutes() -> None:
    assert _start("at 11.05")[3:] == (11, 5)  # type: ignore[index]


def test_dotted_date_with_dotted_time() -> None:
    assert _start("03.11.2031 16.45") == (2031, 11, 3, 16, 45)


def test_holiday_weekend_runs_from_the_evening_before() -> None:
    p = parse_time("Memorial Day weekend", now=NOW, tz="UTC")
    assert p is not None and p.end is not None
    assert (p.start.month, p.start.day, p.start.hour) == (5, 23, 18)  # Friday evening
    assert (p.end.month, p.end.day) == (5, 27)  # after the Monday holiday


def test_offset_from_a_holiday_then_weekday_of_that_week() -> None:
    # Christmas 2031 is a Thursday; three weeks on is Thursday 15 January 2032.
    assert _start("3 weeks after Christmas on Monday")[:3] == (2032, 1, 12)  # type: ignore[index]


def test_one_moment_written_in_two_zones_is_not_a_range() -> None:
    p = parse_time("11am EST - 10am CST", now=NOW, tz="UTC")
    assert p is not None and p.end is None
    assert p.start.astimezone(UTC).hour == 16


def test_two_zones_that_differ_stay_a_range() -> None:
    p = parse_time("9am PST - 1pm EST", now=NOW, tz="UTC")
    assert p is not None and p.end is not None
    assert p.start.astimezone(UTC).hour == 17 and p.end.astimezone(UTC).hour == 18


def _found(text: str) -> list[str]:
    return [p.text for p in extract_times(text, now=NOW, tz="UTC", include_excluded=True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("September suits us better.", ["September"]),
        ("I'll be back in May.", ["in May"]),
        ("May I ask who else attends?", []),
        ("We may march on regardless.", []),
        ("June and Jan will join the call.", []),  # names, not months
        ("Back in August.", ["in August"]),
        ("I now have the signed copy.", []),
        ("Let's hold off for now.", []),
        ("Are you free to talk now?", ["now"]),
        ("Are you free right now?", ["right now"]),
        ("Right now I am scheduled to be away on Friday.", ["away on Friday"]),  # "currently"
        ("right now we're booked through Friday.", ["Friday"]),
        ("Call me right now, I'm at my desk.", ["right now"]),  # mid-clause: a time
        # With no day beside it, a meal after "to" or "for" is the outing: it says what kind of
        # meeting, not when, and reading it as today's lunchtime would invent the day.
        ("Can I take you to lunch?", []),
        ("How about the pizzeria for lunch?", []),
        ("Let's meet Tuesday for lunch.", ["Tuesday for lunch"]),
        ("Could we talk over lunch?", ["over lunch"]),
        ("We may have to skip the party this year.", []),  # the year we are in rules nothing out
        ("Let's pick this up next year.", ["next year"]),
        ("Could we meet at lunch on Friday?", ["at lunch on Friday"]),
        ("She will arrange a lunch with you and Brent.", []),  # the meal, not the hour
        ("Our lunch went well.", []),
        ("I am out on Monday: offsite all day.", ["Monday", "all day"]),
        ("Please reply as soon as possible.", ["as soon as possible"]),
        ("Given the post-9/11 rules, it is hard.", []),
        ("Can you do it after 12 your time?", ["after 12 your time"]),
        ("I'll fax it to you this am.", ["this am"]),
    ],
)
def test_extraction_in_real_mail(text: str, expected: list[str]) -> None:
    assert _found(text) == expected


def test_a_month_alone_is_the_next_one_to_come() -> None:
    p = parse_time("September", now=NOW, tz="UTC")
    assert p is not None and (p.start.year, p.start.month, p.grain) == (2031, 9, "month")


def test_german_month_that_looks_like_no_english_word() -> None:
    assert _start("17. Mai 2032") == (2032, 5, 17, 0, 0)


def test_after_hours_in_a_named_zone() -> None:
    found = extract_times("call me at home after hours Denver time", now=NOW, tz="UTC")
    assert [p.text for p in found] == ["after hours Denver time"]
    assert found[0].start.hour == 17 and found[0].start.utcoffset() is not None


def test_a_range_of_counts_takes_the_wider_window() -> None:
    p = parse_time("the next 3 - 4 weeks", now=NOW, tz="UTC")
    assert p is not None and p.end is not None
    assert (p.end - p.start).days == 28


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("between 12 and 19 June", (2031, 6, 12), (2031, 6, 20)),
        ("from the 14th to the 16th of April", (2031, 4, 14), (2031, 4, 17)),  # under way
        ("Apr 2-4", (2032, 4, 2), (2032, 4, 5)),  # over: next year's
    ],
)
def test_word_ranges_of_days_share_month_and_year(
    text: str, first: tuple[int, ...], last: tuple[int, ...]
) -> None:
    p = parse_time(text, now=NOW, tz="UTC")
    assert p is not None and p.end is not None
    assert (p.start.year, p.start.month, p.start.day) == first
    assert (p.end.year, p.end.month, p.end.day) == last


def test_one_day_or_week_from_a_holiday() -> None:
    assert _start("the day after Thanksgiving")[:3] == (2031, 11, 28)  # type: ignore[index]
    assert _start("the day before New Year's Eve")[:3] == (2031, 12, 30)  # type: ignore[index]
    assert _start("the day after tomorrow")[:3] == (2031, 4, 17)  # type: ignore[index]


def test_holiday_week_is_its_monday_to_sunday_week() -> None:
    p = parse_time("Christmas week", now=NOW, tz="UTC")
    assert p is not None and p.end is not None and p.grain == "week"
    assert (p.start.month, p.start.day, p.end.day) == (12, 22, 29)


def test_weekday_glued_to_a_slashed_date() -> None:
    assert _start("Fri.6/20")[:3] == (2031, 6, 20)  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("am Donnerstag um 16 Uhr", (2031, 4, 17, 16, 0)),  # not "the 16th"
        ("op 9 juni om 11.30 uur", (2031, 6, 9, 11, 30)),
        ("giovedì alle 8", (2031, 4, 17, 8, 0)),
        ("samedi 9h45", (2031, 4, 19, 9, 45)),
        ("el martes a las 10:30", (2031, 4, 22, 10, 30)),  # today is Tuesday: next week's
        ("Friday, 4 juli", (2031, 7, 4, 0, 0)),  # an English weekday beside a Dutch month
        ("2 de marzo", (2032, 3, 2, 0, 0)),  # no year: the next one to come
    ],
)
def test_other_languages_with_clock_words_and_mixed_text(
    text: str, expected: tuple[int, ...]
) -> None:
    assert _start(text) == expected


def test_fallback_rejects_a_weekday_that_does_not_fit() -> None:
    # 4 July 2031 is a Friday: a Monday beside it is a contradiction, not a reading.
    assert parse_time("lundi 4 juillet 2031", now=NOW, tz="UTC") is None
    assert _start("vendredi 4 juillet 2031") == (2031, 7, 4, 0, 0)


def test_versions_and_single_digit_dotted_pairs_are_not_dates() -> None:
    assert _found("Release 3.11 goes out on 14.07.") == ["14.07."]


def test_compact_date_at_the_end_of_a_sentence() -> None:
    assert _found("Order placed 20310602.") == ["20310602"]


@pytest.mark.parametrize(
    ("text", "phrase", "expected"),
    [
        ("Perfecto, el jueves a las 11 nos vemos.", "jueves a las 11", (2031, 4, 17, 11, 0)),
        ("Gern, am Freitag um 9 Uhr.", "Freitag um 9 Uhr", (2031, 4, 18, 9, 0)),
        ("D'accord pour mardi 22 avril à 16h.", "mardi 22 avril à 16h", (2031, 4, 22, 16, 0)),
        ("Prima, woensdag om 13.30 uur.", "woensdag om 13.30 uur", (2031, 4, 16, 13, 30)),
        ("Passt: 02.05. um 10 Uhr", "02.05. um 10 Uhr", (2031, 5, 2, 10, 0)),
    ],
)
def test_extraction_reads_foreign_runs_inside_sentences(
    text: str, phrase: str, expected: tuple[int, ...]
) -> None:
    found = extract_times(text, now=NOW, tz="UTC")
    assert [p.text for p in found] == [phrase]
    s = found[0].start.astimezone(UTC)
    assert (s.year, s.month, s.day, s.hour, s.minute) == expected
    assert found[0].confidence == "medium"


def test_english_reading_stays_when_a_foreign_word_is_only_a_name() -> None:
    assert _found("Drinks with Mai on Thursday at 6pm") == ["Thursday at 6pm"]


def test_place_names_read_as_zones_only_before_time() -> None:
    p = parse_time("4pm LA time on Thursday", now=NOW, tz="UTC")
    assert p is not None and p.start.weekday() == 3 and p.start.astimezone(UTC).hour == 23
    assert _start("11am India time")[3:] == (5, 30)  # type: ignore[index]
    assert detect_timezone("la reunión es el martes") == (None, "no time zone evidence")


def test_four_digits_before_a_day_are_a_number_not_a_time() -> None:
    assert _found("Meet in room 1410 on Tuesday") == ["Tuesday"]
    assert _found("Tuesday, 1615 works") == ["Tuesday, 1615"]


@pytest.mark.parametrize("text", ["The fee is EUR 12.50 per seat", "Price: 10.30", "total 14.45"])
def test_money_is_not_a_dotted_time(text: str) -> None:
    assert _found(text) == []
