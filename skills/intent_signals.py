"""What one cleaned reply says, cue by cue: the signals the intent rules decide on.

Cue tables come from :mod:`skills.intent_rules` and :mod:`skills.intent_rules_languages`;
this module adds what needs the reply's sentences or capital letters: questions, clauses
said of a time the writer is away, and the person a hand-over names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from skills import intent_rules as rules
from skills import intent_rules_languages as languages
from skills import intent_rules_situations as situations
from skills.parse_times import SlotFit, compare_to_proposed


@dataclass(frozen=True)
class TimeMention:
    """A time the reply names, where it was said, and which of our slots it describes."""

    fit: SlotFit
    in_question: bool = False
    away: bool = False  # said of a time the writer is away: that time is out

    @property
    def text(self) -> str:
        return self.fit.text

    @property
    def names_ours(self) -> bool | None:
        """Whether it names one of our slots; ``None`` when it is too vague to tell."""
        return None if self.fit.slots is None else bool(self.fit.slots)


@dataclass
class Signals:
    """Everything the rules found in one cleaned reply."""

    text: str
    lowered: str
    scores: dict[str, float] = field(default_factory=dict)
    labels: dict[str, list[str]] = field(default_factory=dict)
    leading_no: bool = False
    times: list[TimeMention] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    horizon: str | None = None
    delegate_name: str | None = None
    delegate_email: str | None = None
    away: list[str] = field(default_factory=list)

    def score(self, signal: str) -> float:
        return self.scores.get(signal, 0.0)

    def has(self, signal: str, label: str) -> bool:
        return label in self.labels.get(signal, [])


def _normalise(text: str) -> str:
    """Lower-case with straight apostrophes and quotes, so cue patterns stay simple."""
    for curly, straight in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(curly, straight)
    return text.replace('o"clock', "o'clock").lower()


# --- signals -----------------------------------------------------------------------------------


_SIGNAL_TABLES: dict[str, tuple[rules.Cue, ...]] = {
    "accept": rules.ACCEPT + languages.ACCEPT,
    "approval": rules.APPROVAL,
    "decline": rules.DECLINE + languages.DECLINE,
    "counter": rules.COUNTER,
    "slot_rejected": rules.SLOT_REJECTED,
    "delegate": situations.DELEGATE,
    "ooo": situations.OUT_OF_OFFICE + languages.OUT_OF_OFFICE,
    "confused": situations.CONFUSED,
    "reschedule": situations.RESCHEDULE,
    "defer": situations.DEFER,
    "away": situations.AWAY_TIME,
    "positive": situations.POSITIVE,
    "negative": situations.NEGATIVE,
}


def read_signals(text: str, *, proposed: Sequence[datetime], now: datetime) -> Signals:
    """The signals in ``text``; its times are read in ``now``'s own zone."""
    # Mail clients wrap long lines: a line break inside a sentence is a space.
    text = _WRAPPED_LINE.sub(" ", text)
    lowered = _normalise(text)
    signals = Signals(text=text, lowered=lowered)
    # "Is Saturday OK with you?" asks whether a time suits the reader: a proposal, not a yes.
    statements = _normalise(" ".join(s for s in _sentences(text) if not _asks_reader(s)))
    for signal, table in _SIGNAL_TABLES.items():
        scope = statements if signal in ("accept", "approval") else lowered
        matched = [c for c in table if _cue_matches(c, scope)]
        signals.scores[signal] = sum(c.weight for c in matched)
        signals.labels[signal] = [c.label for c in matched]
    # "isn't good", "won't work": a negated acceptance refuses the proposed time. A negated
    # "yes" ("not sure") is doubt, not a refusal: it refuses nothing.
    negated = [
        c.label
        for c in rules.ACCEPT + rules.APPROVAL
        if c.label != "yes" and _cue_negated(c, lowered)
    ]
    if negated:
        signals.scores["slot_rejected"] += rules.CLEAR
        signals.labels["slot_rejected"] += ["not " + label for label in negated]
    signals.leading_no = bool(rules.LEADING_NO.match(lowered))
    for sentence in _sentences(text):
        is_question = _is_question(sentence)
        # "When is the demo on Tuesday?" asks about a time; "Would Tuesday work?" proposes one.
        # "So the call is at 4 on the 4th?" checks a time; it does not propose one.
        asks_about_time = is_question and bool(
            _WH_OPENER.match(sentence) or _CHECKING_OPENER.match(sentence)
        )
        if _ASKS_ADVICE.search(sentence):
            is_question = asks_about_time = True
        mentions: list[TimeMention] = []
        # "I'm away this week, but Wednesday works": only the away clause's times are out.
        for clause in _CLAUSES.split(sentence):
            away = _says_away(clause)
            if away:
                signals.away.append(clause.strip())
            mentions += [
                TimeMention(fit, in_question=asks_about_time, away=away)
                for fit in compare_to_proposed(clause, proposed, now=now)
            ]
        signals.times.extend(mentions)
        if is_question and (asks_about_time or not mentions):
            signals.questions.append(sentence.strip())
    horizon = rules.HORIZON.search(lowered)
    signals.horizon = horizon.group(0) if horizon else None
    signals.delegate_name, signals.delegate_email = _delegate_target(text)
    return signals


# "I'm in London next week", "we will be in Denver on Thursday": a capitalised place.
_AWAY_IN_PLACE = re.compile(
    r"\b(?:I|[Ww]e)(?:'m| am|'re| are|'ll be| will be| shall be| should be) (?:in|at) "
    r"(?:the )?(?P<place>[A-Z][a-z]+)"
)

_CLAUSES = re.compile(r"[;]|,?\s*\b(?:but|however|though|although|whereas)\b", re.IGNORECASE)


def _says_away(sentence: str) -> bool:
    """Whether the sentence says the writer is away (so its times are out, not offered)."""
    if any(_cue_matches(c, _normalise(sentence)) for c in situations.AWAY_TIME):
        return True
    place = _AWAY_IN_PLACE.search(sentence)
    return place is not None and place["place"] not in _NOT_NAMES


def _cue_matches(cue: rules.Cue, lowered: str) -> bool:
    """Whether a cue occurs, skipping occurrences negated within their own clause."""
    for match in cue.pattern.finditer(lowered):
        if not cue.negatable or not _negated(lowered, match.start()):
            return True
    return False


def _cue_negated(cue: rules.Cue, lowered: str) -> bool:
    """Whether a negatable cue occurs only in negated form."""
    if not cue.negatable:
        return False
    starts = [match.start() for match in cue.pattern.finditer(lowered)]
    return bool(starts) and all(_negated(lowered, start) for start in starts)


def _negated(lowered: str, start: int) -> bool:
    """A negator among the three words before ``start``, with no clause break in between."""
    before = lowered[max(0, start - 60) : start]
    breaks = list(rules.CLAUSE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end() :]
    window = " ".join(before.split()[-3:])
    # "None of those times work": the quantifier negates its whole clause, however far back.
    return bool(rules.NEGATORS.search(window) or rules.CLAUSE_NEGATORS.search(before))


_WRAPPED_LINE = re.compile(r"(?<=[^\s.!?:;])[ \t]*\n[ \t]*(?=[a-z(])")

# "4 p.m. on the 4th" is one sentence: a meridiem's dot ends one only before a capital.
_SENTENCE_SPLIT = re.compile(
    r"(?<=[.!?])(?<![ap]\.m\.)\s+|(?<=[ap]\.m\.)\s+(?=[A-Z])|\n+|(?<=[a-z][.!?])(?=[A-Z])"
)

# Asking for advice, not proposing: "I'm wondering whether I should still fly out tomorrow".
_ASKS_ADVICE = re.compile(
    r"\b(?:wondering|wonder|not sure|unsure) (?:if|whether) (?:i|we) (?:should|ought)\b",
    re.IGNORECASE,
)

_PLEASANTRY = re.compile(
    r"^\W*(?:how are you|how'?s it going|how have you been|hope (?:you|all|this|everything)|"
    r"how was your)\b",
    re.IGNORECASE,
)

_STRICT_QUESTION_OPENER = re.compile(
    r"^\W*(?:(?:\w+,\s*)?(?:what(?! about| if)|where|when|who|which|why|how(?! about))\b|"
    r"tell me|give me|provide|"
    r"send me|(?:can|could|would|will) you (?:tell|give|send|share|provide|let me know)|"
    r"(?:can|may) (?:i|we) (?:please )?(?:have|get|ask|know)|"
    r"(?:get|give|send|tell) me (?:the|their|your|its|his|her)|do you (?:know|have)|"
    r"(?:i|we) (?:want|need|would like|'d like) to know)\b",
    re.IGNORECASE,
)

_CHECKING_OPENER = re.compile(
    r"^\W*(?:so,? )?(?:the|our|my|your|that|this|it) (?:\w+ )?(?:meeting|call|interview|session"
    r"|demo|dinner|lunch|\w+) (?:is|was|will be)\b",
    re.IGNORECASE,
)

_WH_OPENER = re.compile(
    r"^\W*(?:what(?! about| if)|where|when|who|which|why|how(?! about))\b", re.IGNORECASE
)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT.split(text) if s and s.strip()]


# "Tom - is it OK with you this Saturday?", "Would Friday suit you?": a yes/no question put to
# the reader.
_ASKS_READER = re.compile(
    r"^\W*(?:[A-Z][a-z]+\s*[-,:]\s*)?(?:is|are|does|do|would|will|can|could)\b.*\byou\b.*\?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _asks_reader(sentence: str) -> bool:
    return bool(_ASKS_READER.match(sentence))


def _is_question(sentence: str) -> bool:
    """A question mark, or an unmistakable question opener typed without one."""
    if _PLEASANTRY.match(sentence):
        return False
    return sentence.rstrip().endswith("?") or bool(_STRICT_QUESTION_OPENER.match(sentence))


# --- delegation --------------------------------------------------------------------------------

_NAME = r"(?P<name>[A-Z][a-z'\u2019-]+(?:\s+[A-Z][a-z'\u2019-]+)?)"


_DELEGATE_TARGETS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"(?i:\b(?:loop(?:ing)? in|looped in|bring(?:ing)? in|cc'?(?:ing|ed|'d|d)?|copying|copied|"
        r"adding|added|including|reach out to|get in touch with|contact|speak (?:with|to)|talk to|"
        r"work with|coordinate with|connect with|schedule (?:this |it )?with|set (?:this|it) up "
        r"with|forward(?:ing|ed)? (?:this|it|your \w+) to))\s+"
        r"(?i:(?:my|our)\s+(?:colleague|assistant|ea|manager|boss|teammate|co-?worker|head of \w+|"
        r"vp of \w+|director of \w+|\w+ lead)\s*,?\s*)?" + _NAME
    ),
    re.compile(
        r"(?i:\b(?:my|our)\s+(?:colleague|assistant|ea|manager|boss|teammate|co-?worker|head of "
        r"\w+|vp of \w+|director of \w+|\w+ lead))\s*,?\s*" + _NAME
    ),
    re.compile(_NAME + r"\s*[(<]\s*[A-Za-z0-9._%+-]+@"),
    re.compile(
        _NAME + r"(?:\s*\([^)]*\))?\s+(?i:is|will be|would be|handles|manages|owns|runs|takes "
        r"care of|is in charge of|is responsible for)\b(?i:.{0,30})\b(?i:right|best|better|"
        r"correct|scheduling|calendar|this|these|that|my)\b"
    ),
)

_NOT_NAMES = frozenset(
    {
        "I",
        "We",
        "You",
        "He",
        "She",
        "They",
        "It",
        "This",
        "That",
        "The",
        "Our",
        "My",
        "Your",
        "Hi",
        "Hello",
        "Hey",
        "Dear",
        "Thanks",
        "Thank",
        "Best",
        "Please",
        "Yes",
        "No",
        "Sure",
        "Happy",
        "Looking",
        "Let",
        "Also",
        "And",
        "But",
        "So",
        "If",
        "Will",
        "Can",
        "Could",
        "Me",
        "Us",
        "Him",
        "Her",
        "Them",
        "Team",
        "Everyone",
        "All",
        "Sales",
        "Legal",
        "Procurement",
    }
    | {w.capitalize() for w in rules.WEEKDAYS}
    | {m.capitalize() for m in rules.MONTHS}
)


def _delegate_target(text: str) -> tuple[str | None, str | None]:
    """Who the reply hands over to, read from the reply text only (never from a model)."""
    email_match = rules.EMAIL_ADDRESS.search(text)
    email = email_match.group(0) if email_match else None
    for pattern in _DELEGATE_TARGETS:
        for match in pattern.finditer(text):
            name = _clean_name(match["name"])
            if name:
                return name, email
    return None, email


def _clean_name(raw: str) -> str | None:
    words = [w for w in raw.split() if w not in _NOT_NAMES]
    # Stop at the first non-name: "Sarah Tuesday" is Sarah.
    if not words or raw.split()[0] in _NOT_NAMES:
        return None
    return " ".join(words)


# "I've cc'd Jane, who should join too": someone added alongside the writer, not in their place.
_JOINS_TOO = re.compile(
    r"\b(?:join|attend|come|sit in|be there)\w*\b[^.!?\n]{0,25}\b(?:too|as well|also)\b"
    r"|\b(?:also|too)\b[^.!?\n]{0,25}\b(?:join|attend|sit in)\w*\b"
    r"|\b(?:cc'?(?:ed|'d|d)|copied|looped in)\b[^.!?\n]{0,60}\b(?:too|as well|also)\b",
    re.IGNORECASE,
)


def joins_too(text: str) -> bool:
    """Whether the writer brings someone in alongside themselves ("cc'd Jane, who should join
    too") rather than handing the meeting over to them."""
    return _JOINS_TOO.search(text) is not None
