"""The embedded calendar, stored in the database. Same semantics as the provider adapters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from connectors.ports import CalendarEvent, Interval
from db.models import LocalCalendarEvent


class LocalCalendar:
    def __init__(self, session_factory: sessionmaker[Session], *, org_id: str) -> None:
        self._sessions = session_factory
        self._org_id = org_id

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
                .where(LocalCalendarEvent.busy)
                .where(LocalCalendarEvent.status != "cancelled")
                .where(LocalCalendarEvent.start < end)
                .where(LocalCalendarEvent.end > start)
                .order_by(col(LocalCalendarEvent.start))
            )
            for row in rows:
                busy[row.calendar].append(Interval(row.start, row.end))
        return busy

    def create_event(self, event: CalendarEvent) -> str:
        """Idempotent on `event.event_id`: a retried create returns the first event."""
        calendar = event.organizer.lower()
        with self._sessions() as session:
            existing = session.exec(
                select(LocalCalendarEvent).where(
                    LocalCalendarEvent.org_id == self._org_id,
                    LocalCalendarEvent.calendar == calendar,
                    LocalCalendarEvent.event_id == event.event_id,
                )
            ).first()
            if existing is not None:
                return existing.event_id
            session.add(
                LocalCalendarEvent(
                    org_id=self._org_id,
                    calendar=calendar,
                    event_id=event.event_id,
                    title=event.title,
                    start=event.start,
                    end=event.end,
                    attendees=[
                        {"email": a.email, "name": a.name, "optional": a.optional}
                        for a in event.attendees
                    ],
                    description=event.description,
                    location=event.location,
                )
            )
            session.commit()
        return event.event_id
