"""When an away note's writer is back: the day, in English and six other languages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from skills.out_of_office import back_at, next_workday, return_day

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # a Monday

CASES = [
    # Still away through the day named: back the next working day, never on a weekend.
    ("I am out of the office through Friday with limited access to email.", date(2026, 12, 7)),
    ("Out of office thru Thursday.", date(2026, 12, 4)),
    ("I'm off this week.", date(2026, 12, 7)),
    ("On leave through Sunday.", date(2026, 12, 7)),
    # A stretch that names no single day: back the first working day after it.
    (
        "I will be out of the office the rest of the week, so check with my assistant.",
        date(2026, 12, 7),
    ),
    ("I'm away early next week.", date(2026, 12, 10)),
    # The day back, as written.
    ("Back on Monday, December 14.", date(2026, 12, 14)),
    ("I am away until Wednesday.", date(2026, 12, 2)),
    # Other languages: dates day first, and weekdays read by the non-English fallback.
    ("Estoy fuera de la oficina hasta el 14 de diciembre.", date(2026, 12, 14)),
    ("Ich bin bis zum 14. Dezember nicht im Büro.", date(2026, 12, 14)),
    ("Je suis absent du bureau, de retour le 14 décembre.", date(2026, 12, 14)),
    ("Estoy de vacaciones hasta el viernes.", date(2026, 12, 4)),
    ("Ich bin bis Freitag im Urlaub.", date(2026, 12, 4)),
    ("Sono in ferie fino a venerdì.", date(2026, 12, 4)),
    ("Je suis absent jusqu'à lundi.", date(2026, 12, 7)),
    ("Ik ben met vakantie tot maandag.", date(2026, 12, 7)),
    ("Estou de férias até segunda-feira.", date(2026, 12, 7)),
]


@pytest.mark.parametrize(("text", "back"), CASES, ids=[c[0] for c in CASES])
def test_return_day(text: str, back: date) -> None:
    assert return_day(text, now=NOW, tz="America/New_York") == back


def test_a_weekend_gives_way_to_monday() -> None:
    assert next_workday(date(2026, 12, 5)) == date(2026, 12, 7)  # Saturday
    assert next_workday(date(2026, 12, 6)) == date(2026, 12, 7)  # Sunday
    assert next_workday(date(2026, 12, 4)) == date(2026, 12, 4)  # Friday


def test_back_is_nine_in_the_morning_where_they_are() -> None:
    assert back_at(date(2026, 12, 7), "Europe/Berlin") == datetime(2026, 12, 7, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "I'm on vacation for awhile.",
        # "That day" points at a day from the thread the note alone cannot name.
        "They are both out of the office that day.",
    ],
)
def test_no_return_day_when_none_is_said(text: str) -> None:
    assert return_day(text, now=NOW, tz="America/New_York") is None
