"""A newer reply replaces the drafts written for what came before it.

A draft that answers the prospect (a booking, a move, fresh times, a confirmation, a nudge) was
written for the conversation as it stood. Once they write again, that draft may book a time
they have just taken back, so it stops being approvable: in the transaction that records the
new reply, every such pending draft on the request becomes `superseded`, its card is redrawn to
say so, and its job goes on without it. The new reply's own sequence drafts what now fits.

A step that would draft after a newer reply came in (a confirmation of a booking approved
before it) asks `newer_reply_since` first and leaves the answering to the newer reply.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.audit import record_action, record_draft_action
from db.models import (
    ActionStatus,
    ActionType,
    JobStatus,
    PendingAction,
    SchedulingAction,
    SequenceJob,
)
from orchestrator.engine.event_types import EventType

REPLACED = "replaced by a newer reply"
REFUSED = (
    "Not sent: this draft was replaced by a newer reply from the prospect. "
    "The draft for their latest reply has its own card."
)
# What answers the prospect's last words; reminders and cancels stand whatever they write.
ANSWERS = (
    ActionType.email_response,
    ActionType.email_follow_up,
    ActionType.email_confirmation,
    ActionType.calendar_book,
    ActionType.calendar_update,
)
# Sequences that answer what the prospect wrote (a reply, or the rep's call on one).
ANSWERING_JOBS = (EventType.email_received, EventType.decision_made)
UNDER_WAY = (JobStatus.queued, JobStatus.running, JobStatus.waiting_approval)
ANSWER_REPLACED = "answer_replaced"


def supersede_for_reply(
    session: Session, *, request_id: uuid.UUID, reply_job: SequenceJob, now: datetime
) -> list[PendingAction]:
    """In the transaction that records the reply `reply_job` answers: mark the request's
    pending answering drafts superseded, and note which earlier answers are still under way
    (for `newer_reply_since`). Returns the drafts, for the caller to redraw their cards and
    resume their jobs once it commits (the clock's reconciler does both if that is lost)."""
    pending = session.exec(
        select(PendingAction)
        .where(PendingAction.request_id == request_id)
        .where(col(PendingAction.status) == ActionStatus.pending)
        .where(col(PendingAction.action_type).in_(ANSWERS))
    ).all()
    replaced = []
    for action in pending:
        # Conditional, so a click that got in first keeps its decision.
        won = session.execute(
            update(PendingAction)
            .where(col(PendingAction.id) == action.id)
            .where(col(PendingAction.status) == ActionStatus.pending)
            .values(status=ActionStatus.superseded, error=REPLACED, updated_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if won:
            record_draft_action(
                session,
                action,
                kind="action_superseded",
                actor="system",
                reasoning=f"{REPLACED}; nothing was sent",
                now=now,
            )
            replaced.append(action)
    earlier = session.exec(
        select(SequenceJob.id)
        .where(SequenceJob.request_id == request_id)
        .where(col(SequenceJob.event_type).in_(ANSWERING_JOBS))
        .where(col(SequenceJob.status).in_(UNDER_WAY))
        .where(SequenceJob.id != reply_job.id)
    ).all()
    for job_id in earlier:
        record_action(
            session,
            org_id=reply_job.org_id,
            request_id=request_id,
            kind=ANSWER_REPLACED,
            actor="system",
            reasoning="the prospect wrote again while this answer was under way",
            details={"job_id": str(job_id), "by_job_id": str(reply_job.id)},
            now=now,
        )
    return replaced


def newer_reply_since(session: Session, job: SequenceJob) -> bool:
    """Whether the prospect wrote again on `job`'s request while `job` was under way."""
    if job.request_id is None:
        return False
    notes = session.exec(
        select(SchedulingAction.details)
        .where(SchedulingAction.request_id == job.request_id)
        .where(SchedulingAction.action_type == ANSWER_REPLACED)
    ).all()
    return any(note.get("job_id") == str(job.id) for note in notes)
