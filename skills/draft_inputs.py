"""What a draft is made from: the input for each kind of email, the limits every kind keeps,
and :class:`Facts`, the one shape every input is normalised to before it is worded.

Pure: no I/O and no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

KINDS = (
    "initial",
    "follow_up",
    "confirmation",
    "reminder",
    "no_show",
    "counter_proposal",
    "clarification",
    "answer",
    "delegate",
)

# Replies in the prospect's existing thread; the initial email and the delegate intro start one.
IN_THREAD_KINDS = frozenset(KINDS) - {"initial", "delegate"}

# Seed 000 fixes the first five; the rest are ours, sized for a short reply plus the options.
WORD_LIMITS: Mapping[str, int] = {
    "initial": 150,
    "follow_up": 75,
    "confirmation": 50,
    "reminder": 40,
    "no_show": 60,
    "counter_proposal": 90,
    "clarification": 75,
    "answer": 150,
    "delegate": 120,
}

# How many options each kind lists at most: more would break the word limit, and a nudge with
# five choices reads like a form letter. Later slots are dropped (fewer still when a long
# signature needs the room) and the draft's ``slots`` says which were offered.
MAX_SLOTS: Mapping[str, int] = {
    "initial": 5,
    "follow_up": 3,
    "no_show": 2,
    "counter_proposal": 3,
    "clarification": 4,
    "delegate": 4,
}

ANSWER_PLACEHOLDER = "[[ANSWER]]"

# A counter-proposal's wording by what they had asked for (``CounterProposalInput.asked``).
COUNTER_TEMPLATES: Mapping[str, str] = {
    "time": "counter_proposal",
    "window": "counter_proposal_window",
    "nothing": "counter_proposal_fresh",
}


class TemplateError(ValueError):
    """A template names a placeholder its kind doesn't provide, or is malformed."""


@dataclass(frozen=True)
class Draft:
    """A subject and body ready for the rep's approval.

    ``slots`` are the times this draft offers or confirms (what :func:`validate_draft` allows);
    ``names`` are the verbatim strings code inserted (people, the meeting label, the signature)
    so that a prospect called "Sunday" isn't mistaken for a date. A draft never carries
    recipients: who receives it is decided by the orchestrator from the request, not here.
    """

    subject: str
    body: str
    kind: str = "initial"
    slots: tuple[datetime, ...] = ()
    names: tuple[str, ...] = ()
    source: Literal["template", "llm"] = "template"


# --- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitialEmailInput:
    """The first scheduling email (kept positional-compatible for the orchestrator)."""

    prospect_first_name: str
    rep_name: str
    meeting_label: str  # "demo", "discovery call"
    duration_minutes: int
    slots: Sequence[datetime]
    prospect_tz: str
    rep_tz: str
    context: str = ""
    signature: str = ""


@dataclass(frozen=True, kw_only=True)
class _Common:
    """Fields every later email shares. ``first_name`` is the recipient's; ``recipient_tz`` is the
    zone times are shown in and ``our_tz`` the rep's, shown alongside when it differs."""

    first_name: str
    rep_name: str
    meeting_label: str
    duration_minutes: int
    recipient_tz: str
    our_tz: str
    signature: str = ""
    context: str = ""
    original_subject: str = ""


@dataclass(frozen=True, kw_only=True)
class FollowUpInput(_Common):
    """No reply yet. ``attempt`` 1–2 is a friendly nudge, 3 lighter-touch, 4+ closes the loop."""

    slots: Sequence[datetime]
    attempt: int = 1

    def __post_init__(self) -> None:
        if self.attempt < 1:
            raise ValueError("attempt counts from 1")


@dataclass(frozen=True, kw_only=True)
class ConfirmationInput(_Common):
    """They accepted ``start``; the invite is on its way."""

    start: datetime
    meeting_link: str = ""
    meeting_place: str = ""  # a phone number or an address, when there is no link


@dataclass(frozen=True, kw_only=True)
class ReminderInput(_Common):
    """Meeting-day reminder for ``start``."""

    start: datetime
    meeting_link: str = ""
    meeting_place: str = ""


@dataclass(frozen=True, kw_only=True)
class NoShowInput(_Common):
    """They missed the meeting; offer fresh ``slots``. Tone softens with ``no_show_count``."""

    slots: Sequence[datetime]
    no_show_count: int = 1

    def __post_init__(self) -> None:
        if self.no_show_count < 1:
            raise ValueError("no_show_count counts from 1")


@dataclass(frozen=True, kw_only=True)
class CounterProposalInput(_Common):
    """Fresh times, ``slots``, in their thread. ``asked`` says what they had asked for: a
    ``time`` that doesn't work for us (the draft says sorry for it), a ``window`` ("Tuesday
    afternoon", "after the 15th") the slots keep to, or ``nothing`` (no time to be sorry
    about). Their time is deliberately not repeated, so the draft can't restate it wrongly."""

    slots: Sequence[datetime]
    asked: Literal["time", "window", "nothing"] = "time"


@dataclass(frozen=True, kw_only=True)
class ClarificationInput(_Common):
    """We couldn't tell what they meant. ``which_option``: their reply fits several of ``slots``;
    ``unclear``: we couldn't read a choice at all."""

    slots: Sequence[datetime]
    reason: Literal["which_option", "unclear"] = "unclear"


@dataclass(frozen=True, kw_only=True)
class AnswerInput(_Common):
    """They asked something. ``question`` is their text (given to a model as data, never echoed
    by the template); ``answer`` is the rep's, or empty for a ``[[ANSWER]]`` the rep must fill."""

    question: str
    answer: str = ""


@dataclass(frozen=True, kw_only=True)
class DelegateInput(_Common):
    """A note to the person the prospect handed off to. ``first_name`` is the delegate's;
    ``referrer_name`` is who pointed us to them."""

    slots: Sequence[datetime]
    referrer_name: str = ""


DraftInput = (
    InitialEmailInput
    | FollowUpInput
    | ConfirmationInput
    | ReminderInput
    | NoShowInput
    | CounterProposalInput
    | ClarificationInput
    | AnswerInput
    | DelegateInput
)


# --- tone ---------------------------------------------------------------------------------------


def follow_up_tone(attempt: int) -> Literal["friendly", "lighter", "final"]:
    """Seed 000: attempts 1–2 casual, 3 lighter-touch (is the timing bad?), 4+ close the loop."""
    if attempt <= 2:
        return "friendly"
    return "lighter" if attempt == 3 else "final"


def no_show_tone(count: int) -> Literal["first", "second", "last"]:
    """Seed 000: "things come up", then "schedules are crazy", then "whenever you're ready"."""
    if count <= 1:
        return "first"
    return "second" if count == 2 else "last"


# --- facts: every input normalised to one shape -------------------------------------------------


@dataclass(frozen=True)
class Facts:
    kind: str
    template_id: str
    first_name: str
    rep_name: str
    signature: str
    meeting: str
    minutes: int
    recipient_tz: str
    our_tz: str
    context: str = ""
    original_subject: str = ""
    slots: tuple[datetime, ...] = ()
    time: datetime | None = None
    link: str = ""
    place: str = ""  # where a meeting without a link happens
    answer: str = ""
    question: str = ""
    referrer: str = ""

    @property
    def offered(self) -> tuple[datetime, ...]:
        """The times the draft may mention."""
        return (self.time,) if self.time is not None else self.slots

    @property
    def names(self) -> tuple[str, ...]:
        found = (self.first_name, self.rep_name, self.signature, self.meeting, self.referrer)
        return tuple(n.strip() for n in found if n.strip())


def facts_of(data: DraftInput) -> Facts:
    if isinstance(data, InitialEmailInput):
        return Facts(
            kind="initial",
            template_id="initial",
            first_name=data.prospect_first_name,
            rep_name=data.rep_name,
            signature=data.signature,
            meeting=data.meeting_label,
            minutes=data.duration_minutes,
            recipient_tz=data.prospect_tz,
            our_tz=data.rep_tz,
            context=data.context,
            slots=_checked_slots("initial", data.slots),
        )
    base = Facts(
        kind="",
        template_id="",
        first_name=data.first_name,
        rep_name=data.rep_name,
        signature=data.signature,
        meeting=data.meeting_label,
        minutes=data.duration_minutes,
        recipient_tz=data.recipient_tz,
        our_tz=data.our_tz,
        context=data.context,
        original_subject=data.original_subject,
    )
    return _specifics(data, base)


def _specifics(data: _Common, base: Facts) -> Facts:
    """``base`` completed with the kind, its template id and the kind's own facts."""
    if isinstance(data, FollowUpInput):
        tone = follow_up_tone(data.attempt)
        slots = _checked_slots("follow_up", data.slots)
        return replace(base, kind="follow_up", template_id=f"follow_up_{tone}", slots=slots)
    if isinstance(data, ConfirmationInput | ReminderInput):
        kind = "confirmation" if isinstance(data, ConfirmationInput) else "reminder"
        _require_aware(data.start)
        link, place = data.meeting_link.strip(), data.meeting_place.strip()
        return replace(base, kind=kind, template_id=kind, time=data.start, link=link, place=place)
    if isinstance(data, NoShowInput):
        template_id = f"no_show_{no_show_tone(data.no_show_count)}"
        slots = _checked_slots("no_show", data.slots)
        return replace(base, kind="no_show", template_id=template_id, slots=slots)
    if isinstance(data, CounterProposalInput):
        slots = _checked_slots("counter_proposal", data.slots)
        template_id = COUNTER_TEMPLATES[data.asked]
        return replace(base, kind="counter_proposal", template_id=template_id, slots=slots)
    if isinstance(data, ClarificationInput):
        slots = _checked_slots("clarification", data.slots)
        template_id = f"clarification_{data.reason}"
        return replace(base, kind="clarification", template_id=template_id, slots=slots)
    if isinstance(data, AnswerInput):
        answer = data.answer.strip()
        return replace(
            base, kind="answer", template_id="answer", answer=answer, question=data.question
        )
    if isinstance(data, DelegateInput):
        slots = _checked_slots("delegate", data.slots)
        referrer = data.referrer_name.strip()
        return replace(
            base, kind="delegate", template_id="delegate", slots=slots, referrer=referrer
        )
    raise TypeError(f"no email template for {type(data).__name__}")


def _checked_slots(kind: str, slots: Sequence[datetime]) -> tuple[datetime, ...]:
    if not slots:
        raise ValueError("this email needs at least one proposed time")
    for slot in slots:
        _require_aware(slot)
    return tuple(slots)[: MAX_SLOTS.get(kind, 3)]


def _require_aware(moment: datetime) -> None:
    # A naive time would be shown in whatever zone the server runs in: refuse it outright.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
