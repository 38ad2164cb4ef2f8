"""Cue tables for the offline intent rules (used by :mod:`skills.detect_intent`).

Every cue is general English that people use when answering a meeting request; none is copied
from an evaluation corpus. A cue has a weight: 1 is a hint, 2 a clear signal, 3 decisive on its
own. Patterns run against a lower-cased copy of the reply whose apostrophes are normalised to
``'``; the few that need capital letters (names) live in :mod:`skills.detect_intent`.
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


# --- building blocks for time mentions ---------------------------------------------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Abbreviations people type; "sat"/"sun" are left out because they are ordinary words.
WEEKDAY_ABBREVIATIONS = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3}
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
NUMBER_WORDS = (
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)

_WEEKDAY = r"(?:" + "|".join(WEEKDAYS) + "|" + "|".join(WEEKDAY_ABBREVIATIONS) + r")\b\.?"
# "may" is a month only when a day follows it, otherwise it is the verb.
_MONTH = (
    r"(?:"
    + "|".join(m for m in MONTHS if m != "may")
    + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b\.?"
)
_MONTH_OR_MAY = r"(?:" + "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b\.?"
_HOUR_WORD = r"(?:" + "|".join(NUMBER_WORDS) + r")"
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)\b"
_AMPM = r"(?:a\.?m\.?|p\.?m\.?)(?![a-z])"

# A clock time: "3pm", "10:30", "15:00", "noon", "half past 5", "four in the evening", "at 4".
CLOCK_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?P<h>1[0-2]|0?[1-9])(?::(?P<m>[0-5]\d))?\s*(?P<ampm>" + _AMPM + r")",
        r"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)\b(?!\s*(?:a\.?m|p\.?m))",
        r"\b(?P<word>noon|midday)\b",
        r"\b(?P<frac>half past|quarter past|quarter after|quarter to)\s+(?P<h>1[0-2]|0?[1-9]|"
        + _HOUR_WORD
        + r")\b",
        r"\b(?P<h>1[0-2]|0?[1-9]|" + _HOUR_WORD + r")\s*o'?\s?clock",
        r"\b(?P<h>1[0-2]|0?[1-9]|"
        + _HOUR_WORD
        + r")\s+in the\s+(?P<part>morning|afternoon|evening)",
        r"\b(?:at|around|for|after|before|by|from)\s+(?P<h>1[0-2]|0?[1-9])(?::(?P<m>[0-5]\d))?\b"
        r"(?![:\d]|\s*(?:%|people|persons?|guests|tickets|minutes?|mins?|hours?|hrs?|days?|weeks?"
        r"|months?|years?|st|nd|rd|th|of|-\s*\d))",
    )
)

# A day: weekday, calendar date, ordinal day, relative day or week.
DAY_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?P<weekday>" + _WEEKDAY + r")",
        r"\b(?P<month>" + _MONTH_OR_MAY + r")\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b",
        r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>" + _MONTH_OR_MAY + r")",
        r"\b(?:the|on)\s+(?P<day>" + _ORDINAL + r")",
        r"\b(?P<day>" + _ORDINAL + r")\s+of\s+(?:this|next|the)\s+month",
        r"(?<![-\w])(?P<m_num>1[0-2]|0?[1-9])/(?P<d_num>3[01]|[12]\d|0?[1-9])(?:/\d{2,4})?\b",
        r"\b(?P<relative>today|tonight|tomorrow|day after tomorrow)\b",
        r"\b(?:this|next|coming)\s+(?:week(?:end)?)\b",
        r"\b(?:early|late|later|end of|middle of|mid)\s+(?:this|next|the)\s+week\b",
        r"\b(?:earlier|later) in the (?:day|week|morning|afternoon|evening)\b",
        r"\b(?:early|late|mid|end of)[- ]" + _MONTH,
        r"\bin\s+" + _MONTH + r"(?!\s*\d)",
    )
)

# A part of day, unless it is a greeting ("good morning").
PART_OF_DAY = re.compile(
    r"(?<!good )\b(?P<part>morning|afternoon|evening|lunch(?:time)?|end of (?:the )?day|first "
    r"thing|after work)s?\b(?!\s+(?:team|all|everyone))",
    re.IGNORECASE,
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

QUESTION_OPENERS = re.compile(
    r"^\W*(?:what|where|when|who|whom|whose|which|why|how|is|are|was|were|do|does|did|can|could|"
    r"would|will|should|shall|may|might|have|has|tell me|give me|provide|send me|share|let me "
    r"know|i'?d like to know|i want to know|i wonder|wondering|any idea|please (?:tell|send|share"
    r"|let me know|confirm|advise|provide))\b",
    re.IGNORECASE,
)

DELEGATE: tuple[Cue, ...] = (
    cue(
        "loop in",
        r"\b(?:loop(?:ing)?|looped|bring(?:ing)?|brought|add(?:ing|ed)?|cc'?(?:ing|ed|'d|d)"
        r"?|copy(?:ing)?|copied|include|including)\b.{0,40}\b(?:in|on|here|to this|into this)\b"
        r"|\bcc'?(?:ing|ed|'d|d)\b|\bcopying\b",
        CLEAR,
    ),
    cue(
        "reach out to",
        r"\b(?:reach out to|get in touch with|contact|speak (?:with|to)|talk to|"
        r"work with|coordinate with|schedule (?:this |it )?with|set (?:this|it) up with|"
        r"connect with|forward(?:ing|ed)? (?:this|it|your \w+) to|email)\b",
        WEAK,
    ),
    cue(
        "right person",
        r"\b(?:right|best|better|correct|appropriate) (?:person|contact|people|"
        r"team|one)\b|\b(?:handles|manages|owns|runs|oversees|in charge of|responsible for|point of"
        r" contact|takes care of)\b|\b(?:my|our) (?:colleague|assistant|ea|manager|boss|"
        r"teammate|co-?worker|head of|vp|director)\b|\bon my behalf\b",
        CLEAR,
    ),
    # Sending someone in the writer's place: "one of you could speak", "ask Ana to meet you in
    # my place", "check with his assistant".
    cue(
        "in my place",
        r"\bin (?:my|his|her|our) (?:place|stead)\b|\binstead of (?:me|him|her|us)\b"
        r"|\bone of (?:you|your (?:team|people|colleagues))\b.{0,30}\b(?:attend|speak|go|join"
        r"|present|cover|come)\b|\b(?:send|sending) (?:someone|somebody|a colleague|one of)\b"
        r"|\bcheck with (?:my|his|her|their|\w+'s) (?:assistant|secretary|office|calendar)\b"
        r"|\b(?:ask|asked|asking) \w+ to (?:meet|see|call|attend|join|speak|present|talk)\b",
        DECISIVE,
    ),
    # A scheduling chore handed to the person addressed (an assistant): "please set up a
    # meeting", "would you please check my calendar".
    cue(
        "arrange it",
        r"\bplease,? (?:set ?up|arrange|organi[sz]e|schedule|book|re-?schedule|set) (?:a |the |"
        r"this |that )?(?:meeting|call|time|appointment)\b|\b(?:please|would you|could you|can "
        r"you)(?: please)?,? check (?:my|his|her|\w+'s) calendar\b|\bto set ?up a (?:meeting|"
        r"call|time)\b|\bplease,? set (?:a|up a) meeting with\b",
        DECISIVE,
    ),
)

OUT_OF_OFFICE: tuple[Cue, ...] = (
    cue(
        "auto reply",
        r"\bout of (?:the )?office\b|\booo\b|\bautomatic reply\b|\bauto-?reply\b"
        r"|\bautoreply\b|\bthis is an automated\b",
        DECISIVE,
    ),
    cue(
        "away",
        r"\b(?:currently|presently) (?:away|out|on leave|travell?ing|on vacation|on holiday)"
        r"\b|\b(?:on|taking) (?:annual |parental |maternity |paternity |medical |sick |personal )?"
        r"(?:leave|vacation|holiday|pto|sabbatical)\b|\baway from (?:the office|my desk|email|my "
        r"email)\b",
        CLEAR,
    ),
    cue(
        "limited access",
        r"\blimited (?:access|connectivity)\b|\b(?:no|limited) access to "
        r"(?:email|e-mail)\b|\bdelayed (?:response|reply)\b|\bfor (?:urgent|immediate) (?:matters|"
        r"requests|issues|assistance|inquiries)\b|\bif (?:this|it|your matter) is urgent\b",
        DECISIVE,
    ),
    cue(
        "when i return",
        r"\b(?:respond|reply|get back to you|answer)\b.{0,40}\b(?:when|upon|after|on)"
        r" (?:i|my) return\b|\b(?:will|'ll|shall|should|would) be (?:back|returning)\b"
        r"|\breturning (?:to the office )?on\b|\bback in the office\b|\bback on\b"
        r"|\b(?:won'?t|will not) be back (?:until|till|before)\b|\b(?:until|till|when|once) i "
        r"(?:get|come) back\b|\bon my return\b",
        CLEAR,
    ),
    cue("absence", r"\bin my absence\b|\bwhile i(?:'m| am) (?:away|out|gone)\b", DECISIVE),
)

# Words pointing back at the time we asked about ("I'm out of town that day").
THAT_TIME = re.compile(
    r"\bthat (?:day|date|week|morning|afternoon|evening|time|night)\b|\bon the day\b"
    r"|\bthen\b(?!\s*(?:we|i|you|let))",
)

# The writer is away at a time ("I'm in London next week", "I am off on Wednesday", "I'll be out
# this afternoon"): that time is out, never a counter-proposal of it. Places need a capital
# letter, so that pattern lives in :mod:`skills.detect_intent`.
AWAY_TIME: tuple[Cue, ...] = (
    cue(
        "away then",
        r"\b(?:i|we)(?:'m| am|'re| are|'ll be| will be| shall be| should be| will be| be) (?:out"
        r"(?! of (?:ideas|time|luck|options))|away|off|gone|travell?ing|on the road|on (?:vacation"
        r"|holiday|leave|a trip|business travel)|out of (?:town|the country|the office|pocket)"
        r"|abroad)\b",
        CLEAR,
        negatable=True,
    ),
)

CONFUSED: tuple[Cue, ...] = (
    cue(
        "who is this",
        r"\bwho (?:is|are) (?:this|you)\b|\bwho gave you\b|\bhow did you get my\b"
        r"|\bdo (?:i|we) know (?:you|each other)\b",
        DECISIVE,
    ),
    cue(
        "what is this",
        r"\bwhat(?:'s| is) this (?:about|regarding|for|in reference to)\b|\bwhat is"
        r" this\?|\bwhat (?:meeting|call|demo)\b|\bwhich (?:meeting|call|demo)\b|\bwhat are you "
        r"(?:talking|referring) (?:about|to)\b",
        DECISIVE,
    ),
    cue(
        "never asked",
        r"\b(?:i|we) (?:never|didn'?t|did not|haven'?t|have not) (?:request|ask|"
        r"sign|book|agree|schedule|set up|want)(?:ed)?\b",
        DECISIVE,
    ),
    cue(
        "wrong person",
        r"\bwrong (?:person|email|address|contact|guy|number|company|account)\b|"
        r"\byou (?:must|may|might) have (?:me confused|the wrong)\b|\bmistaken\b|\bin error\b",
        DECISIVE,
    ),
    cue(
        "not understood",
        r"\b(?:i'?m|i am|we'?re|we are) (?:confused|lost|puzzled)\b|\bi don'?t "
        r"(?:understand|follow|get it)\b|\bnot sure (?:what|why) (?:this|you|i)\b|\bconfusing\b",
        CLEAR,
    ),
    cue(
        "correcting us",
        r"\bthat'?s not what (?:i|we) (?:said|agreed|asked)\b|\b(?:i|we) (?:already"
        r" )?(?:told|said) (?:you|that) (?:already|before)\b|\balready told you\b|\bwe already "
        r"(?:met|spoke|talked|have a (?:meeting|call))\b|\bi (?:no longer|don'?t) work (?:at|for|"
        r"there)\b|\bleft the company\b",
        CLEAR,
    ),
)

RESCHEDULE: tuple[Cue, ...] = (
    cue(
        "reschedule",
        r"\bre-?schedul(?:e|ing)\b|\bpostpone\b|\bpush (?:our|the|this|it|that|"
        r"tomorrow'?s|today'?s)\b.{0,25}\b(?:back|out|later)\b|\b(?:move|shift|bump) (?:our|the|"
        r"this|tomorrow'?s|today'?s) (?:meeting|call|chat|demo|session|appointment)\b",
        DECISIVE,
    ),
    # The organiser's notice that an agreed meeting moved: "has been moved to", "we have
    # rescheduled the call for", "is now at 3".
    cue(
        "moved",
        r"\b(?:has|have|had) been (?:re-?scheduled|moved|changed|pushed|postponed|shifted|bumped"
        r"|brought forward)\b|\b(?:we|i)(?:'ve| have)? (?:re-?scheduled|moved|changed|pushed|"
        r"shifted|postponed) (?:the|our|this|your|tomorrow'?s|today'?s)\b|\b(?:is|are) now "
        r"(?:scheduled|set|planned|booked)\b|\bis still (?:scheduled|set|planned|on) for\b"
        r"|\bre-?scheduled (?:for|to)\b|\b(?:was|were|got) (?:re-?scheduled|moved|pushed|postponed|"
        r"shifted|bumped|brought forward)\b",
        DECISIVE,
    ),
    cue(
        "came up",
        r"\bsomething (?:urgent )?(?:came|has come) up\b|\b(?:a|an) (?:conflict|"
        r"emergency) (?:came|has come) up\b",
        CLEAR,
    ),
)

# Wanting to meet, but later: with a horizon this is `reschedule` ("circle back next quarter").
DEFER: tuple[Cue, ...] = (
    cue(
        "circle back",
        r"\b(?:circle|check|come|get) back\b|\btouch base\b|\breconnect\b|\brevisit"
        r"\b|\bfollow[- ]up\b|\bping me\b|\btry (?:me|us) again\b|\breach out (?:again|then|later|"
        r"in|next|after|around)\b|\bget in touch (?:again|later|in|next|after)\b"
        r"|\bconnect (?:again|later|in|next|after)\b|\bpick (?:this|it) (?:back )?up\b",
        CLEAR,
    ),
    cue(
        "not now",
        r"\bnot (?:right )?now\b|\bnot (?:at|for) (?:this|the) (?:time|moment)\b|\bnot "
        r"yet\b|\bmaybe later\b|\bhold off\b|\bnot (?:a|the) (?:good|right|best) time\b|\btoo "
        r"(?:early|soon)\b|\b(?:busy|swamped|slammed|underwater|heads[- ]down)\b|\bno budget\b|"
        r"\bbandwidth\b",
        CLEAR,
    ),
)

POSITIVE: tuple[Cue, ...] = (
    cue(
        "warm",
        r"\b(?:thanks|thank you|great|perfect|excellent|wonderful|awesome|love|happy|glad|"
        r"excited|looking forward|appreciate|sounds good|fantastic|nice|cool)\b",
        WEAK,
        negatable=True,
    ),
)

NEGATIVE: tuple[Cue, ...] = (
    cue(
        "hostile",
        r"\bunsubscribe\b|\bremove me\b|\bstop (?:emailing|contacting|sending|"
        r"messaging)\b|\bspam\b|\bannoy(?:ed|ing)\b|\bfrustrat(?:ed|ing)\b|\bwaste of (?:my )?time"
        r"\b|\bridiculous\b|\balready told you\b|\bharass\w*\b|\bleave me alone\b|\bnot interested"
        r"\b|\bdisappoint\w*\b|\bunacceptable\b",
        CLEAR,
    ),
    cue("upset", r"\b(?:unfortunately|sorry|regret|sadly)\b", WEAK),
    # Bad news said around a yes ("unfortunately ..., see you next week"): the yes is in doubt.
    cue("regret", r"\b(?:unfortunately|regrettably|sadly|i'?m afraid|i regret)\b", WEAK),
)
