"""One case at least for each kind of time real mail writes, read inside a sentence.

Bare expressions are covered in ``test_parse_times_real_text``; here each kind sits in the
kind of sentence it comes in, so the extraction has to find it and read it whole.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from skills.parse_times import extract_times, parse_time

# A Tuesday morning in spring.
NOW = datetime(2031, 4, 15, 9, 0, tzinfo=UTC)

Moment = tuple[int, int, int, int, int]


def _moment(d: datetime) -> Moment:
    u = d.astimezone(UTC)
    return (u.year, u.month, u.day, u.hour, u.minute)


def _only(text: str, tz: str = "UTC") -> tuple[str, Moment, Moment | None]:
    found = extract_times(text, now=NOW, tz=tz, include_excluded=True)
    assert len(found) == 1, [p.text for p in found]
    p = found[0]
    return p.text, _moment(p.start), _moment(p.end) if p.end else None


@pytest.mark.parametrize(
    ("text", "phrase", "start"),
    [
        ("Could we move it to 27.06. instead?", "27.06.", (2031, 6, 27, 0, 0)),
        ("I am free on Friday 23.05 all day.", "Friday 23.05", (2031, 5, 23, 0, 0)),
        ("Back in the office from 2.6. onwards.", "2.6.", (2031, 6, 2, 0, 0)),
    ],
)
def test_day_first_dotted_dates(text: str, phrase: str, start: Moment) -> None:
    found, begins, _ = _only(text)
    assert phrase in found and begins == start


def test_day_first_dotted_date_range() -> None:
    _, start, end = _only("The fair runs 12.05 - 14.05 in Hall B.")
    assert (start, end) == ((2031, 5, 12, 0, 0), (2031, 5, 15, 0, 0))


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("Deadline: Fri 9 May 2215 sharp.", (2031, 5, 9, 22, 15), None),
        ("Flight lands Thu 8 May 0645.", (2031, 5, 8, 6, 45), None),
        ("The session runs 0845-1020 on 9 May.", (2031, 5, 9, 8, 45), (2031, 5, 9, 10, 20)),
    ],
)
def test_four_digit_24_hour_times_after_a_date(
    text: str, start: Moment, end: Moment | None
) -> None:
    _, begins, ends = _only(text)
    assert (begins, ends) == (start, end)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("Doors open at 07.15 tomorrow.", (2031, 4, 16, 7, 15), None),
        ("Can we talk 13.45-14.30 on Thursday?", (2031, 4, 17, 13, 45), (2031, 4, 17, 14, 30)),
        ("I'm free between 14.00 and 15.30 today.", (2031, 4, 15, 14, 0), (2031, 4, 15, 15, 30)),
        ("Free between 08.00 and 09.00 on Friday.", (2031, 4, 18, 8, 0), (2031, 4, 18, 9, 0)),
    ],
)
def test_dotted_clock_times(text: str, start: Moment, end: Moment | None) -> None:
    _, begins, ends = _only(text)
    assert (begins, ends) == (start, end)


def test_dotted_clock_on_the_hour_alone() -> None:
    # "09.00" has no month 0: it can only be a clock.
    _, begins, _ = _only("The shuttle leaves 09.00 from the hotel.")
    assert begins == (2031, 4, 15, 9, 0)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        (
            "Any day between the fourth and the twelfth of May.",
            (2031, 5, 4, 0, 0),
            (2031, 5, 13, 0, 0),
        ),
        ("Call me from 1:15 to 2:45 pm tomorrow.", (2031, 4, 16, 13, 15), (2031, 4, 16, 14, 45)),
        ("I'm out Monday to Wednesday.", (2031, 4, 21, 0, 0), (2031, 4, 24, 0, 0)),
        ("We are closed Fri-Mon.", (2031, 4, 18, 0, 0), (2031, 4, 22, 0, 0)),
    ],
)
def test_ranges_in_words(text: str, start: Moment, end: Moment) -> None:
    _, begins, ends = _only(text)
    assert (begins, ends) == (start, end)


def test_weekday_range_never_ends_before_it_starts() -> None:
    # Said on a Tuesday: "Monday" is next week's, so "Wednesday" is the one after it.
    p = parse_time("from Monday through Wednesday", now=NOW, tz="UTC")
    assert p is not None and p.end is not None
    assert (p.start.day, p.end.day) == (21, 24)


def test_within_a_number_of_hours() -> None:
    _, begins, _ = _only("I will reply within 2h.")
    assert begins == (2031, 4, 15, 11, 0)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("Shipped on 2031/17/Jun, invoiced later.", (2031, 6, 17, 0, 0)),
        ("Your booking: Jun-17-2031.", (2031, 6, 17, 0, 0)),
        ("Ref 20310617 is the start date.", (2031, 6, 17, 0, 0)),
        ("How about Jun/17?", (2031, 6, 17, 0, 0)),
        ("Signed 17-Jun-2031 by both parties.", (2031, 6, 17, 0, 0)),
    ],
)
def test_year_first_and_unusual_orders(text: str, start: Moment) -> None:
    _, begins, _ = _only(text)
    assert begins == start


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("We close over Christmas.", (2031, 12, 25, 0, 0)),
        ("Shall we aim for the Friday before Christmas?", (2031, 12, 19, 0, 0)),
        ("Let's start the Tuesday after Labor Day.", (2031, 9, 2, 0, 0)),
        ("Maybe the Monday after Easter.", (2032, 3, 29, 0, 0)),  # this year's has passed
        ("2 weeks after Thanksgiving on Tuesday works.", (2031, 12, 9, 0, 0)),
    ],
)
def test_named_holidays(text: str, start: Moment) -> None:
    _, begins, _ = _only(text)
    assert begins == start


def test_counted_weekday_after_a_holiday() -> None:
    p = parse_time("the 3rd Monday after Easter", now=NOW, tz="UTC")
    assert p is not None and _moment(p.start) == (2032, 4, 12, 0, 0)


def test_weekday_before_a_clock_is_still_that_weekday() -> None:
    p = parse_time("Friday after 3pm", now=NOW, tz="UTC")
    assert p is not None and _moment(p.start) == (2031, 4, 18, 15, 0)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("Would 3pm my time on Friday the 18th suit you?", (2031, 4, 18, 15, 0)),
        ("Shall we say 10am London time Thursday?", (2031, 4, 17, 9, 0)),  # BST is UTC+1
        ("Thursday at 10am Tokyo time is best.", (2031, 4, 17, 1, 0)),
    ],
)
def test_zone_on_a_time_with_the_date_elsewhere(text: str, start: Moment) -> None:
    _, begins, _ = _only(text)
    assert begins == start


def test_one_moment_in_two_zones() -> None:
    _, begins, ends = _only("The call is 2pm EST - 11am PST.")
    assert (begins, ends) == ((2031, 4, 15, 19, 0), None)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("Friday 30 is the earliest.", (2031, 5, 30, 0, 0)),  # the next Friday that is a 30th
        ("Tuesday 14 works for me.", (2031, 10, 14, 0, 0)),
        ("Perhaps Monday the 9th?", (2031, 6, 9, 0, 0)),
        ("Shall we say Mar 2?", (2032, 3, 2, 0, 0)),  # no year: the next one to come
    ],
)
def test_weekday_with_ordinal_and_future_dates(text: str, start: Moment) -> None:
    _, begins, _ = _only(text)
    assert begins == start


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("I can do early morning tomorrow.", (2031, 4, 16, 6, 0), (2031, 4, 16, 9, 0)),
        ("Late afternoon suits me best.", (2031, 4, 15, 15, 0), (2031, 4, 15, 17, 0)),
        ("Thursday early evening?", (2031, 4, 17, 17, 0), (2031, 4, 17, 19, 0)),
    ],
)
def test_parts_of_the_day(text: str, start: Moment, end: Moment) -> None:
    _, begins, ends = _only(text)
    assert (begins, ends) == (start, end)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("Hola, ¿te va bien el lunes 5 de mayo?", (2031, 5, 5, 0, 0)),
        ("Passt dir Freitag, 16. Mai?", (2031, 5, 16, 0, 0)),
        ("Je propose mardi 20 mai à 15h.", (2031, 5, 20, 15, 0)),
        ("Possiamo vederci martedì 13 maggio alle 10?", (2031, 5, 13, 10, 0)),
        ("Kan het op woensdag 14 mei?", (2031, 5, 14, 0, 0)),
        ("Pode ser segunda-feira, 19 de maio às 14h?", (2031, 5, 19, 14, 0)),
    ],
)
def test_other_languages_read_by_the_fallback(text: str, start: Moment) -> None:
    found = extract_times(text, now=NOW, tz="UTC")
    assert [_moment(p.start) for p in found] == [start]
    assert all(p.confidence == "medium" for p in found)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("Can we talk first thing Monday?", (2031, 4, 21, 6, 0)),
        ("I'll ring you tomorrow first thing.", (2031, 4, 16, 6, 0)),
        ("I will call first thing on Friday", (2031, 4, 18, 6, 0)),
    ],
)
def test_first_thing_next_to_a_day_is_its_early_morning(text: str, start: Moment) -> None:
    _, begins, _ = _only(text)
    assert begins == start


@pytest.mark.parametrize(
    "text",
    [
        "The first thing we need is a budget.",
        "First thing I'll do is read it.",
        "It is first thing on the agenda.",
    ],
)
def test_first_thing_without_a_day_is_no_time(text: str) -> None:
    assert extract_times(text, now=NOW, tz="UTC") == []


def test_dotted_range_before_a_comma() -> None:
    found = extract_times(
        "I'm out of the office 22.04 - 25.04, back on Monday 28.04.",
        now=NOW,
        tz="UTC",
        include_excluded=True,
    )
    away = found[0]
    assert away.end is not None
    assert (_moment(away.start), _moment(away.end)) == ((2031, 4, 22, 0, 0), (2031, 4, 26, 0, 0))
    assert _moment(found[1].start) == (2031, 4, 28, 0, 0)


def test_dotted_clock_at_the_end_of_a_sentence() -> None:
    # "15" cannot be a month, so the dot after it is a full stop, not a day-first date's.
    _, begins, _ = _only("The last train leaves at 23.15.")
    assert begins == (2031, 4, 15, 23, 15)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("Can we do the week after Easter?", (2032, 3, 29, 0, 0), (2032, 4, 5, 0, 0)),
        ("Not the week before Christmas.", (2031, 12, 15, 0, 0), (2031, 12, 22, 0, 0)),
    ],
)
def test_the_week_next_to_a_holiday_is_a_calendar_week(
    text: str, first: Moment, last: Moment
) -> None:
    _, begins, ends = _only(text)
    assert (begins, ends) == (first, last)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # The number before the month is the day; the one after the comma starts the clock.
        ("Sat 3 May, 8-9.45am suits.", (2031, 5, 3, 8, 0), (2031, 5, 3, 9, 45)),
        # A weekday before a slashed date: the date is whole, the "@" time is its clock.
        ("Could we do Weds 23/4 @ 3pm?", (2031, 4, 23, 15, 0), None),
        # A month word after "through" with its day after it is a date, not the month.
        ("We shut Dec. 23 through Jan. 4.", (2031, 12, 23, 0, 0), (2032, 1, 5, 0, 0)),
    ],
)
def test_dates_and_clocks_that_sit_close_together(
    text: str, start: Moment, end: Moment | None
) -> None:
    _, begins, ends = _only(text)
    assert (begins, ends) == (start, end)


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        (
            "Thursday at 8am, 10am or 4pm?",
            [(2031, 4, 17, 8, 0), (2031, 4, 17, 10, 0), (2031, 4, 17, 16, 0)],
        ),
        # One moment in two zones: both halves are on the Thursday.
        ("Thursday 9am Pacific / noon Eastern?", [(2031, 4, 17, 16, 0), (2031, 4, 17, 16, 0)]),
    ],
)
def test_clocks_listed_after_a_dated_clock_share_its_day(text: str, starts: list[Moment]) -> None:
    found = extract_times(text, now=NOW, tz="UTC")
    assert [_moment(p.start) for p in found] == starts


def test_a_clock_in_the_next_sentence_is_not_in_the_list() -> None:
    found = extract_times("Thursday at 8am. At 4pm I have a call.", now=NOW, tz="UTC")
    assert [_moment(p.start) for p in found] == [(2031, 4, 17, 8, 0), (2031, 4, 15, 16, 0)]


def test_new_year_after_a_word_that_points_at_a_day() -> None:
    _, begins, ends = _only("I'm away between Christmas and New Year.")
    assert (begins, ends) == ((2031, 12, 25, 0, 0), (2032, 1, 2, 0, 0))
    _, begins, _ = _only("Let's pick this up after New Year.")
    assert begins == (2032, 1, 1, 0, 0)


@pytest.mark.parametrize("text", ["Happy New Year to you all!", "Our plans for the new year."])
def test_new_year_as_a_greeting_or_a_year_is_no_day(text: str) -> None:
    assert extract_times(text, now=NOW, tz="UTC") == []


@pytest.mark.parametrize(
    ("text", "echo"),
    [
        ("Thursday 10am EDT (3pm BST) suits me.", (2031, 4, 17, 14, 0)),
        ("I can ring tomorrow at 7:30 my time (that's 1:30 pm yours).", (2031, 4, 16, 13, 30)),
    ],
)
def test_a_clock_in_brackets_after_a_dated_clock_is_on_its_day(text: str, echo: Moment) -> None:
    found = extract_times(text, now=NOW, tz="UTC")
    assert _moment(found[-1].start) == echo


def test_within_the_hour_is_within_an_hour() -> None:
    _, begins, _ = _only("I'll send it within the hour.")
    assert begins == (2031, 4, 15, 10, 0)
