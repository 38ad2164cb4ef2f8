"""Days nobody should be asked to meet or be chased on: public holidays and the weekend.

One lookup for every caller (the slot finder's holidays, when a follow-up may go out): the
country is the one given (a setting), else the one the IANA zone belongs to (tzdata's
zone.tab: "America/New_York" is the US, "Europe/London" GB). A zone with no country ("UTC",
a fixed offset) has no public holidays here and a Saturday–Sunday weekend.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import holidays

SAT_SUN = frozenset({5, 6})
# A follow-up pushed off a day off goes out at this hour of the next working day, their time.
WORKDAY_START = time(9, 0)
# More consecutive days off than any calendar has; a guard, not a rule.
MAX_DAYS_OFF = 21


@cache
def _zone_countries() -> dict[str, str]:
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return {row[2]: row[0] for row in rows if len(row) >= 3}


def country_of_zone(zone: str) -> str | None:
    """The ISO 3166 code of the country an IANA zone belongs to, if it names one."""
    return _zone_countries().get(zone)


@cache
def _calendar(country: str) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:  # a country the package has no calendar for
        return None


def public_holidays(
    zone: str, first: date, last: date, *, country: str | None = None
) -> frozenset[date]:
    """Public holidays from `first` to `last` (inclusive) where `zone` is, or in `country`."""
    calendar = _calendar(country or country_of_zone(zone) or "")
    if calendar is None or last < first:
        return frozenset()
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return frozenset(day for day in days if day in calendar)


def weekend(zone: str, *, country: str | None = None) -> frozenset[int]:
    """The weekdays (Monday = 0) that are the weekend where `zone` is."""
    calendar = _calendar(country or country_of_zone(zone) or "")
    return frozenset(calendar.weekend) if calendar is not None else SAT_SUN


def next_working_moment(moment: datetime, zone: str, *, country: str | None = None) -> datetime:
    """`moment` itself when it falls on a working day in `zone`; else the start of the next
    working day there (`WORKDAY_START`, their time)."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    days_off = weekend(zone, country=country)
    off = public_holidays(
        zone, local.date(), local.date() + timedelta(days=MAX_DAYS_OFF), country=country
    )
    day = local.date()
    for _ in range(MAX_DAYS_OFF):
        if day.weekday() not in days_off and day not in off:
            break
        day += timedelta(days=1)
    if day == local.date():
        return moment
    return datetime.combine(day, WORKDAY_START, tzinfo=tz).astimezone(moment.tzinfo)
