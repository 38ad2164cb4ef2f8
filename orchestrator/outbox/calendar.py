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

Google (`sendUpdates=all`) and Microsoft Graph tell the attendees themselves. A calendar that
does not (`sends_invites` is False: the embedded one) only keeps its copies, so `invitation`
builds the iCalendar email (RFC 5546 REQUEST or CANCEL) that the outbox sends from the rep's own
mailbox after the calendar call, exactly once like any other email.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from connectors.errors import EventNotFound, PermanentError
from connectors.mail.invitations import Invite, Invitee, Method, build_ics
from connectors.mail.outbound import prepare
from connectors.ports import CalendarEvent, EventAttendee, OutboundEmail
from db.models import (
    ActionStatus,
    ActionType,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
)
from orchestrator.deps import Deps
from orchestrator.engine.action_data import BookingData, CancelData, MoveData, action_data
from orchestrator.negotiation import forget_meeting, meeting, record_meeting
from orchestrator.webhooks.events import WebhookEvent, record_event
from skills.draft_wording import format_slot

Executor = Callable[[Deps, PendingAction, Rep], dict[str, Any]]


def _event(
    data: BookingData, *, event_id: str, organizer: str, zoom: str | None = None
) -> CalendarEvent:
    """The calendar's event. A Zoom room is ours, not the calendar's: its link goes where an
    attendee looks for a place and in the description, and the calendar makes no room."""
    description = data.description
    if zoom:
        description = f"{description}\n\nJoin Zoom: {zoom}".strip()
    return CalendarEvent(
        event_id=event_id,
        organizer=organizer,
        title=data.title,
        start=data.start,
        end=data.end,
        attendees=tuple(
            EventAttendee(email=a.email, name=a.name, optional=a.optional) for a in data.attendees
        ),
        description=description,
        conference=None if data.conference == ZOOM else data.conference,
        location=zoom or data.location or "",
    )


ZOOM = "zoom"
NO_ZOOM_LINK = (
    "This is a Zoom meeting, but there is no Zoom link to put in the invitation: add yours in "
    "`/schedule settings` (or ask an admin to set up the Zoom app), then press Retry."
)


def _zoom_room(deps: Deps, data: BookingData, rep: Rep) -> dict[str, Any]:
    """The Zoom room for a booking: one made through the team's Zoom app, else the rep's own
    link. Made before the calendar event, so a retry after a failed create finds it again."""
    if deps.rooms is not None:
        room = deps.rooms.create_room(
            host=rep.email, topic=data.title, start=data.start, minutes=_minutes(data)
        )
        return {"join_url": room.join_url, "room_id": room.room_id, "zoom": True}
    if rep.zoom_link:
        return {"join_url": rep.zoom_link, "zoom": True}
    raise PermanentError(NO_ZOOM_LINK)


def book(deps: Deps, action: PendingAction, rep: Rep) -> dict[str, Any]:
    """Create the event, unless the request already has one ahead: then that one moves here.

    A second booking can be drafted while the first still waits to execute (its reply came
    in the undo window, or before the first job recorded its event); one meeting is one event
    whichever order they run in. A created event's id is the action's, so a retry finds the
    first one, never a twin; a move repeated by a retry is the same absolute update."""
    data = action_data(action, BookingData)
    own = f"convene-{action.id.hex}"
    live = _live_event(deps, action, own)
    if live is not None:
        booked = _booked_result(deps, action, live)
        _move_room(deps, booked, data)
        join = booked.get("join_url")
        deps.calendar_for(action.org_id).update_event(
            _event(data, event_id=live, organizer=rep.email, zoom=_zoom_link(booked))
        )
        return {"event_id": live, "join_url": join, "moved": True} | _zoom_keys(booked)
    room = _zoom_room(deps, data, rep) if data.conference == ZOOM else {}
    created = deps.calendar_for(action.org_id).create_event(
        _event(data, event_id=own, organizer=rep.email, zoom=_zoom_link(room))
    )
    return {"event_id": created.event_id, "join_url": created.join_url} | room


def _minutes(data: BookingData) -> int:
    return int((data.end - data.start).total_seconds() // 60)


def _move_room(deps: Deps, booked: dict[str, Any], data: BookingData) -> None:
    """A Zoom room we made moves with its meeting (a personal link has no time to move)."""
    if booked.get("room_id") and deps.rooms is not None:
        deps.rooms.move_room(
            room_id=str(booked["room_id"]), start=data.start, minutes=_minutes(data)
        )


def _zoom_link(booked: dict[str, Any]) -> str | None:
    return str(booked["join_url"]) if booked.get("zoom") and booked.get("join_url") else None


def _zoom_keys(booked: dict[str, Any]) -> dict[str, Any]:
    """What a move carries over from the booking it moves, so later moves and the cancel
    still find the Zoom room."""
    return {k: booked[k] for k in ("zoom", "room_id") if k in booked}


def _live_event(deps: Deps, action: PendingAction, own: str) -> str | None:
    """The request's event still ahead that is not this action's own: the request's recorded
    meeting first, else the latest booking executed."""
    if action.request_id is None:
        return None
    with deps.uow() as uow:
        request = uow.session.get(SchedulingRequest, action.request_id)
        if request is None:
            return None
        events = future_events(uow.session, request, now=deps.clock.now())
        recorded = request.calendar_event_id
    events.pop(own, None)
    if recorded in events:
        return recorded
    return next(reversed(events), None)


def move(deps: Deps, action: PendingAction, rep: Rep) -> dict[str, Any]:
    """Give the booked event (`event_id`) its new time; a missing event fails the action, since
    a meeting that is gone cannot be moved (the rep sees why on the card)."""
    data = action_data(action, MoveData)
    booked = _booked_result(deps, action, data.event_id)
    _move_room(deps, booked, data)
    # The room link does not change with the time; the confirmation email repeats it.
    join = booked.get("join_url")
    event = _event(data, event_id=data.event_id, organizer=rep.email, zoom=_zoom_link(booked))
    deps.calendar_for(action.org_id).update_event(event)
    return {
        "event_id": event.event_id,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "join_url": join,
    }


def cancel(deps: Deps, action: PendingAction, rep: Rep) -> dict[str, Any]:
    """Cancel the event and let the provider notify the attendees; already gone is done."""
    event_id = action_data(action, CancelData).event_id
    room_id = _booked_result(deps, action, event_id).get("room_id")
    if room_id and deps.rooms is not None:
        deps.rooms.delete_room(room_id=str(room_id))  # one already gone is done
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


def _booked_result(deps: Deps, action: PendingAction, event_id: str) -> dict[str, Any]:
    with deps.uow() as uow:
        return booked_result(uow.session, request_id=action.request_id, event_id=event_id)


def booked_result(
    session: Session, *, request_id: uuid.UUID | None, event_id: str | None
) -> dict[str, Any]:
    """What the booking of `event_id` recorded: its meeting link and, for a Zoom room we made,
    the room's id. A move keeps both."""
    booked = session.exec(
        select(PendingAction)
        .where(PendingAction.request_id == request_id)
        .where(PendingAction.action_type == ActionType.calendar_book)
        .where(PendingAction.status == ActionStatus.executed)
    ).all()
    for row in booked:
        if row.result and row.result.get("event_id") == event_id:
            return dict(row.result)
    return {}


def booked_join_url(
    session: Session, *, request_id: uuid.UUID | None, event_id: str | None
) -> str | None:
    """The meeting link given when `event_id` was booked; a move keeps that link."""
    join = booked_result(session, request_id=request_id, event_id=event_id).get("join_url")
    return str(join) if join else None


# --- invitations by email -----------------------------------------------------------------------


def invitation(
    deps: Deps, action: PendingAction, rep: Rep, result: dict[str, Any]
) -> OutboundEmail | None:
    """The invitation email for an executed calendar action, or None when the calendar invites
    the attendees itself (or there is nobody to tell).

    The iCalendar UID is the event id, which is also the request's `calendar_event_id`, so an
    attendee's RSVP is matched back to its request; the Message-ID is the action's, so a retry
    finds the first send in the rep's Sent folder instead of inviting twice.
    """
    if deps.calendar_for(action.org_id).sends_invites:
        return None
    event_id = str(result["event_id"])
    history = _invited(deps, action, event_id)
    # SEQUENCE is how mail clients tell an update from a stale copy: 0 for the booking, and one
    # more for every move executed before this action. This action is still `executing`, so a
    # retry counts the same moves and sends the same SEQUENCE.
    # A booking that moved the request's event (see `book`) counts as a move.
    moves = sum(
        1
        for row in history
        if row.action_type == ActionType.calendar_update or (row.result or {}).get("moved")
    )
    method: Method = "REQUEST"
    join = result.get("join_url")
    if action.action_type == ActionType.calendar_book and not result.get("moved"):
        data, sequence, heading = action_data(action, BookingData), 0, "Invitation"
    elif action.action_type in (ActionType.calendar_book, ActionType.calendar_update):
        data, sequence, heading = action_data(action, BookingData), moves + 1, "Updated invitation"
    else:
        if not history:
            return None  # never booked by us, so no invitation of ours is out there to withdraw
        # A cancel repeats the last invitation's details (clients match it on UID, and remove
        # the event only for the attendees it lists) and outranks every REQUEST before it.
        last = history[-1]
        data, join = action_data(last, BookingData), (last.result or {}).get("join_url")
        sequence, heading, method = moves + 1, "Cancelled", "CANCEL"
    organizer = rep.email.lower()
    invitees = list(
        {
            a.email.lower(): Invitee(email=a.email.lower(), name=a.name, optional=a.optional)
            for a in data.attendees
            if a.email.lower() != organizer
        }.values()
    )
    if not invitees:
        return None
    start, end = data.start, data.end
    title = data.title or "Meeting"
    when = format_slot(start, tz=rep.timezone)
    invite = Invite(
        uid=event_id,
        sequence=sequence,
        start=start,
        end=end,
        summary=title,
        organizer_email=organizer,
        organizer_name=rep.name,
        attendees=invitees,
        description=data.description,
        location=join or data.location or "",
        url=join or "",
    )
    email = OutboundEmail(
        message_id=f"<{action.id.hex}.invite@{deps.settings.mail_domain}>",
        sender=rep.email,
        to=tuple(i.email for i in invitees),
        subject=f"{heading}: {title} on {when}",
        body=_invitation_body(
            method, title=title, when=when, join=join, place=data.location or "", host=rep.name
        ),
        ics=build_ics(invite, method=method, stamp=deps.clock.now()),
        ics_method=method,
    )
    return prepare(email, signature=rep.signature)


def _invitation_body(
    method: Method, *, title: str, when: str, join: str | None, place: str, host: str
) -> str:
    if method == "CANCEL":
        return f"{title} on {when} has been cancelled."
    opening = f"{host} invited you to {title}." if host else f"You are invited to {title}."
    lines = [opening, "", f"When: {when}"]
    if join:
        lines.append(f"Join: {join}")
    if place:
        lines.append(f"Where: {place}")
    lines += ["", "Your calendar app can add it from the attached invitation."]
    return "\n".join(lines)


def _invited(deps: Deps, action: PendingAction, event_id: str) -> list[PendingAction]:
    """The executed bookings and moves of `event_id`, oldest first: the invitations sent so far.

    Looked up by request (a booking and its moves and cancel share one), then by event id.
    """
    with deps.uow() as uow:
        rows = uow.session.exec(
            select(PendingAction)
            .where(PendingAction.org_id == action.org_id)
            .where(PendingAction.request_id == action.request_id)
            .where(
                col(PendingAction.action_type).in_(
                    [ActionType.calendar_book, ActionType.calendar_update]
                )
            )
            .where(PendingAction.status == ActionStatus.executed)
            .order_by(col(PendingAction.executed_at))
        ).all()
    return [row for row in rows if (row.result or {}).get("event_id") == event_id]


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
        start = datetime.fromisoformat(result["start"])
        end = datetime.fromisoformat(result["end"])
        record_meeting(request, event_id=result["event_id"], start=start, end=end, now=now)
        if request.status == RequestStatus.reminder_sent:
            # That reminder named the old time; the new time gets its own.
            request.status = RequestStatus.confirmed
        record_event(
            session,
            request,
            WebhookEvent.moved,
            now=now,
            occurrence=start.isoformat(),
        )
    elif action.action_type == ActionType.calendar_cancel:
        forget_meeting(request, now=now)
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
        data = action_data(row, BookingData)
        events[event_id] = (data.start, data.end)
    if booked := meeting(request):
        events[booked.event_id] = (booked.start, booked.end)
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
        action_data=CancelData(
            event_id=event_id,
            reason=reason,
            to=tuple(a.email for a in attendees if a.side == "external"),
            subject=f"Cancel: {title}",
            body=f"Cancel {title} on {when} and send every attendee the cancellation.",
        ).to_json(),
        reasoning=f"{request.ref} was cancelled ({reason}); its meeting is still on the calendar.",
        confidence=1.0,
        # One cancel per event, however often the request is cancelled or the click retried.
        idempotency_key=f"calendar_cancel:{request.id}:{event_id}",
        created_at=now,
        updated_at=now,
    )
