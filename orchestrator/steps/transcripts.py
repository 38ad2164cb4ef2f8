"""`transcript_received`: a meeting's transcript → what each side agreed → a recap draft.

- **draft_recap** reads the commitments (`skills.commitments`), our side being the rep and the
  request's internal attendees, theirs its external ones, the meeting's start as "now" for due
  days and the rep's zone; records them on the job, and drafts the recap email to the request's
  prospect (approval). Nothing sure enough to write down: the rep hears of it, nothing drafted.
- **record_recap** audits whether it was sent.

The transcript is untrusted text: it fills the email's body, which the rep reads before Approve,
and never chooses who receives anything: the recipients are the request's own attendees.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlmodel import Session, col, select

from db.models import (
    ActionStatus,
    ActionType,
    EmailMessage,
    MeetingTranscript,
    PendingAction,
    Rep,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.engine.action_data import EmailData
from orchestrator.engine.event_types import TranscriptReceived, payload
from orchestrator.engine.events import ProposedAction, StepContext, StepResult
from orchestrator.steps.follow_up import DRAFT_TTL, last_outbound
from orchestrator.steps.scheduling import audit, load_request, message_id
from skills.commitments import Commitment, Sides, extract_commitments
from skills.email_fields import addressed, reply_fields
from skills.recap_email import RecapInput, recap_email

KEY = ActionType.email_recap.value


def sides_of(rep: Rep, attendees: list[SchedulingAttendee]) -> Sides:
    ours = [rep.name, rep.email]
    theirs: list[str] = []
    for person in attendees:
        (ours if person.side == "internal" else theirs).extend([person.name, person.email])
    return Sides(ours=tuple(p for p in ours if p), theirs=tuple(p for p in theirs if p))


def read_commitments(
    session: Session, job: SequenceJob
) -> tuple[SchedulingRequest, Rep, list[SchedulingAttendee], list[Commitment]]:
    transcript_id = uuid.UUID(payload(job, TranscriptReceived).transcript_id)
    transcript = session.get_one(MeetingTranscript, transcript_id)
    request, rep, attendees = load_request(session, job)
    found = extract_commitments(
        transcript.text,
        sides=sides_of(rep, attendees),
        now=request.meeting_start or transcript.received_at,
        tz=rep.timezone,
        fmt=transcript.format,
    )
    return request, rep, attendees, found


def as_record(item: Commitment) -> dict[str, Any]:
    return {
        "owner": item.owner,
        "kind": item.kind,
        "evidence": item.evidence,
        "speaker": item.speaker,
        "due": item.due_text,
        "due_on": item.due_on.isoformat() if item.due_on else None,
        "confidence": item.confidence,
        "actionable": item.actionable,
        "with_whom": item.with_whom,
    }


def draft_recap(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, rep, attendees, found = read_commitments(ctx.session, job)
    records = [as_record(c) for c in found]
    subject = _first_subject(ctx.session, request) or f"Our {request.meeting_type}"
    prospect = next((a for a in attendees if a.side == "external" and a.required), None)
    draft = recap_email(
        RecapInput(
            first_name=prospect.name.split()[0] if prospect and prospect.name else "",
            rep_name=rep.name or rep.email,
            meeting_label=request.meeting_type,
            subject=subject,
            commitments=found,
        )
    )
    if draft is None or prospect is None:
        why = "no external attendee" if prospect is None else "nothing agreed was clear enough"
        audit(ctx, request, "recap_not_drafted", why, commitments=len(found))
        return StepResult(output={"commitments": records, "skipped": why}, stop=True)
    last = last_outbound(ctx.session, request)
    data = EmailData(
        **addressed(attendees),
        subject=draft.subject,
        body=draft.body,
        message_id=message_id(job, ctx, KEY),
    )
    if last is not None:
        data = replace(data, **reply_fields(last, subject=subject))
    sure = sum(c.actionable for c in found)
    audit(ctx, request, "draft_created", f"meeting recap drafted from {sure} commitments")
    return StepResult(
        output={"commitments": records},
        actions=[
            ProposedAction(
                action_type=ActionType.email_recap,
                key=KEY,
                action_data=data,
                reasoning=(
                    f"Read from the meeting's transcript: {sure} things agreed "
                    f"({len(found) - sure} unsure, left out)."
                ),
                confidence=1.0,
                expires_in=DRAFT_TTL,
            )
        ],
    )


def record_recap(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, _, _ = load_request(ctx.session, job)
    action = ctx.session.exec(select(PendingAction).where(PendingAction.job_id == job.id)).first()
    assert action is not None
    if action.status == ActionStatus.executed:
        audit(ctx, request, "recap_sent", "meeting recap sent")
    else:
        audit(ctx, request, "recap_not_sent", f"recap {action.status}; nothing was sent")
    return StepResult(output={"action_status": action.status})


def _first_subject(session: Session, request: SchedulingRequest) -> str:
    first = session.exec(
        select(EmailMessage.subject)
        .where(EmailMessage.request_id == request.id)
        .where(EmailMessage.direction == "outbound")
        .where(EmailMessage.status == "sent")
        .order_by(col(EmailMessage.sent_at), col(EmailMessage.created_at))
    ).first()
    return first or ""
