"""Understand a reply to a scheduling email: step one of two (intent first, times later).

:func:`detect_intent` says *what* the person wants — accept, counter-propose, decline, ask,
delegate, reschedule, an out-of-office auto-reply, confusion — and never which exact time: that
is the TimeParser's job afterwards. A table of weighted English cues (:mod:`skills.intent_rules`),
with the common answers in six other languages (:mod:`skills.intent_rules_languages`), decides
the clear cases offline. Only when those rules are unsure, and a language model is
injected, is the model asked, through :class:`connectors.ports.LLMPort` with a strict schema.
Anything uncertain escalates to the rep rather than guessing.

The function is pure: no I/O, no clock (``now`` is passed in), no SDK imports. The reading
is spread over :mod:`skills.intent_signals` (what the reply says, with the times it names read
by :func:`skills.parse_times.compare_to_proposed`), :mod:`skills.intent_decision` (the rules'
verdict) and :mod:`skills.intent_llm` (the model, when the rules are unsure); the result
types live in :mod:`skills.intent_result` and are re-exported here, the entry point.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.ports import LLMPort
from skills import intent_rules as rules
from skills.email_text import clean_body as clean_reply  # the one quote/signature stripper
from skills.intent_decision import decide
from skills.intent_llm import SYSTEM_PROMPT, IntentLLMAnswer, ask_llm, build_llm_prompt
from skills.intent_result import (
    ESCALATING_INTENTS,
    INTENTS,
    Confidence,
    Intent,
    IntentAnalysis,
    LLMUsage,
    Sentiment,
    Verdict,
    must_escalate,
    ooo_return_day,
)
from skills.intent_signals import Signals, read_signals

# What callers import from here, whichever module holds it.
__all__ = [
    "ESCALATING_INTENTS",
    "INTENTS",
    "SYSTEM_PROMPT",
    "Confidence",
    "Intent",
    "IntentAnalysis",
    "IntentLLMAnswer",
    "LLMUsage",
    "Sentiment",
    "build_llm_prompt",
    "clean_reply",
    "detect_intent",
]


# --- public API --------------------------------------------------------------------------------


def detect_intent(
    body: str,
    *,
    proposed: Sequence[datetime] = (),
    now: datetime,
    tz: str,
    llm: LLMPort | None = None,
) -> IntentAnalysis:
    """Classify a reply to a scheduling email.

    ``body`` is the plain-text email (quoted history and signatures are stripped here),
    ``proposed`` the slots we offered (aware datetimes; they let "Tuesday works" count as an
    acceptance rather than a new proposal), ``now`` an aware datetime and ``tz`` the IANA zone
    the reply's words are read in. The rules decide first; when they are unsure (low
    confidence) and ``llm`` is given, the model is asked once. Confused, unclear or
    low-confidence outcomes, and any model failure, set ``escalate``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = _zone(tz, now)
    local_now = now.astimezone(zone)
    signals = read_signals(clean_reply(body), proposed=proposed, now=local_now)
    verdict = decide(signals, proposed=proposed, zone=zone)
    ruled = _analysis(verdict, signals, now=local_now, source="rules")
    if ruled.confidence != "low" or llm is None:
        return ruled
    return ask_llm(llm, ruled, signals, proposed=proposed, zone=zone, now=local_now)


def _zone(tz: str, now: datetime) -> tzinfo:
    """The named zone, or ``now``'s own zone when the name is unknown."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        assert now.tzinfo is not None
        return now.tzinfo


# --- building the result -----------------------------------------------------------------------


def _analysis(
    verdict: Verdict, s: Signals, *, now: datetime, source: Literal["rules", "llm"]
) -> IntentAnalysis:
    delegating = verdict.intent == "delegate"
    return IntentAnalysis(
        intent=verdict.intent,
        confidence=verdict.confidence,
        sentiment=_sentiment(verdict.intent, s),
        reasoning=verdict.reason,
        escalate=must_escalate(verdict.intent, verdict.confidence),
        source=source,
        delegate_name=s.delegate_name if delegating else None,
        delegate_email=s.delegate_email if delegating else None,
        question=" ".join(s.questions)[:500] or None,
        ooo_return=ooo_return_day(s.text, now) if verdict.intent == "out_of_office" else None,
        reschedule_later=s.horizon if verdict.intent == "reschedule" else None,
        extras=_extras(verdict.intent, s),
    )


def _extras(intent: str, s: Signals) -> tuple[Intent, ...]:
    """What else the reply does besides its primary intent, from the same signals."""
    found: list[Intent] = []
    if s.questions and intent != "question":
        found.append("question")
    if (s.delegate_name or s.score("delegate") >= rules.CLEAR) and intent != "delegate":
        found.append("delegate")
    if (s.away or s.score("ooo") >= rules.CLEAR) and intent != "out_of_office":
        found.append("out_of_office")
    if s.score("accept") and intent in ("question", "delegate", "out_of_office"):
        found.append("accept")
    return tuple(found)


def _sentiment(intent: str, s: Signals) -> Sentiment:
    if s.score("negative") >= rules.CLEAR:
        return "negative"
    if intent == "accept" or (s.score("positive") and intent not in ("decline", "confused")):
        return "positive"
    return "neutral"
