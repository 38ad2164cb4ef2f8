"""Where a request stands after a reply: seed 003's decision, read from the database.

`skills.decide` is pure and knows nothing of tables; this step gathers what it needs (each
attendee's interpreted replies from the audit log, our sent emails, their invite status),
runs it, and stores the result on the request and its attendees, so the Home tab, the brief
and the next steps all read one verdict.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from db.models import (
    BOOKED_STATUSES,
    ActionType,
    EmailMessage,
    PendingAction,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.engine.events import StepContext, StepResult
from orchestrator.engine.outputs import Assess, AssessedOption
from orchestrator.event_state import STATE_CHANGED, store_event_state
from orchestrator.negotiation import meeting
from orchestrator.steps.scheduling import load_request
from skills.decide import decide_attendees, decide_event
from skills.next_move.model import (
    AttendeeDecision,
    AttendeeFacts,
    EventDecision,
    EventProgress,
    EventSubtype,
    MessageFacts,
    Outreach,
    OutreachKind,
    is_named_in_title,
)

OUTREACH_KIND: dict[str, OutreachKind] = {
    ActionType.email_initial: "initial",
    ActionType.email_follow_up: "follow_up",
}


def _message(row: SchedulingAction, zone: ZoneInfo) -> MessageFacts:
    """The reply's facts; times in `zone` (the request's) so reasons read "EST", not "-05:00"."""
    details = row.details
    matched = details.get("matched_slot")
    ooo = details.get("ooo_return")
    return MessageFacts(
        received_at=row.created_at,
        intent=details["intent"],
        confidence=details.get("confidence", "high"),
        sentiment=details.get("sentiment", "neutral"),
        accepted_slot=datetime.fromisoformat(matched).astimezone(zone) if matched else None,
        proposed_slots=tuple(
            datetime.fromisoformat(t).astimezone(zone) for t in details.get("proposed_times", [])
        ),
        escalate=bool(details.get("escalate")),
        question=details.get("question"),
        delegate=details.get("delegate_email") or details.get("delegate_name"),
        ooo_return=date.fromisoformat(ooo[:10]) if ooo else None,
        reschedule_later=details.get("reschedule_later"),
    )


def _replies(session: Session, request: SchedulingRequest) -> list[SchedulingAction]:
    return list(
        session.exec(
            select(SchedulingAction)
            .where(SchedulingAction.request_id == request.id)
            .where(SchedulingAction.action_type == "reply_received")
            .order_by(col(SchedulingAction.created_at))
        )
    )


def _sent(session: Session, request: SchedulingRequest) -> list[tuple[EmailMessage, str]]:
    rows = session.exec(
        select(EmailMessage, PendingAction.action_type)
        .join(PendingAction, col(PendingAction.id) == col(EmailMessage.pending_action_id))
        .where(EmailMessage.request_id == request.id)
        .where(EmailMessage.direction == "outbound")
        .where(EmailMessage.status == "sent")
    )
    return [(row, kind) for row, kind in rows]


def _author(row: SchedulingAction, attendees: list[SchedulingAttendee]) -> str:
    """Whose reply this is. Mail matched to the request from an address we don't know (a
    forwarding alias) speaks for the prospect when there is only one."""
    sender = str(row.details.get("from", "")).lower()
    known = {a.email.lower() for a in attendees}
    external = [a.email.lower() for a in attendees if a.side == "external"]
    if sender not in known and len(external) == 1:
        return external[0]
    return sender


def attendee_facts(
    session: Session, request: SchedulingRequest, attendees: list[SchedulingAttendee]
) -> list[AttendeeFacts]:
    replies = _replies(session, request)
    sent = _sent(session, request)
    zone = ZoneInfo(request.timezone)
    facts = []
    for attendee in attendees:
        address = attendee.email.lower()
        messages = tuple(_message(r, zone) for r in replies if _author(r, attendees) == address)
        outreach = tuple(
            Outreach(sent_at=row.sent_at or row.created_at, kind=OUTREACH_KIND.get(kind, "reply"))
            for row, kind in sent
            if address in (r.lower() for r in row.recipients)
        )
        facts.append(
            AttendeeFacts(
                key=attendee.email,
                name=attendee.name,
                side="internal" if attendee.side == "internal" else "external",
                organizer=attendee.organizer,
                named_in_title=is_named_in_title(request.title, name=attendee.name),
                invite_status=attendee.invite_status  # type: ignore[arg-type]
                if attendee.invite_status in ("needs_action", "accepted", "declined", "tentative")
                else "needs_action",
                messages=messages,
                outreach=outreach,
                optional=not attendee.required,
            )
        )
    return facts


def _current(session: Session, request: SchedulingRequest) -> tuple[EventSubtype, datetime | None]:
    """The stored subtype and when it was entered (the newest state-change audit row)."""
    if request.status == RequestStatus.cancelled:
        return "cancelled", None
    if request.status in BOOKED_STATUSES or request.status == RequestStatus.completed:
        return "scheduled", None
    since = session.exec(
        select(SchedulingAction.created_at)
        .where(SchedulingAction.request_id == request.id)
        # The rep's choice on a decision card changes the state too (commands.decision_cards).
        .where(col(SchedulingAction.action_type).in_((STATE_CHANGED, "decision_made")))
        .order_by(col(SchedulingAction.created_at).desc())
    ).first()
    current = request.event_next_action_subtype or "reaching_out"
    return current, since  # type: ignore[return-value]


def assess_request(
    session: Session, request: SchedulingRequest, attendees: list[SchedulingAttendee], now: datetime
) -> tuple[EventDecision, tuple[AttendeeDecision, ...]]:
    """Run seed 003 over the request as the database has it; store nothing."""
    current, since = _current(session, request)
    invited = booked.start if (booked := meeting(request)) else None
    decisions = decide_attendees(
        attendee_facts(session, request, attendees), now=now, invited_slot=invited
    )
    progress = EventProgress(
        created_at=request.created_at,
        current=current,
        state_since=since,
        window_end=request.date_range_end,
        attempts=request.attempt_count,
    )
    return decide_event(decisions, progress=progress, now=now), decisions


def decision_output(decision: EventDecision) -> Assess:
    return Assess(
        next_action=decision.next_action,
        subtype=decision.subtype,
        needs_rep=decision.needs_rep,
        score=decision.score,
        reasons=decision.reasons,
        summary=decision.summary,
        attendees=decision.attendees,
        slot=decision.slot,
        alternatives=tuple(
            AssessedOption(slot=a.slot, attendees=tuple(a.attendees), fits_all=a.fits_all)
            for a in decision.alternatives
        ),
    )


def assess(job: SequenceJob, ctx: StepContext) -> StepResult:
    request, _, attendees = load_request(ctx.session, job)
    decision, per_attendee = assess_request(ctx.session, request, attendees, ctx.now)
    by_email = {d.key: d for d in per_attendee}
    for attendee in attendees:
        verdict = by_email[attendee.email]
        attendee.score, attendee.reason = verdict.score, verdict.reason
        attendee.next_action = verdict.next_action
        ctx.session.add(attendee)
    store_event_state(
        ctx.session,
        request,
        decision.subtype,
        reasoning=decision.summary or "",
        now=ctx.now,
        score=decision.score,
    )
    return StepResult(output=decision_output(decision))
