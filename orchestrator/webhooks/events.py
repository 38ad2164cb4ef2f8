"""Recording request events for the org's webhook subscriptions, in the caller's transaction.

Called where a request books, moves or ends, with the session that writes that change: the
delivery rows commit with it or not at all, so an event is never told that did not happen and
never lost once it did. Sending is the worker's (`webhooks.deliver`), never the caller's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from db.models import (
    SchedulingAttendee,
    SchedulingRequest,
    WebhookDelivery,
    WebhookSubscription,
)
from db.upsert import insert_or_ignore

# Delivery ids are derived, not drawn: the same event for the same subscription is one id.
DELIVERY_NAMESPACE = uuid.UUID("6f1d5c0e-5b0a-4d47-9d8e-3c1b8f0a9e21")


class WebhookEvent(StrEnum):
    booked = "booked"  # a meeting is on the calendar
    moved = "moved"  # the booked meeting has a new time
    held = "held"  # the rep said it happened
    no_show = "no_show"  # the rep said they missed it
    cancelled = "cancelled"  # the request was closed (`outcome` says by whom, or why)
    gave_up = "gave_up"  # a stop rule: unanswered, too long open, too many no-shows


EVENT_TYPES = tuple(WebhookEvent)


def record_event(
    session: Session,
    request: SchedulingRequest,
    event: WebhookEvent,
    *,
    now: datetime,
    occurrence: str = "",
) -> int:
    """One delivery row per live subscription of the org that wants `event`; how many.

    `occurrence` tells apart two events of one type on one request (a meeting booked, later
    another one): the same event recorded twice, by a step run again or by two paths that
    both see a move, is the same `delivery_id`, and its second insert is ignored."""
    subscriptions = session.exec(
        select(WebhookSubscription)
        .where(WebhookSubscription.org_id == request.org_id)
        .where(col(WebhookSubscription.removed_at).is_(None))
    ).all()
    wanted = [s for s in subscriptions if event.value in s.events]
    if not wanted:
        return 0
    body = _payload(session, request, event, now=now)
    recorded = 0
    for subscription in wanted:
        delivery_id = "whd_" + (
            uuid.uuid5(
                DELIVERY_NAMESPACE, f"{subscription.id}:{event}:{request.id}:{occurrence}"
            ).hex
        )
        recorded += insert_or_ignore(
            session,
            model=WebhookDelivery,
            values={
                "delivery_id": delivery_id,
                "org_id": request.org_id,
                "subscription_id": subscription.id,
                "request_id": request.id,
                "event_type": event.value,
                "payload": {"id": delivery_id, **body},
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            },
        )
    return recorded


def _payload(
    session: Session, request: SchedulingRequest, event: WebhookEvent, *, now: datetime
) -> dict[str, Any]:
    attendees = session.exec(
        select(SchedulingAttendee)
        .where(SchedulingAttendee.request_id == request.id)
        .order_by(col(SchedulingAttendee.created_at), col(SchedulingAttendee.email))
    ).all()
    meeting = (
        {"start": request.meeting_start.isoformat(), "end": request.meeting_end.isoformat()}
        if request.meeting_start is not None and request.meeting_end is not None
        else None
    )
    return {
        "type": event.value,
        "occurred_at": now.isoformat(),
        "request": {
            "ref": request.ref,
            "id": str(request.id),
            "title": request.title or request.meeting_type,
            "status": request.status,
        },
        "outcome": request.outcome,
        "attendees": [
            {"email": a.email, "name": a.name, "side": a.side, "required": a.required}
            for a in attendees
        ],
        "meeting": meeting,
    }
