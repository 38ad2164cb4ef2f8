"""What each side agreed to do in a meeting, read from its transcript.

Pure and offline: turns (or raw transcript text) in, :class:`Commitment` list out; no clock (the
meeting's start is passed as ``now``), no model. Rules only, and unsure rather than wrong:

- a **deliverable** is a first-person promise with a doing verb ("I'll send you the proposal by
  Friday", "we're going to get you the pricing"); its owner is the speaker's side;
- a **meeting** is a plan to meet again ("let's find time with your CTO next week", "I'll set up
  a call"); its owner is the side that proposed it, or the side asked to arrange it;
- a **request** asks the other side for something ("can you send the security
  questionnaire?"); its owner is the side asked, the other side from the speaker.

A speaker is ours or theirs when their label matches a name or address on that side; an
unlabelled or unknown speaker makes the owner ``unknown`` and the item low confidence. Hedged
promises ("I'll try to", "maybe we could") are low confidence too. Low-confidence items are for
showing, marked as such: nothing downstream acts on them (:attr:`Commitment.actionable`).
The due date is whatever :func:`skills.parse_times.extract_times` reads in the sentence, with
the meeting's start as ``now`` and the rep's zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from skills.parse_times import ParsedTime, extract_times
from skills.transcript_text import Turn, read_transcript

Owner = Literal["us", "them", "unknown"]
Kind = Literal["deliverable", "meeting", "request"]
Confidence = Literal["high", "medium", "low"]

# A sentence longer than this is a run-on from a recorder with no punctuation; only its start
# is read, which also bounds regex time on hostile input.
MAX_SENTENCE_CHARS = 400
# The most items one transcript yields: a recap lists a handful, a flood is noise or an attack.
MAX_COMMITMENTS = 50

_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")

_DOING = (
    r"(?:send|sending|share|sharing|email|e-mail|forward|get|getting|put together|draft|write up|"
    r"circle back|follow up|loop (?:\w+ ){0,2}in|introduce|connect you|check|confirm|look into|"
    r"prepare|pull together|set up|setup|set (?:that|it|this|them|something) up|schedule|book|"
    r"arrange|organi[sz]e|review|sign|"
    r"fill out|fill in|complete|run|ask|talk to|reach out|provide|shoot|drop|update|"
    r"find|walk|give|grab|coordinate|invite|ping|bring|dig into|come back|revert|"
    # "I'll have the quote to you tomorrow": "have" only with something handed over.
    r"have(?=[^.?!]{0,40}\b(?:to you|over to|ready|for you|back to you)))"
)
# "I'll", "we will", "I'm going to", "let me", "we can", "I'll make sure to"...
_PROMISE = re.compile(
    r"\b(?:(?P<subj>i|we)\s*(?:'ll|’ll|\s+will|\s+shall|'m going to|’m going to|\s+am going to|"
    r"'re going to|’re going to|\s+are going to|'m gonna|’m gonna|\s+can|\s+could)"
    r"|(?P<letme>let me|let us))\s+(?:(?:also|then|just|definitely|certainly|quickly|"
    r"go ahead and|make sure (?:to|that i|that we|i|we)|be sure to|try to|probably|"
    r"personally|both|all)\s+){0,3}" + r"(?P<verb>" + _DOING + r")\b",
    re.IGNORECASE,
)
_ASK = re.compile(
    r"\b(?:can|could|would|will)\s+(?:you|y'all|your team)\s+(?:(?:please|also|just|guys)\s+)?"
    r"(?:(?:be able to|mind)\s+)?(?P<verb>" + _DOING + r")\b"
    r"|\bplease\s+(?P<verb2>" + _DOING + r")\b"
    r"|\b(?:if you could|it would help if you could|would you mind)\s+(?P<verb3>" + _DOING + r")",
    re.IGNORECASE,
)
_LETS_MEET = re.compile(
    r"\b(?:let'?s|let’s|let us|we should|should we|shall we|can we|could we|why don'?t we|"
    r"why don’t we)\s+"
    r"(?:(?:also|just|try to|go ahead and)\s+)?"
    r"(?:find (?:some )?time|set up|setup|schedule|book|get|grab|put|do|have|plan|"
    r"reconvene|regroup|meet|sync|circle back|pencil)\b",
    re.IGNORECASE,
)
_MEETING_WORDS = re.compile(
    r"\b(?:call|meeting|meet|time with|some time|demo|session|sync|follow-up|followup|"
    r"workshop|walkthrough|walk-through|deep dive|deep-dive|invite|reconvene|regroup|"
    r"on the calendar|in a room|on a call|catch up|catch-up|check-in|touch base|"
    r"time next|time on|kickoff|kick-off)\b",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"\b(?:maybe|perhaps|possibly|might|try to|probably|hopefully|not sure|i think we can|"
    r"at some point|if we can|we'll see|could potentially)\b",
    re.IGNORECASE,
)
_NEGATED = re.compile(
    r"\b(?:won'?t|won’t|can'?t|can’t|cannot|couldn'?t|shouldn'?t|don'?t|never|not going to|"
    r"no need to|unable to|will not)\b",
    re.IGNORECASE,
)
# Said in a promise's shape, not a promise: "I'll get back to that point", "can you check?"
# on the spot, "let me check" (now, in the meeting).
_ON_THE_SPOT = re.compile(
    r"\b(?:let me (?:just )?(?:check|see|find|pull|share my screen|share the screen|share my)|"
    r"share (?:my|the) screen|get (?:started|going|into|to (?:that|it|the))|"
    r"get back to (?:that|this|the) (?:point|question)|"
    r"can you (?:see|hear)|could you (?:see|hear)|can we (?:get started|start|move on|go back)|"
    r"(?:get|have) (?:a|an) (?:question|sense|idea|feel))\b"
    # Done in the meeting itself: "I can walk you through the settings now".
    r"|\b(?:now|right now|first|real quick)\s*[.!?]*$",
    re.IGNORECASE,
)
_PAST_OR_CONDITIONAL = re.compile(
    r"^\s*(?:if|when|once|unless|whenever|as soon as)\b|\b(?:last time|yesterday|already)\b",
    re.IGNORECASE,
)
_DEADLINE = re.compile(r"\s*(?:by|before|until|till|no later than)\b", re.IGNORECASE)
_WITH_WHOM = re.compile(
    r"\bwith\s+((?:your|our|their|the|my)\s+[\w’' -]{2,40}?|[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
    r"(?=\s+(?:next|this|on|by|in|to|and|so|before|after|tomorrow|later)\b|[.,;?!]|$)"
)


@dataclass(frozen=True)
class Sides:
    """Who is who: names and addresses of our side (the rep, colleagues) and the prospect's."""

    ours: tuple[str, ...] = ()
    theirs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Commitment:
    owner: Owner
    kind: Kind
    evidence: str
    speaker: str | None
    due: ParsedTime | None
    confidence: Confidence
    reason: str
    # For a meeting: who the transcript says to meet ("your CTO"), for display only; it never
    # becomes an address.
    with_whom: str | None = None
    # The day it is due in the rep's zone: the day named, even when said as a deadline ("by
    # Friday" reads as now until Friday); a week or a month falls due on its first day.
    due_on: date | None = None

    @property
    def actionable(self) -> bool:
        """Whether Convene may draft or offer anything from it (always behind an Approve)."""
        return self.confidence != "low" and self.owner != "unknown"

    @property
    def due_text(self) -> str | None:
        return self.due.text if self.due is not None else None


def extract_commitments(
    transcript: str | Sequence[Turn],
    *,
    sides: Sides,
    now: datetime,
    tz: str,
    fmt: str | None = None,
) -> list[Commitment]:
    """Every commitment in ``transcript``, in order; never raises on malformed text."""
    turns = read_transcript(transcript, fmt) if isinstance(transcript, str) else transcript
    found: list[Commitment] = []
    for turn in turns:
        side = side_of(turn.speaker, sides)
        for sentence in _sentences(turn.text):
            item = _read_sentence(sentence, turn.speaker, side, now=now, tz=tz)
            if item is not None:
                found.append(item)
                if len(found) >= MAX_COMMITMENTS:
                    return found
    return found


def side_of(speaker: str | None, sides: Sides) -> Owner:
    """``us`` or ``them`` when the speaker's label matches exactly one side, else ``unknown``."""
    if not speaker:
        return "unknown"
    ours = _matches(speaker, sides.ours)
    theirs = _matches(speaker, sides.theirs)
    if ours and not theirs:
        return "us"
    if theirs and not ours:
        return "them"
    return "unknown"


def _matches(speaker: str, people: Iterable[str]) -> bool:
    label = _name_words(speaker)
    if not label:
        return False
    for person in people:
        words = _name_words(person)
        if not words:
            continue
        if label == words or (len(label) == 1 and label[0] == words[0]):
            return True  # the full name, or a first name alone ("Rita:")
        if "@" in speaker and speaker.strip().lower() == person.strip().lower():
            return True
    return False


def _name_words(text: str) -> tuple[str, ...]:
    text = re.sub(r"\([^()]*\)", " ", text.strip().lower())
    if "@" in text:  # an address: its local part's words ("rita.moreno@acme.com")
        text = text.split("@", 1)[0].replace(".", " ").replace("_", " ")
    return tuple(w for w in re.findall(r"[^\W\d_]+", text) if w not in ("dr", "mr", "ms", "mrs"))


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _read_sentence(
    sentence: str, speaker: str | None, side: Owner, *, now: datetime, tz: str
) -> Commitment | None:
    text = sentence[:MAX_SENTENCE_CHARS]
    if _ON_THE_SPOT.search(text) and not _MEETING_WORDS.search(text):
        return None
    if _PAST_OR_CONDITIONAL.search(text):
        return None
    other: Owner = {"us": "them", "them": "us"}.get(side, "unknown")  # type: ignore[assignment]
    kind: Kind
    promise = _PROMISE.search(text)
    ask = _ASK.search(text)
    lets = _LETS_MEET.search(text)
    if lets and _MEETING_WORDS.search(text):
        kind, owner, match, reason = "meeting", side, lets, "a plan to meet again"
    elif ask and (promise is None or ask.start() < promise.start()):
        kind = "meeting" if _arranges_meeting(text) else "request"
        owner, match, reason = other, ask, "asks the other side"
    elif promise:
        kind = "meeting" if _arranges_meeting(text) else "deliverable"
        owner, match, reason = side, promise, "a first-person promise"
    else:
        return None
    near = text[max(0, match.start() - 12) : match.end()]
    if _NEGATED.search(near) and not re.search(r"\bwhy don'?t\b|why don’t", near, re.I):
        return None
    confidence: Confidence = "high"
    if side == "unknown":
        confidence, reason = "low", f"{reason}; the speaker is on neither side"
    elif _HEDGE.search(text):
        confidence, reason = "low", f"{reason}; hedged"
    elif re.search(r"\b(?:can|could)\b", match.group(0), re.IGNORECASE) and match is promise:
        confidence, reason = "medium", f"{reason}; an offer"
    due = _due(text, now=now, tz=tz)
    whom = _WITH_WHOM.search(text) if kind == "meeting" else None
    return Commitment(
        owner=owner,
        kind=kind,
        evidence=sentence.strip(),
        speaker=speaker,
        due=due,
        confidence=confidence,
        reason=reason,
        with_whom=whom.group(1).strip() if whom else None,
        due_on=_due_day(due, now),
    )


def _arranges_meeting(text: str) -> bool:
    return bool(
        re.search(
            r"\b(?:set up|setup|schedule|book|arrange|organi[sz]e|find|send|coordinate|invite|"
            r"get)\b[^.?!]{0,40}\b(?:call|meeting|time|demo|session|invite|sync|workshop|"
            r"walkthrough|deep dive|follow-up)\b",
            text,
            re.IGNORECASE,
        )
    )


def _due(text: str, *, now: datetime, tz: str) -> ParsedTime | None:
    try:
        times = extract_times(text, now=now, tz=tz, ignore_quoted=False)
    except Exception:  # noqa: BLE001 - a date the parser chokes on is no due date, not a crash
        return None
    for parsed in times:
        if parsed.start >= now.replace(hour=0, minute=0, second=0, microsecond=0):
            return parsed
    return None


def _due_day(due: ParsedTime | None, now: datetime) -> date | None:
    if due is None:
        return None
    if due.end is not None and due.start <= now and _DEADLINE.match(due.text):
        return due.end.date()  # "by Friday" reads as now until Friday: the day it names
    return due.start.date()
