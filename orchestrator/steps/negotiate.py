"""After a booking or a reply of ours went out: confirming the meeting, recording the outcome.

`propose_confirmation` follows an executed booking (made by `offers.book_or_counter`) with a
short confirmation; `record_reply_outcome` waits for their answer to what we sent. Every step
only proposes actions; the rep approves each one.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from db.models import (
    ActionStatus,
    ActionType,
    EmailMessage,
    Rep,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.cadence import follow_up_at
from orchestrator.engine.action_data import EmailData
from orchestrator.engine.event_types import reply_id
from orchestrator.engine.events import ProposedAction, StepContext, StepResult
from orchestrator.outbox.superseded import newer_reply_since
from orchestrator.steps.drafting import worded, write
from orchestrator.steps.replies import prospect_tz
from orchestrator.steps.scheduling import (
    audit,
    draft_common,
    job_actions,
    message_id,
    record_booking,
)
from skills.draft_email import ConfirmationInput
from skills.email_fields import threaded_under
from skills.email_text import clean_body

NEXT_FOLLOW_UP = timedelta(hours=24)
CALENDAR_ACTIONS = (ActionType.calendar_book, ActionType.calendar_update)


def _context(
    session: Session, job: SequenceJob
) -> tuple[SchedulingRequest, Rep, list[SchedulingAttendee], EmailMessage]:
    request = session.get_one(SchedulingRequest, job.request_id)
    rep = session.get_one(Rep, request.rep_id)
    attendees = list(
        session.exec(select(SchedulingAttendee).where(SchedulingAttendee.request_id == request.id))
    )
    inbound = session.get_one(EmailMessage, reply_id(job))
    return request, rep, attendees, inbound


def propose_confirmation(job: SequenceJob, ctx: StepContext) -> StepResult:
    """After the booking (or the move) executed: record the meeting and confirm it by email."""
    booking = ctx.session.exec(job_actions(job, *CALENDAR_ACTIONS)).first()
    if booking is None or booking.status != ActionStatus.executed or not booking.result:
        return StepResult(output={"booked": False})
    request, rep, attendees, inbound = _context(ctx.session, job)
    record_booking(ctx, request, booking)
    assert request.meeting_start is not None
    if newer_reply_since(ctx.session, job):
        # They wrote again meanwhile; confirming this time could talk over what they said.
        audit(ctx, request, "confirmation_skipped", "a newer reply is being answered")
        return StepResult(output={"booked": True, "confirmation": "left to the newer reply"})
    for attendee in attendees:
        if attendee.email.lower() == inbound.sender.lower() and attendee.required:
            attendee.invite_status = "accepted"
            ctx.session.add(attendee)
    tz = prospect_tz(ctx.session, request, inbound.sender)
    prospect = next((a for a in attendees if a.email.lower() == inbound.sender.lower()), None)
    written = write(
        ctx,
        request,
        ConfirmationInput(
            first_name=(prospect.name.split()[0] if prospect and prospect.name else ""),
            **draft_common(rep, request, recipient_tz=tz, original_subject=inbound.subject),
            start=request.meeting_start,
            meeting_link=booking.result.get("join_url") or "",
            meeting_place=request.location,
        ),
        prospect_message=clean_body(inbound.body_text),
    )
    draft = written.draft
    return StepResult(
        output={"booked": True},
        actions=[
            ProposedAction(
                action_type=ActionType.email_confirmation,
                key="email_confirmation",
                action_data=EmailData(
                    to=tuple(a.email for a in attendees if a.side == "external" and a.required),
                    subject=draft.subject,
                    body=draft.body,
                    message_id=message_id(job, ctx, "email_confirmation"),
                    **threaded_under(inbound),
                ),
                reasoning=worded(
                    "The meeting is on the calendar; a short note confirms it.", written
                ),
                confidence=0.95,
            )
        ],
    )


# What an executed reply email was, by what the respond step drafted (its output key).
REPLY_SENT = {
    "counter": ("counter_proposal_sent", "offered fresh times"),
    "answer_drafted": ("answer_sent", "answered their question"),
    "delegate": ("delegate_contacted", "wrote to the person they named"),
    "clarification": ("clarification_sent", "asked which time they meant"),
}


def record_reply_outcome(job: SequenceJob, ctx: StepContext) -> StepResult:
    """Once our reply went out, the ball is in their court: follow up if they go quiet."""
    request = ctx.session.get_one(SchedulingRequest, job.request_id)
    sent = ctx.session.exec(job_actions(job, ActionType.email_response)).first()
    confirmation = ctx.session.exec(job_actions(job, ActionType.email_confirmation)).first()
    if sent is not None and sent.status == ActionStatus.executed:
        drafted = job.outputs.get(job_step_with_actions(job)) or {}
        kind, reasoning = next(
            (REPLY_SENT[key] for key in REPLY_SENT if drafted.get(key)), REPLY_SENT["counter"]
        )
        booked = ctx.session.exec(job_actions(job, *CALENDAR_ACTIONS)).first()
        # An answer sent beside this reply's booking leaves the meeting booked: nothing to chase.
        if booked is None or booked.status != ActionStatus.executed:
            request.status = RequestStatus.negotiating
            request.attempt_count += 1
            # The times it offered became the request's when it was sent (outbox.offered).
            request.next_action_type = "follow_up"
            request.next_action_at = follow_up_at(
                ctx.session, request, earliest=ctx.now + NEXT_FOLLOW_UP
            )
        audit(ctx, request, kind, reasoning)
    if confirmation is not None and confirmation.status == ActionStatus.executed:
        audit(ctx, request, "confirmation_sent", "confirmed the booked meeting")
    request.updated_at = ctx.now
    ctx.session.add(request)
    return StepResult(output={"status": request.status})


def job_step_with_actions(job: SequenceJob) -> str:
    """The step that drafted the reply: `respond` after a reply, `act_on_decision` after a
    decision card."""
    return "respond" if "respond" in job.outputs else "act_on_decision"
