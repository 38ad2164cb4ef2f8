"""Acting on a reply: book the time they chose (after re-checking our calendars) or offer fresh
times when theirs doesn't work; then confirm the booking. Every step only proposes actions;
the rep approves each one.

Other intents (decline, question, delegate, out of office, unclear) stop here: the previous
step already told the rep what the prospect said, and the decision is theirs.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from db.models import (
    ActionStatus,
    ActionType,
    EmailMessage,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.events import ProposedAction, StepContext, StepResult
from orchestrator.steps.replies import prospect_tz
from orchestrator.steps.scheduling import audit, free_slots, message_id, slot_query
from skills.draft_email import (
    ConfirmationInput,
    CounterProposalInput,
    confirmation_email,
    counter_proposal_email,
)
from skills.find_slots import check_slots
from skills.parse_times import extract_times
from skills.read_email import clean_body

ACTIVE = {
    RequestStatus.proposing,
    RequestStatus.awaiting_response,
    RequestStatus.negotiating,
    RequestStatus.no_show,
}
NEXT_FOLLOW_UP = timedelta(hours=24)
CONFERENCE = {"google_meet": "google_meet", "teams": "teams"}


def _context(
    session: Session, job: SequenceJob
) -> tuple[SchedulingRequest, Rep, list[SchedulingAttendee], EmailMessage]:
    request = session.get_one(SchedulingRequest, job.request_id)
    rep = session.get_one(Rep, request.rep_id)
    attendees = list(
        session.exec(select(SchedulingAttendee).where(SchedulingAttendee.request_id == request.id))
    )
    inbound = session.get_one(EmailMessage, uuid.UUID(job.trigger_payload["email_message_id"]))
    return request, rep, attendees, inbound


def _candidates(
    analysis: dict[str, Any], inbound: EmailMessage, *, now: datetime, tz: str
) -> list[datetime]:
    """The times the prospect chose or asked for, most explicit first."""
    if analysis["intent"] == "accept" and analysis.get("matched_slot"):
        return [datetime.fromisoformat(analysis["matched_slot"])]
    if analysis["intent"] in {"counter_propose", "reschedule"}:
        found = extract_times(clean_body(inbound.body_text), now=now, tz=tz)
        return [p.start for p in found if p.grain in {"minute", "hour"}]
    return []


def _reply_headers(inbound: EmailMessage) -> dict[str, Any]:
    """Answer in their thread: In-Reply-To their message, References its chain."""
    references = list(dict.fromkeys([*inbound.references, inbound.message_id]))
    return {
        "in_reply_to": inbound.message_id,
        "references": references,
        "thread_id": inbound.thread_id,
    }


def propose_booking(job: SequenceJob, ctx: StepContext) -> StepResult:
    analysis = job.outputs.get("understand_reply") or {}
    request, rep, attendees, inbound = _context(ctx.session, job)
    if (
        request.status not in ACTIVE
        or analysis.get("escalate")
        or analysis.get("confidence") == "low"
    ):
        return StepResult(output={"handled_by": "rep"}, stop=True)
    tz = prospect_tz(ctx.session, request, inbound.sender)
    candidates = _candidates(analysis, inbound, now=ctx.now, tz=tz)
    if not candidates:
        return StepResult(output={"handled_by": "rep"}, stop=True)
    duration = timedelta(minutes=request.duration_minutes)
    start, end = min(candidates) - timedelta(days=1), max(candidates) + duration + timedelta(days=1)
    query = slot_query(ctx, request=request, rep=rep, attendees=attendees, start=start, end=end)
    checks = check_slots(candidates, query)
    chosen = next((when for when, ok, _ in checks if ok), None)
    if chosen is not None:
        return StepResult(
            output={"booking": chosen.isoformat()},
            actions=[_booking(request, rep, attendees, chosen, reasoning=analysis["reasoning"])],
        )
    why = "; ".join(f"{when:%a %H:%M}: {reason}" for when, _, reason in checks)
    return StepResult(
        output={"counter": True, "why": why},
        actions=[_counter(job, ctx, request, rep, attendees, inbound, tz=tz, why=why)],
    )


def _booking(
    request: SchedulingRequest,
    rep: Rep,
    attendees: list[SchedulingAttendee],
    start: datetime,
    *,
    reasoning: str,
) -> ProposedAction:
    end = start + timedelta(minutes=request.duration_minutes)
    return ProposedAction(
        action_type=ActionType.calendar_book,
        key="calendar_book",
        action_data={
            "title": request.title,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "attendees": [
                {"email": a.email, "name": a.name, "optional": not a.required}
                for a in attendees
                if a.email.lower() != rep.email.lower()
            ],
            "description": request.context,
            "conference": CONFERENCE.get(request.platform),
            # What the approval card shows.
            "to": [a.email for a in attendees if a.side == "external"],
            "subject": f"Invite: {request.title}",
            "body": f"Book {request.duration_minutes} min starting {start.isoformat()} "
            "and send the calendar invite.",
        },
        reasoning=f"They chose this time and it is still free on our side. {reasoning}",
        confidence=0.9,
    )


def _counter(
    job: SequenceJob,
    ctx: StepContext,
    request: SchedulingRequest,
    rep: Rep,
    attendees: list[SchedulingAttendee],
    inbound: EmailMessage,
    *,
    tz: str,
    why: str,
) -> ProposedAction:
    window_start = ctx.now + timedelta(days=1)
    slots = free_slots(
        ctx,
        request=request,
        rep=rep,
        attendees=attendees,
        start=window_start,
        end=window_start + timedelta(days=7),
    )
    prospect = next((a for a in attendees if a.email.lower() == inbound.sender.lower()), None)
    draft = counter_proposal_email(
        CounterProposalInput(
            first_name=(prospect.name.split()[0] if prospect and prospect.name else ""),
            rep_name=rep.name or rep.email,
            meeting_label=request.meeting_type,
            duration_minutes=request.duration_minutes,
            recipient_tz=tz,
            our_tz=rep.timezone,
            signature=rep.signature,
            original_subject=inbound.subject,
            slots=[s.start for s in slots],
        )
    )
    return ProposedAction(
        action_type=ActionType.email_response,
        key="email_response",
        action_data={
            "to": [inbound.sender],
            "subject": draft.subject,
            "body": draft.body,
            "message_id": message_id(job, ctx, "email_response"),
            "slots": [s.isoformat() for s in draft.slots],
            **_reply_headers(inbound),
        },
        reasoning=f"The time they asked for doesn't work on our side ({why}).",
        confidence=0.8,
    )


def _action(session: Session, job: SequenceJob, kind: ActionType) -> PendingAction | None:
    return session.exec(
        select(PendingAction).where(
            PendingAction.job_id == job.id, PendingAction.action_type == kind
        )
    ).first()


def propose_confirmation(job: SequenceJob, ctx: StepContext) -> StepResult:
    """After the booking executed: record the meeting and draft the confirmation email."""
    booking = _action(ctx.session, job, ActionType.calendar_book)
    if booking is None or booking.status != ActionStatus.executed or not booking.result:
        return StepResult(output={"booked": False})
    request, rep, attendees, inbound = _context(ctx.session, job)
    data = booking.effective_data()
    request.meeting_start = datetime.fromisoformat(data["start"])
    request.meeting_end = datetime.fromisoformat(data["end"])
    request.calendar_event_id = booking.result["event_id"]
    request.status = RequestStatus.confirmed
    request.next_action_at = request.next_action_type = None
    request.updated_at = ctx.now
    for attendee in attendees:
        if attendee.email.lower() == inbound.sender.lower():
            attendee.invite_status = "accepted"
            ctx.session.add(attendee)
    ctx.session.add(request)
    audit(ctx, request, "meeting_booked", f"booked {request.meeting_start.isoformat()}")
    tz = prospect_tz(ctx.session, request, inbound.sender)
    prospect = next((a for a in attendees if a.email.lower() == inbound.sender.lower()), None)
    draft = confirmation_email(
        ConfirmationInput(
            first_name=(prospect.name.split()[0] if prospect and prospect.name else ""),
            rep_name=rep.name or rep.email,
            meeting_label=request.meeting_type,
            duration_minutes=request.duration_minutes,
            recipient_tz=tz,
            our_tz=rep.timezone,
            signature=rep.signature,
            original_subject=inbound.subject,
            start=request.meeting_start,
            meeting_link=booking.result.get("join_url") or "",
        )
    )
    return StepResult(
        output={"booked": True},
        actions=[
            ProposedAction(
                action_type=ActionType.email_confirmation,
                key="email_confirmation",
                action_data={
                    "to": [a.email for a in attendees if a.side == "external" and a.required],
                    "subject": draft.subject,
                    "body": draft.body,
                    "message_id": message_id(job, ctx, "email_confirmation"),
                    **_reply_headers(inbound),
                },
                reasoning="The meeting is on the calendar; a short note confirms it.",
                confidence=0.95,
            )
        ],
    )


def record_reply_outcome(job: SequenceJob, ctx: StepContext) -> StepResult:
    request = ctx.session.get_one(SchedulingRequest, job.request_id)
    counter = _action(ctx.session, job, ActionType.email_response)
    confirmation = _action(ctx.session, job, ActionType.email_confirmation)
    if counter is not None and counter.status == ActionStatus.executed:
        request.status = RequestStatus.negotiating
        request.attempt_count += 1
        request.next_action_type = "follow_up"
        request.next_action_at = ctx.now + NEXT_FOLLOW_UP
        audit(ctx, request, "counter_proposal_sent", "offered fresh times")
    if confirmation is not None and confirmation.status == ActionStatus.executed:
        audit(ctx, request, "confirmation_sent", "confirmed the booked meeting")
    request.updated_at = ctx.now
    ctx.session.add(request)
    return StepResult(output={"status": request.status})
