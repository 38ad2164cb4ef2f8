"""Who is in the sandbox and the demo: a rep, two teammates with realistic weeks, one prospect
company. Calendars are laid out relative to the clock, this week and the next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from db.models import LocalCalendarEvent

ORG = "embedded"  # the embedded calendar's and mailbox's org


@dataclass(frozen=True)
class Person:
    slack_id: str
    name: str
    handle: str
    email: str
    tz: str
    title: str


@dataclass(frozen=True)
class Contact:
    name: str
    email: str

    @property
    def address(self) -> str:
        return f"{self.name} <{self.email}>"


REP = Person("U0SAM", "Sam Rivera", "sam", "sam@northwind.example", "America/New_York", "AE")
TEAMMATES = (
    Person("U0PRIYA", "Priya Shah", "priya", "priya@northwind.example", "America/Chicago", "SE"),
    Person("U0OTTO", "Otto Weber", "otto", "otto@northwind.example", "Europe/Berlin", "EMEA"),
)
TEAM = (REP, *TEAMMATES)
COMPANY = "Acme"
PROSPECT = Contact("John Doe", "john@acme.example")
COLLEAGUE = Contact("Mary Chen", "mary@acme.example")  # to play someone else on the thread

# A working week per person, in their own zone: (weekday or None for every day, start, end,
# title). Sam is free on Tuesday at 10, which the demo's prospect asks for.
WEEKS: dict[str, list[tuple[int | None, str, str, str]]] = {
    REP.email: [
        (None, "09:30", "09:45", "Team standup"),
        (0, "13:00", "14:00", "Pipeline review"),
        (1, "11:00", "12:00", "Customer call: Globex"),
        (1, "14:00", "16:00", "Quarterly planning"),
        (2, "09:00", "11:00", "Territory planning"),
        (3, "14:00", "17:00", "Customer workshop"),
        (4, "12:00", "13:00", "Lunch & learn"),
    ],
    TEAMMATES[0].email: [
        (None, "08:30", "08:45", "Team standup"),
        (0, "10:00", "12:00", "Solution design: Globex"),
        (1, "13:00", "14:00", "Security questionnaire"),
        (2, "15:00", "17:00", "POC check-in"),
        (3, "09:00", "10:00", "1:1 with manager"),
        (4, "14:00", "16:00", "Focus time"),
    ],
    TEAMMATES[1].email: [
        (0, "09:00", "10:00", "Partner sync"),
        (1, "16:00", "17:30", "EMEA pipeline"),
        (2, "10:00", "12:00", "Workshop prep"),
        (3, "15:00", "16:00", "Hiring interview"),
        (4, "09:00", "11:00", "Focus time"),
    ],
}


def slack_users() -> dict[str, dict[str, Any]]:
    """The workspace's members as the local Slack stand-in's users.info answers them."""
    return {
        p.slack_id: {
            "name": p.handle,
            "tz": p.tz,
            "profile": {"email": p.email, "real_name": p.name, "title": p.title},
        }
        for p in TEAM
    }


def week_start(moment: datetime, tz: str) -> date:
    local = moment.astimezone(ZoneInfo(tz)).date()
    return local - timedelta(days=local.weekday())


def seed_calendars(sessions: sessionmaker[Session], *, now: datetime, weeks: int = 2) -> int:
    """Everyone's meetings for this week and the next `weeks - 1`; returns how many."""
    rows = []
    for person in TEAM:
        zone = ZoneInfo(person.tz)
        monday = week_start(now, person.tz)
        for day in range(7 * weeks):
            current = monday + timedelta(days=day)
            if current.weekday() >= 5:
                continue
            for weekday, start, end, title in WEEKS[person.email]:
                if weekday is not None and weekday != current.weekday():
                    continue
                rows.append(
                    LocalCalendarEvent(
                        org_id=ORG,
                        calendar=person.email,
                        event_id=f"seed-{person.handle}-{current:%Y%m%d}-{start}",
                        title=title,
                        start=datetime.combine(current, time.fromisoformat(start), zone),
                        end=datetime.combine(current, time.fromisoformat(end), zone),
                    )
                )
    with sessions() as session:
        session.add_all(rows)
        session.commit()
    return len(rows)
