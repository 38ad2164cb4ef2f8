"""References back to a day named earlier: "that day", "that week", "the same afternoon"."""

from __future__ import annotations

from datetime import UTC, date, datetime

from skills.parse_times import (
    compare_to_proposed,
    extract_days,
    extract_times,
    match_to_proposed,
)

# A Wednesday afternoon in autumn.
NOW = datetime(2032, 10, 13, 15, 0, tzinfo=UTC)


def _read(text: str) -> list[tuple[str, date, str]]:
    return [
        (p.text, p.start.date(), p.grain)
        for p in extract_times(text, now=NOW, tz="UTC", include_excluded=True)
    ]


def test_part_of_day_after_that_takes_the_day_named_before() -> None:
    found = extract_times("Friday suits me, ideally that morning.", now=NOW, tz="UTC")
    assert [p.text for p in found] == ["Friday", "that morning"]
    morning = found[1]
    assert morning.start == datetime(2032, 10, 15, 9, 0, tzinfo=UTC)
    assert morning.confidence == "high"


def test_clock_on_that_day_takes_the_day_named_before() -> None:
    found = extract_times("The 21st is open. Could we say 4pm that day?", now=NOW, tz="UTC")
    assert found[-1].start == datetime(2032, 10, 21, 16, 0, tzinfo=UTC)


def test_that_week_is_the_week_of_the_day_named_before() -> None:
    found = extract_times(
        "I fly home on November 10 and stay in town all that week.", now=NOW, tz="UTC"
    )
    week = found[-1]
    assert week.grain == "week"
    assert (week.start.date(), week.end and week.end.date()) == (
        date(2032, 11, 8),
        date(2032, 11, 15),
    )


def test_the_same_day_after_a_holiday() -> None:
    text = "We host a party on Thanksgiving; the same evening I could call you."
    assert _read(text)[-1][1] == date(2032, 11, 25)


def test_a_range_of_days_is_not_a_day_to_point_back_to() -> None:
    # "until Friday" spans days; the day meant is "Tuesday", named before it.
    found = extract_times(
        "Tuesday is good, though I'm travelling until Friday. That afternoon?", now=NOW, tz="UTC"
    )
    assert found[-1].start.date() == date(2032, 10, 19)


def test_unanchored_reference_is_read_but_unsure() -> None:
    text = "Sadly I'm travelling that day."
    found = extract_times(text, now=NOW, tz="UTC", include_excluded=True)
    assert [p.text.endswith("that day") for p in found] == [True]
    assert found[0].confidence == "low"


def test_unanchored_reference_is_not_placed_on_a_calendar() -> None:
    text = "Sadly I'm off that day."
    slot = datetime(2032, 10, 13, 16, 0, tzinfo=UTC)
    assert extract_days(text, now=NOW, tz="UTC") == []
    assert compare_to_proposed(text, [slot], now=NOW, tz="UTC") == []
    assert match_to_proposed("That day works.", [slot], now=NOW, tz="UTC") is None


def test_that_followed_by_other_words_is_no_reference() -> None:
    assert _read("That daily report is late; that weekly call too.") == []


def test_a_pick_among_times_named_elsewhere_is_no_time_of_its_own() -> None:
    assert _read("Please book one of the evenings you mentioned.") == []
    assert _read("Either of the Thursdays is fine by me.") == []


def test_a_pick_keeps_the_day_it_is_given() -> None:
    assert _read("One of the mornings on Friday, then.") == [
        ("mornings on Friday", date(2032, 10, 15), "part_of_day")
    ]
