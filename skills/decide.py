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

Inputs are this module's own frozen dataclasses; the orchestrator maps database rows and
:class:`skills.detect_intent.IntentAnalysis` results onto them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:  # types only: deciding must not pull in the model client at runtime
    from skills.detect_intent import Confidence, Intent, Sentiment

AttendeeAction = Literal[
    "wait",
    "follow_up",
    "reply",
    "confirm:pending_others",
    "confirm:finalized",
    "escalate:alternatives_proposed",
    "escalate:unusual",
    "close:declined",
    "close:unresponsive",
]
EventType = Literal["coordination_in_progress", "waiting_for_decision", "complete"]
EventSubtype = Literal[
    "reaching_out",
    "collecting_responses",
    "getting_alternatives",
    "all_confirmed",
    "get_alternatives",
    "reschedule",
    "resolve_conflict",
    "recommend_cancel",
    "unusual",
    "scheduled",
    "cancelled",
]
OutreachKind = Literal["initial", "follow_up", "reply"]
InviteStatus = Literal["needs_action", "accepted", "declined", "tentative"]

EVENT_TYPE: dict[EventSubtype, EventType] = {
    "reaching_out": "coordination_in_progress",
    "collecting_responses": "coordination_in_progress",
    "getting_alternatives": "coordination_in_progress",
    "all_confirmed": "coordination_in_progress",
    "get_alternatives": "waiting_for_decision",
    "reschedule": "waiting_for_decision",
    "resolve_conflict": "waiting_for_decision",
    "recommend_cancel": "waiting_for_decision",
    "unusual": "waiting_for_decision",
    "scheduled": "complete",
    "cancelled": "complete",
}
# The seed's "stay here while" list: none of these blocks the event.
NON_BLOCKING_ACTIONS: frozenset[str] = frozenset(
    {"wait", "follow_up", "reply", "confirm:pending_others"}
)
# Below this an attendee's rejection is firm enough to ask the rep about alternatives (seed).
ALTERNATIVES_SCORE_LIMIT = 20
CONFIRMED_SCORE = 95
REASON_LIMIT = 120


@dataclass(frozen=True)
class Policy:
    """Follow-up cadence and stop rules (seed 000 defaults; templates may override).

    ``follow_up_hours[n]`` is how long after our latest email follow-up number ``n + 1`` is due;
    the last value repeats. ``max_follow_ups`` follow-ups without a reply close the attendee as
    unresponsive, as does ``max_days_active`` days of silence; ``max_attempts`` and
    ``max_days_active`` also stop the event.
    """

    follow_up_hours: tuple[int, ...] = (24, 48, 72)
    max_follow_ups: int = 5
    max_attempts: int = 5
    max_days_active: int = 21
    momentum_hours: int = 48
    stale_days: int = 7


DEFAULT_POLICY = Policy()


class IntentLike(Protocol):
    """The parts of :class:`skills.detect_intent.IntentAnalysis` deciding reads."""

    @property
    def intent(self) -> Intent: ...
    @property
    def confidence(self) -> Confidence: ...
    @property
    def sentiment(self) -> Sentiment: ...
    @property
    def escalate(self) -> bool: ...
    @property
    def question(self) -> str | None: ...
    @property
    def delegate_name(self) -> str | None: ...
    @property
    def delegate_email(self) -> str | None: ...
    @property
    def ooo_return(self) -> date | None: ...
    @property
    def reschedule_later(self) -> str | None: ...


@dataclass(frozen=True)
class MessageFacts:
    """What one reply from the attendee meant, already interpreted (never its raw text).

    ``accepted_slot`` is the slot an acceptance resolved to (by the TimeParser), or None when it
    could not be pinned down; ``proposed_slots`` are the times a counter-proposal offers.
    """

    received_at: datetime
    intent: Intent
    confidence: Confidence = "high"
    sentiment: Sentiment = "neutral"
    accepted_slot: datetime | None = None
    proposed_slots: tuple[datetime, ...] = ()
    escalate: bool = False
    question: str | None = None
    delegate: str | None = None
    ooo_return: date | None = None
    reschedule_later: str | None = None

    @classmethod
    def from_analysis(
        cls,
        received_at: datetime,
        analysis: IntentLike,
        *,
        accepted_slot: datetime | None = None,
        proposed_slots: Sequence[datetime] = (),
    ) -> MessageFacts:
        """Build the facts from an ``IntentAnalysis`` plus the slots the TimeParser resolved."""
        return cls(
            received_at=received_at,
            intent=analysis.intent,
            confidence=analysis.confidence,
            sentiment=analysis.sentiment,
            accepted_slot=accepted_slot,
            proposed_slots=tuple(proposed_slots),
            escalate=analysis.escalate,
            question=analysis.question,
            delegate=analysis.delegate_email or analysis.delegate_name,
            ooo_return=analysis.ooo_return,
            reschedule_later=analysis.reschedule_later,
        )


@dataclass(frozen=True)
class Outreach:
    """One email we sent this attendee: the first, a follow-up, or a reply to them."""

    sent_at: datetime
    kind: OutreachKind


@dataclass(frozen=True)
class AttendeeFacts:
    """Everything known about one attendee of one request."""

    key: str
    name: str = ""
    side: Literal["internal", "external"] = "external"
    organizer: bool = False
    named_in_title: bool = False
    invite_status: InviteStatus = "needs_action"
    messages: tuple[MessageFacts, ...] = ()
    outreach: tuple[Outreach, ...] = ()
    optional: bool = False  # the rep marked this guest optional when asking for the meeting

    @property
    def required(self) -> bool:
        """External, organizer or named in the title (seed 003 principle 2), unless the rep
        invited them as optional: an optional guest's silence never holds up the booking."""
        if self.optional and not self.organizer:
            return False
        return self.side == "external" or self.organizer or self.named_in_title

    @property
    def label(self) -> str:
        """How the rep sees this attendee: their name, else their address."""
        return self.name or self.key


@dataclass(frozen=True)
class AttendeeDecision:
    """An attendee's score, reason and next action, plus the structured facts behind them.

    ``slot`` is the slot they accepted; ``any_slot`` means they fit any slot we propose (an
    internal attendee whose calendar already shaped the proposal). ``proposed`` are the times
    they offered instead, ``persisted`` whether we already pushed back once before they
    rejected again, ``delegated_to`` who they handed the meeting to once we acted on it.
    """

    key: str
    name: str
    required: bool
    score: int
    reason: str
    next_action: AttendeeAction
    external: bool = True
    contacted: bool = False
    slot: datetime | None = None
    any_slot: bool = False
    proposed: tuple[datetime, ...] = ()
    persisted: bool = False
    delegated_to: str | None = None
    last_reply_at: datetime | None = None

    @property
    def label(self) -> str:
        """How the rep sees this attendee: their name, else their address."""
        return self.name or self.key


@dataclass(frozen=True)
class EventProgress:
    """Where the event stands and how much time it has left.

    ``current`` is the subtype stored on the request; ``state_since`` when it was entered
    (alternatives are "gathered" only from replies after it); ``attempts`` is the request's
    attempt count; ``window_end`` the end of the rep's scheduling window.
    """

    created_at: datetime
    current: EventSubtype = "reaching_out"
    state_since: datetime | None = None
    window_end: datetime | None = None
    attempts: int = 0


@dataclass(frozen=True)
class Alternative:
    """One candidate slot and which required attendees can make it."""

    slot: datetime
    attendees: tuple[str, ...]
    fits_all: bool


@dataclass(frozen=True)
class EventDecision:
    """The event's next action (seed 003 table) and what the rep needs to decide it.

    ``next_action`` is the type (``coordination_in_progress``, ``waiting_for_decision``,
    ``complete``), ``subtype`` the row. ``reasons`` are the required attendees' reasons.
    ``attendees`` holds the row's attendee list (pending, confirmed, blocking...), ``slot`` the
    agreed slot, ``alternatives`` the options for ``reschedule`` and ``resolve_conflict`` and
    ``summary`` the row's text (conflict summary, situation summary, cancel reason).
    """

    next_action: EventType
    subtype: EventSubtype
    score: int
    needs_rep: bool
    reasons: tuple[str, ...]
    attendees: tuple[str, ...] = ()
    slot: datetime | None = None
    alternatives: tuple[Alternative, ...] = ()
    summary: str = ""


# --- helpers ---------------------------------------------------------------------------------


def is_named_in_title(title: str, *, name: str) -> bool:
    """Whether the attendee's full name or first name appears as whole words in ``title``."""
    parts = name.split()
    if not parts:
        return False
    candidates = {name.strip(), parts[0]}
    return any(
        re.search(rf"(?<!\w){re.escape(candidate)}(?!\w)", title, re.IGNORECASE)
        for candidate in candidates
        if len(candidate) >= 2
    )


def _require_aware(moment: datetime) -> None:
    # A naive time is a bug upstream; deciding on it could be off by hours.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("decide needs timezone-aware datetimes")


def _clamp(value: float, low: int = 0, high: int = 100) -> int:
    # Half up, as people round: round() is half-to-even and would show 32.5 as 32.
    return max(low, min(high, math.floor(value + 0.5)))


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= REASON_LIMIT else flat[: REASON_LIMIT - 1] + "…"


def format_slot(slot: datetime) -> str:
    """A compact, unambiguous rendering of a slot for reasons (the slot's own zone)."""
    return f"{slot:%a %d %b %H:%M} {slot.tzname() or 'UTC'}"


def _slots(slots: Iterable[datetime]) -> str:
    return ", ".join(format_slot(slot) for slot in slots)


# --- per attendee ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Verdict:
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
) -> _Verdict:
    """The ball is in their court: wait, follow up on the cadence, or close as unresponsive.

    Only our emails after ``since`` (their latest reply) count: answering resets the count.
    """
    sent = sorted(
        (o for o in facts.outreach if since is None or o.sent_at > since), key=lambda o: o.sent_at
    )
    if not sent:
        return _Verdict(base, _one_line(f"{what}; nothing sent yet"), "wait")
    follow_ups = sum(1 for o in sent if o.kind == "follow_up")
    score = max(10, base - 8 * follow_ups)
    later = [m for m in facts.messages if since is None or m.received_at > since]
    back = _away_until(later, now)
    if back is not None:
        return _Verdict(score, f"{what}; out of office until {back.isoformat()}", "wait")
    due = sent[-1].sent_at + _gap(policy, follow_ups)
    if follow_ups >= policy.max_follow_ups and now >= due:
        return _Verdict(5, f"no reply after {follow_ups} follow-ups", "close:unresponsive")
    if now - sent[0].sent_at >= timedelta(days=policy.max_days_active):
        reason = f"no reply in {policy.max_days_active} days"
        return _Verdict(5, reason, "close:unresponsive")
    suffix = f"{follow_ups} follow-up{'s' if follow_ups != 1 else ''} sent"
    action: AttendeeAction = "follow_up" if now >= due else "wait"
    return _Verdict(score, _one_line(f"{what}; {suffix}"), action)


def _without_reply(
    facts: AttendeeFacts, *, invited_slot: datetime | None, now: datetime, policy: Policy
) -> _Verdict:
    """No substantive reply: the calendar RSVP, an internal calendar, or silence decides."""
    status = facts.invite_status
    if status == "accepted" and invited_slot is not None:
        return _Verdict(
            85,
            f"accepted the invite for {format_slot(invited_slot)}",
            "confirm:pending_others",
            slot=invited_slot,
        )
    if status == "declined":
        return _Verdict(20, "declined the calendar invite without saying why", "reply")
    if status == "tentative":
        return _Verdict(70, "tentatively accepted the calendar invite", "wait")
    if facts.side == "internal" and not facts.outreach:
        # find_slots already merged their free/busy, so every slot we offer fits them.
        return _Verdict(
            85,
            "internal; calendar checked when slots were chosen",
            "confirm:pending_others",
            any_slot=True,
        )
    if not facts.outreach:
        return _Verdict(50, "not contacted yet", "wait")
    return _awaiting(facts, since=None, base=50, what="no reply yet", now=now, policy=policy)


def _is_rejection(message: MessageFacts) -> bool:
    return message.intent in ("counter_propose", "reschedule") and not message.reschedule_later


def _persisted(facts: AttendeeFacts, latest: MessageFacts) -> bool:
    """Whether we already pushed back after an earlier rejection and they rejected again."""
    first = next((m for m in facts.messages if _is_rejection(m)), None)
    if first is None or first is latest:
        return False
    return any(first.received_at < o.sent_at < latest.received_at for o in facts.outreach)


def _rejection(facts: AttendeeFacts, latest: MessageFacts) -> _Verdict:
    proposed = tuple(sorted(latest.proposed_slots))
    offered = f"proposed {_slots(proposed)}" if proposed else "gave no other time"
    if _persisted(facts, latest):
        score = 15 if proposed else 10
        reason = _one_line(f"rejected our times again after we persisted; {offered}")
        return _Verdict(
            score, reason, "escalate:alternatives_proposed", proposed=proposed, persisted=True
        )
    score = 40 if proposed else 30
    what = f"proposed {_slots(proposed)}" if proposed else "said the times do not work"
    return _Verdict(score, _one_line(what), "reply", proposed=proposed)


def _acceptance(latest: MessageFacts, facts: AttendeeFacts, now: datetime) -> _Verdict:
    slot = latest.accepted_slot
    if slot is None:
        return _Verdict(70, "accepted, but which time is unclear", "reply")
    if slot <= now:
        return _Verdict(60, f"accepted {format_slot(slot)}, which has passed", "reply")
    if facts.invite_status == "declined":
        # The RSVP is the later signal: the invite only goes out after their acceptance.
        return _Verdict(20, f"accepted {format_slot(slot)} but declined the invite", "reply")
    if latest.question:
        reason = _one_line(f"accepted {format_slot(slot)}; asked: {latest.question}")
        return _Verdict(80, reason, "reply", slot=slot)
    return _Verdict(85, f"accepted {format_slot(slot)}", "confirm:pending_others", slot=slot)


def _needs_us(latest: MessageFacts, facts: AttendeeFacts, now: datetime) -> _Verdict:
    """The verdict on their latest reply, before we have answered it."""
    if latest.escalate or latest.confidence == "low" or latest.intent in ("confused", "unclear"):
        reason = f"{latest.intent.replace('_', ' ')} ({latest.confidence} confidence)"
        return _Verdict(25, _one_line(reason), "escalate:unusual")
    if latest.intent == "decline":
        return _Verdict(0, "declined the meeting", "close:declined")
    if latest.sentiment == "negative":
        return _Verdict(
            25, f"negative tone ({latest.intent.replace('_', ' ')})", "escalate:unusual"
        )
    if latest.intent == "accept":
        return _acceptance(latest, facts, now)
    if latest.reschedule_later:
        return _Verdict(
            20, _one_line(f"wants to meet later: {latest.reschedule_later}"), "escalate:unusual"
        )
    if _is_rejection(latest):
        return _rejection(facts, latest)
    if latest.intent == "question":
        return _Verdict(55, _one_line(f"asked: {latest.question or 'a question'}"), "reply")
    # delegate is the only intent left.
    who = latest.delegate or "someone else"
    return _Verdict(45, _one_line(f"handed the meeting to {who}"), "reply")


def _after_our_answer(
    verdict: _Verdict, latest: MessageFacts, facts: AttendeeFacts, now: datetime, policy: Policy
) -> _Verdict:
    """We answered their latest reply; closing and confirming stand, the rest awaits them."""
    if verdict.action in ("close:declined", "confirm:pending_others"):
        return verdict
    if verdict.action == "reply" and verdict.slot is not None:
        # Their question alongside an acceptance is answered: the acceptance stands.
        return _Verdict(
            85, f"accepted {format_slot(verdict.slot)}", "confirm:pending_others", slot=verdict.slot
        )
    delegated = latest.intent == "delegate"
    base = 40 if delegated else max(30, verdict.score - 5)
    what = (
        f"handed the meeting to {latest.delegate or 'someone else'}"
        if delegated
        else f"we answered: {verdict.reason}"
    )
    waiting = _awaiting(
        facts, since=latest.received_at, base=base, what=_one_line(what), now=now, policy=policy
    )
    return replace(
        waiting,
        proposed=verdict.proposed,
        persisted=verdict.persisted,
        delegated_to=(latest.delegate or "someone else") if delegated else None,
    )


def _assess(
    facts: AttendeeFacts, *, invited_slot: datetime | None, now: datetime, policy: Policy
) -> _Verdict:
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


def _agreed_slot(
    verdicts: Sequence[tuple[AttendeeFacts, _Verdict]], now: datetime
) -> datetime | None:
    """The one future slot every required attendee accepted (or fits), if there is one."""
    required = [(f, v) for f, v in verdicts if f.required and v.delegated_to is None]
    if not required or not all(v.action == "confirm:pending_others" for _, v in required):
        return None
    slots = {v.slot for _, v in required if not v.any_slot}
    if len(slots) != 1:
        return None
    slot = slots.pop()
    return slot if slot is not None and slot > now else None


def _finalize(facts: AttendeeFacts, verdict: _Verdict, agreed: datetime | None) -> _Verdict:
    fits = verdict.any_slot or verdict.slot == agreed
    if agreed is None or verdict.action != "confirm:pending_others" or not fits:
        return verdict
    score = 100 if facts.invite_status == "accepted" else CONFIRMED_SCORE
    reason = f"confirmed {format_slot(agreed)}; every required attendee agrees"
    return replace(verdict, score=score, reason=reason, action="confirm:finalized", slot=agreed)


def _to_decision(facts: AttendeeFacts, verdict: _Verdict) -> AttendeeDecision:
    replies = [m.received_at for m in facts.messages if m.intent != "out_of_office"]
    return AttendeeDecision(
        key=facts.key,
        name=facts.name,
        required=facts.required,
        score=_clamp(verdict.score),
        reason=_one_line(verdict.reason),
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
    _require_aware(now)
    verdicts = [
        (facts, _assess(facts, invited_slot=invited_slot, now=now, policy=policy))
        for facts in attendees
    ]
    agreed = _agreed_slot(verdicts, now)
    return tuple(_to_decision(f, _finalize(f, v, agreed)) for f, v in verdicts)


def decide_attendee(
    facts: AttendeeFacts,
    *,
    now: datetime,
    invited_slot: datetime | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> AttendeeDecision:
    """One attendee judged alone (an acceptance stays ``confirm:pending_others``)."""
    _require_aware(now)
    verdict = _assess(facts, invited_slot=invited_slot, now=now, policy=policy)
    return _to_decision(facts, verdict)


# --- per event -------------------------------------------------------------------------------


def _reasons(required: Sequence[AttendeeDecision]) -> tuple[str, ...]:
    return tuple(f"{a.label}: {a.reason}" for a in required)


def _weighted_score(required: Sequence[AttendeeDecision]) -> float:
    # Prospects are the point of the meeting; internal attendees flex more easily.
    if not required:
        return 50.0
    weights = [2.0 if a.external else 1.0 for a in required]
    return sum(w * a.score for w, a in zip(weights, required, strict=True)) / sum(weights)


def _momentum(
    required: Sequence[AttendeeDecision], progress: EventProgress, now: datetime, policy: Policy
) -> int:
    replies = [a.last_reply_at for a in required if a.last_reply_at is not None]
    latest = max(replies, default=None)
    if latest is not None and now - latest <= timedelta(hours=policy.momentum_hours):
        return 5
    quiet_since = latest or progress.created_at
    return -5 if now - quiet_since >= timedelta(days=policy.stale_days) else 0


def _time_pressure(progress: EventProgress, now: datetime, policy: Policy) -> int:
    penalty = 0
    age = now - progress.created_at
    if age >= timedelta(days=policy.max_days_active * 2 / 3):
        penalty -= 10
    elif age >= timedelta(days=policy.max_days_active / 3):
        penalty -= 5
    if progress.window_end is not None and progress.window_end - now < timedelta(days=2):
        penalty -= 10
    if progress.attempts >= policy.max_attempts - 1:
        penalty -= 5
    return penalty


# Score bands per row: the seed gives most of them; the rest keep "confirmed" scores (95+)
# for all_confirmed and scheduled only.
_BANDS: dict[EventSubtype, tuple[int, int]] = {
    "reaching_out": (50, 60),
    "collecting_responses": (5, 94),
    "getting_alternatives": (5, 40),
    "all_confirmed": (95, 100),
    "get_alternatives": (5, 19),
    "reschedule": (5, 94),
    "resolve_conflict": (20, 40),
    "recommend_cancel": (0, 5),
    "unusual": (5, 94),
    "scheduled": (100, 100),
    "cancelled": (0, 0),
}


def _score(
    subtype: EventSubtype,
    required: Sequence[AttendeeDecision],
    progress: EventProgress,
    now: datetime,
    policy: Policy,
) -> int:
    if subtype == "recommend_cancel":
        # "Near 0": an attendee closing is final; a stop rule leaves a sliver for an override.
        return 0 if any(a.next_action.startswith("close:") for a in required) else 5
    raw = _weighted_score(required) + _momentum(required, progress, now, policy)
    raw += _time_pressure(progress, now, policy)
    low, high = _BANDS[subtype]
    return _clamp(raw, low, high)


def _decision(
    subtype: EventSubtype,
    required: Sequence[AttendeeDecision],
    progress: EventProgress,
    now: datetime,
    policy: Policy,
    *,
    attendees: Iterable[AttendeeDecision] = (),
    slot: datetime | None = None,
    alternatives: tuple[Alternative, ...] = (),
    summary: str = "",
) -> EventDecision:
    kind = EVENT_TYPE[subtype]
    return EventDecision(
        next_action=kind,
        subtype=subtype,
        score=_score(subtype, required, progress, now, policy),
        needs_rep=kind == "waiting_for_decision",
        reasons=_reasons(required),
        attendees=tuple(a.label for a in attendees),
        slot=slot,
        alternatives=alternatives,
        summary=_one_line(summary) if summary else "",
    )


def _acceptable(attendee: AttendeeDecision) -> frozenset[datetime] | None:
    """The slots this attendee has said work for them; None means any slot does."""
    if attendee.any_slot:
        return None
    slots = set(attendee.proposed)
    if attendee.slot is not None:
        slots.add(attendee.slot)
    return frozenset(slots)


def _conflict(required: Sequence[AttendeeDecision]) -> tuple[AttendeeDecision, ...]:
    """Attendees whose stated constraints leave no common slot, once we have persisted.

    Only attendees who rejected our times *and* named their own count: an acceptance of one
    offered slot says nothing about the others, so it is not a constraint.
    """
    stated = [
        a
        for a in required
        if a.proposed and a.next_action in ("reply", "escalate:alternatives_proposed")
    ]
    if len(stated) < 2 or not any(a.persisted for a in stated):
        return ()
    common = frozenset.intersection(*(frozenset(a.proposed) for a in stated))
    return () if common else tuple(stated)


def _answered(attendee: AttendeeDecision, since: datetime | None) -> bool:
    """Whether the attendee has replied since ``since`` (internal calendars always have)."""
    last = attendee.last_reply_at
    return attendee.any_slot or (last is not None and (since is None or last >= since))


def _options(required: Sequence[AttendeeDecision]) -> tuple[Alternative, ...]:
    """Every slot someone said works for them, with who can make it."""
    sets = {a.label: _acceptable(a) for a in required}
    options = sorted({s for slots in sets.values() if slots for s in slots})
    result = []
    for option in options:
        fits = tuple(label for label, slots in sets.items() if slots is None or option in slots)
        result.append(Alternative(option, fits, len(fits) == len(sets)))
    return tuple(result)


def _alternatives(
    required: Sequence[AttendeeDecision], since: datetime | None
) -> tuple[Alternative, ...] | None:
    """Options gathered since the rep approved looking for them, or None while still gathering."""
    if not required or not all(_answered(a, since) for a in required):
        return None
    return _options(required) or None


def _stop_reason(progress: EventProgress, now: datetime, policy: Policy) -> str | None:
    if now - progress.created_at >= timedelta(days=policy.max_days_active):
        return f"still unscheduled after {policy.max_days_active} days"
    if progress.window_end is not None and now >= progress.window_end:
        return "the scheduling window has ended"
    if progress.attempts >= policy.max_attempts:
        return f"reached the maximum of {policy.max_attempts} attempts"
    return None


def _blocker(
    required: Sequence[AttendeeDecision], progress: EventProgress, now: datetime, policy: Policy
) -> EventDecision | None:
    """A reason to ask the rep, most severe first; None keeps coordination going."""
    closed = [a for a in required if a.next_action.startswith("close:")]
    if closed:
        summary = "; ".join(f"{a.label} {a.reason}" for a in closed)
        return _decision(
            "recommend_cancel", required, progress, now, policy, attendees=closed, summary=summary
        )
    unusual = [a for a in required if a.next_action == "escalate:unusual"]
    if unusual:
        summary = "; ".join(f"{a.label}: {a.reason}" for a in unusual)
        return _decision(
            "unusual", required, progress, now, policy, attendees=unusual, summary=summary
        )
    if progress.current in ("getting_alternatives", "reschedule"):
        return _gathering(required, progress, now, policy)
    conflicting = _conflict(required)
    if conflicting:
        summary = "; ".join(f"{a.label} only {_slots(a.proposed)}" for a in conflicting)
        return _decision(
            "resolve_conflict",
            required,
            progress,
            now,
            policy,
            attendees=conflicting,
            alternatives=_options(required),
            summary=f"no common slot: {summary}",
        )
    rejecting = [
        a
        for a in required
        if a.next_action == "escalate:alternatives_proposed"
        and a.score < ALTERNATIVES_SCORE_LIMIT
        and a.persisted
    ]
    if rejecting:
        summary = "; ".join(f"{a.label} ({a.score}): {a.reason}" for a in rejecting)
        return _decision(
            "get_alternatives",
            required,
            progress,
            now,
            policy,
            attendees=rejecting,
            summary=summary,
        )
    return None


def _gathering(
    required: Sequence[AttendeeDecision], progress: EventProgress, now: datetime, policy: Policy
) -> EventDecision:
    """The rep approved looking for other times: stay until every required attendee answered."""
    options = _alternatives(required, progress.state_since)
    pending = [a for a in required if not _answered(a, progress.state_since)]
    if options is None:
        return _decision("getting_alternatives", required, progress, now, policy, attendees=pending)
    conflicting = _conflict(required)
    if conflicting and not any(o.fits_all for o in options):
        summary = "; ".join(f"{a.label} only {_slots(a.proposed)}" for a in conflicting)
        return _decision(
            "resolve_conflict",
            required,
            progress,
            now,
            policy,
            attendees=conflicting,
            alternatives=_options(required),
            summary=f"no common slot: {summary}",
        )
    return _decision(
        "reschedule",
        required,
        progress,
        now,
        policy,
        alternatives=options,
        summary=f"{len(options)} option{'s' if len(options) != 1 else ''} gathered",
    )


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
    _require_aware(now)
    required = [a for a in attendees if a.required]
    if progress.current == "cancelled":
        return _decision("cancelled", required, progress, now, policy)
    blocker = _blocker(required, progress, now, policy)
    if blocker is not None:
        return blocker
    if progress.current == "scheduled":
        return _decision("scheduled", required, progress, now, policy)
    confirmed = _all_confirmed(required, now)
    if confirmed is not None:
        deciding = [a for a in required if a.delegated_to is None]
        return _decision(
            "all_confirmed", required, progress, now, policy, attendees=deciding, slot=confirmed
        )
    stop = _stop_reason(progress, now, policy)
    if stop is not None:
        return _decision("recommend_cancel", required, progress, now, policy, summary=stop)
    pending = [a for a in required if a.next_action != "confirm:finalized"]
    if not any(a.contacted or a.last_reply_at for a in required):
        return _decision("reaching_out", required, progress, now, policy, attendees=pending)
    return _decision("collecting_responses", required, progress, now, policy, attendees=pending)


def _all_confirmed(required: Sequence[AttendeeDecision], now: datetime) -> datetime | None:
    """The slot when every required attendee is finalized at 95+ on it (delegators aside)."""
    deciding = [a for a in required if a.delegated_to is None]
    if not deciding or not all(
        a.next_action == "confirm:finalized" and a.score >= CONFIRMED_SCORE for a in deciding
    ):
        return None
    slots = {a.slot for a in deciding if not a.any_slot}
    if len(slots) != 1:
        return None
    slot = slots.pop()
    return slot if slot is not None and slot > now else None
