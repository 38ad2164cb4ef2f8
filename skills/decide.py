"""Decide what happens next, per attendee and per event (seed 003).

Two levels, both pure (no I/O, no clock: ``now`` is passed in):

* :func:`decide_attendees` reads one attendee's interpreted replies (intent facts, never raw
  text), their calendar RSVP and our outreach to them, and returns a score 0-100, a one-line
  reason and a next action (``wait``, ``follow_up``, ``reply``, ``confirm:pending_others``,
  ``confirm:finalized``, ``escalate:alternatives_proposed``, ``escalate:unusual``,
  ``close:declined``, ``close:unresponsive``). Options are exhausted locally first: a rejected
  slot earns a reply (we persist) before it escalates.
* :func:`decide_event` reads only the attendee *outputs* of the required attendees (external,
  organizer, or named in the title) plus momentum and time left, and returns the event's next
  action. It is conservative: unless attendee outputs clearly say otherwise it stays in
  ``collecting_responses``. The happy path ``reaching_out → collecting_responses →
  all_confirmed → scheduled`` needs nobody; every other outcome is a decision for the rep
  (``needs_rep``), carrying the attendees' reasons. Nothing here executes anything: the loop
  stops at the decision and waits for the next external trigger.

The rules live in :mod:`skills.next_move`: ``model`` (the inputs, outputs and policy these
functions take and return), ``attendee`` (one attendee's next move) and ``event`` (the event's).
This module is the entry that runs them in order. "Decide" means three things in the codebase:
this is the *agent's* next move; ``orchestrator/commands/decision_cards.py`` carries out the
rep's answer to a decision card, and ``bot/decision_blocks.py`` draws that card in Slack.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from skills.next_move.attendee import agreed_slot, assess, finalize, to_decision
from skills.next_move.event import all_confirmed, find_blocker, row, stop_reason
from skills.next_move.model import (
    DEFAULT_POLICY,
    AttendeeDecision,
    AttendeeFacts,
    EventDecision,
    EventProgress,
    Policy,
    require_aware,
)


def decide_attendees(
    attendees: Sequence[AttendeeFacts],
    *,
    now: datetime,
    invited_slot: datetime | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> tuple[AttendeeDecision, ...]:
    """Score every attendee and choose their next action, in input order.

    Each attendee is judged on their own replies and our outreach to them; only the
    ``confirm:pending_others`` → ``confirm:finalized`` step looks across attendees, and only
    at the required ones (the slot all of them accepted). ``invited_slot`` is the slot of the
    calendar invite, so an RSVP "accepted" can count as accepting it.
    """
    require_aware(now)
    verdicts = [
        (facts, assess(facts, invited_slot=invited_slot, now=now, policy=policy))
        for facts in attendees
    ]
    agreed = agreed_slot(verdicts, now)
    return tuple(to_decision(f, finalize(f, v, agreed)) for f, v in verdicts)


def decide_attendee(
    facts: AttendeeFacts,
    *,
    now: datetime,
    invited_slot: datetime | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> AttendeeDecision:
    """One attendee judged alone (an acceptance stays ``confirm:pending_others``)."""
    require_aware(now)
    verdict = assess(facts, invited_slot=invited_slot, now=now, policy=policy)
    return to_decision(facts, verdict)


def decide_event(
    attendees: Sequence[AttendeeDecision],
    *,
    progress: EventProgress,
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
) -> EventDecision:
    """The event's next action from the required attendees' outputs, momentum and time left.

    Optional attendees are ignored entirely. Order of precedence: a cancelled event stays
    cancelled; a required attendee closing → ``recommend_cancel``; one escalating as unusual
    → ``unusual``; while alternatives are being gathered → ``getting_alternatives`` until all
    answered, then ``reschedule`` (or ``resolve_conflict``); stated constraints with no common
    slot → ``resolve_conflict``; a firm, persisted rejection → ``get_alternatives``; everyone
    finalized on one slot → ``all_confirmed`` (booked without the rep) or ``scheduled`` once
    booked; a stop rule (21 days, window ended, max attempts) → ``recommend_cancel``; otherwise
    ``reaching_out`` before anyone is contacted and ``collecting_responses`` after.
    """
    require_aware(now)
    required = [a for a in attendees if a.required]
    if progress.current == "cancelled":
        return row("cancelled", required, progress, now, policy)
    blocker = find_blocker(required, progress, now, policy)
    if blocker is not None:
        return blocker
    if progress.current == "scheduled":
        return row("scheduled", required, progress, now, policy)
    confirmed = all_confirmed(required, now)
    if confirmed is not None:
        deciding = [a for a in required if a.delegated_to is None]
        return row(
            "all_confirmed", required, progress, now, policy, attendees=deciding, slot=confirmed
        )
    stop = stop_reason(progress, now, policy)
    if stop is not None:
        return row("recommend_cancel", required, progress, now, policy, summary=stop)
    pending = [a for a in required if a.next_action != "confirm:finalized"]
    if not any(a.contacted or a.last_reply_at for a in required):
        return row("reaching_out", required, progress, now, policy, attendees=pending)
    return row("collecting_responses", required, progress, now, policy, attendees=pending)
