"""Booking and counter-proposing, for replies that choose or ask for a time, then confirming.

`book_or_counter` re-checks our calendars for the times they chose: the first that still works
becomes a calendar action (a new event, or a move of the one already booked), anything else
gets fresh times in their thread. `propose_confirmation` follows an executed booking with a
short confirmation. Every step only proposes actions; the rep approves each one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

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
from orchestrator import recipients
from orchestrator.event_types import reply_id
from orchestrator.events import ProposedAction, StepContext, StepResult
from orchestrator.steps.replies import prospect_tz
from orchestrator.steps.scheduling import (
    audit,
    free_slots,
    message_id,
    record_booking,
    slot_query,
)
from skills.draft_email import (
    ConfirmationInput,
    CounterProposalInput,
    confirmation_email,
    counter_proposal_email,
)
from skills.find_slots import check_slots

if TYPE_CHECKING:
    from orchestrator.steps.respond import Reply

ACTIVE = {
    RequestStatus.proposing,
    RequestStatus.awaiting_response,
    RequestStatus.negotiating,
    RequestStatus.no_show,
}
NEXT_FOLLOW_UP = timedelta(hours=24)
CONFERENCE = {"google_meet": "google_meet", "teams": "teams"}
CALENDAR_ACTIONS = (ActionType.calendar_book, ActionType.calendar_update)
# Fresh times are offered from tomorrow, over the next week.
FRESH_WINDOW = timedelta(days=7)


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


def reply_headers(inbound: EmailMessage) -> dict[str, Any]:
    """Answer in their thread: In-Reply-To their message, References its chain."""
    references = list(dict.fromkeys([*inbound.references, inbound.message_id]))
    return {
        "in_reply_to": inbound.message_id,
        "references": references,
        "thread_id": inbound.thread_id,
    }


def fresh_slots(reply: Reply) -> tuple[datetime, ...]:
    """Times that suit our side now, from tomorrow over the next week."""
    start = reply.ctx.now + timedelta(days=1)
    slots = free_slots(
        reply.ctx,
        request=reply.request,
        rep=reply.rep,
        attendees=reply.attendees,
        start=start,
        end=start + FRESH_WINDOW,
    )
    return tuple(s.start for s in slots)


def book_or_counter(reply: Reply, *, candidates: list[datetime]) -> StepResult:
    """Book the first of their times that still works for us, else counter with fresh ones."""
    if not candidates:
        return StepResult(
            output={"counter": True, "why": "they gave no time"},
            actions=[counter(reply, why="our times don't suit them and they named no other")],
        )
    request = reply.request
    duration = timedelta(minutes=request.duration_minutes)
    start, end = min(candidates) - timedelta(days=1), max(candidates) + duration + timedelta(days=1)
    query = slot_query(
        reply.ctx,
        request=request,
        rep=reply.rep,
        attendees=reply.attendees,
        start=start,
        end=end,
    )
    checks = check_slots(candidates, query)
    chosen = next((when for when, ok, _ in checks if ok), None)
    if chosen is not None:
        return StepResult(
            output={"booking": chosen.isoformat()},
            actions=[calendar_action(reply, chosen, reasoning=reply.understood.reasoning)],
        )
    why = "; ".join(f"{when:%a %H:%M}: {reason}" for when, _, reason in checks)
    return StepResult(
        output={"counter": True, "why": why},
        actions=[counter(reply, why=f"the time they asked for doesn't work for us ({why})")],
    )


def calendar_action(reply: Reply, start: datetime, *, reasoning: str) -> ProposedAction:
    """A new event, or a move of the booked one (never a second event for one meeting)."""
    request, rep = reply.request, reply.rep
    end = start + timedelta(minutes=request.duration_minutes)
    moving = request.calendar_event_id is not None
    data: dict[str, Any] = {
        "title": request.title,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "attendees": [
            {"email": a.email, "name": a.name, "optional": not a.required}
            for a in reply.attendees
            if a.email.lower() != rep.email.lower()
        ],
        "description": request.context,
        "conference": CONFERENCE.get(request.platform),
        # What the approval card shows.
        "to": [a.email for a in reply.attendees if a.side == "external"],
        "subject": f"{'Move' if moving else 'Invite'}: {request.title}",
        "body": f"{'Move the meeting to' if moving else 'Book'} {request.duration_minutes} min "
        f"starting {start.isoformat()} and send the calendar "
        f"{'update' if moving else 'invite'}.",
    }
    if moving:
        data["event_id"] = request.calendar_event_id
    return ProposedAction(
        action_type=ActionType.calendar_update if moving else ActionType.calendar_book,
        key="calendar_update" if moving else "calendar_book",
        action_data=data,
        reasoning=f"They chose this time and it is still free on our side. {reasoning}",
        confidence=0.9,
    )


# Fresh times to everyone on their side: most of them suggested nothing, so no "thanks for
# suggesting a time" and no one person's name in the greeting.
FRESH_TIMES_FOR_ALL = {
    "counter_proposal.body": (
        "Hi all,\n\n"
        "Thanks for your replies. To find a time that suits everyone, here are some fresh "
        "options:\n{slots}\n\n"
        "Would one of these work for you all? If not, tell me what does and I'll make it "
        "fit.\n\n{signature}"
    ),
}


def counter(reply: Reply, *, why: str, to: list[str] | None = None) -> ProposedAction:
    """Fresh times in their thread, to the sender (when on the request) unless `to` names
    others."""
    slots = fresh_slots(reply)
    group = to is not None and len(to) > 1
    draft = counter_proposal_email(
        CounterProposalInput(**reply.common(first_name=reply.first_name()), slots=slots),
        FRESH_TIMES_FOR_ALL if group else None,
    )
    return ProposedAction(
        action_type=ActionType.email_response,
        key="email_response",
        action_data={
            "to": to or recipients.reply_to(reply.inbound.sender, reply.attendees),
            "subject": draft.subject,
            "body": draft.body,
            "message_id": message_id(reply.job, reply.ctx, "email_response"),
            "slots": [s.isoformat() for s in draft.slots],
            **reply_headers(reply.inbound),
        },
        reasoning=f"Fresh times, because {why}.",
        confidence=0.8,
    )


def _action(session: Session, job: SequenceJob, *kinds: ActionType) -> PendingAction | None:
    return session.exec(
        select(PendingAction).where(
            PendingAction.job_id == job.id, col(PendingAction.action_type).in_(kinds)
        )
    ).first()


def propose_confirmation(job: SequenceJob, ctx: StepContext) -> StepResult:
    """After the booking (or the move) executed: record the meeting and confirm it by email."""
    booking = _action(ctx.session, job, *CALENDAR_ACTIONS)
    if booking is None or booking.status != ActionStatus.executed or not booking.result:
        return StepResult(output={"booked": False})
    request, rep, attendees, inbound = _context(ctx.session, job)
    record_booking(ctx, request, booking)
    assert request.meeting_start is not None
    for attendee in attendees:
        if attendee.email.lower() == inbound.sender.lower():
            attendee.invite_status = "accepted"
            ctx.session.add(attendee)
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
                    **reply_headers(inbound),
                },
                reasoning="The meeting is on the calendar; a short note confirms it.",
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
    sent = _action(ctx.session, job, ActionType.email_response)
    confirmation = _action(ctx.session, job, ActionType.email_confirmation)
    if sent is not None and sent.status == ActionStatus.executed:
        drafted = job.outputs.get(job_step_with_actions(job)) or {}
        kind, reasoning = next(
            (REPLY_SENT[key] for key in REPLY_SENT if drafted.get(key)), REPLY_SENT["counter"]
        )
        request.status = RequestStatus.negotiating
        request.attempt_count += 1
        if offered := sent.effective_data().get("slots"):
            # "The second one" now means the second of these, not of the first email's times.
            length = timedelta(minutes=request.duration_minutes)
            request.proposed_slots = [
                {"start": start, "end": (datetime.fromisoformat(start) + length).isoformat()}
                for start in offered
            ]
        request.next_action_type = "follow_up"
        request.next_action_at = ctx.now + NEXT_FOLLOW_UP
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
