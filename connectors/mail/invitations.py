"""RFC 5545 invitations for providers without a calendar API (plain SMTP).

One meeting keeps one ``UID`` for life; every change raises ``SEQUENCE`` and refreshes
``DTSTAMP``, which is how Outlook and Gmail tell an update from a new invite. A cancel is
``METHOD:CANCEL`` with ``STATUS:CANCELLED`` and the same attendees (clients remove the event
only for the attendees listed). ``stamp`` is passed in: the caller owns the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from icalendar import Calendar, Event, vCalAddress

PRODID = "-//Convene//Scheduling Agent//EN"

Method = Literal["REQUEST", "CANCEL"]


@dataclass(frozen=True)
class Invitee:
    email: str
    name: str = ""
    optional: bool = False


@dataclass(frozen=True)
class Invite:
    uid: str  # stable for the meeting's life, e.g. the calendar event id
    sequence: int  # 0 for the first REQUEST; raise it for each update and for the cancel
    start: datetime
    end: datetime
    summary: str
    organizer_email: str
    organizer_name: str = ""
    attendees: Sequence[Invitee] = ()
    description: str = ""
    location: str = ""
    url: str = ""  # the meeting's join link, when it has one


def build_ics(invite: Invite, *, method: Method, stamp: datetime) -> bytes:
    """The calendar object (CRLF lines, folded at 75 octets) for ``method``."""
    for moment in (invite.start, invite.end, stamp):
        if moment.tzinfo is None:
            raise ValueError("invite times must be timezone-aware")
    if invite.end <= invite.start:
        raise ValueError("invite must end after it starts")
    if invite.sequence < 0:
        raise ValueError("SEQUENCE cannot be negative")
    cancelled = method == "CANCEL"
    if cancelled and invite.sequence == 0:
        # A cancel must outrank the REQUEST it withdraws, or clients ignore it as stale.
        raise ValueError("a CANCEL needs a SEQUENCE above the original invite's")
    event = Event.new(
        uid=invite.uid,
        stamp=stamp,
        sequence=invite.sequence,
        # In UTC: a zone written as TZID needs a VTIMEZONE beside it, and a fixed offset such
        # as "UTC-05:00" has none a client knows, so strict clients misplace the meeting.
        # Every client shows a UTC time in its reader's own zone.
        start=invite.start.astimezone(UTC),
        end=invite.end.astimezone(UTC),
        summary=invite.summary,
        description=invite.description or None,
        location=invite.location or None,
        status="CANCELLED" if cancelled else "CONFIRMED",  # type: ignore[arg-type]
        # Gmail only offers RSVP buttons when ORGANIZER is the sender and the reader is an
        # ATTENDEE; both come straight from the outbound email's sender and recipients.
        organizer=vCalAddress.new(invite.organizer_email, cn=invite.organizer_name or None),
        attendees=[
            vCalAddress.new(
                a.email,
                cn=a.name or None,
                role="OPT-PARTICIPANT" if a.optional else "REQ-PARTICIPANT",
                partstat="NEEDS-ACTION",
                rsvp=not cancelled,
            )
            for a in invite.attendees
        ],
    )
    if invite.url:
        # URL for every client; CONFERENCE (RFC 7986) for those that show a join button.
        event.add("URL", invite.url, parameters={"VALUE": "URI"})
        event.add(
            "CONFERENCE",
            invite.url,
            parameters={"VALUE": "URI", "FEATURE": "AUDIO,VIDEO", "LABEL": "Join"},
        )
    if cancelled:
        event.add("TRANSP", "TRANSPARENT")
    # The calendar-level UID would otherwise be random; the same invite gives the same bytes.
    calendar = Calendar.new(prodid=PRODID, method=method, uid=invite.uid, subcomponents=[event])
    return calendar.to_ical()
