"""When a pending action stops being worth sending: one rule per action type, in one table.

A draft that offers times is worth something until its last time comes too close to offer; a
booking or a move until its meeting starts; a reminder or a confirmation until the meeting it
names starts; a cancel until the meeting has ended; a reply with no time in it for a few days.
Every action also has a ceiling, so nothing waits for a click forever.

The same margins decide, at Approve and again just before the send, whether a time is still
ahead (`outbox.revalidate`), so an action is refused on exactly the terms it expires on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session

from db.models import ActionType, SchedulingRequest, SequenceJob
from orchestrator.engine.action_data import ActionData, CancelData, MoveData
from orchestrator.engine.events import ProposedAction

# A prospect needs time to read an offer and answer it before the time comes.
OFFER_MARGIN = timedelta(hours=1)
# A booking made minutes before its start still reaches calendars in time.
BOOK_MARGIN = timedelta(minutes=5)
DEFAULT_TTL = timedelta(days=7)

Bound = Literal["offered", "booked", "meeting_start", "meeting_end", "none"]


@dataclass(frozen=True)
class Rule:
    bound: Bound  # the time in or behind the action that ends it
    ttl: timedelta  # the ceiling: how long it may wait for a click whatever its times
    why: str  # what the card says once it expired


RULES: Mapping[str, Rule] = {
    ActionType.email_initial: Rule(
        "offered",
        DEFAULT_TTL,
        "the times it offered came too close, or it waited a week, before anyone approved it",
    ),
    ActionType.email_follow_up: Rule(
        "offered", timedelta(days=1), "nobody approved it within a day, and its times age"
    ),
    ActionType.email_response: Rule(
        "offered", timedelta(days=3), "the reply waited too long; their message needs a fresh one"
    ),
    ActionType.email_no_show: Rule(
        "offered", timedelta(days=1), "nobody approved it within a day, and its times age"
    ),
    ActionType.email_reminder: Rule(
        "meeting_start", DEFAULT_TTL, "the meeting started before the reminder was approved"
    ),
    ActionType.email_confirmation: Rule(
        "meeting_start", DEFAULT_TTL, "the meeting started before the confirmation went out"
    ),
    ActionType.calendar_book: Rule(
        "booked",
        DEFAULT_TTL,
        "the meeting time came, or it waited a week, before the booking was approved",
    ),
    ActionType.calendar_update: Rule(
        "booked", DEFAULT_TTL, "the new time arrived before the move was approved"
    ),
    ActionType.calendar_cancel: Rule(
        "meeting_end", DEFAULT_TTL, "the meeting was over before the cancellation was approved"
    ),
}
FALLBACK = Rule("none", DEFAULT_TTL, "nobody decided before it expired")
# Drafts whose card offers "Redraft with fresh times" once stale or expired: a first email is
# drafted again by the `redraft_requested` sequence. A follow-up that expired comes back with
# `/schedule resume`; replies and bookings answer a message, so the rep decides anew.
REDRAFTABLE = frozenset({ActionType.email_initial})


def rule_for(action_type: str) -> Rule:
    return RULES.get(action_type, FALLBACK)


def expires_at(
    action_type: str,
    data: ActionData,
    *,
    now: datetime,
    asked: timedelta | None = None,
    meeting: tuple[datetime, datetime] | None = None,
) -> datetime:
    """When an action drafted `now` expires: the earliest of its ceiling, what the step asked
    for (`asked`), and the time its bound names."""
    rule = rule_for(action_type)
    limits = [now + rule.ttl]
    if asked is not None:
        limits.append(now + asked)
    limits += _bound(rule.bound, data, meeting)
    return min(limits)


def _bound(
    bound: Bound, data: ActionData, meeting: tuple[datetime, datetime] | None
) -> Sequence[datetime]:
    if bound == "offered" and (offered := data.offered()):
        return [offered[-1] - OFFER_MARGIN]
    if bound == "booked" and (span := data.booked()) is not None:
        return [span[0] - BOOK_MARGIN]
    if bound == "meeting_start" and meeting is not None:
        return [meeting[0]]
    if bound == "meeting_end" and meeting is not None:
        return [meeting[1]]
    return []


def proposed_expiry(
    session: Session, job: SequenceJob, proposed: ProposedAction, *, now: datetime
) -> datetime:
    """`expires_at` for an action a step proposed; reads the request's meeting when the rule
    is bound to it (a confirmation or a cancel names no time of its own)."""
    rule = rule_for(proposed.action_type)
    meeting = None
    if rule.bound in ("meeting_start", "meeting_end") and job.request_id is not None:
        request = session.get(SchedulingRequest, job.request_id)
        if request is not None and request.meeting_start and request.meeting_end:
            data = proposed.action_data
            event_id = data.event_id if isinstance(data, CancelData | MoveData) else None
            if event_id is None or event_id == request.calendar_event_id:
                meeting = (request.meeting_start, request.meeting_end)
    return expires_at(
        proposed.action_type,
        proposed.action_data,
        now=now,
        asked=proposed.expires_in,
        meeting=meeting,
    )
