"""The vocabulary of the next-move rules: what they read, what they return, and the policy.

Inputs (:class:`AttendeeFacts`, :class:`MessageFacts`, :class:`Outreach`,
:class:`EventProgress`) are frozen dataclasses the orchestrator fills from database rows and
:class:`skills.detect_intent.IntentAnalysis` results; outputs are :class:`AttendeeDecision` and
:class:`EventDecision`. The wording helpers here are shared by the attendee and event rules so a
reason reads the same whichever level wrote it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
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


# --- shared checks and wording ---------------------------------------------------------------


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


def require_aware(moment: datetime) -> None:
    # A naive time is a bug upstream; deciding on it could be off by hours.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("decide needs timezone-aware datetimes")


def clamp(value: float, low: int = 0, high: int = 100) -> int:
    # Half up, as people round: round() is half-to-even and would show 32.5 as 32.
    return max(low, min(high, math.floor(value + 0.5)))


def one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= REASON_LIMIT else flat[: REASON_LIMIT - 1] + "…"


def format_slot(slot: datetime) -> str:
    """A compact, unambiguous rendering of a slot for reasons (the slot's own zone)."""
    return f"{slot:%a %d %b %H:%M} {slot.tzname() or 'UTC'}"


def list_slots(slots: Iterable[datetime]) -> str:
    return ", ".join(format_slot(slot) for slot in slots)


def one_future_slot(slots: set[datetime | None], now: datetime) -> datetime | None:
    """The slot when exactly one is named and it is still ahead of ``now``."""
    if len(slots) != 1:
        return None
    slot = slots.pop()
    return slot if slot is not None and slot > now else None
