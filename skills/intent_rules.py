"""Cue tables for the offline intent rules (used by :mod:`skills.intent_signals`).

Every cue is general English that people use when answering a meeting request; none is copied
from an evaluation corpus. A cue has a weight: 1 is a hint, 2 a clear signal, 3 decisive on its
own. Patterns run against a lower-cased copy of the reply whose apostrophes are normalised to
``'``; the few that need capital letters (names) live in :mod:`skills.intent_signals`.
This module holds the cue machinery, the shared patterns and the answers to a proposal
(accept, decline, counter); the other situations (hand-over, away, confusion, rescheduling,
tone) are in :mod:`skills.intent_rules_situations`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WEAK = 1.0
CLEAR = 2.0
DECISIVE = 3.0


@dataclass(frozen=True)
class Cue:
    """One phrase pattern that points at a signal.

    ``negatable`` cues are ignored when a negator ("not", "n't", "never", ...) sits just before
    them in the same clause, so "doesn't work for me" never counts as "works for me".
    """

    label: str
    pattern: re.Pattern[str]
    weight: float
    negatable: bool = False


def cue(label: str, regex: str, weight: float, *, negatable: bool = False) -> Cue:
    """Build a cue; patterns are case-insensitive because the text is lower-cased anyway."""
    return Cue(label, re.compile(regex, re.IGNORECASE), weight, negatable)


# --- day and month names (never a person's name; months bound the horizon) ---------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = (
    r"(?:"
    + "|".join(m for m in MONTHS if m != "may")
    + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b\.?"
)

# How far out someone wants to be contacted again ("reach out next quarter").
HORIZON = re.compile(
    r"\b(?:"
    r"(?:next|this coming|the following)\s+(?:quarter|month|year|fiscal year|semester|season|week)"
    r"|(?:in|after)\s+(?:a|one|two|three|four|six|a few|a couple(?: of)?|several|\d+)\s+"
    r"(?:weeks?|months?|quarters?)"
    r"|(?:early|mid|late|end of)[- ](?:next\s+)?(?:month|quarter|year|q[1-4]|" + _MONTH + r")"
    r"|(?:in|after|until|till|around)\s+(?:q[1-4]|" + _MONTH + r")"
    r"|q[1-4](?:\s+20\d\d)?"
    r"|(?:after|past)\s+the\s+(?:holidays|new year|summer|quarter|launch|conference|busy season"
    r"|end of the (?:month|quarter|year))"
    r"|(?:in|by)\s+the\s+(?:new year|spring|summer|fall|autumn|winter)"
    r"|later\s+(?:this|in the)\s+(?:year|quarter|month)"
    r"|(?:in\s+)?the\s+new\s+year"
    r")",
    re.IGNORECASE,
)

EMAIL_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

# Words that end a clause: negation before them does not reach what follows.
CLAUSE_BREAK = re.compile(r"[,.;:!?()\n]|\b(?:but|and|although|though|however|so)\b")
NEGATORS = re.compile(
    r"\b(?:not|no|none|neither|never|cannot|can't|won't|don't|doesn't|didn't|isn't|aren't|wasn't|"
    r"wouldn't|shouldn't|couldn't|unable|hardly)\b|n't\b",
    re.IGNORECASE,
)
CLAUSE_NEGATORS = re.compile(r"\b(?:none|neither) of\b", re.IGNORECASE)


# --- cue tables --------------------------------------------------------------------------------

ACCEPT: tuple[Cue, ...] = (
    cue(
        "yes",
        r"\b(?:yes|yeah|yep|yup|yea|ya|(?<!i'm )(?<!i am )(?<!make )(?<!be )sure|absolutely"
        r"|definitely|certainly|of course|affirmative)\b|\b(?:sounds|it'?s) (?:like )?a plan\b"
        r"|\b(?:it'?s a )?deal\b"
        r"|\b(?:i'?m|we'?re) in(?=\s*(?:[.!,;]|$|for\b))|\bcount (?:me|us) in\b"
        r"|\b\w+day it is\b|\b(?:that|it)'?s a go\b",
        CLEAR,
        negatable=True,  # "not sure", "not definitely" are doubts, not a yes
    ),
    cue(
        "works",
        r"\b(?:works|would work|will work|should work|can work|work(?:s)? (?:for|with) "
        r"(?:me|us))\b",
        CLEAR,
        negatable=True,
    ),
    cue(
        "correct",
        r"\b(?:correct|accurate)\b|\b(?:that'?s|that is|it'?s|it is|sounds|looks|yes|"
        r"yeah|yep|yup|all) right\b|\byou got it\b|\bgot it right\b",
        CLEAR,
        negatable=True,
    ),
    cue(
        "fine",
        r"\b(?:fine|ok|okay|good|alright|all right) (?:by|with|for) (?:me|us)\b"
        r"|\b(?:is|be|that'?s|that is|it'?s|it is|looks|sounds) (?:fine|ok|okay|alright)\b",
        CLEAR,
        negatable=True,
    ),
    cue(
        "suits",
        r"\bsuits? (?:me|us)\b|\b(?:that|this|it) suits\b|\bconvenient\b",
        CLEAR,
        negatable=True,
    ),
    cue(
        "proceed",
        r"\bgo ahead\b|\bproceed\b|\bbook (?:it|that|me in)\b|\block (?:it|that) in\b"
        r"|\blet'?s do (?:it|that|this)\b|\blet'?s go with\b|\bcount (?:me|us) in\b|\bi'?ll take\b"
        r"|\bplease (?:do|book|schedule|add|confirm)\b|\bsend (?:me |us |over )?(?:the|an|a) "
        r"(?:invite|invitation|calendar)",
        CLEAR,
        negatable=True,
    ),
    cue(
        "confirmed",
        r"\b(?:confirmed|i confirm|we confirm|can confirm|happy to confirm|accept"
        r"(?:ed)?)\b",
        CLEAR,
        negatable=True,
    ),
    cue(
        "see you",
        r"\bsee (?:you|u|ya|everyone|you all|you guys)(?: all| guys)? (?:then|there|on|at|next|in"
        r"|tomorrow|today|tonight|this|" + "|".join(WEEKDAYS) + r")\b"
        r"|\b(?:i|we)'?(?:ll| will| shall) be there\b"
        r"|\blook(?:ing)? forward (?:to|tot?he?) (?:it|the|our|meeting|seeing|speaking|talking"
        r"|chatting|connecting|catching up)",
        CLEAR,
    ),
    # Saying you will be at the meeting accepts it: "I plan to attend", "count me in".
    cue(
        "attend",
        r"\b(?:i|we)(?:'ll| will| shall| would| can| plan to| intend to| expect to| am going to"
        r"|'m going to| hope to| do plan to)? (?:attend|be attending|come along|be joining)\b"
        r"|\b(?:plan|planning|intend|intending|expect|expecting) to (?:attend|come|be there|join)\b"
        r"|\b(?:i'?m|we'?re|i am|we are) in for\b|\b(?:we'?re|we are|i'?m|i am) on for\b"
        r"|\b(?:i'?ll|i will|we'?ll|we will|i can|we can|happy to) do it\b",
        CLEAR,
        negatable=True,
    ),
    cue(
        "can make it",
        r"\b(?:i|we) can (?:make|do) (?:it|that|this|then)\b|\b(?:i|we)'?(?:m|re| am"
        r"| are) (?:available|free) (?:then|at that time|for (?:it|that))\b|\b(?:happy|glad|keen"
        r"|delighted) to (?:meet|join|chat|talk|connect|speak|hop on|do|come|go|attend)\b",
        CLEAR,
        negatable=True,
    ),
    cue(
        "what i want",
        r"\b(?:exactly|just) what (?:i|we) (?:want|need|wanted|needed)\b"
        r"|\bthat(?:'ll| will) do\b|\bthat'?s it\b",
        CLEAR,
    ),
)

# Approval words that accept only when something was proposed ("Great." after a statement is
# an acknowledgement, not an acceptance).
APPROVAL: tuple[Cue, ...] = (
    cue(
        "approval",
        r"\b(?:perfect|great|excellent|wonderful|awesome|fantastic|brilliant|lovely|"
        r"nice|good|cool|super|ideal)\b",
        WEAK,
        negatable=True,
    ),
    cue("ok", r"\b(?:ok|okay|alright|all right|fine|no problem|no worries|not a problem)\b", WEAK),
)

DECLINE: tuple[Cue, ...] = (
    cue(
        "not interested",
        r"\b(?:not|no longer|isn'?t|aren'?t) (?:really |that |very )?"
        r"interest(?:ed|ing)\b",
        DECISIVE,
    ),
    cue(
        "pass",
        r"\b(?:i'?ll|we'?ll|i will|we will|going to|gonna|have to|must|will) pass\b"
        r"|\bpass on (?:this|that|it)\b",
        DECISIVE,
    ),
    cue("no thanks", r"\bno,? thanks?\b|\bno,? thank you\b|\bthanks,? but no\b", DECISIVE),
    cue(
        "stop contact",
        r"\bremove me\b|\bunsubscribe\b|\bstop (?:emailing|contacting|reaching|"
        r"sending|messaging)\b|\b(?:don'?t|do not) (?:contact|email|reach out|message)\b"
        r"|\btake (?:me|us) off\b|\boff (?:your|the) (?:list|mailing list)\b",
        DECISIVE,
    ),
    cue(
        "went elsewhere",
        r"\b(?:went|go|going|gone|decided|chose|chosen) (?:to go )?with "
        r"(?:another|a different|someone else|a competitor|an? other)\b|\bdecided (?:against|not)"
        r"\b|\b(?:not|isn'?t) (?:a|the right) (?:good )?fit\b|\bnot (?:moving|going) forward\b"
        r"|\bwon'?t be (?:moving forward|proceeding)\b",
        DECISIVE,
    ),
    cue(
        "do not want",
        r"\b(?:i|we) (?:don'?t|do not) (?:want|wish|need)\b|\b(?:don'?t|do not) "
        r"(?:make|add|book|schedule|set up|create)\b|\bwon'?t be (?:necessary|needed)\b"
        r"|\bno need\b|\b(?:i'?d|we'?d|i would|we would) rather not\b|\bdon'?t bother\b"
        r"|\bno longer (?:looking|need|needed|pursuing)\b|\bi don'?t think so\b"
        r"|\bnot (?:something|anything) (?:we|i) (?:need|want)\b|\bnot a priority\b",
        DECISIVE,
    ),
    cue(
        "drop it",
        r"\bforget (?:it|about it)\b|\bskip (?:it|that|this)\b|\blet it (?:be|go)\b"
        r"|\bleave (?:it|that)\b|\bnever ?mind\b|\bcancel (?:it|that|this|the (?:request|"
        r"meeting|call))\b|\b(?:must|have to|will|need to) decline\b|\bi decline\b",
        CLEAR,
    ),
    cue(
        "cannot attend",
        r"\b(?:can'?t|cannot|won'?t be able to|unable to|not (?:be )?able to) (?:make it|"
        r"attend|join|meet|participate|come|be there|take (?:the|this) (?:call|meeting)|make "
        r"(?:this|the|that|our|your) (?:meeting|call|session|dinner|lunch|event|one))\b"
        r"|\b(?:won'?t|will not|can'?t|cannot) be (?:on|at|in|joining) (?:the|this|that|your|our)"
        r" (?:call|meeting|session|dinner|lunch|event|conference)\b"
        r"|\b(?:prefer|rather|like) to (?:skip|sit (?:this|it) out|miss (?:it|this))\b"
        r"|(?:\bnot|n't) (?:seem |look |sound )?(?:very |really )?(?:practical|feasible|possible|"
        r"realistic) for (?:me|us|him|her|them) to\b",
        CLEAR,
    ),
    # Someone else the invitation was for can't come: "Sally is not available", "he will not be
    # able to participate". The first person saying it refuses one slot ("busy then").
    cue(
        "they cannot",
        r"\b(?:he|she|they|both|neither)\b.{0,40}\b(?:(?:is|are|will) (?:both |also )?not (?:going"
        r" to be |be )?(?:available|able to)|(?:isn'?t|aren'?t|won'?t be) (?:available|able to)"
        r"|(?:can'?t|cannot) (?:make it|attend|come|join))\b"
        r"|\b[a-z]+(?:'s)? (?:is|are) (?:both |also )?not (?:going to be |be )?(?:available|able"
        r" to (?:attend|participate|make it|join|come))\b"
        r"|\b(?:he|she|they)(?:'s|'re| is| are| will be)(?: both| all| also)? (?:out of (?:the )?"
        r"office|out of town|away|on vacation|on holiday|travell?ing)\b",
        CLEAR,
    ),
    cue(
        "not now",
        r"\bnot (?:right )?now\b|\bnot today\b|\bnot (?:this|that) time\b"
        r"|\bnot (?:at|for) (?:this|the|the present) (?:time|moment)\b|\bnot right away\b"
        r"|\bnot yet\b|\bmaybe (?:later|another time|some other"
        r" time)\b|\bhold off\b|\bnot (?:a|the) (?:good|right|best) time\b|\b(?:it'?s )?too "
        r"(?:early|soon)\b|\blet me think\b|\bthink it over\b|\b(?:^|okay |ok )later\b"
        r"|\bi'?ll wait\b",
        CLEAR,
    ),
)

# "No" at the start of the reply, unless it is "no problem" / "no worries".
LEADING_NO = re.compile(
    r"^\W*(?:no|nope|nah|negative)\b(?!\s*(?:problem|worries|doubt|rush|pressure|way i'?d miss))",
    re.IGNORECASE,
)

# Phrases that turn a time mention into a proposal of our own.
COUNTER: tuple[Cue, ...] = (
    cue("how about", r"\b(?:how|what) about\b|\binstead\b|\brather\b|\bwhat if\b", CLEAR),
    # Offering to meet without a time yet: "perhaps we can get together then", "let's connect
    # when you are back".
    cue(
        "let's meet",
        r"\b(?:let'?s|let us|(?:perhaps|maybe) (?:we|you and i) (?:can|could)) (?:meet|connect|talk"
        r"|speak|chat|get together|hook up|catch up|meet up"
        r"|do (?:it|this|that|lunch|dinner|drinks))\b",
        CLEAR,
    ),
    cue(
        "would it work",
        r"\b(?:would|could|can|does|will) .{1,40} work (?:for you|better)?\b"
        r"|\bworks? better\b|\bbetter for (?:me|us)\b|\bany chance\b",
        CLEAR,
    ),
    cue(
        "can we",
        r"\b(?:can|could|shall|should) (?:we|you|i) (?:do|try|make|meet|move|push|shift|"
        r"switch|go with|change|set|book|schedule|find|see|get|reserve|check)\b",
        CLEAR,
    ),
    cue(
        "available",
        r"\b(?:i'?m|i am|we'?re|we are|i'?ll be|we'?ll be) (?:only )?(?:free|available"
        r"|open)\b|\bmy (?:calendar|schedule) is (?:open|free)\b|\b(?:i|we) have time\b"
        r"|\b(?:can|could) only\b|\bonly (?:free|available|open)\b",
        CLEAR,
    ),
    cue(
        "prefer",
        r"\bprefer(?:ably|red|ence)?\b|\bideal(?:ly)?\b|\b(?:i|we)'?(?:d| would) "
        r"(?:like|love|rather)\b|\b(?:i|we) (?:want|need|wanna)\b|\b(?:i'?m|we'?re) (?:looking|"
        r"hoping|planning)\b",
        WEAK,
    ),
    cue(
        "make it",
        r"\b(?:make|change|move|set|switch|shift|push|put|schedule|book|reserve|try)"
        r"(?: it| that| this| the \w+| me| us| one)?(?: again)?(?:,? but)? (?:to|for|at|on|in)\b"
        r"(?=\s*\w)|\bmake it\b",  # "put it on." stages something; "put it on Monday" moves it
        CLEAR,
        negatable=True,  # "I can't make it on Friday" refuses, it proposes nothing
    ),
    # Another format or channel: "give me a call this afternoon", "or by phone".
    cue(
        "other format",
        r"\b(?:give|send) (?:me|us) a (?:call|ring|buzz)\b|\b(?:call|ring|phone) me\b"
        r"|\bor (?:by|over the) (?:phone|video|zoom|teams)\b|\b(?:maybe|perhaps|or) (?:dinner|"
        r"drinks|lunch|coffee|breakfast)\b|\bcome for (?:drinks|coffee|dessert)\b",
        CLEAR,
    ),
    cue(
        "alternatives",
        r"\b(?:another|a different|different|other|alternative|new|later|earlier)"
        r" (?:time|times|slot|slots|day|days|date|dates|option|options|week)\b|\bnone of (?:these|"
        r"those|them|the (?:times|slots|options))\b",
        CLEAR,
    ),
)

# The proposed time itself is refused ("Tuesday doesn't work"), which asks for new times.
SLOT_REJECTED: tuple[Cue, ...] = (
    cue(
        "does not work",
        r"\b(?:doesn'?t|does not|won'?t|will not|wouldn'?t|would not|isn'?t|is "
        r"not|don'?t|do not|not going to|can'?t) (?:really |quite )?(?:work|suit|fit)\b",
        CLEAR,
    ),
    cue(
        "busy then",
        r"\b(?:i'?m|i am|we'?re|we are|i'?ll be|we'?ll be) (?:not (?:available|free)|"
        r"unavailable|busy|booked|tied up|traveling|travelling|slammed)\b|\bconflict\b"
        r"|\bdouble[- ]booked\b|\bcan'?t do\b",
        CLEAR,
    ),
)
