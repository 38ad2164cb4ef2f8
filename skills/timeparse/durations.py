"""Durations ("2 weeks 3 days", "1.5 hours") and moving dates/instants by them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from .calendar_math import add_months
from .context import Context
from .lexicon import UNIT_RE, UNITS
from .zones import localize

NUMBER = r"\d+(?:\.\d+)?"
# One or two "<n> <unit>" parts; "2h30" means 2 hours 30 minutes.
DURATION = (
    rf"(?P<n1>{NUMBER})\s*(?:-\s*|more\s+|extra\s+|additional\s+)?(?P<u1>{UNIT_RE})(?![a-z])"
    rf"(?:\s*(?:and\s+|,\s*)?(?P<n2>\d+)\s*(?P<u2>{UNIT_RE})?(?![a-z\d]))?"
)

_FIXED_UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "fortnight": timedelta(weeks=2),
}
GRAIN_OF_UNIT = {
    "second": "minute",
    "minute": "minute",
    "hour": "minute",
    "day": "day",
    "week": "day",
    "fortnight": "day",
    "month": "day",
    "year": "day",
}


def unit_of(word: str) -> str:
    return UNITS[re.sub(r"\s+", "", word)]


def parts(m: re.Match[str]) -> list[tuple[float, str]]:
    """The (amount, unit) parts of a DURATION match."""
    out = [(float(m.group("n1")), unit_of(m.group("u1")))]
    if m.group("n2"):
        second_unit = m.group("u2")
        if second_unit:
            out.append((float(m.group("n2")), unit_of(second_unit)))
        elif out[0][1] == "hour":
            out.append((float(m.group("n2")), "minute"))
        else:
            return []
    return out


def shift_date(day: date, amount: float, unit: str) -> date:
    if unit in ("month", "year"):
        return add_months(day, round(amount * (12 if unit == "year" else 1)))
    return day + timedelta(days=round(amount * _FIXED_UNITS[unit] / timedelta(days=1)))


def shift_instant(moment: datetime, amount: float, unit: str, ctx: Context) -> datetime:
    """``moment`` moved by a duration: elapsed time below a day, wall-clock time above.

    "In 2 hours" across a DST change is two real hours; "in 7 days" keeps the time of day.
    """
    if unit in ("second", "minute", "hour"):
        utc = moment.astimezone(UTC) + amount * _FIXED_UNITS[unit]
        return utc.astimezone(moment.tzinfo)
    local = moment.astimezone(ctx.tz)
    remainder = timedelta(0)
    if unit == "day" and not float(amount).is_integer():
        whole = int(amount)
        day = local.date() + timedelta(days=whole)
        remainder = (amount - whole) * timedelta(days=1)
    else:
        day = shift_date(local.date(), amount, unit)
    moved = localize(day, local.hour, local.minute, ctx.tz)[0]
    return moved + remainder


def to_timedelta(amount_units: list[tuple[float, str]]) -> timedelta | None:
    total = timedelta(0)
    for amount, unit in amount_units:
        if unit not in _FIXED_UNITS:
            if unit == "month":
                total += timedelta(days=30 * amount)
                continue
            return None
        total += amount * _FIXED_UNITS[unit]
    return total
