"""Half-open ``[start, end)`` intervals of aware datetimes, and the wall-clock instants that
bound them.

Pure arithmetic shared by the slot finder, free/busy and the morning brief, so "what is left of
this span once those are cut out" has one answer. Lists are sorted by start; ``merge`` makes them
disjoint, and the other operations keep them so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union in UTC; touching intervals join, empty ones vanish."""
    merged: list[Interval] = []
    ordered = sorted(intervals, key=itemgetter(0))
    if not ordered:
        return merged
    cur_start, cur_end = ordered[0]
    for start, end in ordered:
        if start > cur_end:
            if cur_end > cur_start:
                merged.append((cur_start.astimezone(UTC), cur_end.astimezone(UTC)))
            cur_start, cur_end = start, end
        elif end > cur_end:
            cur_end = end
    if cur_end > cur_start:
        merged.append((cur_start.astimezone(UTC), cur_end.astimezone(UTC)))
    return merged


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(base: list[Interval], cuts: list[Interval]) -> list[Interval]:
    """``base`` minus ``cuts``; ``cuts`` must be sorted by start and end but may overlap."""
    out = []
    j = 0
    for start, end in base:
        while j < len(cuts) and cuts[j][1] <= start:
            j += 1
        cursor = start
        k = j
        while k < len(cuts) and cuts[k][0] < end:
            if cuts[k][0] > cursor:
                out.append((cursor, cuts[k][0]))
            cursor = max(cursor, cuts[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(intervals: list[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    return [(max(s, lo), min(e, hi)) for s, e in intervals if s < hi and e > lo and lo < hi]


def wall(day: date, since_midnight: timedelta, tz: ZoneInfo) -> datetime:
    """The UTC instant at a wall-clock offset from local midnight; DST-correct via zoneinfo."""
    naive = datetime.combine(day, time()) + since_midnight
    return naive.replace(tzinfo=tz).astimezone(UTC)


def since_midnight(moment: time) -> timedelta:
    return timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second)


def dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def first_on_grid(moment: datetime, tz: ZoneInfo, step: timedelta) -> datetime:
    """The first start at or after ``moment`` that is a multiple of ``step`` from local midnight.

    Allowed windows never cross 20:00-07:00 for the prospect, where DST changes happen, so one
    offset holds for the whole window.
    """
    local = moment.astimezone(tz).replace(tzinfo=None)
    late_by = (local - datetime.combine(local.date(), time())) % step
    return moment if not late_by else moment + (step - late_by)
