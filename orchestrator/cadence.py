"""How often and how long Convene chases a silent prospect (seed 000's timing and stop rules).

A team can tune the cadence per meeting type in `scheduling_templates` (follow-up hours, max
attempts); the 21-day and 3-no-show limits and the pause on a negative reply are fixed, because
they protect the prospect's goodwill rather than express a team preference.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from db.models import (
    ActionType,
    EmailMessage,
    PendingAction,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    prospect_zone,
)
from orchestrator.steps.meeting_times import template_of
from orchestrator.steps.public_holidays import holidays_between, weekend_days, zone_country

DEFAULT_FOLLOW_UP_HOURS = (24, 48, 72)
MAX_ATTEMPTS = 5
MAX_NO_SHOWS = 3
MAX_DAYS_ACTIVE = 21
# A follow-up that would fall on the prospect's day off goes out at this hour of their next
# working day, their time.
WORKDAY_START = time(9, 0)
MAX_DAYS_OFF = 21  # more days off in a row than any calendar has; a guard, not a rule


@dataclass(frozen=True)
class Cadence:
    # Hours to wait after the n-th email; past the end of the list the last gap repeats.
    follow_up_hours: tuple[int, ...] = DEFAULT_FOLLOW_UP_HOURS
    max_attempts: int = MAX_ATTEMPTS  # unanswered emails in a row, the first one included


def cadence_for(session: Session, *, request: SchedulingRequest) -> Cadence:
    """The request's meeting-type template when the team set one, else seed 000's defaults."""
    template = template_of(session, request)
    if template is None:
        return Cadence()
    hours = tuple(h for h in template.follow_up_hours if h > 0) or DEFAULT_FOLLOW_UP_HOURS
    return Cadence(follow_up_hours=hours, max_attempts=max(1, template.max_attempts))


def follow_up_delay(cadence: Cadence, *, follow_ups_sent: int) -> timedelta:
    """The wait before the next nudge: 24 h after the first email, 48 h after the first
    follow-up, 72 h after the second and every one after it (with the default cadence)."""
    hours: Sequence[int] = cadence.follow_up_hours
    return timedelta(hours=hours[min(follow_ups_sent, len(hours) - 1)])


# The emails that ask the prospect for an answer. Confirmations, reminders and recaps ask
# nothing, so they never count towards giving up.
ASKING_EMAILS = (
    ActionType.email_initial,
    ActionType.email_follow_up,
    ActionType.email_response,
    ActionType.email_no_show,
)


def unanswered_emails(session: Session, request: SchedulingRequest) -> int:
    """Our asking emails sent since the prospect's last reply: what "N emails have gone
    unanswered" counts. Their answer starts the count again, so a long back-and-forth is never
    mistaken for silence."""
    last_reply = session.exec(
        select(func.max(SchedulingAction.created_at))
        .where(SchedulingAction.request_id == request.id)
        .where(SchedulingAction.action_type == "reply_received")
    ).one()
    query = (
        select(func.count())
        .select_from(EmailMessage)
        .join(PendingAction, col(PendingAction.id) == col(EmailMessage.pending_action_id))
        .where(EmailMessage.request_id == request.id)
        .where(EmailMessage.direction == "outbound")
        .where(EmailMessage.status == "sent")
        .where(col(PendingAction.action_type).in_(ASKING_EMAILS))
    )
    if last_reply is not None:
        query = query.where(col(EmailMessage.sent_at) > last_reply)
    return session.exec(query).one()


def stop_reason(
    *,
    cadence: Cadence,
    unanswered: int,
    no_show_count: int,
    created_at: datetime,
    now: datetime,
    negative_reply: bool,
) -> str | None:
    """Why Convene must stop chasing (in words for the rep), or None to carry on."""
    if negative_reply:
        return "their last reply read as negative, so a nudge could do more harm than good"
    if unanswered >= cadence.max_attempts:
        return f"{unanswered} emails have gone unanswered (the limit is {cadence.max_attempts})"
    if no_show_count >= MAX_NO_SHOWS:
        return f"they have missed the meeting {no_show_count} times"
    if now - created_at >= timedelta(days=MAX_DAYS_ACTIVE):
        return f"it has been open for {MAX_DAYS_ACTIVE} days without a booking"
    return None


def follow_up_at(session: Session, request: SchedulingRequest, *, earliest: datetime) -> datetime:
    """When a nudge meant for `earliest` may go out: then, unless that is the weekend or a
    public holiday where the prospect is; then at the start of their next working day."""
    return follow_up_times(session, [request], earliest=earliest)[request.id]


def follow_up_times(
    session: Session, requests: Sequence[SchedulingRequest], *, earliest: datetime
) -> dict[uuid.UUID, datetime]:
    """`follow_up_at` for many requests with one read of their prospects (the clock's batch)."""
    if not requests:
        return {}
    prospects: dict[uuid.UUID, list[SchedulingAttendee]] = defaultdict(list)
    for attendee in session.exec(
        select(SchedulingAttendee)
        .where(col(SchedulingAttendee.request_id).in_([r.id for r in requests]))
        .where(SchedulingAttendee.side == "external")
        .order_by(col(SchedulingAttendee.required).desc(), col(SchedulingAttendee.created_at))
    ):
        prospects[attendee.request_id].append(attendee)
    return {
        r.id: next_working_moment(earliest, prospect_zone(r, prospects[r.id])) for r in requests
    }


def next_working_moment(moment: datetime, zone: str) -> datetime:
    """`moment` itself when it falls on a working day where `zone` is (its country's weekend
    and public holidays, the country read from the zone); else `WORKDAY_START` on the next
    working day there."""
    tz = ZoneInfo(zone)
    first = moment.astimezone(tz).date()
    country = zone_country(zone)
    weekend = weekend_days(country)
    off = holidays_between(country, first, first + timedelta(days=MAX_DAYS_OFF))
    day = first
    while (day.weekday() in weekend or day in off) and day < first + timedelta(days=MAX_DAYS_OFF):
        day += timedelta(days=1)
    if day == first:
        return moment
    return datetime.combine(day, WORKDAY_START, tzinfo=tz).astimezone(moment.tzinfo)
