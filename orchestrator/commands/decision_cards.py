"""Decision cards (seed 003 "waiting for decision"): what the rep is asked, and their answer.

When `assess` finds that a request needs the rep (a decline, something unusual, rejections
that persisted, a conflict), `tell_rep` posts a card with the choices for that subtype. The
rep's click is applied here exactly once: a conditional UPDATE moves the request out of
`waiting_for_decision`, so a second click (or a colleague's) finds nothing left to decide.
Choices that need a draft start the `decision_made` sequence; the draft then waits for
Approve like every other email or invite.

A reply that names someone new to bring in gets a card too (`recipient_view`): the address,
and a warning when it is not at the prospect's domain. Only the rep's click on it
(`confirm_recipient`) makes that person an attendee; see `orchestrator.outbox.recipients`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.audit import record_action
from db.models import (
    BOOKED_STATUSES,
    STOPPED_STATUSES,
    EmailMessage,
    Rep,
    RequestOutcome,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.cadence import cadence_for, follow_up_at, follow_up_delay
from orchestrator.commands import own_requests
from orchestrator.deps import Deps
from orchestrator.engine.dispatch import dispatch, insert_job
from orchestrator.engine.event_types import (
    DecisionMade,
    EmailReceived,
    EventType,
    RecipientDecided,
    payload,
)
from orchestrator.engine.events import Event
from orchestrator.engine.outputs import Assess
from orchestrator.mrkdwn import escape_mrkdwn, owner_only
from orchestrator.outbox.recipients import proposed_by
from orchestrator.views import (
    LABELS,
    RECIPIENT_LABELS,
    DecisionView,
    Option,
    Proposal,
    when_for_rep,
)
from skills.next_move.model import EVENT_TYPE, EventSubtype

REOPEN = own_requests.REOPEN
# The buttons each decision offers, in the order shown.
CHOICES: dict[str, tuple[str, ...]] = {
    "get_alternatives": ("offer_times", "keep_open", "handle_myself", "cancel_request"),
    "reschedule": ("book_slot", "offer_times", "handle_myself"),
    "resolve_conflict": ("book_slot", "offer_times", "handle_myself"),
    "recommend_cancel": ("cancel_request", "keep_open", "handle_myself"),
    "unusual": ("clarify", "offer_times", "keep_open", "handle_myself", "cancel_request"),
    # A reply on a paused request (`steps.replies.tell_rep`): Reopen acts on it.
    REOPEN: ("reopen", "handle_myself", "cancel_request"),
    # A "no" or "maybe" to a booked meeting's invite (`inbox.invite_answers`).
    "invite_declined": ("offer_times", "keep_open", "handle_myself", "cancel_request"),
    "invite_tentative": ("keep_open", "offer_times", "handle_myself"),
    # Nothing would move the request on its own (`timers.stalled`).
    "stalled": ("offer_times", "keep_open", "handle_myself", "cancel_request"),
}
# When one of several people required declines (seed 003 recommends closing), the rep may go
# on without them: book the time the others accepted, or keep arranging it with the others.
WITHOUT_DECLINERS = ("book_accepted", "drop_decliner")
DECLINED = "close:declined"  # an attendee's verdict after they declined (skills.decide)
# Choices that need a draft (run by the `decision_made` sequence).
DRAFTING = {"offer_times", "book_slot", "clarify", *WITHOUT_DECLINERS}
# The recipient card's buttons, and the sequence each starts.
RECIPIENT_SUBTYPE = "confirm_recipient"
RECIPIENT_EVENTS = {
    "add_recipient": EventType.recipient_confirmed,
    "ignore_recipient": EventType.recipient_declined,
}


@dataclass(frozen=True)
class Resolution:
    ok: bool
    message: str


def decision_view(
    request: SchedulingRequest,
    rep: Rep,
    decision: Assess,
    *,
    reply: str,
    attendees: Sequence[SchedulingAttendee] = (),
) -> DecisionView:
    """The card for the `assess` step's output (`orchestrator.steps.assess.decision_output`)."""
    subtype = decision.subtype
    return DecisionView(
        request_id=str(request.id),
        ref=request.ref,
        title=request.title,
        subtype=subtype,
        summary=decision.summary or "",
        reasons=decision.reasons,
        options=tuple(Option(a.slot, a.attendees, a.fits_all) for a in decision.alternatives),
        choices=without_decliners(subtype, attendees) + CHOICES.get(subtype, ("handle_myself",)),
        rep_timezone=rep.timezone,
        reply=reply,
    )


def without_decliners(subtype: str, attendees: Sequence[SchedulingAttendee]) -> tuple[str, ...]:
    """The choices to go on without who declined, when someone required is left."""
    if subtype != "recommend_cancel":
        return ()
    required = [a for a in attendees if a.side == "external" and a.required]
    declined = [a for a in required if a.next_action == DECLINED]
    left = [a for a in required if a.next_action != DECLINED]
    if not declined or not left:
        return ()
    if all((a.next_action or "").startswith("confirm:") for a in left):
        return WITHOUT_DECLINERS
    return ("drop_decliner",)


def drop_decliners(session: Session, request: SchedulingRequest) -> list[str]:
    """Who declined is no longer required nor invited (kept on the request for the record)."""
    attendees = session.exec(
        select(SchedulingAttendee).where(SchedulingAttendee.request_id == request.id)
    ).all()
    if not without_decliners("recommend_cancel", attendees):
        return []
    dropped = []
    for attendee in attendees:
        if attendee.side == "external" and attendee.required and attendee.next_action == DECLINED:
            attendee.required = False
            attendee.invite_status = "declined"
            session.add(attendee)
            dropped.append(attendee.email)
    return dropped


def cancel_outcome(
    subtype: str, request: SchedulingRequest, attendees: Sequence[SchedulingAttendee]
) -> RequestOutcome:
    """Why a request cancelled from a decision card ended, read from what the card was about:
    a "no" to the invite calls off the meeting; a decline is the prospect's "no" (a cancel when
    the meeting was booked); closing a request Convene recommended closing for silence, time
    or attempts is giving up; any other card's Cancel is the rep's own call."""
    if subtype == "invite_declined":
        return RequestOutcome.cancelled_by_them
    if subtype != "recommend_cancel":
        return RequestOutcome.cancelled_by_rep
    if not any(
        a.side == "external" and a.required and a.next_action == DECLINED for a in attendees
    ):
        return RequestOutcome.gave_up
    if request.status in BOOKED_STATUSES:
        return RequestOutcome.cancelled_by_them
    return RequestOutcome.declined


def reopen_decision(request: SchedulingRequest) -> Assess:
    """A reply came in while the request is paused: the rep is asked whether to reopen it.

    Kept apart from seed 003's subtypes: the request waits on the rep, whatever the reply said.
    """
    request.event_next_action = "waiting_for_decision"
    request.event_next_action_subtype = REOPEN
    return Assess(
        next_action="waiting_for_decision",
        subtype=REOPEN,
        needs_rep=True,
        summary=f"{request.ref} is paused, so nothing was done with this reply. "
        "Reopen acts on it now.",
    )


def recipient_view(
    request: SchedulingRequest, rep: Rep, proposal: Proposal, *, reply: str
) -> DecisionView:
    """The card asking the rep whether to bring in the person a reply named."""
    return DecisionView(
        request_id=str(request.id),
        ref=request.ref,
        title=request.title,
        subtype=RECIPIENT_SUBTYPE,
        summary="",
        reasons=(),
        options=(),
        choices=tuple(RECIPIENT_LABELS),
        rep_timezone=rep.timezone,
        reply=reply,
        recipient=proposal,
    )


def _after(choice: str, current: str) -> EventSubtype:
    """The event subtype a choice leads to."""
    if choice == "book_slot":
        return "all_confirmed"
    if choice == "cancel_request":
        return "cancelled"
    if choice == "offer_times" and current in ("get_alternatives", "resolve_conflict"):
        # Seed 003: gather everyone's alternatives before deciding again.
        return "getting_alternatives"
    return "collecting_responses"


def resolve(
    deps: Deps,
    *,
    request_id: uuid.UUID,
    choice: str,
    slack_user_id: str,
    slot: datetime | None = None,
) -> Resolution:
    """Apply the rep's choice once; anything else is told why nothing happened."""
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        request = session.get(SchedulingRequest, request_id)
        if request is None:
            return Resolution(False, "That request no longer exists.")
        rep = session.get_one(Rep, request.rep_id)
        if not rep.allows(slack_user_id):
            return Resolution(False, owner_only(rep.slack_user_id))
        current = request.event_next_action_subtype or ""
        allowed = CHOICES.get(current, ()) + (
            WITHOUT_DECLINERS if current == "recommend_cancel" else ()
        )
        if choice not in allowed or request.event_next_action != ("waiting_for_decision"):
            return Resolution(False, f"Already decided: {request.ref} is no longer waiting on you.")
        if choice == "book_slot" and slot is None:
            return Resolution(False, "Pick one of the times first, then press Book.")
        org_id, ref, rep_id = request.org_id, request.ref, request.rep_id
        after = _after(choice, current)
        won = session.execute(
            update(SchedulingRequest)
            .where(col(SchedulingRequest.id) == request_id)
            .where(col(SchedulingRequest.event_next_action) == "waiting_for_decision")
            .where(col(SchedulingRequest.event_next_action_subtype) == current)
            .values(
                event_next_action=EVENT_TYPE[after],
                event_next_action_subtype=after,
                updated_at=now,
            )
        ).rowcount  # type: ignore[attr-defined]
        if won != 1:
            return Resolution(False, f"Already decided: {request.ref} is no longer waiting on you.")
        record = record_action(
            session,
            org_id=request.org_id,
            request_id=request.id,
            kind="decision_made",
            actor="user",
            reasoning=f"{LABELS[choice]} by <@{slack_user_id}>",
            details={"decision": current, "choice": choice, "slot": slot and slot.isoformat()},
            now=now,
        )
        if choice in WITHOUT_DECLINERS:
            dropped = drop_decliners(session, request)
            if not dropped:
                return Resolution(False, f"Nobody who declined is left to drop from {ref}.")
            record_action(
                session,
                org_id=request.org_id,
                request_id=request.id,
                kind="attendees_dropped",
                actor="user",
                reasoning=f"they declined; dropped by <@{slack_user_id}>",
                details={"dropped": dropped},
                now=now,
            )
        searching = None
        if choice == "offer_times":
            # Nothing was sent yet: there is no reply to answer, so the first email is redone.
            searching = own_requests.search_again(
                session, request, now=now, key=f"search-again:{record.id}"
            )
        latest = _latest_reply(session, request)
        booked = request.status in BOOKED_STATUSES
        ending = cancel_outcome(current, request, own_requests.attendees_of(session, request))
        next_follow_up = None
        if choice == "keep_open" and not booked and request.status not in STOPPED_STATUSES:
            next_follow_up = _keep_chasing(session, request, now=now)
            next_follow_up_said = when_for_rep(next_follow_up, rep.timezone)
        uow.commit()
    if choice == "cancel_request":
        outcome = own_requests.cancel(
            deps, org_id=org_id, ref=ref, slack_user_id=slack_user_id, outcome=ending
        )
        return Resolution(outcome.ok, outcome.message)
    if choice == "handle_myself":
        if current == REOPEN:
            return Resolution(True, f"Over to you. {ref} stays paused.")
        outcome = own_requests.pause(deps, org_id=org_id, ref=ref, slack_user_id=slack_user_id)
        return Resolution(True, f"Over to you. {outcome.message}")
    if choice == "reopen":
        outcome = own_requests.resume(deps, org_id=org_id, ref=ref, slack_user_id=slack_user_id)
        return Resolution(outcome.ok, outcome.message)
    if choice == "keep_open" and booked:
        return Resolution(True, f"{ref} stays booked; the meeting stays on the calendar.")
    if choice == "keep_open" and next_follow_up is not None:
        return Resolution(
            True,
            f"{ref} stays open. Next follow-up: {next_follow_up_said}, drafted for your approval.",
        )
    if choice == "keep_open":
        return Resolution(True, f"{ref} stays open; follow-ups continue as planned.")
    if searching is not None:
        deps.wakeups.run_step(searching, tag="0-0")
        return Resolution(
            True, f"Looking for times for {ref} again: the first email comes to you to approve."
        )
    dispatch(
        deps,
        Event(
            type=EventType.decision_made,
            org_id=org_id,
            idempotency_key=f"decision:{record.id}",
            source="slack",
            rep_id=rep_id,
            request_id=request_id,
            payload=DecisionMade(choice=choice, slot=slot, email_message_id=latest),
        ),
    )
    return Resolution(True, f"{LABELS[choice]}: a draft for {ref} is on its way for your approval.")


def _keep_chasing(session: Session, request: SchedulingRequest, *, now: datetime) -> datetime:
    """ "Keep it open" after a reply: their reply would otherwise stop the follow-ups for good
    (`steps.follow_up.check_follow_up`), so the next one is set here, on the cadence's clock
    from now, and the card says when."""
    cadence = cadence_for(session, request=request)
    delay = follow_up_delay(cadence, follow_ups_sent=max(request.attempt_count - 1, 0))
    request.next_action_type = "follow_up"
    request.next_action_at = follow_up_at(session, request, earliest=now + delay)
    session.add(request)
    return request.next_action_at


def _latest_reply(session: Session, request: SchedulingRequest) -> str | None:
    """The prospect's newest email on the request: drafts answer in its thread."""
    row = session.exec(
        select(EmailMessage.id)
        .where(EmailMessage.request_id == request.id)
        .where(EmailMessage.direction == "inbound")
        .order_by(col(EmailMessage.created_at).desc())
    ).first()
    return str(row) if row else None


def confirm_recipient(
    deps: Deps, *, job_id: uuid.UUID, choice: str, slack_user_id: str
) -> Resolution:
    """Add (or not) the person a reply named, once: the first click's job is the answer.

    The address comes from the reply's own analysis in the database, never from the click,
    so a forged or replayed button cannot name anyone else.
    """
    if choice not in RECIPIENT_EVENTS:
        return Resolution(False, "That button is broken; run `/schedule status` for a fresh view.")
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        origin = session.get(SequenceJob, job_id)
        if origin is None or origin.request_id is None:
            return Resolution(False, "That reply no longer exists.")
        request = session.get_one(SchedulingRequest, origin.request_id)
        rep = session.get_one(Rep, request.rep_id)
        if not rep.allows(slack_user_id):
            return Resolution(False, owner_only(rep.slack_user_id))
        key = f"recipient:{origin.id}"
        if session.exec(select(SequenceJob.id).where(SequenceJob.idempotency_key == key)).first():
            return Resolution(False, f"Already decided: {request.ref} is no longer waiting on you.")
        proposal = proposed_by(session, origin)
        if proposal is None:
            return Resolution(False, f"Nobody new to add to {request.ref}.")
        # Once the request is closed nobody joins it.
        if choice == "add_recipient" and request.status in STOPPED_STATUSES:
            return Resolution(False, f"{request.ref} is {request.status}; nobody was added.")
        job, created = insert_job(
            session,
            Event(
                type=RECIPIENT_EVENTS[choice],
                org_id=origin.org_id,
                idempotency_key=key,
                source="slack",
                rep_id=origin.rep_id,
                request_id=origin.request_id,
                payload=RecipientDecided(
                    email_message_id=payload(origin, EmailReceived).email_message_id,
                    address=proposal.address,
                    name=proposal.name,
                    decided_by=slack_user_id,
                ),
                parent_job_id=origin.id,
                correlation_id=origin.correlation_id,
            ),
            now=now,
        )
        if not created:
            return Resolution(False, f"Already decided: {request.ref} is no longer waiting on you.")
        ref = request.ref
        uow.commit()
    deps.wakeups.run_step(job.id, tag="0-0")
    who = escape_mrkdwn(proposal.address)
    if choice == "ignore_recipient":
        return Resolution(True, f"{who} was not added to {ref}; nothing goes to them.")
    return Resolution(True, f"{who} joins {ref}: a note to them is on its way for your approval.")
