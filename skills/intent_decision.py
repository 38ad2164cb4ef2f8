"""The offline rules' verdict on a reply's signals, in priority order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, tzinfo

from skills import intent_rules as rules
from skills import intent_rules_situations as situations
from skills.intent_result import Confidence, Verdict
from skills.intent_signals import Signals, TimeMention
from skills.out_of_office import mentions_return


def decide(signals: Signals, *, proposed: Sequence[datetime], zone: tzinfo) -> Verdict:
    """The rules, in priority order. Each step returns a verdict or passes to the next."""
    local_slots = [slot.astimezone(zone) for slot in proposed]
    for step in (
        _auto_reply,
        _away,
        _confusion,
        _delegation,
        _rescheduling,
    ):
        verdict = step(signals)
        if verdict is not None:
            return verdict
    return _answer_to_proposal(signals, local_slots)


def _auto_reply(s: Signals) -> Verdict | None:
    # "I'm out of the office that day" answers our question; an auto-reply knows no "that day".
    answering = bool(s.away) and bool(situations.THAT_TIME.search(s.lowered))
    if s.score("ooo") >= rules.DECISIVE and not s.has("decline", "they cannot") and not answering:
        return Verdict("out_of_office", "high", "auto-reply: " + _joined(s, "ooo"))
    return None


def _away(s: Signals) -> Verdict | None:
    """A person saying they are away until a date ("on leave until Dec 14"), or away at a time
    ("I'm in London next week"): not a counter-proposal, though the date looks like one;
    follow-ups should wait for their return. Away on the very day we asked about ("I'm out of
    town that day") refuses it."""
    returning = mentions_return(s.text)
    busy_answering = s.questions or s.score("accept") or s.score("counter")
    named = [t for t in s.times if not t.away and not t.in_question]
    # "Won't be back until May; please go ahead without me": the absence is the answer.
    only_absent = s.away and not named and not s.questions and s.score("counter") < rules.CLEAR
    if s.score("ooo") >= rules.CLEAR and returning and (only_absent or not busy_answering):
        return Verdict("out_of_office", "medium", "away: " + _joined(s, "ooo"))
    if not s.away or busy_answering or s.score("delegate") or s.score("reschedule"):
        return None
    if situations.THAT_TIME.search(s.lowered) or _declines(s):
        return Verdict("decline", "medium", "away at the time asked about: " + s.away[0][:80])
    return Verdict("out_of_office", "medium", "away: " + s.away[0][:80])


def _confusion(s: Signals) -> Verdict | None:
    if s.score("confused") >= rules.CLEAR:
        return Verdict("confused", "high", "confused or correcting us: " + _joined(s, "confused"))
    return None


def named_delegate(s: Signals) -> bool:
    """A hand-over phrase plus a name next to it, or a clear phrase plus an address."""
    if s.delegate_name:
        return s.score("delegate") > 0
    return bool(s.delegate_email) and s.score("delegate") >= rules.CLEAR


def _delegation(s: Signals) -> Verdict | None:
    if not named_delegate(s):
        if s.score("delegate") >= rules.DECISIVE:
            return Verdict("delegate", "medium", "hands over: " + _joined(s, "delegate"))
        return None
    confidence: Confidence = "medium" if s.score("accept") >= rules.CLEAR else "high"
    who = s.delegate_name or s.delegate_email
    return Verdict("delegate", confidence, f"hands over to {who}: " + _joined(s, "delegate"))


def _rescheduling(s: Signals) -> Verdict | None:
    if s.score("reschedule") >= rules.CLEAR and not _hostile(s):
        return Verdict("reschedule", "high", "moves the meeting: " + _joined(s, "reschedule"))
    if s.horizon and s.score("defer") >= rules.CLEAR and not _hostile(s):
        # "Not yet" near a month is weak: the month may be the past event being discussed.
        sure: Confidence = "high" if s.has("defer", "circle back") else "low"
        return Verdict("reschedule", sure, f"wants to meet later ({s.horizon})")
    return None


def _answer_to_proposal(s: Signals, local_slots: Sequence[datetime]) -> Verdict:
    """Accept, counter, decline or question: the ordinary answers to a proposal."""
    proposals = [t for t in s.times if not t.in_question and not t.away]
    outside = [t for t in proposals if not local_slots or t.names_ours is False]
    inside = [t for t in proposals if local_slots and t.names_ours]
    # "next week", "in March": a time too vague to compare with our slots.
    vague = [t for t in proposals if local_slots and t.names_ours is None]
    named = [t for t in inside if not t.fit.only_part_of_day]
    counter = s.score("counter") >= rules.CLEAR

    # "I can't make dinner, but we could come for drinks": another format is a counter.
    if _declines(s) and s.has("counter", "other format") and not _hard(s):
        return Verdict("counter_propose", "medium", "refuses one format, offers another")
    # A refusal wins, except "No, make it Friday at 9": a new time said as a proposal.
    if _declines(s) and not (outside and (counter or s.leading_no) and not _not_now(s)):
        conflicted = s.score("accept") >= rules.CLEAR and not s.leading_no and not _hard(s)
        return Verdict("decline", "low" if conflicted else "high", _decline_reason(s))
    if outside:
        # "See you on Monday": saying you will be there with a time agrees to meet then.
        attending = s.has("accept", "see you") or s.has("accept", "attend")
        if attending and not counter and not s.leading_no and not s.score("slot_rejected"):
            return Verdict("accept", "medium", "accepts and names " + _texts(outside))
        # A bare date in real mail is as often news ("Greg is at a site visit on the 15th")
        # as an offer: only a proposing phrase makes it a sure counter-proposal.
        confidence: Confidence = "high" if counter or s.leading_no else "medium"
        if not counter and _reports_others(s):
            confidence = "low"  # a schedule reported ("Greg is away on the 15th"), not an offer
        return Verdict("counter_propose", confidence, "names other times: " + _texts(outside))
    if s.score("slot_rejected") and not (inside and (s.score("accept") or s.score("approval"))):
        return Verdict("counter_propose", "medium", "the proposed time does not work")
    if s.has("counter", "alternatives") and not s.score("accept"):
        return Verdict("counter_propose", "medium", "asks for other times")
    if (s.has("counter", "other format") or s.has("counter", "let's meet")) and not (
        s.score("accept") or outside
    ):
        return Verdict("counter_propose", "medium", "offers to meet another way or later")
    if vague and counter and not s.score("accept"):
        return Verdict("counter_propose", "medium", "asks for other times: " + _texts(vague))
    if s.score("accept") or (inside and s.score("approval")) or (named and counter):
        picked = f" ({_texts(inside)})" if inside else ""
        cues = _joined(s, "accept") or _joined(s, "approval")
        return Verdict("accept", _accept_confidence(s, inside), "accepts" + picked + ": " + cues)
    if s.score("approval") and local_slots:
        return Verdict("accept", "medium", "approves the proposal: " + _joined(s, "approval"))
    if s.questions:
        return Verdict("question", "high", "asks: " + s.questions[0][:80])
    if s.score("approval"):
        return Verdict("unclear", "low", "acknowledges, but nothing was proposed to accept")
    return _fallback(s)


def _fallback(s: Signals) -> Verdict:
    if s.score("ooo"):
        return Verdict("out_of_office", "medium", "away: " + _joined(s, "ooo"))
    if s.score("delegate") >= rules.CLEAR:
        return Verdict("delegate", "low", "points to someone else but names nobody")
    if s.score("reschedule"):
        return Verdict("reschedule", "medium", "something came up")
    if s.score("confused"):
        return Verdict("confused", "medium", "may be confused: " + _joined(s, "confused"))
    if not s.lowered.strip():
        return Verdict("unclear", "low", "no new text in the reply")
    return Verdict("unclear", "low", "no cue matched")


# A reply that speaks of the writer or the reader, as offers do ("I", "we", "you", "let's").
_PERSONAL = re.compile(r"\b(?:i|i'm|i'll|i'd|we|we're|we'll|me|us|my|our|you|your|let's)\b")

# Someone else as the subject: "he is", "Greg is scheduled", "they will".
_OTHERS_SUBJECT = re.compile(
    r"\b(?:[Hh]e|[Ss]he|[Tt]hey)\b|\b(?!(?:The|It|This|That|There|What|Which)\b)[A-Z][a-z]+ "
    r"(?:is|are|was|were|will|has|had)\b"
)


def _reports_others(s: Signals) -> bool:
    """The reply tells of other people's plans and says nothing of the writer or reader."""
    return not _PERSONAL.search(s.lowered) and bool(_OTHERS_SUBJECT.search(s.text))


def _accept_confidence(s: Signals, inside: Sequence[TimeMention]) -> Confidence:
    """A yes said next to bad news, or next to a new proposal and questions, is not sure."""
    if s.has("negative", "regret") and not inside:
        return "low"
    if s.questions and s.score("counter") >= rules.CLEAR:
        return "low"
    return "high"


def _declines(s: Signals) -> bool:
    return s.score("decline") >= rules.CLEAR or s.leading_no


def _hard(s: Signals) -> bool:
    return s.score("decline") >= rules.DECISIVE


def _not_now(s: Signals) -> bool:
    return s.has("decline", "not now")


def _hostile(s: Signals) -> bool:
    return s.has("decline", "stop contact") or s.has("negative", "hostile")


def _decline_reason(s: Signals) -> str:
    cues = _joined(s, "decline")
    if s.leading_no:
        cues = "no" + (", " + cues if cues else "")
    return "declines: " + cues


def _joined(s: Signals, signal: str) -> str:
    return ", ".join(s.labels.get(signal, []))


def _texts(mentions: Sequence[TimeMention]) -> str:
    return ", ".join(dict.fromkeys(m.text.strip() for m in mentions))
