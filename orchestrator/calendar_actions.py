"""Calendar side effects of the outbox: book, move and cancel the meeting's event.

Only `outbox.execute` calls an executor, after it has claimed the approved action
(`approved → executing`), so one runs per action at a time. Each is safe to repeat when a crash
or a timeout hid whether the provider got the first call:

- book: the event id is derived from the action's id, so a retried create finds the first event;
- move: the update sets absolute values (time, title, attendees) on our event id, so repeating it
  leaves the same single event at the same time (attendees may see the update notice again,
  never a second event);
- cancel: cancelling an event that is already gone is a no-op, so a retry, or a cancel of an
  event someone deleted by hand, counts as done.

The provider tells the attendees (Google `sendUpdates=all`, Graph, the embedded calendar's
copies); no extra email is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from connectors.errors import EventNotFound
from connectors.ports import CalendarEvent, EventAttendee
from db.models import (
    ActionStatus,
    ActionType,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
)
from orchestrator.bootstrap import Deps
from skills.draft_email import format_slot

Executor = Callable[[Deps, PendingAction, Rep], dict[str, Any]]


def _event(data: dict[str, Any], *, event_id: str, organizer: str) -> CalendarEvent:
    return CalendarEvent(
        event_id=event_id,
        organizer=organizer,
        title=data["title"],
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        attendees=tuple(
            EventAttendee(
                email=a["email"], name=a.get("name", ""), optional=a.get("optional", False)
            )
            for a in data["attendees"]
        ),
        description=data.get("description", ""),
        conference=data.get("conference"),
    )


def book(deps: Deps, action: PendingAction, rep: Rep) -> dict[str, Any]:
    """Create the event. Its id is the action's, so a retry finds the first one, never a twin."""
    event = _event(
        action.effective_data(), event_id=f"convene-{action.id.hex}", organizer=rep.email
    )
    created = deps.calendar_for(action.org_id).create_event(event)
    return {"event_id": created.event_id, "join_url": created.join_url}


def move(deps: Deps, action: PendingAction, rep: Rep) -> dict[str, Any]:
    """Give the booked event (`event_id`) its new time; a missing event fails the action, since
    a meeting that is gone cannot be moved (the rep sees why on the card)."""
    data = action.effective_data()
    event = _event(data, event_id=data["event_id"], organizer=rep.email)
    deps.calendar_for(action.org_id).update_event(event)
    return {
        "event_id": event.event_id,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        # The room link does not change with the time; the confirmation email repeats it.
        "join_url": _join_url(deps, action, event.event_id),
    }


def cancel(deps: Deps, action: PendingAction, rep: Rep) -> dict[str, Any]:
    """Cancel the event and let the provider notify the attendees; already gone is done."""
    event_id = str(action.effective_data()["event_id"])
    try:
        deps.calendar_for(action.org_id).cancel_event(organizer=rep.email, event_id=event_id)
    except EventNotFound:
        return {"event_id": event_id, "already_gone": True}
    return {"event_id": event_id, "already_gone": False}


EXECUTORS: dict[str, Executor] = {
    ActionType.calendar_book: book,
    ActionType.calendar_update: move,
    ActionType.calendar_cancel: cancel,
}


def _join_url(deps: Deps, action: PendingAction, event_id: str) -> str | None:
    with deps.uow() as uow:
        booked = uow.session.exec(
            select(PendingAction)
            .where(PendingAction.request_id == action.request_id)
            .where(PendingAction.action_type == ActionType.calendar_book)
            .where(PendingAction.status == ActionStatus.executed)
        ).all()
    for row in booked:
        if row.result and row.result.get("event_id") == event_id:
            return row.result.get("join_url")
    return None


def record_on_request(
    session: Session, action: PendingAction, result: dict[str, Any], *, now: datetime
) -> None:
    """Keep the request in step with its calendar, in the transaction that marks the action
    executed: whichever sequence moved or cancelled the event, reminders and the no-show check
    follow the event's real time."""
    if action.request_id is None or action.action_type == ActionType.calendar_book:
        return  # a booking becomes the request's meeting in the step that proposed it
    request = session.get(SchedulingRequest, action.request_id)
    if request is None or request.calendar_event_id != result.get("event_id"):
        return
    if action.action_type == ActionType.calendar_update:
        request.meeting_start = datetime.fromisoformat(result["start"])
        request.meeting_end = datetime.fromisoformat(result["end"])
        if request.status == RequestStatus.reminder_sent:
            # That reminder named the old time; the new time gets its own.
            request.status = RequestStatus.confirmed
    elif action.action_type == ActionType.calendar_cancel:
        request.calendar_event_id = None
    request.updated_at = now
    session.add(request)


# --- proposing a cancel ------------------------------------------------------------------------


def future_events(
    session: Session, request: SchedulingRequest, *, now: datetime
) -> dict[str, tuple[datetime, datetime]]:
    """Events this request put on the calendar that have not ended yet: event id → (start, end).

    The request's own `calendar_event_id`, plus any booking that executed before its sequence
    recorded it (a cancel between the two would otherwise leave the event behind). Past events
    stay: cancelling a meeting that already happened would only confuse the attendees.
    """
    done = session.exec(
        select(PendingAction)
        .where(PendingAction.request_id == request.id)
        .where(
            col(PendingAction.action_type).in_(
                [ActionType.calendar_book, ActionType.calendar_update, ActionType.calendar_cancel]
            )
        )
        .where(PendingAction.status == ActionStatus.executed)
        .order_by(col(PendingAction.executed_at))
    ).all()
    events: dict[str, tuple[datetime, datetime]] = {}
    for row in done:
        event_id = (row.result or {}).get("event_id")
        if not event_id:
            continue
        if row.action_type == ActionType.calendar_cancel:
            events.pop(event_id, None)
            continue
        data = row.effective_data()
        events[event_id] = (
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["end"]),
        )
    if request.calendar_event_id and request.meeting_start and request.meeting_end:
        events[request.calendar_event_id] = (request.meeting_start, request.meeting_end)
    return {event_id: span for event_id, span in events.items() if span[1] > now}


def cancel_action(
    request: SchedulingRequest,
    rep: Rep,
    attendees: list[SchedulingAttendee],
    *,
    event_id: str,
    start: datetime,
    reason: str,
    now: datetime,
) -> PendingAction:
    """A `calendar_cancel` draft for the rep's approval card (to/subject/body are what it shows)."""
    when = format_slot(start, tz=rep.timezone)
    title = request.title or request.meeting_type
    return PendingAction(
        org_id=request.org_id,
        rep_id=rep.id,
        request_id=request.id,
        action_type=ActionType.calendar_cancel,
        action_data={
            "event_id": event_id,
            "reason": reason,
            "to": [a.email for a in attendees if a.side == "external"],
            "subject": f"Cancel: {title}",
            "body": f"Cancel {title} on {when} and send every attendee the cancellation.",
        },
        reasoning=f"{request.ref} was cancelled ({reason}); its meeting is still on the calendar.",
        confidence=1.0,
        # One cancel per event, however often the request is cancelled or the click retried.
        idempotency_key=f"calendar_cancel:{request.id}:{event_id}",
        created_at=now,
        updated_at=now,
    )
