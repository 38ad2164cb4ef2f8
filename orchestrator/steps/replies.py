"""Steps of the `email_received` sequence: understand a prospect's reply, then tell the rep.

What to do about the reply (book, counter-propose, answer) is decided by later steps; these two
only read it and make sure the rep knows, so no reply is ever acted on unseen or lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from db.audit import record_action
from db.models import (
    EmailMessage,
    Rep,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
    prospect_zone,
)
from orchestrator.commands.decision_cards import decision_view, recipient_view, reopen_decision
from orchestrator.copied import copied_candidates
from orchestrator.engine.event_types import reply_id
from orchestrator.engine.events import StepContext, StepResult
from orchestrator.engine.outputs import Assess, UnderstandReply, output, required
from orchestrator.mrkdwn import escape_mrkdwn, quote_mrkdwn
from orchestrator.negotiation import offered_starts
from orchestrator.notices.gate import claim, gate
from orchestrator.notices.post import release_time
from orchestrator.outbox.recipients import proposed_by
from orchestrator.views import Card, CopiedView, ZoneHintView, when_for_rep
from skills.detect_intent import IntentAnalysis, detect_intent
from skills.email_text import clean_body
from skills.intent_signals import joins_too
from skills.parse_times import extract_times, in_writers_zone, match_to_proposed
from skills.zone_hint import zone_hint

COUNTERS = {"counter_propose", "reschedule"}
EXACT = {"minute", "hour"}  # a day alone ("Thursday") is not a time we can book

# --- understand_reply --------------------------------------------------------------------------


def _reply_of(session: Session, job: SequenceJob) -> tuple[EmailMessage, SchedulingRequest]:
    row = session.get_one(EmailMessage, reply_id(job))
    return row, session.get_one(SchedulingRequest, job.request_id)


def prospect_tz(session: Session, request: SchedulingRequest, sender: str) -> str:
    """The zone the reply's words mean: the sender's if we know it, else the request's."""
    external = session.exec(
        select(SchedulingAttendee).where(
            SchedulingAttendee.request_id == request.id, SchedulingAttendee.side == "external"
        )
    ).all()
    return prospect_zone(request, (a for a in external if a.email.lower() == sender.lower()))


def zone_known(session: Session, request: SchedulingRequest, sender: str) -> bool:
    """Whether we know the sender's own zone, rather than falling back to the request's."""
    external = session.exec(
        select(SchedulingAttendee).where(
            SchedulingAttendee.request_id == request.id, SchedulingAttendee.side == "external"
        )
    ).all()
    return any(a.timezone for a in external if a.email.lower() == sender.lower())


def _unsure_of_their_zone(analysis: IntentAnalysis) -> IntentAnalysis:
    """ "3pm my time" from someone whose zone we only guess: the rep reads it, not the guess."""
    return replace(
        analysis,
        escalate=True,
        reasoning=f"{analysis.reasoning}; the time is in their own zone, which we don't know",
    )


def _proposed(request: SchedulingRequest) -> list[datetime]:
    return list(offered_starts(request))


def _analysis_output(
    analysis: IntentAnalysis,
    *,
    row: EmailMessage,
    matched: datetime | None,
    proposed_times: tuple[datetime, ...],
) -> UnderstandReply:
    return UnderstandReply(
        email_message_id=str(row.id),
        intent=analysis.intent,
        confidence=analysis.confidence,
        sentiment=analysis.sentiment,
        escalate=analysis.escalate,
        source=analysis.source,
        reasoning=analysis.reasoning,
        matched_slot=matched,
        question=analysis.question,
        delegate_name=analysis.delegate_name,
        delegate_email=analysis.delegate_email,
        ooo_return=analysis.ooo_return,
        reschedule_later=analysis.reschedule_later,
        proposed_times=proposed_times,
        extras=tuple(analysis.extras),
    )


def understand_reply(job: SequenceJob, ctx: StepContext) -> StepResult:
    row, request = _reply_of(ctx.session, job)
    body = clean_body(row.body_text)
    tz = prospect_tz(ctx.session, request, row.sender)
    proposed = _proposed(request)
    # Behind the org's budget; the wrapper records what the call cost in llm_usage.
    llm = ctx.ports.llm_for(job.org_id, job.rep_id)
    analysis = detect_intent(body, proposed=proposed, now=ctx.now, tz=tz, llm=llm)
    if in_writers_zone(body) and not zone_known(ctx.session, request, row.sender):
        analysis = _unsure_of_their_zone(analysis)
    pick = match_to_proposed(body, proposed, now=ctx.now, tz=tz) if proposed else None
    if analysis.intent == "delegate" and pick is not None and joins_too(body):
        # They take one of our times and bring a colleague along: an acceptance, with the
        # colleague told to the rep (nobody is added from a reply's text).
        extras = (*(e for e in analysis.extras if e != "accept"), "delegate")
        who = analysis.delegate_name or analysis.delegate_email or "someone"
        why = f"takes an offered time and brings {who} along"
        analysis = replace(analysis, intent="accept", extras=extras, reasoning=why)
    # The times a counter-proposal names, read once here for deciding and for booking.
    offered = extract_times(body, now=ctx.now, tz=tz) if analysis.intent in COUNTERS else []
    understood = _analysis_output(
        analysis,
        row=row,
        matched=proposed[pick] if pick is not None else None,
        proposed_times=tuple(p.start for p in offered if p.grain in EXACT),
    )
    record_action(
        ctx.session,
        org_id=request.org_id,
        request_id=request.id,
        kind="reply_received",
        actor="prospect",
        reasoning=analysis.reasoning,
        details={"from": row.sender, **understood.to_json()},
        now=ctx.now,
    )
    if request.status == RequestStatus.awaiting_response:
        request.status = RequestStatus.negotiating
        request.updated_at = ctx.now
        ctx.session.add(request)
    return StepResult(output=understood)


# --- tell_rep ----------------------------------------------------------------------------------


def zone_hint_view(
    row: EmailMessage, request: SchedulingRequest, attendees: Sequence[SchedulingAttendee]
) -> ZoneHintView | None:
    """The zone the reply suggests for its sender, when we don't know theirs yet: their city,
    a zone they name, or their Date header's offset (skills.zone_hint)."""
    sender = next(
        (a for a in attendees if a.side == "external" and a.email.lower() == row.sender.lower()),
        None,
    )
    if sender is None or sender.timezone:
        return None
    sent_at = None
    if row.date_offset_minutes is not None:
        sent_at = row.created_at.astimezone(timezone(timedelta(minutes=row.date_offset_minutes)))
    hint = zone_hint(row.body_text, sent_at=sent_at, known=request.timezone)
    if hint is None:
        return None
    return ZoneHintView(
        request_id=str(request.id),
        attendee_id=str(sender.id),
        who=sender.name or sender.email,
        zone=hint.zone,
        evidence=hint.evidence,
        current=request.timezone,
        weak=hint.weak,
    )


def copied_views(
    row: EmailMessage,
    request: SchedulingRequest,
    rep: Rep,
    attendees: Sequence[SchedulingAttendee],
    *,
    already_asked: set[str],
) -> list[CopiedView]:
    """People the reply was also sent to who are not on the request: the rep may add them.
    Someone the reply's own card already asks about (`already_asked`) is not offered twice."""
    return [
        CopiedView(
            request_id=str(request.id),
            email_message_id=str(row.id),
            index=index,
            address=address,
        )
        for index, address in copied_candidates(row, rep, attendees)
        if address not in already_asked
    ]


def summary_of(
    row: EmailMessage, request: SchedulingRequest, rep: Rep, analysis: UnderstandReply
) -> str:
    """`reply_summary` of a stored reply, as its rep is told it (and a re-posted card shows)."""
    return reply_summary(
        ref=request.ref,
        sender=row.sender,
        body=clean_body(row.body_text),
        analysis=analysis,
        rep_tz=rep.timezone,
    )


def reply_summary(
    *, ref: str, sender: str, body: str, analysis: UnderstandReply, rep_tz: str
) -> str:
    """The rep's DM: what the prospect wrote (escaped) and what Convene understood."""
    lines = [
        f":incoming_envelope: *{escape_mrkdwn(ref)}* · {escape_mrkdwn(sender)} replied:",
        quote_mrkdwn(body or "(no new text)"),
        f"Convene reads it as *{analysis.intent.replace('_', ' ')}* "
        f"({analysis.confidence} confidence, {analysis.sentiment}).",
    ]
    if analysis.matched_slot:
        matched = when_for_rep(analysis.matched_slot, rep_tz)
        lines.append(f"Matches the time you offered: {matched}.")
    if analysis.question:
        lines.append(f"They ask: _{escape_mrkdwn(analysis.question)}_")
    if analysis.delegate_email or analysis.delegate_name:
        who = analysis.delegate_email or analysis.delegate_name
        lines.append(f"They point to someone else: {escape_mrkdwn(str(who))}.")
        if analysis.intent != "delegate":
            lines.append("Nobody was added; invite them yourself if they should come.")
    if "out_of_office" in analysis.extras:
        lines.append("They also mention time away; check it against the meeting.")
    if analysis.escalate:
        lines.append(":eyes: Convene is not sure about this one; please read the reply.")
    lines.append("Nothing has been sent to them.")
    return "\n".join(lines)


def _waiting_on(session: Session, request: SchedulingRequest) -> str:
    """Who still has to agree before booking (as `assess` just scored them)."""
    pending = session.exec(
        select(SchedulingAttendee)
        .where(SchedulingAttendee.request_id == request.id)
        .where(SchedulingAttendee.side == "external")
        .where(SchedulingAttendee.required)
    ).all()
    names = [
        escape_mrkdwn(a.name or a.email)
        for a in pending
        if not (a.next_action or "").startswith("confirm:")
    ]
    if not names:
        return ""
    return f"\nBooking waits until everyone required agrees; still waiting on {', '.join(names)}."


def tell_rep(job: SequenceJob, ctx: StepContext) -> StepResult:
    """DM the rep: a decision card when the reply needs their call, a card to confirm the
    person it names when it hands over to someone new, else a summary.

    A failed post fails the step (and is retried when transient) instead of being swallowed:
    a reply the rep never hears about is the failure this sequence exists to prevent. In the
    rep's quiet hours the step waits (and with it any draft the reply leads to) until they end.
    """
    row, request = _reply_of(ctx.session, job)
    rep = ctx.session.get_one(Rep, request.rep_id)
    if not gate(ctx.session, rep=rep, now=ctx.now, cap=None).open:
        return StepResult(defer_until=release_time(rep, ctx.now))
    analysis = required(job, UnderstandReply)
    decision = output(job, Assess) or Assess()
    text = summary_of(row, request, rep, analysis)
    channel = ctx.ports.chat.open_dm(user_id=rep.slack_user_id)
    proposal = proposed_by(ctx.session, job)
    attendees = list(
        ctx.session.exec(
            select(SchedulingAttendee).where(SchedulingAttendee.request_id == request.id)
        ).all()
    )
    card: Card
    if request.status == RequestStatus.paused:
        # Nothing acts on a paused request's reply; the rep reopens it (which acts on this
        # reply) or keeps it, so the reply is never left with nobody to move it on.
        decision = reopen_decision(request)
        ctx.session.add(request)
        card = ctx.ports.cards.decision(decision_view(request, rep, decision, reply=text))
    elif decision.needs_rep:
        card = ctx.ports.cards.decision(
            decision_view(request, rep, decision, reply=text, attendees=attendees)
        )
    elif proposal is not None:
        # Someone new is named: nobody is added or written to until the rep says so here.
        card = ctx.ports.cards.decision(recipient_view(request, rep, proposal, reply=text))
    else:
        accepted = analysis.intent == "accept" and analysis.matched_slot is not None
        if accepted and decision.subtype == "collecting_responses":
            text += _waiting_on(ctx.session, request)
        card = (text, [])
    if (hint := zone_hint_view(row, request, attendees)) is not None:
        card = ctx.ports.cards.with_zone_hint(card, hint)
    named = {proposal.address.lower()} if proposal is not None else set()
    if copied := copied_views(row, request, rep, attendees, already_asked=named):
        card = ctx.ports.cards.with_copied(card, copied)
    fallback, blocks = card
    posted = ctx.ports.chat.post_message(channel=channel, text=fallback, blocks=blocks)
    # Never held by the hourly cap, but counted toward it: notices give way to replies.
    claim(
        ctx.session,
        rep=rep,
        kind="reply",
        dedupe_key=f"reply:{job.id}",
        channel=posted.channel,
        now=ctx.now,
    )
    return StepResult(output={"channel": posted.channel, "ts": posted.ts})
