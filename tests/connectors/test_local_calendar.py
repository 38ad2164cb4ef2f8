"""The embedded calendar: the whole CalendarPort on SQLite, plus seeding from an .ics export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, select

from connectors.calendar.local import LocalCalendar
from connectors.errors import EventNotFound, PermanentError
from connectors.ports import CalendarEvent, CalendarPort, CreatedEvent, EventAttendee, Interval
from db.engine import make_engine, make_session_factory
from db.models import LocalCalendarEvent

ORG = "T1"
SAM = "sam@acme.test"
ALEX = "alex@acme.test"
PROSPECT = "pat@prospect.test"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def sessions(sqlite_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(sqlite_url))


@pytest.fixture
def calendar(sessions: sessionmaker[Session]) -> LocalCalendar:
    return LocalCalendar(sessions, org_id=ORG)


def meeting(**changes: object) -> CalendarEvent:
    base: dict[str, object] = {
        "event_id": "req-1-book",
        "organizer": SAM,
        "title": "Acme demo",
        "start": utc(2026, 12, 1, 15),
        "end": utc(2026, 12, 1, 15, 30),
        "attendees": (EventAttendee(ALEX, "Alex"), EventAttendee(PROSPECT, "Pat")),
        "conference": "google_meet",
    }
    base.update(changes)
    return CalendarEvent(**base)  # type: ignore[arg-type]


def rows(sessions: sessionmaker[Session]) -> list[LocalCalendarEvent]:
    with sessions() as session:
        return list(session.exec(select(LocalCalendarEvent).order_by(LocalCalendarEvent.calendar)))


DAY = {"start": utc(2026, 12, 1), "end": utc(2026, 12, 2)}


def test_is_a_calendar_port(calendar: LocalCalendar) -> None:
    port: CalendarPort = calendar
    assert port.free_busy(emails=[SAM], **DAY) == {SAM: []}


def test_create_is_idempotent_and_lands_on_every_attendee_calendar(
    calendar: LocalCalendar, sessions: sessionmaker[Session]
) -> None:
    first = calendar.create_event(meeting())
    again = calendar.create_event(meeting(title="retried"))
    assert isinstance(first, CreatedEvent)
    assert first == again
    assert first.event_id == "req-1-book"
    assert first.join_url is not None and first.join_url.startswith("https://meet.convene.local/")
    stored = rows(sessions)
    assert [(r.calendar, r.event_id, r.title) for r in stored] == [
        (ALEX, "req-1-book", "Acme demo"),
        (PROSPECT, "req-1-book", "Acme demo"),
        (SAM, "req-1-book", "Acme demo"),
    ]
    busy = calendar.free_busy(emails=[SAM, ALEX.upper()], **DAY)
    slot = [Interval(utc(2026, 12, 1, 15), utc(2026, 12, 1, 15, 30))]
    assert busy == {SAM: slot, ALEX: slot}


def test_teams_and_no_conference_links(calendar: LocalCalendar) -> None:
    teams = calendar.create_event(meeting(event_id="t", conference="teams"))
    plain = calendar.create_event(meeting(event_id="p", conference=None))
    assert teams.join_url is not None and "teams.convene.local/l/meetup-join/" in teams.join_url
    assert plain.join_url is None


def test_responses_decide_the_attendee_busy_time(sessions: sessionmaker[Session]) -> None:
    calendar = LocalCalendar(sessions, org_id=ORG)
    calendar.create_event(meeting())
    assert calendar.attendee_responses(organizer=SAM, event_id="req-1-book") == {
        ALEX: "needs_action",
        PROSPECT: "needs_action",
    }
    calendar.respond(organizer=SAM, event_id="req-1-book", attendee=ALEX, response="tentative")
    calendar.respond(organizer=SAM, event_id="req-1-book", attendee=PROSPECT, response="accepted")
    assert calendar.attendee_responses(organizer=SAM, event_id="req-1-book") == {
        ALEX: "tentative",
        PROSPECT: "accepted",
    }
    # Tentative blocks by default and not when configured off.
    assert len(calendar.free_busy(emails=[ALEX], **DAY)[ALEX]) == 1
    relaxed = LocalCalendar(sessions, org_id=ORG, tentative_is_busy=False)
    assert relaxed.free_busy(emails=[ALEX], **DAY)[ALEX] == []
    calendar.respond(organizer=SAM, event_id="req-1-book", attendee=ALEX, response="declined")
    assert calendar.free_busy(emails=[ALEX, SAM], **DAY) == {
        ALEX: [],
        SAM: [Interval(utc(2026, 12, 1, 15), utc(2026, 12, 1, 15, 30))],
    }
    with pytest.raises(PermanentError, match="not invited"):
        calendar.respond(
            organizer=SAM, event_id="req-1-book", attendee="x@y.z", response="accepted"
        )
    with pytest.raises(ValueError, match="response must be one of"):
        calendar.respond(organizer=SAM, event_id="req-1-book", attendee=ALEX, response="maybe")


def test_update_moves_every_copy_and_resets_responses(
    calendar: LocalCalendar, sessions: sessionmaker[Session]
) -> None:
    calendar.create_event(meeting())
    calendar.respond(organizer=SAM, event_id="req-1-book", attendee=PROSPECT, response="accepted")
    # Same time, new title: responses survive.
    calendar.update_event(meeting(title="Acme demo (agenda)"))
    assert calendar.attendee_responses(organizer=SAM, event_id="req-1-book")[PROSPECT] == "accepted"
    # New time and Alex dropped: responses reset, Alex's copy is cancelled.
    calendar.update_event(
        meeting(
            start=utc(2026, 12, 2, 16),
            end=utc(2026, 12, 2, 17),
            attendees=(EventAttendee(PROSPECT, "Pat"),),
        )
    )
    assert calendar.attendee_responses(organizer=SAM, event_id="req-1-book") == {
        PROSPECT: "needs_action"
    }
    stored = {r.calendar: r for r in rows(sessions)}
    assert {c: (r.status, r.sequence) for c, r in stored.items()} == {
        ALEX: ("cancelled", 2),
        PROSPECT: ("confirmed", 2),
        SAM: ("confirmed", 2),
    }
    assert stored[SAM].start == utc(2026, 12, 2, 16)
    assert calendar.free_busy(emails=[SAM, ALEX], **DAY) == {SAM: [], ALEX: []}
    with pytest.raises(EventNotFound):
        calendar.update_event(meeting(event_id="nope"))


def test_cancel_is_idempotent_and_frees_the_time(
    calendar: LocalCalendar, sessions: sessionmaker[Session]
) -> None:
    calendar.create_event(meeting())
    calendar.cancel_event(organizer=SAM.upper(), event_id="req-1-book")
    calendar.cancel_event(organizer=SAM, event_id="req-1-book")
    calendar.cancel_event(organizer=SAM, event_id="never-existed")
    assert {(r.calendar, r.status, r.sequence) for r in rows(sessions)} == {
        (SAM, "cancelled", 1),
        (ALEX, "cancelled", 1),
        (PROSPECT, "cancelled", 1),
    }
    assert calendar.free_busy(emails=[SAM, ALEX], **DAY) == {SAM: [], ALEX: []}
    with pytest.raises(EventNotFound):
        calendar.update_event(meeting())
    with pytest.raises(PermanentError, match="cancelled"):
        calendar.create_event(meeting())


def test_orgs_do_not_see_each_other(sessions: sessionmaker[Session]) -> None:
    LocalCalendar(sessions, org_id="other").create_event(meeting())
    assert LocalCalendar(sessions, org_id=ORG).free_busy(emails=[SAM], **DAY) == {SAM: []}


ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
X-WR-TIMEZONE:America/New_York\r
BEGIN:VEVENT\r
UID:standup@acme\r
SUMMARY:Standup\r
DTSTART;TZID=America/New_York:20261019T090000\r
DTEND;TZID=America/New_York:20261019T093000\r
RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T235959Z\r
EXDATE;TZID=America/New_York:20261109T090000\r
ORGANIZER:mailto:boss@acme.test\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:SAM@acme.test\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:standup@acme\r
RECURRENCE-ID;TZID=America/New_York:20261102T090000\r
SUMMARY:Standup (moved)\r
DTSTART;TZID=America/New_York:20261103T110000\r
DTEND;TZID=America/New_York:20261103T113000\r
ORGANIZER:mailto:boss@acme.test\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:sam@acme.test\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:standup@acme\r
RECURRENCE-ID;TZID=America/New_York:20261116T090000\r
DTSTART;TZID=America/New_York:20261116T090000\r
DTEND;TZID=America/New_York:20261116T093000\r
STATUS:CANCELLED\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:focus@acme\r
SUMMARY:Focus time\r
DTSTART:20261104T150000Z\r
DTEND:20261104T170000Z\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:declined@acme\r
SUMMARY:All hands\r
DTSTART:20261105T150000Z\r
DTEND:20261105T160000Z\r
ORGANIZER:mailto:ceo@acme.test\r
ATTENDEE;PARTSTAT=DECLINED:mailto:sam@acme.test\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:maybe@acme\r
SUMMARY:Maybe\r
DTSTART:20261105T180000Z\r
DTEND:20261105T183000Z\r
ORGANIZER:mailto:ceo@acme.test\r
ATTENDEE;PARTSTAT=TENTATIVE:mailto:sam@acme.test\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:holiday@acme\r
SUMMARY:Company holiday (shown free)\r
DTSTART;VALUE=DATE:20261111\r
DTEND;VALUE=DATE:20261112\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:pto@acme\r
SUMMARY:PTO\r
DTSTART;VALUE=DATE:20261112\r
DTEND;VALUE=DATE:20261113\r
X-MICROSOFT-CDO-BUSYSTATUS:OOF\r
END:VEVENT\r
END:VCALENDAR\r
"""

WINDOW = {"start": utc(2026, 10, 30), "end": utc(2026, 11, 24)}


def test_seed_from_ics_stores_real_instances_and_busy_truth(
    calendar: LocalCalendar, tmp_path: Path
) -> None:
    path = tmp_path / "sam.ics"
    path.write_bytes(ICS)
    calendar.seed_from_ics(path, calendar=SAM)
    busy = calendar.free_busy(emails=[SAM], **WINDOW)[SAM]
    assert [(i.start, i.end) for i in busy] == [
        # 2 Nov standup moved to Tuesday 3 Nov 11:00 New York (UTC-5 after DST ended).
        (utc(2026, 11, 3, 16), utc(2026, 11, 3, 16, 30)),
        # Focus time is transparent and the all-hands was declined: neither appears.
        (utc(2026, 11, 5, 18), utc(2026, 11, 5, 18, 30)),  # tentative counts by default
        # 9 Nov is an EXDATE; 11 Nov holiday is an unmarked all-day entry.
        (utc(2026, 11, 12, 5), utc(2026, 11, 13, 5)),  # PTO, the New York day
        # 16 Nov instance cancelled; 23 Nov is a plain instance.
        (utc(2026, 11, 23, 14), utc(2026, 11, 23, 14, 30)),
    ]


def test_seed_respects_tentative_setting_and_reseeding_is_stable(
    sessions: sessionmaker[Session],
) -> None:
    calendar = LocalCalendar(sessions, org_id=ORG, tentative_is_busy=False)
    first = calendar.seed_from_ics(ICS, calendar=SAM)
    count = len(rows(sessions))
    second = calendar.seed_from_ics(ICS, calendar=SAM)
    assert first == second == count
    ids = {r.event_id for r in rows(sessions)}
    assert "standup@acme_20261102T140000Z" in ids  # moved instance keeps its series slot id
    assert "standup@acme_20261109T140000Z" not in ids  # EXDATE
    assert "standup@acme_20261116T140000Z" not in ids  # cancelled instance
    busy = calendar.free_busy(emails=[SAM], **WINDOW)[SAM]
    assert utc(2026, 11, 5, 18) not in [i.start for i in busy]
    assert len(busy) == 3


def test_seed_window_bounds_open_ended_series(calendar: LocalCalendar) -> None:
    ics = ICS.replace(b";UNTIL=20261231T235959Z", b"")
    calendar.seed_from_ics(
        ics, calendar=SAM, window_start=utc(2027, 3, 1), window_end=utc(2027, 3, 15)
    )
    busy = calendar.free_busy(emails=[SAM], start=utc(2027, 1, 1), end=utc(2028, 1, 1))[SAM]
    # Mondays 1 and 8 March 2027, 09:00 New York: EST then EDT (DST starts 14 March).
    assert [i.start for i in busy] == [utc(2027, 3, 1, 14), utc(2027, 3, 8, 14)]


def test_seed_rejects_garbage(calendar: LocalCalendar) -> None:
    with pytest.raises(ValueError, match="iCalendar"):
        calendar.seed_from_ics(b"not a calendar", calendar=SAM)


def test_creation_after_seeding_uses_timedelta_consistently(calendar: LocalCalendar) -> None:
    calendar.seed_from_ics(ICS, calendar=SAM)
    created = calendar.create_event(
        meeting(start=utc(2026, 11, 4, 15), end=utc(2026, 11, 4, 15) + timedelta(minutes=45))
    )
    assert created.event_id == "req-1-book"
    busy = calendar.free_busy(emails=[SAM], start=utc(2026, 11, 4), end=utc(2026, 11, 5))[SAM]
    assert busy == [Interval(utc(2026, 11, 4, 15), utc(2026, 11, 4, 15, 45))]
