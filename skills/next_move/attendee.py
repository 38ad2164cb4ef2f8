"""The next move for one attendee: wait, follow up, reply, confirm, escalate or close.

Each attendee is judged on their own interpreted replies, their calendar RSVP and our outreach
to them (seed 003). Options are exhausted locally first: a rejected slot earns a reply (we
persist) before it escalates. Only :func:`agreed_slot` and :func:`finalize` look across
attendees, for the slot every required one accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from skills.next_move.model import (
    CONFIRMED_SCORE,
    AttendeeAction,
    AttendeeDecision,
    AttendeeFacts,
    MessageFacts,
    Policy,
    clamp,
    format_slot,
    list_slots,
    one_future_slot,
    one_line,
)


@dataclass(frozen=True)
class Verdict:
    """One attendee's judgement before it is clamped, trimmed and labelled for the rep."""

    score: int
    reason: str
    action: AttendeeAction
    slot: datetime | None = None
    any_slot: bool = False
    proposed: tuple[datetime, ...] = ()
    persisted: bool = False
    delegated_to: str | None = None


def _gap(policy: Policy, follow_ups: int) -> timedelta:
    hours = policy.follow_up_hours
    return timedelta(hours=hours[min(follow_ups, len(hours) - 1)])


def _away_until(messages: Sequence[MessageFacts], now: datetime) -> date | None:
    """The return date of an out-of-office reply that still holds, if any."""
    for message in reversed(messages):
        if message.intent == "out_of_office":
            back = message.ooo_return
            return back if back is not None and now.date() < back else None
    return None


def _awaiting(
    facts: AttendeeFacts,
    *,
    since: datetime | None,
    base: int,
    what: str,
    now: datetime,
    policy: Policy,
) -> Verdict:
    """The ball is in their court: wait, follow up on the cadence, or close as unresponsive.

    Only our emails after ``since`` (their latest reply) count: answering resets the count.
    """
    sent = sorted(
        (o for o in facts.outreach if since is None or o.sent_at > since), key=lambda o: o.sent_at
    )
    if not sent:
        return Verdict(base, one_line(f"{what}; nothing sent yet"), "wait")
    follow_ups = sum(1 for o in sent if o.kind == "follow_up")
    score = max(10, base - 8 * follow_ups)
    later = [m for m in facts.messages if since is None or m.received_at > since]
    back = _away_until(later, now)
    if back is not None:
        return Verdict(score, f"{what}; out of office until {back.isoformat()}", "wait")
    due = sent[-1].sent_at + _gap(policy, follow_ups)
    if follow_ups >= policy.max_follow_ups and now >= due:
        return Verdict(5, f"no reply after {follow_ups} follow-ups", "close:unresponsive")
    if now - sent[0].sent_at >= timedelta(days=policy.max_days_active):
        reason = f"no reply in {policy.max_days_active} days"
        return Verdict(5, reason, "close:unresponsive")
    suffix = f"{follow_ups} follow-up{'s' if follow_ups != 1 else ''} sent"
    action: AttendeeAction = "follow_up" if now >= due else "wait"
    return Verdict(score, one_line(f"{what}; {suffix}"), action)


def _without_reply(
    facts: AttendeeFacts, *, invited_slot: datetime | None, now: datetime, policy: Policy
) -> Verdict:
    """No substantive reply: the calendar RSVP, an internal calendar, or silence decides."""
    status = facts.invite_status
    if status == "accepted" and invited_slot is not None:
        return Verdict(
            85,
            f"accepted the invite for {format_slot(invited_slot)}",
            "confirm:pending_others",
            slot=invited_slot,
        )
    if status == "declined":
        return Verdict(20, "declined the calendar invite without saying why", "reply")
    if status == "tentative":
        return Verdict(70, "tentatively accepted the calendar invite", "wait")
    if facts.side == "internal" and not facts.outreach:
        # find_slots already merged their free/busy, so every slot we offer fits them.
        return Verdict(
            85,
            "internal; calendar checked when slots were chosen",
            "confirm:pending_others",
            any_slot=True,
        )
    if not facts.outreach:
        return Verdict(50, "not contacted yet", "wait")
    return _awaiting(facts, since=None, base=50, what="no reply yet", now=now, policy=policy)


def _is_rejection(message: MessageFacts) -> bool:
    return message.intent in ("counter_propose", "reschedule") and not message.reschedule_later


def _persisted(facts: AttendeeFacts, latest: MessageFacts) -> bool:
    """Whether we already pushed back after an earlier rejection and they rejected again."""
    first = next((m for m in facts.messages if _is_rejection(m)), None)
    if first is None or first is latest:
        return False
    return any(first.received_at < o.sent_at < latest.received_at for o in facts.outreach)


def _rejection(facts: AttendeeFacts, latest: MessageFacts) -> Verdict:
    proposed = tuple(sorted(latest.proposed_slots))
    offered = f"proposed {list_slots(proposed)}" if proposed else "gave no other time"
    if _persisted(facts, latest):
        score = 15 if proposed else 10
        reason = one_line(f"rejected our times again after we persisted; {offered}")
        return Verdict(
            score, reason, "escalate:alternatives_proposed", proposed=proposed, persisted=True
        )
    score = 40 if proposed else 30
    what = f"proposed {list_slots(proposed)}" if proposed else "said the times do not work"
    return Verdict(score, one_line(what), "reply", proposed=proposed)


def _acceptance(latest: MessageFacts, facts: AttendeeFacts, now: datetime) -> Verdict:
    slot = latest.accepted_slot
    if slot is None:
        return Verdict(70, "accepted, but which time is unclear", "reply")
    if slot <= now:
        return Verdict(60, f"accepted {format_slot(slot)}, which has passed", "reply")
    if facts.invite_status == "declined":
        # The RSVP is the later signal: the invite only goes out after their acceptance.
        return Verdict(20, f"accepted {format_slot(slot)} but declined the invite", "reply")
    if latest.question:
        # The acceptance stands on its own; the question gets its own answer beside the booking.
        reason = one_line(f"accepted {format_slot(slot)}; asked: {latest.question}")
        return Verdict(80, reason, "confirm:pending_others", slot=slot)
    return Verdict(85, f"accepted {format_slot(slot)}", "confirm:pending_others", slot=slot)


def _needs_us(latest: MessageFacts, facts: AttendeeFacts, now: datetime) -> Verdict:
    """The verdict on their latest reply, before we have answered it."""
    if latest.escalate or latest.confidence == "low" or latest.intent in ("confused", "unclear"):
        reason = f"{latest.intent.replace('_', ' ')} ({latest.confidence} confidence)"
        return Verdict(25, one_line(reason), "escalate:unusual")
    if latest.intent == "decline":
        return Verdict(0, "declined the meeting", "close:declined")
    if latest.sentiment == "negative":
        return Verdict(25, f"negative tone ({latest.intent.replace('_', ' ')})", "escalate:unusual")
    if latest.intent == "accept":
        return _acceptance(latest, facts, now)
    if latest.reschedule_later:
        return Verdict(
            20, one_line(f"wants to meet later: {latest.reschedule_later}"), "escalate:unusual"
        )
    if _is_rejection(latest):
        return _rejection(facts, latest)
    if latest.intent == "question":
        return Verdict(55, one_line(f"asked: {latest.question or 'a question'}"), "reply")
    # delegate is the only intent left.
    who = latest.delegate or "someone else"
    return Verdict(45, one_line(f"handed the meeting to {who}"), "reply")


def _after_our_answer(
    verdict: Verdict, latest: MessageFacts, facts: AttendeeFacts, now: datetime, policy: Policy
) -> Verdict:
    """We answered their latest reply; closing and confirming stand, the rest awaits them."""
    if verdict.action == "confirm:pending_others" and latest.question and verdict.slot:
        # Their question alongside an acceptance is answered: the acceptance stands alone.
        return Verdict(
            85, f"accepted {format_slot(verdict.slot)}", "confirm:pending_others", slot=verdict.slot
        )
    if verdict.action in ("close:declined", "confirm:pending_others"):
        return verdict
    delegated = latest.intent == "delegate"
    base = 40 if delegated else max(30, verdict.score - 5)
    what = (
        f"handed the meeting to {latest.delegate or 'someone else'}"
        if delegated
        else f"we answered: {verdict.reason}"
    )
    waiting = _awaiting(
        facts, since=latest.received_at, base=base, what=one_line(what), now=now, policy=policy
    )
    return replace(
        waiting,
        proposed=verdict.proposed,
        persisted=verdict.persisted,
        delegated_to=(latest.delegate or "someone else") if delegated else None,
    )


def assess(
    facts: AttendeeFacts, *, invited_slot: datetime | None, now: datetime, policy: Policy
) -> Verdict:
    messages = tuple(sorted(facts.messages, key=lambda m: m.received_at))
    facts = replace(facts, messages=messages)
    substantive = [m for m in messages if m.intent != "out_of_office"]
    if not substantive:
        return _without_reply(facts, invited_slot=invited_slot, now=now, policy=policy)
    latest = substantive[-1]
    verdict = _needs_us(latest, facts, now)
    if any(o.sent_at > latest.received_at for o in facts.outreach):
        return _after_our_answer(verdict, latest, facts, now, policy)
    return verdict


def agreed_slot(
    verdicts: Sequence[tuple[AttendeeFacts, Verdict]], now: datetime
) -> datetime | None:
    """The one future slot every required attendee accepted (or fits), if there is one."""
    required = [(f, v) for f, v in verdicts if f.required and v.delegated_to is None]
    if not required or not all(v.action == "confirm:pending_others" for _, v in required):
        return None
    return one_future_slot({v.slot for _, v in required if not v.any_slot}, now)


def finalize(facts: AttendeeFacts, verdict: Verdict, agreed: datetime | None) -> Verdict:
    fits = verdict.any_slot or verdict.slot == agreed
    if agreed is None or verdict.action != "confirm:pending_others" or not fits:
        return verdict
    score = 100 if facts.invite_status == "accepted" else CONFIRMED_SCORE
    reason = f"confirmed {format_slot(agreed)}; every required attendee agrees"
    return replace(verdict, score=score, reason=reason, action="confirm:finalized", slot=agreed)


def to_decision(facts: AttendeeFacts, verdict: Verdict) -> AttendeeDecision:
    replies = [m.received_at for m in facts.messages if m.intent != "out_of_office"]
    return AttendeeDecision(
        key=facts.key,
        name=facts.name,
        required=facts.required,
        score=clamp(verdict.score),
        reason=one_line(verdict.reason),
        next_action=verdict.action,
        external=facts.side == "external",
        contacted=bool(facts.outreach),
        slot=verdict.slot,
        any_slot=verdict.any_slot,
        proposed=verdict.proposed,
        persisted=verdict.persisted,
        delegated_to=verdict.delegated_to,
        last_reply_at=max(replies, default=None),
    )
