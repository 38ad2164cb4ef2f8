"""Read an RFC 5545 calendar (an ``.ics`` export) into :class:`CalendarItem`s.

Format work only: which entries are busy and when recurring ones occur is decided in
``skills/calendar_busy.py``. Parsing is lenient where real exports are sloppy (missing DTEND,
Outlook's ``X-MICROSOFT-CDO-BUSYSTATUS``) and strict where guessing would lie (a VEVENT without
DTSTART is rejected, not dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar

from skills.calendar_busy import CalendarItem

_PARTSTAT = {
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
    "NEEDS-ACTION": "needs_action",
    # Delegated means someone else attends in the owner's place: the owner is not held.
    "DELEGATED": "declined",
}


class IcsError(ValueError):
    """The bytes are not a calendar we can read."""


@dataclass(frozen=True)
class IcsCalendar:
    items: tuple[CalendarItem, ...]
    timezone: str | None  # X-WR-TIMEZONE, the zone for floating times and all-day dates


def _email(value: Any) -> str:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    return text.strip().lower()


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _dates(component: Any, name: str) -> tuple[date | datetime, ...]:
    values: list[date | datetime] = []
    for entry in _as_list(component.get(name)):
        values.extend(d.dt for d in entry.dts)
    return tuple(values)


def parse_ics(data: bytes | str, *, owner: str) -> IcsCalendar:
    """The VEVENTs of one person's calendar; ``owner`` decides whose PARTSTAT is "theirs"."""
    try:
        calendar = Calendar.from_ical(data)
    except ValueError as error:
        raise IcsError(f"not an iCalendar file: {error}") from error
    owner = owner.strip().lower()
    items = [_item(event, owner) for event in calendar.walk("VEVENT")]
    zone = calendar.get("X-WR-TIMEZONE")
    return IcsCalendar(items=tuple(items), timezone=str(zone) if zone else None)


def _item(event: Any, owner: str) -> CalendarItem:
    if event.get("DTSTART") is None:
        raise IcsError(f"VEVENT {event.get('UID')!s} has no DTSTART")
    start = event.decoded("DTSTART")
    end = event.decoded("DTEND") if event.get("DTEND") is not None else None
    duration = event.decoded("DURATION") if event.get("DURATION") is not None else None
    organizer = _email(event.get("ORGANIZER")) if event.get("ORGANIZER") is not None else ""
    attendees: list[tuple[str, str]] = []
    response: str | None = None
    for attendee in _as_list(event.get("ATTENDEE")):
        email = _email(attendee)
        partstat = _PARTSTAT.get(str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper())
        answer = partstat or "needs_action"
        attendees.append((email, answer))
        if email == owner and owner != organizer:
            response = answer
    recurrence_id = (
        event.decoded("RECURRENCE-ID") if event.get("RECURRENCE-ID") is not None else None
    )
    return CalendarItem(
        start=start,
        end=end,
        duration=duration if isinstance(duration, timedelta) else None,
        uid=str(event.get("UID", "")),
        title=str(event.get("SUMMARY", "")),
        rrules=tuple(r.to_ical().decode() for r in _as_list(event.get("RRULE"))),
        rdates=_dates(event, "RDATE"),
        exdates=_dates(event, "EXDATE"),
        recurrence_id=recurrence_id,
        transparency=str(event["TRANSP"]).lower() if event.get("TRANSP") else None,
        show_as=str(event["X-MICROSOFT-CDO-BUSYSTATUS"])
        if event.get("X-MICROSOFT-CDO-BUSYSTATUS")
        else None,
        status=str(event.get("STATUS", "CONFIRMED")).lower(),
        response=response,
        organizer=organizer,
        attendees=tuple(attendees),
    )


def zone(name: str | None, *, default: str = "UTC") -> ZoneInfo:
    """An IANA zone by name, falling back to ``default`` for a missing or unknown name."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")
