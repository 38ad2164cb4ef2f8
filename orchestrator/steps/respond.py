"""What Convene proposes after reading a reply: one handler per intent, chosen from a dict.

The `assess` step already ran seed 003. When its verdict needs the rep (decline, something
unusual, firm rejections) nothing is drafted here: the decision card the rep just received
offers the choices. Otherwise each intent gets the draft a good assistant would prepare:

- accept → book the time (once every required attendee agrees), then confirm;
- counter-proposal / reschedule → book their time if it still works, else offer fresh times;
  a meeting already on the calendar is moved, never duplicated;
- question → an answer draft with a gap the rep fills in (Edit) before it can be approved;
- delegate → a note to the person they named, once the rep confirmed adding them (an address
  read from a reply is never a recipient before that click: `orchestrator.outbox.recipients`);
- out of office → hold follow-ups until they are back.

Every draft is a proposed action; nothing is sent without the rep's Approve.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from db.models import (
    BOOKED_STATUSES,
    NEGOTIATING_STATUSES,
    ActionType,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.commands.decision_cards import WITHOUT_DECLINERS
from orchestrator.engine.action_data import EmailData
from orchestrator.engine.event_types import DecisionMade, payload
from orchestrator.engine.events import ProposedAction, StepContext, StepResult
from orchestrator.engine.outputs import Assess, UnderstandReply, output
from orchestrator.engine.shapes import ShapeError
from orchestrator.negotiation import meeting, offered_starts
from orchestrator.outbox import recipients
from orchestrator.outbox.superseded import newer_reply_since
from orchestrator.steps import offers
from orchestrator.steps.assess import assess_request
from orchestrator.steps.drafting import worded, write
from orchestrator.steps.offers import Reply, load_reply
from orchestrator.steps.scheduling import audit, message_id
from skills.asked_window import asks_for_times
from skills.draft_email import AnswerInput, ClarificationInput, DelegateInput
from skills.email_fields import threaded_under
from skills.email_text import clean_body
from skills.out_of_office import back_at
from skills.parse_times import slots_named

MOVES = {"reschedule", "counter_propose"}
CLARIFY_WHY = {
    "which_option": "They agreed but it isn't clear to which time; this asks.",
    "unclear": "Their reply was unclear; this asks what they meant and repeats the times.",
}


def _stop(reason: str, **output: Any) -> StepResult:
    return StepResult(output={"handled_by": "rep", "reason": reason, **output}, stop=True)


# --- handlers --------------------------------------------------------------------------------


def on_accept(reply: Reply) -> StepResult:
    matched = reply.understood.matched_slot
    if matched is None:
        return _clarify(reply, "which_option")
    if reply.decision.subtype != "all_confirmed" and not _sole_prospect_moves(reply):
        # Seed 003: book only when every required attendee agrees; the rep hears who is left.
        waiting = _stop("waiting for the other attendees", matched_slot=matched.isoformat())
        return _with_answer(reply, waiting)
    return _with_answer(reply, offers.book_or_counter(reply, candidates=[matched]))


def _sole_prospect_moves(reply: Reply) -> bool:
    """A booked meeting's only required prospect takes one of the fresh times we offered to
    move it: seed 003 still weighs our side's RSVP to the old time, but nobody else has to
    agree (the move re-checks our calendars before it is proposed)."""
    required = [a for a in reply.attendees if a.side == "external" and a.required]
    sender = reply.sender
    return meeting(reply.request) is not None and sender is not None and required == [sender]


def _with_answer(reply: Reply, result: StepResult) -> StepResult:
    """An acceptance that also asks something: the booking and an answer draft side by side,
    so the question neither holds the booking up nor is lost in it."""
    if not reply.understood.question:
        return result
    output = result.output if isinstance(result.output, dict) else {}
    # Not stopped even while others must still agree: the answer's outcome is recorded.
    return StepResult(
        output={**output, "answer_drafted": True}, actions=[*result.actions, _answer(reply)]
    )


def on_counter(reply: Reply) -> StepResult:
    return offers.book_or_counter(reply, candidates=list(reply.understood.proposed_times))


def on_question(reply: Reply) -> StepResult:
    question = reply.understood.question or ""
    if asks_for_times(question) and (window := offers.asked(reply)):
        # "Anything after the 15th?" is answered with times in that window, not a blank.
        why = f"they asked for times ({', '.join(window.said)})"
        return StepResult(
            output={"counter": True, "why": why}, actions=[offers.counter(reply, why=why)]
        )
    return StepResult(output={"answer_drafted": True}, actions=[_answer(reply)])


def _answer(reply: Reply) -> ProposedAction:
    written = write(
        reply.ctx,
        reply.request,
        AnswerInput(
            **reply.common(first_name=reply.first_name(), question=reply.understood.question or "")
        ),
        prospect_message=reply.message(),
    )
    draft = written.draft
    return _email(
        reply,
        to=recipients.reply_to(reply.inbound.sender, reply.attendees),
        subject=draft.subject,
        body=draft.body,
        reasoning=worded(
            "They asked a question; fill in your answer with Edit, then approve.", written
        ),
        confidence=0.6,
    )


def on_delegate(reply: Reply) -> StepResult:
    """A hand-over to someone already on the request gets a note now; anyone else was named
    by untrusted text, so `tell_rep` asked the rep to confirm them first (`steps.delegate`)."""
    address = reply.understood.delegate_email
    if not address:
        return _stop("they named someone without an address")
    delegate = recipients.attendee(address, reply.attendees)
    if delegate is None:
        return _stop("waiting for the rep to confirm who they named", proposed=address)
    return StepResult(output={"delegate": delegate.email}, actions=[delegate_note(reply, delegate)])


def delegate_note(reply: Reply, delegate: SchedulingAttendee) -> ProposedAction:
    """Fresh times to the person they handed over to, copying whoever handed over."""
    slots = offers.fresh_slots(reply)
    referrer = reply.sender.name if reply.sender and reply.sender.name else reply.inbound.sender
    written = write(
        reply.ctx,
        reply.request,
        DelegateInput(
            **reply.common(first_name=reply.first_name(delegate)),
            slots=slots,
            referrer_name=referrer,
        ),
    )
    draft = written.draft
    return _email(
        reply,
        to=[delegate.email],
        cc=recipients.on_request([reply.inbound.sender], reply.attendees),
        subject=draft.subject,
        body=draft.body,
        slots=draft.slots,
        reasoning=worded(
            f"{referrer} pointed us to {delegate.email}; this offers them times.", written
        ),
        confidence=0.75,
    )


def on_out_of_office(reply: Reply) -> StepResult:
    """A person (not an autoresponder) said they're away: follow-ups wait until they're back."""
    back = _back(reply)
    request = reply.request
    if back is None or request.next_action_type != "follow_up" or request.next_action_at is None:
        return _stop("out of office", back=back.isoformat() if back else None)
    if back > request.next_action_at:
        request.next_action_at = back
        request.updated_at = reply.ctx.now
        reply.ctx.session.add(request)
        audit(reply.ctx, request, "follow_ups_held", "out of office", until=back.isoformat())
    return _stop("out of office", back=back.isoformat())


def _back(reply: Reply) -> datetime | None:
    day = reply.understood.ooo_return
    if not day:
        return None
    return back_at(day, reply.tz)


def _clarify(reply: Reply, reason: str) -> StepResult:
    offered = list(offered_starts(reply.request))
    named: tuple[int, ...] = ()
    if reason == "which_option":
        # Ask about every time their words fit ("Thursday": both Thursdays), and only those.
        body = clean_body(reply.inbound.body_text)
        named = slots_named(body, offered, now=reply.ctx.now, tz=reply.tz)
    slots = [offered[i] for i in named] or offered
    written = write(
        reply.ctx,
        reply.request,
        ClarificationInput(
            **reply.common(first_name=reply.first_name()),
            slots=slots,
            reason=reason,  # type: ignore[arg-type]
        ),
        prospect_message=reply.message(),
    )
    draft = written.draft
    if named and len(draft.slots) < len(slots):
        # A shortened list would ask about some of the times they may have meant.
        return _stop("too many matching times to ask about", matching=len(slots))
    return StepResult(
        output={"clarification": reason},
        actions=[
            _email(
                reply,
                to=recipients.reply_to(reply.inbound.sender, reply.attendees),
                subject=draft.subject,
                body=draft.body,
                slots=draft.slots,
                reasoning=worded(CLARIFY_WHY[reason], written),
                confidence=0.7,
            )
        ],
    )


def _email(
    reply: Reply,
    *,
    to: list[str],
    subject: str,
    body: str,
    reasoning: str,
    confidence: float,
    cc: list[str] | None = None,
    slots: tuple[datetime, ...] = (),
) -> ProposedAction:
    """A reply in their thread (In-Reply-To their message) as a pending email_response."""
    return ProposedAction(
        action_type=ActionType.email_response,
        key="email_response",
        action_data=EmailData(
            to=tuple(to),
            cc=tuple(cc or ()),
            subject=subject,
            body=body,
            message_id=message_id(reply.job, reply.ctx, "email_response"),
            slots=slots,
            **threaded_under(reply.inbound),
        ),
        reasoning=reasoning,
        confidence=confidence,
    )


HANDLERS: dict[str, Callable[[Reply], StepResult]] = {
    "accept": on_accept,
    "counter_propose": on_counter,
    "reschedule": on_counter,
    "question": on_question,
    "delegate": on_delegate,
    "out_of_office": on_out_of_office,
}


def respond(job: SequenceJob, ctx: StepContext) -> StepResult:
    analysis = output(job, UnderstandReply)
    decision = output(job, Assess)
    request = ctx.session.get_one(SchedulingRequest, job.request_id)
    intent = analysis.intent if analysis is not None else "unclear"
    # Asking for another time once the meeting is booked means moving it; other replies on a
    # booked request are only reported.
    open_for = NEGOTIATING_STATUSES | (BOOKED_STATUSES if intent in MOVES else set())
    if request.status not in open_for:
        return _stop(f"the request is {request.status}")
    if newer_reply_since(ctx.session, job):
        # They wrote again before this one was answered (a correction a minute later): the
        # newer reply's own draft answers what now stands, and this one would talk over it.
        return _stop("a newer reply is being answered")
    if decision is not None and decision.needs_rep:
        return _stop("a decision for the rep", decision=decision.subtype)
    if decision is not None and decision.subtype == "getting_alternatives" and intent in MOVES:
        # Seed 003: their time is one of the alternatives the rep picks from once all are in.
        return _stop("gathering everyone's alternatives", decision="getting_alternatives")
    handler = HANDLERS.get(intent)
    if handler is None:
        return _stop(f"nothing to draft for {intent}")
    return handler(load_reply(job, ctx))


# --- after a decision card -------------------------------------------------------------------


def _without_decliners(reply: Reply) -> StepResult:
    """Who declined was dropped (`commands.decision_cards.drop_decliners`): book the time
    everyone still required accepted, or wait for those who have not answered yet."""
    ctx, request = reply.ctx, reply.request
    decision, _ = assess_request(ctx.session, request, reply.attendees, ctx.now)
    if decision.subtype == "all_confirmed" and decision.slot is not None:
        return StepResult(
            output={"booking": decision.slot.isoformat()},
            actions=[
                offers.calendar_action(
                    reply, decision.slot, reasoning="Everyone still invited accepted it."
                )
            ],
        )
    return _stop("waiting for the others", decision=decision.subtype)


def act_on_decision(job: SequenceJob, ctx: StepContext) -> StepResult:
    """Draft what the rep chose on a decision card (`commands.decision_cards.resolve`)."""
    decided = payload(job, DecisionMade)
    request = ctx.session.get_one(SchedulingRequest, job.request_id)
    if request.status not in NEGOTIATING_STATUSES | BOOKED_STATUSES:
        return _stop(f"the request is {request.status}")
    if not decided.email_message_id:
        return _stop("no reply to answer")
    reply = load_reply(job, ctx)
    choice = decided.choice
    if choice == "book_slot":
        slot = decided.slot
        if slot is None:
            raise ShapeError(f"job {job.id}: book_slot names no slot")
        return StepResult(
            output={"booking": slot.isoformat()},
            actions=[offers.calendar_action(reply, slot, reasoning="You picked this time.")],
        )
    if choice == "clarify":
        return _clarify(reply, "unclear")
    if choice in WITHOUT_DECLINERS:
        return _without_decliners(reply)
    everyone = [a.email for a in reply.attendees if a.side == "external" and a.required]
    return StepResult(
        output={"counter": True},
        actions=[offers.counter(reply, why="you asked for fresh times", to=everyone)],
    )
