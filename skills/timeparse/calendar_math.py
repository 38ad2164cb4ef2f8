"""Calendar arithmetic on plain dates (no zones, no clock)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def safe_date(year: int, month: int, day: int) -> date | None:
    if not (1 <= month <= 12) or not (1 <= day <= 31) or not (1 <= year <= 9999):
        return None
    if day > month_length(year, month):
        return None
    return date(year, month, day)


def add_months(d: date, months: int) -> date:
    """Same day-of-month ``months`` later, clamped to the month's last day."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, month_length(year, month)))


def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def nth_weekday_of_month(year: int, month: int, weekday: int, n: int) -> date | None:
    """The n-th (1-based) weekday of a month; n = -1 is the last one."""
    if n < 0:
        last = date(year, month, month_length(year, month))
        d = last - timedelta(days=(last.weekday() - weekday) % 7)
        d -= timedelta(weeks=-n - 1)
        return d if d.month == month else None
    first = date(year, month, 1)
    d = first + timedelta(days=(weekday - first.weekday()) % 7) + timedelta(weeks=n - 1)
    return d if d.month == month else None


def full_weeks(first: date, last: date) -> list[date]:
    """Mondays of the Monday-Sunday weeks lying entirely within [first, last]."""
    monday = first + timedelta(days=(-first.weekday()) % 7)
    out = []
    while monday + timedelta(days=6) <= last:
        out.append(monday)
        monday += timedelta(weeks=1)
    return out


def easter(year: int) -> date:
    """Western Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _fixed(month: int, day: int):  # noqa: ANN202 - tiny closure factory
    return lambda year: date(year, month, day)


def _nth(month: int, weekday: int, n: int):  # noqa: ANN202
    def pick(year: int) -> date:
        found = nth_weekday_of_month(year, month, weekday, n)
        assert found is not None  # the 1st-4th and last weekday always exist
        return found

    return pick


def _before_weekday(month: int, day: int, weekday: int):  # noqa: ANN202
    """The last ``weekday`` strictly before ``month``/``day`` (Victoria Day: before May 25)."""

    def pick(year: int) -> date:
        d = date(year, month, day) - timedelta(days=1)
        return d - timedelta(days=(d.weekday() - weekday) % 7)

    return pick


def _from_easter(days: int):  # noqa: ANN202
    return lambda year: easter(year) + timedelta(days=days)


def _thanksgiving(year: int) -> date:
    return _nth(11, 3, 4)(year)


# Public holidays of the English-speaking business calendar: fixed dates, n-th weekdays and
# Easter-based days.  Lunar calendars (Eid, Diwali, Hanukkah...) need tables, so they are left
# out rather than guessed.  Where countries disagree the US date is used (Mother's Day is the
# second Sunday of May; Labour Day the first Monday of September).  Apostrophes are optional
# when matching ("fathers day"), see ``holiday_key``.
HOLIDAYS = {
    "christmas eve": _fixed(12, 24),
    "christmas day": _fixed(12, 25),
    "christmas": _fixed(12, 25),
    "xmas": _fixed(12, 25),
    "xmas eve": _fixed(12, 24),
    "boxing day": _fixed(12, 26),
    "new year's eve": _fixed(12, 31),
    "new year's day": _fixed(1, 1),
    "new year's": _fixed(1, 1),
    "valentine's day": _fixed(2, 14),
    "valentine day": _fixed(2, 14),
    "st patrick's day": _fixed(3, 17),
    "st. patrick's day": _fixed(3, 17),
    "saint patrick's day": _fixed(3, 17),
    "st paddy's day": _fixed(3, 17),
    "saint paddy's day": _fixed(3, 17),
    "independence day": _fixed(7, 4),
    "halloween": _fixed(10, 31),
    "veterans day": _fixed(11, 11),
    "veteran's day": _fixed(11, 11),
    "veteran day": _fixed(11, 11),
    "canada day": _fixed(7, 1),
    "dominion day": _fixed(7, 1),
    "anzac day": _fixed(4, 25),
    "mlk day": _nth(1, 0, 3),
    "martin luther king day": _nth(1, 0, 3),
    "martin luther king's day": _nth(1, 0, 3),
    "martin luther king jr day": _nth(1, 0, 3),
    "presidents day": _nth(2, 0, 3),
    "presidents' day": _nth(2, 0, 3),
    "president's day": _nth(2, 0, 3),
    "president day": _nth(2, 0, 3),
    "washington's birthday": _nth(2, 0, 3),
    "family day": _nth(2, 0, 3),
    "mother's day": _nth(5, 6, 2),
    "father's day": _nth(6, 6, 3),
    "memorial day": _nth(5, 0, -1),
    "victoria day": _before_weekday(5, 25, 0),
    "early may bank holiday": _nth(5, 0, 1),
    "spring bank holiday": _nth(5, 0, -1),
    "august bank holiday": _nth(8, 0, -1),
    "summer bank holiday": _nth(8, 0, -1),
    "late summer bank holiday": _nth(8, 0, -1),
    "civic holiday": _nth(8, 0, 1),
    "labor day": _nth(9, 0, 1),
    "labour day": _nth(9, 0, 1),
    "thanksgiving": _thanksgiving,
    "thanksgiving day": _thanksgiving,
    "black friday": lambda y: _thanksgiving(y) + timedelta(days=1),
    "cyber monday": lambda y: _thanksgiving(y) + timedelta(days=4),
    "easter": easter,
    "easter sunday": easter,
    "easter mon": _from_easter(1),
    "easter monday": _from_easter(1),
    "good friday": _from_easter(-2),
    "maundy thursday": _from_easter(-3),
    "holy thursday": _from_easter(-3),
    "palm sunday": _from_easter(-7),
    "mothering sunday": _from_easter(-21),
    "shrove tuesday": _from_easter(-47),
    "pancake day": _from_easter(-47),
    "mardi gras": _from_easter(-47),
    "ash wednesday": _from_easter(-46),
    "pentecost": _from_easter(49),
    "whitsunday": _from_easter(49),
    "whit sunday": _from_easter(49),
    "whit monday": _from_easter(50),
}


def holiday_key(name: str) -> str:
    """Lookup form of a holiday name: single spaces, no apostrophes ("fathers day")."""
    return " ".join(name.replace("'", "").replace("’", "").split())


HOLIDAY_DATES = {holiday_key(name): rule for name, rule in HOLIDAYS.items()}
