"""Public holidays for the slot finder: which country's a person keeps, and its dates.

Our side keeps the org's `HOLIDAY_COUNTRY` when it is set (``US``, or ``DE-BY`` with a
subdivision); otherwise everyone, prospect included, keeps the country of their IANA zone, as
tzdata's ``zone.tab`` records it (America/New_York is US, Europe/London GB, Asia/Tokyo JP).
``zone.tab`` names one country per zone, where ``zone1970.tab`` lists every country sharing a
clock (Europe/Berlin keeps Norway's time too, not its holidays). Older names (US/Eastern,
Asia/Calcutta) are followed to the zone they link to through ``tzdata.zi``. A zone of no country
(UTC, Etc/GMT+5) keeps no holidays: a request whose prospect's zone we don't know gets no
prospect holidays rather than guessed ones.

The dates come from the `holidays` package; the finder (skills/find_slots.py) stays pure and is
only handed them.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path

import holidays

_CODE = re.compile(r"^([A-Z]{2})(?:-([A-Z0-9]{1,3}))?$")


def zone_country(zone: str) -> str | None:
    """The ISO 3166 code of the country whose clock `zone` keeps, or None for UTC and the like."""
    countries, links = _zone_table()
    seen = set()
    while zone in links and zone not in seen:  # a link may point at another link
        seen.add(zone)
        zone = links[zone]
    return countries.get(zone)


def country_error(code: str) -> str | None:
    """Why `code` cannot name the holidays to keep (for `convene doctor`), or None."""
    match = _CODE.match(code)
    if match is None:
        return f"{code!r} is not an ISO 3166 country code like US, or one with a subdivision: DE-BY"
    country, subdivision = match.groups()
    try:
        holidays.country_holidays(country, subdiv=subdivision, years=2026)
    except NotImplementedError as error:
        return str(error)
    return None


def holidays_between(code: str | None, first: date, last: date) -> frozenset[date]:
    """Public holidays of `code` (``US``, ``DE-BY``) from `first` to `last`, inclusive; none for
    no country or one the `holidays` package doesn't know."""
    return frozenset(holiday_names(code, first, last))


def holiday_names(code: str | None, first: date, last: date) -> dict[date, str]:
    """The same holidays with their names ("Christmas Day"), for telling the rep."""
    match = _CODE.match(code or "")
    if match is None:
        return {}
    country, subdivision = match.groups()
    return {
        day: name
        for year in range(first.year, last.year + 1)
        for day, name in _of_year(country, subdivision, year)
        if first <= day <= last
    }


@cache
def _of_year(country: str, subdivision: str | None, year: int) -> tuple[tuple[date, str], ...]:
    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError:
        return ()
    return tuple(sorted(found.items()))


@cache
def _zone_table() -> tuple[dict[str, str], dict[str, str]]:
    """zone -> country from zone.tab, and link -> target from tzdata.zi, read once."""
    countries: dict[str, str] = {}
    for line in _tz_lines("zone.tab"):
        if line and not line.startswith("#"):
            fields = line.split("\t")
            countries[fields[2]] = fields[0]
    links = {}
    for line in _tz_lines("tzdata.zi"):
        if line.startswith("L "):
            _, target, link = line.split()
            links[link] = target
    return countries, links


def _tz_lines(name: str) -> Iterator[str]:
    """A tz table's lines, from where zoneinfo reads zones: the system's tz directories first,
    else the tzdata package."""
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / name
        if path.is_file():
            yield from path.read_text(encoding="utf-8").splitlines()
            return
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return
    yield from text.splitlines()


SAT_SUN = frozenset({5, 6})


@cache
def weekend_days(code: str | None) -> frozenset[int]:
    """The weekdays (Monday = 0) that are the weekend in `code`'s country: Saturday and Sunday
    for no country, or one the `holidays` package doesn't know."""
    match = _CODE.match(code or "")
    if match is None:
        return SAT_SUN
    country, subdivision = match.groups()
    try:
        return frozenset(holidays.country_holidays(country, subdiv=subdivision).weekend)
    except NotImplementedError:
        return SAT_SUN
