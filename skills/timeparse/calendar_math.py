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


HOLIDAYS = {
    "christmas eve": _fixed(12, 24),
    "christmas day": _fixed(12, 25),
    "christmas": _fixed(12, 25),
    "xmas": _fixed(12, 25),
    "xmas eve": _fixed(12, 24),
    "boxing day": _fixed(12, 26),
    "new year's eve": _fixed(12, 31),
    "new years eve": _fixed(12, 31),
    "new year's day": _fixed(1, 1),
    "new years day": _fixed(1, 1),
    "new year's": _fixed(1, 1),
    "new years": _fixed(1, 1),
    "valentine's day": _fixed(2, 14),
    "valentines day": _fixed(2, 14),
    "st patrick's day": _fixed(3, 17),
    "independence day": _fixed(7, 4),
    "halloween": _fixed(10, 31),
    "veterans day": _fixed(11, 11),
    "mlk day": _nth(1, 0, 3),
    "presidents day": _nth(2, 0, 3),
    "memorial day": _nth(5, 0, -1),
    "labor day": _nth(9, 0, 1),
    "thanksgiving": _nth(11, 3, 4),
    "thanksgiving day": _nth(11, 3, 4),
    "black friday": lambda y: _nth(11, 3, 4)(y) + timedelta(days=1),
    "easter": easter,
    "easter sunday": easter,
    "good friday": lambda y: easter(y) - timedelta(days=2),
    "easter monday": lambda y: easter(y) + timedelta(days=1),
}
