"""What reading a reply's intent returns, and the rules every reader of it applies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

from skills.out_of_office import return_day

Intent = Literal[
    "accept",
    "counter_propose",
    "decline",
    "question",
    "delegate",
    "reschedule",
    "out_of_office",
    "confused",
    "unclear",
]

Confidence = Literal["high", "medium", "low"]

Sentiment = Literal["positive", "neutral", "negative"]


INTENTS: tuple[str, ...] = get_args(Intent)

# Intents that always go to the rep, whoever decided them.
ESCALATING_INTENTS = frozenset({"confused", "unclear"})


@dataclass(frozen=True)
class LLMUsage:
    """What one model call cost, for the caller to record in ``llm_usage``."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class IntentAnalysis:
    """The intent of one reply, how sure we are, and whether the rep must look at it.

    ``source`` is ``"rules"`` or ``"llm"`` (who decided ``intent``). The extras are filled from
    the reply text by the rules only — never from model output — so a model can neither invent
    a recipient nor smuggle text into them: ``delegate_name``/``delegate_email`` (who to
    involve), ``question`` (the question asked, also alongside an acceptance),
    ``ooo_return`` (the date an auto-reply says the person is back), ``reschedule_later`` (the
    horizon of "not now, try next quarter"). ``extras`` are the other things the same reply
    does besides ``intent`` ("yes, and who else is coming?" is an acceptance with a question;
    a vacation note with an answer is that answer with ``out_of_office``), in no order.
    """

    intent: Intent
    confidence: Confidence
    sentiment: Sentiment
    reasoning: str
    escalate: bool
    source: Literal["rules", "llm"]
    delegate_name: str | None = None
    delegate_email: str | None = None
    question: str | None = None
    ooo_return: date | None = None
    reschedule_later: str | None = None
    extras: tuple[Intent, ...] = ()
    llm_calls: int = 0
    llm_usage: LLMUsage | None = None


@dataclass(frozen=True)
class Verdict:
    intent: Intent
    confidence: Confidence
    reason: str


def must_escalate(intent: str, confidence: str) -> bool:
    return intent in ESCALATING_INTENTS or confidence == "low"


def ooo_return_day(text: str, now: datetime) -> date | None:
    """The day an away writer is back; ``now`` is in the zone the reply is read in."""
    assert now.tzinfo is not None
    key = getattr(now.tzinfo, "key", None)
    offset = now.strftime("%z")
    tz = key if isinstance(key, str) else f"UTC{offset[:3]}:{offset[3:]}"
    return return_day(text, now=now, tz=tz)
