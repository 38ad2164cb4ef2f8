"""Nothing is stuck: every request still under way has something that will move it on.

A request that is neither finished nor paused must have a wake-up (a follow-up the clock will
start, a job queued or running, a booked meeting the clock watches for its reminder and its
"did it happen?" card) or a card waiting on the rep (a draft to approve, a decision, a reply
from a stranger, a person a reply named). A paused request is the rep's to move; it is stuck
only when a reply came in while it was paused and no card offers to reopen it.

`stuck_requests` lists those that have none of these: each is a request the rep believes is
being handled while nothing will ever happen on it again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from db.models import (
    BOOKED_STATUSES,
    FINISHED_STATUSES,
    EmailMessage,
    JobStatus,
    PendingAction,
    RequestStatus,
    SchedulingAction,
    SchedulingRequest,
    SequenceJob,
    SlackNotification,
)
from orchestrator.engine.event_types import EventType
from orchestrator.engine.runner import OPEN_ACTION_STATES
from orchestrator.inbox.stranger_replies import HELD
from orchestrator.steps.meeting import check_key
from orchestrator.timers.due import DUE_EVENTS, MEETING_CHECK_WINDOW

LIVE_JOBS = (JobStatus.queued, JobStatus.running, JobStatus.waiting_approval)
# What `respond` says when it leaves a reply to the recipient card (steps.respond.on_delegate).
AWAITS_RECIPIENT = "waiting for the rep to confirm who they named"


def stuck_requests(session: Session, *, now: datetime) -> list[SchedulingRequest]:
    """Requests under way with neither a wake-up nor an open card, oldest first."""
    rows = session.exec(
        select(SchedulingRequest)
        .where(col(SchedulingRequest.status).notin_(list(FINISHED_STATUSES)))
        .order_by(col(SchedulingRequest.created_at))
    ).all()
    return [r for r in rows if not _moves_on(session, r, now=now)]


def _moves_on(session: Session, request: SchedulingRequest, *, now: datetime) -> bool:
    if request.status == RequestStatus.paused:
        return not _reply_since_paused(session, request) or _open_card(session, request)
    return _wake_up(session, request, now=now) or _open_card(session, request)


def _wake_up(session: Session, request: SchedulingRequest, *, now: datetime) -> bool:
    if request.next_action_at is not None and request.next_action_type in DUE_EVENTS:
        return True
    if _live_job(session, request.id):
        return True
    if request.status in BOOKED_STATUSES and request.meeting_start is not None:
        # The clock reminds before the meeting and asks about it after (timers.due).
        end = request.meeting_end or request.meeting_start
        return end > now - MEETING_CHECK_WINDOW or _meeting_check_posted(session, request)
    return False


def _open_card(session: Session, request: SchedulingRequest) -> bool:
    if request.event_next_action == "waiting_for_decision":
        return True
    open_action = session.exec(
        select(PendingAction.id)
        .where(PendingAction.request_id == request.id)
        .where(col(PendingAction.status).in_(OPEN_ACTION_STATES))
    ).first()
    if open_action is not None:
        return True
    held = session.exec(
        select(EmailMessage.id)
        .where(EmailMessage.request_id == request.id)
        .where(EmailMessage.status == HELD)
    ).first()
    return held is not None or _recipient_card_open(session, request.id)


def _live_job(session: Session, request_id: uuid.UUID) -> bool:
    return (
        session.exec(
            select(SequenceJob.id)
            .where(SequenceJob.request_id == request_id)
            .where(col(SequenceJob.status).in_(LIVE_JOBS))
        ).first()
        is not None
    )


def _meeting_check_posted(session: Session, request: SchedulingRequest) -> bool:
    assert request.meeting_start is not None
    key = check_key(request.id, request.meeting_start)
    posted = select(SlackNotification.id).where(SlackNotification.dedupe_key == key)
    return session.exec(posted).first() is not None


def _recipient_card_open(session: Session, request_id: uuid.UUID) -> bool:
    """A reply named someone new and the rep has not yet answered the card about them."""
    replies = session.exec(
        select(SequenceJob)
        .where(SequenceJob.request_id == request_id)
        .where(SequenceJob.event_type == EventType.email_received)
    ).all()
    waiting = [
        j for j in replies if (j.outputs.get("respond") or {}).get("reason") == AWAITS_RECIPIENT
    ]
    if not waiting:
        return False
    answered = set(
        session.exec(
            select(SequenceJob.idempotency_key).where(
                col(SequenceJob.idempotency_key).in_([f"recipient:{j.id}" for j in waiting])
            )
        ).all()
    )
    return any(f"recipient:{j.id}" not in answered for j in waiting)


def _reply_since_paused(session: Session, request: SchedulingRequest) -> bool:
    """Whether a prospect's reply was read after the request was last paused."""
    kinds = ("request_paused", "follow_ups_stopped", "reply_received")
    rows = session.exec(
        select(SchedulingAction.action_type)
        .where(SchedulingAction.request_id == request.id)
        .where(col(SchedulingAction.action_type).in_(kinds))
        .order_by(col(SchedulingAction.created_at).desc())
    ).first()
    return rows == "reply_received"
