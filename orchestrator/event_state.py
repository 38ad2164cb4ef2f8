"""The request's seed-003 event state, stored the moment it changes.

`assess` scores a reply; the other moves of the happy path and its end happen elsewhere (the
first email goes out, the booking executes, the request is cancelled, silence runs out the
follow-ups). Each stores its state here, with one audit row per change, so the status
command, the Home tab and reporting read what is true now rather than what the last reply
left behind.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from db.audit import record_action
from db.models import SchedulingRequest
from skills.next_move.model import EVENT_TYPE, EventSubtype

STATE_CHANGED = "event_state_changed"
# Where each state puts the event's score when nothing scored it (seed 003's ranges).
SCORES: dict[str, int] = {"reaching_out": 50, "scheduled": 100, "cancelled": 0}


def store_event_state(
    session: Session,
    request: SchedulingRequest,
    subtype: EventSubtype,
    *,
    reasoning: str,
    now: datetime,
    score: int | None = None,
) -> bool:
    """Set the request's event state; audit it when it changed. True when it changed."""
    previous = request.event_next_action_subtype
    changed = subtype != previous
    if changed:
        record_action(
            session,
            org_id=request.org_id,
            request_id=request.id,
            kind=STATE_CHANGED,
            actor="ai",
            reasoning=reasoning or subtype.replace("_", " "),
            details={"subtype": subtype, "previous": previous},
            now=now,
        )
    request.event_next_action = EVENT_TYPE[subtype]
    request.event_next_action_subtype = subtype
    request.event_score = score if score is not None else SCORES.get(subtype, request.event_score)
    request.updated_at = now
    session.add(request)
    return changed
