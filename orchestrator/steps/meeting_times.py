"""When a booked meeting's reminder is due, and the meeting type's settings the meeting steps read.

Kept apart from the steps so the clock (`timers/due`) can ask when a reminder is due without
importing the steps that draft it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from db.models import SchedulingAttendee, SchedulingRequest, SchedulingTemplate, prospect_zone

MORNING = time(8, 0)
# A reminder closer to the start than this is no use to anyone.
MIN_LEAD = timedelta(hours=1)
# No rule asks for a reminder earlier than this; the clock looks this far ahead.
MAX_LEAD = timedelta(hours=48)
NO_SHOW_GRACE = timedelta(minutes=10)


def reminder_at(rule: str | None, *, start: datetime, tz: str) -> datetime | None:
    """When a meeting's reminder is due, by its meeting type's `reminder_rule`:

    - ``"morning_of"`` (the default, also for an unreadable rule): 08:00 on the meeting's day in
      the prospect's zone (DST-correct: the wall clock, not an offset), but no later than an hour
      before the start, so a 08:30 meeting is reminded at 07:30;
    - ``"hours_before:N"``: N hours before the start, N between 1 and 48;
    - ``"none"``: no reminder.
    """
    rule = (rule or "morning_of").strip().lower()
    if rule == "none":
        return None
    kind, _, value = rule.partition(":")
    if kind == "hours_before" and value.strip().isdigit():
        hours = timedelta(hours=int(value))
        return start - min(max(hours, MIN_LEAD), MAX_LEAD)
    local_day = start.astimezone(_zone(tz)).date()
    morning = datetime.combine(local_day, MORNING, _zone(tz)).astimezone(UTC)
    return min(morning, start - MIN_LEAD)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def meeting_zone(request: SchedulingRequest, attendees: list[SchedulingAttendee]) -> str:
    """The zone a booked meeting is spoken of in: its required prospects'."""
    return prospect_zone(request, (a for a in attendees if a.side == "external" and a.required))


def reminder_rule(session: Session, request: SchedulingRequest) -> str | None:
    template = template_of(session, request)
    return template.reminder_rule if template else None


def template_of(session: Session, request: SchedulingRequest) -> SchedulingTemplate | None:
    """The team's saved meeting type the request is of (None: the built-in defaults apply).
    The one read of it: cadence, reminders and wording all come from here."""
    return session.exec(
        select(SchedulingTemplate).where(
            SchedulingTemplate.org_id == request.org_id,
            SchedulingTemplate.meeting_type == request.meeting_type,
        )
    ).first()


def wording_overrides(session: Session, request: SchedulingRequest) -> dict[str, str]:
    template = template_of(session, request)
    return dict(template.email_templates) if template else {}
