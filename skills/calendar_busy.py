"""Free/busy truth: which calendar entries make a person busy, and when recurring ones occur.

Pure: no I/O, no clock, no provider SDK. Every calendar adapter turns its provider's shape (an
ICS VEVENT, a Google event, a Graph ``showAs``) into a :class:`CalendarItem` or a status word and
asks here, so "is Sam busy at 10?" has one answer whichever calendar Sam uses.

The rules (issue 7):

- cancelled entries and entries the owner declined are free;
- ``TRANSP:TRANSPARENT`` / show-as *free* / *working elsewhere* are free;
- all-day entries block their day only when marked busy (``TRANSP:OPAQUE`` or a show-as of
  busy, out-of-office or tentative): holidays, birthdays and "Sam WFH" banners must not wipe out
  a whole day of availability;
- tentative (event status, owner's response, or show-as) is busy unless the caller says not;
- recurring entries count as their real instances: RRULE and RDATE add them, EXDATE removes
  them, and an override with RECURRENCE-ID replaces the instance it names (moved or cancelled).

This lives in ``skills/`` rather than beside the ICS parser because the rule is domain logic the
local calendar and any adapter that lists events must share, and because it is plain arithmetic
on dates (``dateutil.rrule`` is a pure date library, not a provider SDK). Parsing ICS bytes is
format work and stays in ``connectors/calendar/ics.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from dateutil.rrule import rruleset, rrulestr

from skills.intervals import merge

Availability = Literal["free", "tentative", "busy"]

# An instance cap per series, so a pathological rule (FREQ=SECONDLY since 1970) cannot stall a
# worker; real meeting series stay far below it even over decades.
MAX_INSTANCES_PER_SERIES = 50_000

_SHOW_AS: dict[str, Availability] = {
    "free": "free",
    "transparent": "free",
    "workingelsewhere": "free",
    "working_elsewhere": "free",
    "tentative": "tentative",
    "busy": "busy",
    "oof": "busy",
    "outofoffice": "busy",
    "out_of_office": "busy",
}


@dataclass(frozen=True)
class CalendarItem:
    """One entry as it appears on one person's calendar (the "owner").

    ``start``/``end`` are aware datetimes, naive ("floating": read in the calendar's zone) or
    ``date`` for all-day entries. ``response`` is the owner's own answer (``accepted``,
    ``declined``, ``tentative``, ``needs_action``), ``None`` when the owner organises it.
    """

    start: date | datetime
    end: date | datetime | None = None
    duration: timedelta | None = None
    uid: str = ""
    title: str = ""
    rrules: tuple[str, ...] = ()
    rdates: tuple[date | datetime, ...] = ()
    exdates: tuple[date | datetime, ...] = ()
    recurrence_id: date | datetime | None = None
    transparency: str | None = None  # "opaque" | "transparent", None when not written
    show_as: str | None = None  # provider busy status: free, tentative, busy, oof, ...
    status: str = "confirmed"  # confirmed | tentative | cancelled
    response: str | None = None
    organizer: str = ""
    attendees: tuple[tuple[str, str], ...] = ()  # (email, response), for whoever stores it

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def recurring(self) -> bool:
        return bool(self.rrules or self.rdates)


@dataclass(frozen=True)
class Occurrence:
    """A real instance: aware ``start``/``end``; ``original_start`` is the slot the series
    gave it (its RECURRENCE-ID), equal to ``start`` unless the instance was moved."""

    start: datetime
    end: datetime
    original_start: datetime
    item: CalendarItem
    recurring: bool


# --- busy or not ------------------------------------------------------------------------------


def show_as_availability(show_as: str | None) -> Availability | None:
    """A provider's busy-status word as free/tentative/busy; ``None`` if unknown or absent."""
    if not show_as:
        return None
    return _SHOW_AS.get(show_as.strip().lower().replace("-", "_"))


def availability(item: CalendarItem) -> Availability:
    """How the entry shows on its owner's free/busy."""
    if item.status.lower() == "cancelled" or item.response == "declined":
        return "free"
    shown = show_as_availability(item.show_as)
    if shown == "free" or (item.transparency or "").lower() == "transparent":
        return "free"
    marked = shown is not None or (item.transparency or "").lower() == "opaque"
    if item.all_day and not marked:
        return "free"
    if shown == "tentative" or item.status.lower() == "tentative" or item.response == "tentative":
        return "tentative"
    return "busy"


def counts_as_busy(value: Availability | None, *, tentative_is_busy: bool = True) -> bool:
    """Whether an availability blocks a meeting. Unknown statuses block: proposing a time
    someone may not have is worse than skipping one they had."""
    if value is None:
        return True
    if value == "tentative":
        return tentative_is_busy
    return value == "busy"


# --- recurring expansion ----------------------------------------------------------------------


def to_aware(value: date | datetime, tz: tzinfo) -> datetime:
    """Dates become midnight and floating times get the calendar's zone."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=tz)
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value


def _duration(item: CalendarItem) -> timedelta:
    if item.end is not None:
        if isinstance(item.start, datetime) != isinstance(item.end, datetime):
            raise ValueError(f"start and end of {item.uid or item.title!r} mix dates and times")
        return item.end - item.start
    if item.duration is not None:
        return item.duration
    # RFC 5545 3.6.1: no end and no duration is one day for a date, zero for a date-time.
    return timedelta(days=1) if item.all_day else timedelta(0)


def _series_start(item: CalendarItem) -> datetime:
    """DTSTART as dateutil wants it: aware stays aware, dates and floating times stay naive
    (they repeat on the wall clock of whoever reads them)."""
    start = item.start
    if not isinstance(start, datetime):
        return datetime.combine(start, time(0))
    return start


def _like(value: date | datetime, dtstart: datetime, tz: tzinfo) -> datetime:
    """Bring an EXDATE/RDATE/RECURRENCE-ID to the same kind (aware or naive) as DTSTART."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, dtstart.time())
    if dtstart.tzinfo is None:
        if value.tzinfo is None:
            return value
        return value.astimezone(tz).replace(tzinfo=None)
    if value.tzinfo is None:
        return value.replace(tzinfo=dtstart.tzinfo)
    return value


def _fix_until(rule: str, dtstart: datetime, tz: tzinfo) -> str:
    """dateutil insists UNTIL is UTC for an aware DTSTART and floating for a naive one;
    exports do not always comply, so rewrite UNTIL to match instead of failing."""
    parts = rule.split(";")
    for index, part in enumerate(parts):
        key, _, raw = part.partition("=")
        if key.upper() != "UNTIL":
            continue
        if "T" in raw.upper():
            until = datetime.fromisoformat(raw.upper())  # basic format; a trailing Z is UTC
        else:
            # A date UNTIL includes that whole day.
            until = datetime.combine(date.fromisoformat(raw), time(23, 59, 59))
        if dtstart.tzinfo is None:
            if until.tzinfo is not None:
                until = until.astimezone(tz).replace(tzinfo=None)
            parts[index] = f"UNTIL={until:%Y%m%dT%H%M%S}"
        else:
            if until.tzinfo is None:
                until = until.replace(tzinfo=dtstart.tzinfo)
            parts[index] = f"UNTIL={until.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return ";".join(parts)


def _series(
    item: CalendarItem, tz: tzinfo, window_start: datetime, window_end: datetime
) -> list[datetime]:
    """Starts of the series' instances that may touch the window, aware."""
    dtstart = _series_start(item)
    rules = rruleset()
    for raw in item.rrules:
        body = raw.split(":", 1)[1] if raw.upper().startswith("RRULE:") else raw
        rules.rrule(rrulestr(_fix_until(body, dtstart, tz), dtstart=dtstart))
    if not item.rrules:
        # An RRULE yields DTSTART itself; a series made only of RDATEs must add it by hand.
        rules.rdate(dtstart)
    for value in item.rdates:
        rules.rdate(_like(value, dtstart, tz))
    for value in item.exdates:
        rules.exdate(_like(value, dtstart, tz))
    length = _duration(item)
    found: list[datetime] = []
    for count, instance in enumerate(rules):
        if count >= MAX_INSTANCES_PER_SERIES:
            break
        start = to_aware(instance, tz)
        if start >= window_end:
            break
        if start + length >= window_start:
            found.append(start)
    return found


def expand(
    items: Iterable[CalendarItem],
    *,
    window_start: datetime,
    window_end: datetime,
    tz: tzinfo = UTC,
) -> list[Occurrence]:
    """Every instance overlapping [window_start, window_end), sorted by start.

    Overrides (items with ``recurrence_id``) replace the series instance they name wherever
    they moved it, including into or out of the window. Cancelled entries are returned too,
    so a caller that mirrors a calendar can see them; :func:`busy_intervals` drops them.
    """
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValueError("window_start and window_end must be timezone-aware")
    masters: list[CalendarItem] = []
    overrides: dict[str, list[CalendarItem]] = {}
    for item in items:
        if item.recurrence_id is not None:
            overrides.setdefault(item.uid, []).append(item)
        else:
            masters.append(item)

    found: list[Occurrence] = []

    def add(item: CalendarItem, start: datetime, original: datetime, recurring: bool) -> None:
        end = start + _duration(item)
        # A zero-length entry still occupies its instant, so it must not vanish at the edges.
        if start < window_end and (end > window_start or (end == start >= window_start)):
            found.append(Occurrence(start, end, original, item, recurring))

    master_uids = set()
    for master in masters:
        master_uids.add(master.uid)
        moved = {
            to_aware(o.recurrence_id, tz).astimezone(UTC): o
            for o in overrides.get(master.uid, [])
            if o.recurrence_id is not None
        }
        if not master.recurring:
            start = to_aware(master.start, tz)
            if start.astimezone(UTC) not in moved:
                add(master, start, start, False)
            continue
        for start in _series(master, tz, window_start, window_end):
            if start.astimezone(UTC) not in moved:
                add(master, start, start, True)
    for uid, changed in overrides.items():
        for override in changed:
            assert override.recurrence_id is not None
            original = to_aware(override.recurrence_id, tz)
            # An orphan override (its series not in this feed) still is a real instance.
            add(override, to_aware(override.start, tz), original, uid in master_uids)
    found.sort(key=lambda o: (o.start, o.end, o.item.uid))
    return found


# --- busy time ------------------------------------------------------------------------------


def busy_intervals(
    items: Sequence[CalendarItem],
    *,
    window_start: datetime,
    window_end: datetime,
    tz: tzinfo = UTC,
    tentative_is_busy: bool = True,
) -> list[tuple[datetime, datetime]]:
    """Merged busy time inside the window, clipped to it, in UTC."""
    busy = []
    for occurrence in expand(items, window_start=window_start, window_end=window_end, tz=tz):
        if not counts_as_busy(availability(occurrence.item), tentative_is_busy=tentative_is_busy):
            continue
        start = max(occurrence.start, window_start).astimezone(UTC)
        end = min(occurrence.end, window_end).astimezone(UTC)
        if end > start:
            busy.append((start, end))
    return merge(busy)
