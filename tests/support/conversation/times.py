"""Times the script refers to: a wall-clock time somewhere, or the n-th time an email offered; and
reading times back out of an email's text, independently of the code that wrote them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.support.conversation.world import World


@dataclass(frozen=True)
class Offered:
    """The n-th time (from 1) listed in the latest email that offered times."""

    n: int

    def __str__(self) -> str:
        return f"offered time #{self.n}"


When = datetime | Offered


def local(text: str, zone: str) -> datetime:
    """`local("2026-12-09 14:00", "America/New_York")`: a wall-clock time somewhere."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def resolve(world: World, when: When) -> datetime:
    if isinstance(when, datetime):
        return when
    assert world.offers, "no email has offered times yet"
    latest = world.offers[-1]
    assert len(latest) >= when.n, f"the latest email offered only {len(latest)} times"
    return latest[when.n - 1]


# Times as the emails write them: "Tue, Dec 8 at 9:00 AM EST", and when the rep's zone differs,
# the same moment in theirs: "(3:00 PM CET)".
_CLOCK = r"(\d{1,2}):(\d{2}) (AM|PM) ([A-Z][A-Za-z]{1,4}|[+-]\d{2,4})"
_SLOT = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    rf"(\d{{1,2}}) at {_CLOCK}(?: \({_CLOCK}\))?"
)
# Anything else that looks like a time of day.
_STRAY_TIME = re.compile(r"\b\d{1,2}(?::\d{2})?\s?[ap]\.?m\b|\b\d{1,2}:\d{2}\b", re.IGNORECASE)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _hour(hour: str, half: str) -> int:
    return int(hour) % 12 + (12 if half == "PM" else 0)


def times_in(body: str, *, zone: str, rep_zone: str, now: datetime) -> list[datetime]:
    """Every time the body mentions, read independently of the code that wrote it. Each must
    be written in `zone` (its abbreviation checked), with `rep_zone`'s clock alongside only
    when that differs; any other time-like text is an error, not silently skipped."""
    found = []
    for match in _SLOT.finditer(body):
        weekday, month, day, hour, minute, half, abbrev = match.groups()[:7]
        moment = None
        for year in (now.year, now.year + 1):
            candidate = datetime(
                year,
                _MONTHS.index(month) + 1,
                int(day),
                _hour(hour, half),
                int(minute),
                tzinfo=ZoneInfo(zone),
            )
            if candidate >= now - timedelta(days=1):
                moment = candidate
                break
        assert moment is not None, f"{match.group(0)!r} is in the past"
        assert f"{moment:%a}" == weekday, f"{match.group(0)!r}: that date is not a {weekday}"
        assert moment.tzname() == abbrev, f"{match.group(0)!r} is not in {zone}"
        also = match.groups()[7:]
        ours = moment.astimezone(ZoneInfo(rep_zone))
        if also[0] is not None:
            shown = (_hour(also[0], also[2]), int(also[1]), also[3])
            assert shown == (ours.hour, ours.minute, ours.tzname()), (
                f"{match.group(0)!r}: the bracketed time is not the same moment in {rep_zone}"
            )
        else:
            assert ours.tzname() == moment.tzname(), (
                f"{match.group(0)!r} should also show the time in {rep_zone}"
            )
        found.append(moment)
    leftover = _STRAY_TIME.findall(_SLOT.sub("", body))
    assert not leftover, f"times not written as a slot: {leftover} in {body!r}"
    return found
