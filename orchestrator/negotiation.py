"""One negotiation state per request: the times on offer, the meeting booked, the drafts open.

Three questions come up in nearly every step: which times does the prospect have in front of
them, is there a meeting on the calendar to move, and is a draft already waiting for the rep?
The answers live in different rows (`proposed_slots`; `calendar_event_id` with the meeting's
start and end; open `pending_actions`), so this module is the one place that reads them into a
`Negotiation` and the one place that changes the first two. A step that asks here gets the
same answer as every other step, and a write here can't update one field and forget its pair.

`proposed_slots` holds the times found for the rep to choose from until the first email goes
out; from then on it holds what the last sent email offered (`outbox.offered` reads the sent
text, the rep's edits included).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from db.models import (
    OPEN_ACTION_STATUSES,
    ActionType,
    PendingAction,
    SchedulingRequest,
)
from orchestrator.engine.outputs import OfferedSlot


@dataclass(frozen=True)
class Meeting:
    """The event this request put on the calendar, at the time it is on it now."""

    event_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Negotiation:
    request_id: uuid.UUID
    offered: tuple[OfferedSlot, ...]
    meeting: Meeting | None
    open_drafts: tuple[PendingAction, ...]  # pending, approved, or being sent

    @property
    def offered_starts(self) -> tuple[datetime, ...]:
        return tuple(slot.start for slot in self.offered)

    def drafts_of(self, *kinds: ActionType) -> tuple[PendingAction, ...]:
        return tuple(a for a in self.open_drafts if a.action_type in kinds)


# --- reading -----------------------------------------------------------------------------------


def offered(request: SchedulingRequest) -> tuple[OfferedSlot, ...]:
    """The times on offer, in the order the prospect saw them."""
    return tuple(OfferedSlot.from_json(slot) for slot in request.proposed_slots)


def offered_starts(request: SchedulingRequest) -> tuple[datetime, ...]:
    """Only the starts: what matching a reply and the status view need, read even from a row
    whose ends were never written."""
    return tuple(datetime.fromisoformat(slot["start"]) for slot in request.proposed_slots)


def event_id(request: SchedulingRequest) -> str | None:
    """The event this request has on the calendar, if any: a booking moves it rather than
    adding a second event, whatever else the row holds."""
    return request.calendar_event_id


def meeting(request: SchedulingRequest) -> Meeting | None:
    """The request's live event, or None when nothing of it is on the calendar."""
    if request.calendar_event_id is None:
        return None
    if request.meeting_start is None or request.meeting_end is None:
        return None  # an event id without its time is a row half-written: not one to move
    return Meeting(request.calendar_event_id, request.meeting_start, request.meeting_end)


def open_drafts(session: Session, request_id: uuid.UUID) -> tuple[PendingAction, ...]:
    rows = session.exec(
        select(PendingAction)
        .where(PendingAction.request_id == request_id)
        .where(col(PendingAction.status).in_(OPEN_ACTION_STATUSES))
        .order_by(col(PendingAction.created_at))
    ).all()
    return tuple(rows)


def negotiation(session: Session, request: SchedulingRequest) -> Negotiation:
    return Negotiation(
        request_id=request.id,
        offered=offered(request),
        meeting=meeting(request),
        open_drafts=open_drafts(session, request.id),
    )


# --- changing it -------------------------------------------------------------------------------


def put_on_offer(
    request: SchedulingRequest, slots: Iterable[OfferedSlot], *, now: datetime
) -> None:
    """These times, in this order, are what the prospect has (or, before the first email, is
    about to have) in front of them; the caller adds the row to its session."""
    request.proposed_slots = [slot.to_json() for slot in slots]
    request.updated_at = now


def record_meeting(
    request: SchedulingRequest, *, event_id: str, start: datetime, end: datetime, now: datetime
) -> None:
    """The event `event_id` is on the calendar from `start` to `end`: booked, or moved there."""
    request.calendar_event_id = event_id
    request.meeting_start, request.meeting_end = start, end
    request.updated_at = now


def forget_meeting(request: SchedulingRequest, *, now: datetime) -> None:
    """The event is off the calendar. Its times stay on the row: reporting and the no-show
    check of a meeting that already happened still read when it was."""
    request.calendar_event_id = None
    request.updated_at = now


def meeting_over(request: SchedulingRequest, *, now: datetime) -> None:
    """It happened without them, or is to be held another time: the next meeting is
    negotiated from nothing (the audit row keeps when this one was)."""
    request.calendar_event_id = None
    request.meeting_start = request.meeting_end = None
    request.updated_at = now
