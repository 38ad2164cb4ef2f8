"""The embedded calendar, stored in the database. Same semantics as the provider adapters.

Like Google Workspace or Exchange, a booked meeting lands on every attendee's calendar in the
org (one row per calendar, same ``event_id``), so a colleague's free/busy shows it and their
response decides whether it blocks them. The organizer's row is the source of truth for
attendee responses; updates and cancels keep every copy in step.

Each row's ``attendees`` JSON holds ``{"email", "name", "optional", "response"}`` per attendee
plus the organizer flagged ``"organizer": true``, so a copy knows whose event it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from connectors.calendar.ics_export import parse_ics, zone
from connectors.errors import EventNotFound, PermanentError
from connectors.ports import RESPONSES, CalendarEvent, CreatedEvent, Interval
from db.models import LocalCalendarEvent
from skills.calendar_busy import (
    CalendarItem,
    Occurrence,
    availability,
    counts_as_busy,
    expand,
    to_aware,
)

# How far past the last DTSTART an open-ended series is materialised when seeding without an
# explicit window: the embedded calendar stores instances, not rules (see seed_from_ics).
DEFAULT_SEED_HORIZON = timedelta(days=366)


def join_url(event_id: str, conference: str | None) -> str | None:
    """A stable stand-in meeting link, so demo emails and invites carry something real-looking."""
    if conference is None:
        return None
    digest = hashlib.sha256(event_id.encode()).hexdigest()
    if conference == "google_meet":
        letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in digest[:10])
        return f"https://meet.convene.local/{letters[:3]}-{letters[3:7]}-{letters[7:10]}"
    if conference == "teams":
        return f"https://teams.convene.local/l/meetup-join/{digest[:32]}"
    raise PermanentError(f"unknown conference type {conference!r}")


def _attendee_entries(event: CalendarEvent) -> list[dict[str, Any]]:
    organizer = event.organizer.lower()
    entries: list[dict[str, Any]] = [
        {
            "email": organizer,
            "name": "",
            "optional": False,
            "response": "accepted",
            "organizer": True,
        }
    ]
    seen = {organizer}
    for attendee in event.attendees:
        email = attendee.email.lower()
        if email in seen:
            continue
        seen.add(email)
        entries.append(
            {
                "email": email,
                "name": attendee.name,
                "optional": attendee.optional,
                "response": "needs_action",
            }
        )
    return entries


def _organizer(row: LocalCalendarEvent) -> str:
    for entry in row.attendees:
        if entry.get("organizer"):
            return str(entry["email"]).lower()
    return row.calendar


def _owner_response(row: LocalCalendarEvent) -> str | None:
    for entry in row.attendees:
        if str(entry.get("email", "")).lower() == row.calendar and not entry.get("organizer"):
            return str(entry.get("response") or "needs_action")
    return None


class LocalCalendar:
    # The copies stay in our database; nobody outside the org hears of the event unless the
    # outbox emails them the invitation (see orchestrator.outbox.calendar.invitation).
    sends_invites = False

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        org_id: str,
        tentative_is_busy: bool = True,
    ) -> None:
        self._sessions = session_factory
        self._org_id = org_id
        self._tentative_is_busy = tentative_is_busy

    # --- reading ------------------------------------------------------------------------------

    def free_busy(
        self, *, emails: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Interval]]:
        wanted = [e.lower() for e in emails]
        busy: dict[str, list[Interval]] = {e: [] for e in wanted}
        with self._sessions() as session:
            rows = session.exec(
                select(LocalCalendarEvent)
                .where(LocalCalendarEvent.org_id == self._org_id)
                .where(col(LocalCalendarEvent.calendar).in_(wanted))
                .where(LocalCalendarEvent.status != "cancelled")
                .where(LocalCalendarEvent.start < end)
                .where(LocalCalendarEvent.end > start)
                .order_by(col(LocalCalendarEvent.start))
            )
            for row in rows:
                # Transparency is stored as `busy`; status and the owner's response are read
                # here so the tentative setting applies without rewriting rows.
                item = CalendarItem(
                    start=row.start,
                    end=row.end,
                    transparency="opaque" if row.busy else "transparent",
                    status=row.status,
                    response=_owner_response(row),
                )
                if counts_as_busy(availability(item), tentative_is_busy=self._tentative_is_busy):
                    busy[row.calendar].append(Interval(row.start, row.end))
        return busy

    def attendee_responses(self, *, organizer: str, event_id: str) -> Mapping[str, str]:
        with self._sessions() as session:
            row = self._organizer_row(session, organizer, event_id)
            if row is None:
                raise EventNotFound(f"no event {event_id} on {organizer}'s calendar")
            return {
                str(e["email"]): str(e.get("response") or "needs_action")
                for e in row.attendees
                if not e.get("organizer")
            }

    # --- writing ------------------------------------------------------------------------------

    def create_event(self, event: CalendarEvent) -> CreatedEvent:
        """Idempotent on `event.event_id`: a retried create returns the first event."""
        organizer = event.organizer.lower()
        link = join_url(event.event_id, event.conference)
        with self._sessions() as session:
            existing = self._organizer_row(session, organizer, event.event_id)
            if existing is not None:
                if existing.status == "cancelled":
                    # Google refuses to reuse a deleted event's id; behave the same.
                    raise PermanentError(f"event id {event.event_id} belongs to a cancelled event")
                return CreatedEvent(existing.event_id, link)
            entries = _attendee_entries(event)
            for entry in entries:
                session.add(self._row(entry["email"], event, entries, sequence=0))
            session.commit()
        return CreatedEvent(event.event_id, link)

    def update_event(self, event: CalendarEvent) -> None:
        """Patch every copy; a new time resets responses (attendees must answer again, as Google
        and Outlook ask them to); removed attendees see the event cancelled."""
        organizer = event.organizer.lower()
        with self._sessions() as session:
            current = self._organizer_row(session, organizer, event.event_id)
            if current is None or current.status == "cancelled":
                raise EventNotFound(f"no event {event.event_id} on {organizer}'s calendar")
            moved = current.start != event.start or current.end != event.end
            previous = {str(e["email"]): e for e in current.attendees}
            entries = _attendee_entries(event)
            for entry in entries:
                before = previous.get(entry["email"])
                if before is not None and not entry.get("organizer") and not moved:
                    entry["response"] = before.get("response", "needs_action")
            sequence = current.sequence + 1
            copies = {row.calendar: row for row in self._copies(session, organizer, event.event_id)}
            for entry in entries:
                row = copies.pop(entry["email"], None)
                if row is None:
                    session.add(self._row(entry["email"], event, entries, sequence=sequence))
                    continue
                row.title, row.start, row.end = event.title, event.start, event.end
                row.description, row.location = event.description, event.location
                row.attendees, row.sequence, row.status = entries, sequence, "confirmed"
                session.add(row)
            for dropped in copies.values():
                dropped.status, dropped.sequence = "cancelled", sequence
                session.add(dropped)
            session.commit()

    def cancel_event(self, *, organizer: str, event_id: str) -> None:
        organizer = organizer.lower()
        with self._sessions() as session:
            for row in self._copies(session, organizer, event_id):
                if row.status != "cancelled":
                    row.status, row.sequence = "cancelled", row.sequence + 1
                    session.add(row)
            session.commit()

    def respond(self, *, organizer: str, event_id: str, attendee: str, response: str) -> None:
        """An attendee's RSVP (what a real provider learns from the invite's reply)."""
        if response not in RESPONSES:
            raise ValueError(f"response must be one of {RESPONSES}, not {response!r}")
        organizer, attendee = organizer.lower(), attendee.lower()
        with self._sessions() as session:
            copies = self._copies(session, organizer, event_id)
            if not copies:
                raise EventNotFound(f"no event {event_id} on {organizer}'s calendar")
            for row in copies:
                entries = [dict(e) for e in row.attendees]
                hit = [e for e in entries if e["email"] == attendee and not e.get("organizer")]
                if not hit:
                    raise PermanentError(f"{attendee} is not invited to {event_id}")
                hit[0]["response"] = response
                row.attendees = entries  # a new list, so the JSON column is marked dirty
                session.add(row)
            session.commit()

    # --- seeding ------------------------------------------------------------------------------

    def seed_from_ics(
        self,
        source: str | Path | bytes,
        *,
        calendar: str,
        window_start: datetime | None = None,
        window_end: datetime | None = None,
        tz: str | None = None,
    ) -> int:
        """Load an ``.ics`` export into ``calendar``'s rows; returns how many rows were written.

        Recurring series are stored as their real instances (RRULE/RDATE/EXDATE applied, moved
        instances at their new time, cancelled ones left out) between ``window_start`` and
        ``window_end``: by default from the first DTSTART to a year after the last one. Floating
        times and all-day dates are read in ``tz``, else the file's X-WR-TIMEZONE, else UTC.
        Re-seeding the same file updates rows in place (instance ids are stable).
        """
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        owner = calendar.lower()
        parsed = parse_ics(data, owner=owner)
        zone_info = zone(tz or parsed.timezone)
        if not parsed.items:
            return 0
        starts = [to_aware(i.start, zone_info) for i in parsed.items]
        start = window_start or min(starts)
        end = window_end or max(starts) + DEFAULT_SEED_HORIZON
        occurrences = expand(parsed.items, window_start=start, window_end=end, tz=zone_info)
        written = 0
        with self._sessions() as session:
            for occurrence in occurrences:
                if occurrence.item.status.lower() == "cancelled":
                    continue
                self._upsert_seed(session, owner, occurrence)
                written += 1
            session.commit()
        return written

    def _upsert_seed(self, session: Session, owner: str, occurrence: Occurrence) -> None:
        item = occurrence.item
        uid = (
            item.uid
            or hashlib.sha256(
                f"{item.title}|{occurrence.original_start.isoformat()}".encode()
            ).hexdigest()[:32]
        )
        event_id = (
            f"{uid}_{occurrence.original_start.astimezone(UTC):%Y%m%dT%H%M%SZ}"
            if occurrence.recurring
            else uid
        )
        # Store what the owner's free/busy sees; the owner's response stays in `attendees` so
        # declines and tentatives are judged at read time like any other row.
        shown = availability(
            CalendarItem(
                start=item.start,
                end=item.end,
                transparency=item.transparency,
                show_as=item.show_as,
            )
        )
        entries: list[dict[str, Any]] = []
        if item.organizer:
            entries.append(
                {
                    "email": item.organizer,
                    "name": "",
                    "optional": False,
                    "response": "accepted",
                    "organizer": True,
                }
            )
        entries += [
            {"email": email, "name": "", "optional": False, "response": response}
            for email, response in item.attendees
            if email != item.organizer
        ]
        values: dict[str, Any] = {
            "title": item.title,
            "start": occurrence.start.astimezone(UTC),
            "end": occurrence.end.astimezone(UTC),
            "busy": shown != "free",
            "attendees": entries,
            "status": "tentative"
            if shown == "tentative" or item.status == "tentative"
            else "confirmed",
        }
        row = session.exec(
            select(LocalCalendarEvent).where(
                LocalCalendarEvent.org_id == self._org_id,
                LocalCalendarEvent.calendar == owner,
                LocalCalendarEvent.event_id == event_id,
            )
        ).first()
        if row is None:
            row = LocalCalendarEvent(
                org_id=self._org_id, calendar=owner, event_id=event_id, **values
            )
        else:
            for key, value in values.items():
                setattr(row, key, value)
        session.add(row)

    # --- rows ---------------------------------------------------------------------------------

    def _row(
        self, calendar: str, event: CalendarEvent, entries: list[dict[str, Any]], *, sequence: int
    ) -> LocalCalendarEvent:
        return LocalCalendarEvent(
            org_id=self._org_id,
            calendar=calendar,
            event_id=event.event_id,
            title=event.title,
            start=event.start,
            end=event.end,
            attendees=entries,
            description=event.description,
            location=event.location,
            sequence=sequence,
        )

    def _organizer_row(
        self, session: Session, organizer: str, event_id: str
    ) -> LocalCalendarEvent | None:
        return session.exec(
            select(LocalCalendarEvent).where(
                LocalCalendarEvent.org_id == self._org_id,
                LocalCalendarEvent.calendar == organizer.lower(),
                LocalCalendarEvent.event_id == event_id,
            )
        ).first()

    def _copies(self, session: Session, organizer: str, event_id: str) -> list[LocalCalendarEvent]:
        """Every calendar's copy of one organizer's event (seeded rows with the same UID on
        someone else's calendar but another organizer are left alone)."""
        rows = session.exec(
            select(LocalCalendarEvent).where(
                LocalCalendarEvent.org_id == self._org_id,
                LocalCalendarEvent.event_id == event_id,
            )
        )
        return [row for row in rows if _organizer(row) == organizer]
