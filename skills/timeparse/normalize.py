"""Canonical lower-case text for the recognisers, with a map back to the writer's offsets.

Spelled numbers become digits ("nine fifty nine" -> "9 59", "third" -> "3rd"), spelling
variants collapse ("tonite", "week-end", "p.m."), and vague amounts get their conventional
value, so each recogniser handles one spelling.  Every output character remembers the input
span it came from, so matched spans always point into the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lexicon import ORDINAL_WORDS, SMALL_NUMBERS, TENS, UNIT_RE, VAGUE_COUNTS, alternation

_UNIT_AHEAD = r"(?=\s*(?:-\s*)?" + UNIT_RE + r"\b)"
_TENS = alternation(list(TENS))
_SMALL = alternation([w for w in SMALL_NUMBERS if w != "one"])
# "one" is usually a pronoun ("the first one", "Thursday one"); it is a number only before a
# unit, a meridiem or minutes, or after a word that introduces a clock time.
_ONE = (
    r"(?P<one>(?:(?<=\bat )|(?<=\baround )|(?<=\babout )|(?<=\bby )|(?<=\buntil )|"
    r"(?<=\btill )|(?<=\bto )|(?<=\bfrom )|(?<=\band )|(?<=\bbetween )|(?<=\bpast )|"
    r"(?<=\bafter )|(?<=-)|(?<=- )|(?<=^))\bone\b|\bone\b(?=\s*-?\s*(?:"
    + UNIT_RE
    + r"(?![a-z])|[ap]\.?\s?m\b|o['’ ]?clock|thirty|fifteen|forty|fifty|twenty|ten\b|five\b|"
    r"[0-5]\d\b|tonight|in\s+the\s+(?:morning|afternoon|evening)|at\s+night|upcoming|coming|"
    r"more\b|(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b)))"
)
_ORD_SIMPLE = alternation([w for w in ORDINAL_WORDS if w not in ("twentieth", "thirtieth")])

_FIXED: dict[str, str] = {
    "tonite": "tonight",
    "tmr": "tomorrow",
    "tmrw": "tomorrow",
    "tmw": "tomorrow",
    "tomorow": "tomorrow",
    "tommorow": "tomorrow",
    "tommorrow": "tomorrow",
    "tomorrows": "tomorrow",
    "wkend": "weekend",
    "wknd": "weekend",
    "eom": "end of month",
    "eod": "end of day",
    "cob": "end of day",
    "eob": "end of day",
    "eow": "end of week",
    "this am": "this morning",
    "as soon as possible": "asap",
    "all week": "this week",
    "this pm": "this afternoon",
    "midday": "noon",
    "mid-day": "noon",
    "mid day": "noon",
    "lunchtime": "lunch",
    "lunch time": "lunch",
    "o'clock": "oclock",
    "o’clock": "oclock",
    "o clock": "oclock",
    "close of business": "end of day",
    "end of business": "end of day",
    "end of the day": "end of day",
    "end of the month": "end of month",
    "end of the week": "end of week",
    "within the hour": "within 1 hour",
    "half an hour": "30 minutes",
    "a half hour": "30 minutes",
    "half-hour": "30 minutes",
    "half hour": "30 minutes",
    "an hour and a half": "90 minutes",
    "one and a half hours": "90 minutes",
    "a quarter of an hour": "15 minutes",
    "quarter of an hour": "15 minutes",
    "a quarter hour": "15 minutes",
    "three quarters of an hour": "45 minutes",
    "three-quarters of an hour": "45 minutes",
    "a quarter": "quarter",
}

_PATTERN = re.compile(
    "|".join(
        [
            r"(?P<fixed>\b" + alternation(list(_FIXED)) + r"(?![\w']))",
            r"(?P<weekend>\bweek[\s-]end\b)",
            r"(?P<am>\ba\.\s?m\b\.?|\ba\s+m\b)",
            r"(?P<pm>\bp\.\s?m\b\.?|\bp\s+m\b)",
            r"(?P<frac>\b(?P<fa>[13])/(?P<fb>[24])\s*(?:h|hrs?|hours?)\b)",
            r"(?P<andhalf>\b(?P<hn>\d+)\s+and\s+(?:a\s+|an\s+)?half\s+(?P<hu>"
            r"hours?|days?|weeks?|months?|years?|minutes?))\b",
            r"(?P<vague>\b" + alternation(list(VAGUE_COUNTS)) + r"\b)",
            r"(?P<article>\b(?:an|a)\b)" + _UNIT_AHEAD,
            r"(?P<ordtens>\b" + _TENS + r"[\s-]?" + _ORD_SIMPLE + r"\b)",
            r"(?P<ordinal>\b(?<!a )(?<!one )(?<!per )"
            + alternation(list(ORDINAL_WORDS))
            + r"(?![\w-]))",
            r"(?P<tensnum>\b" + _TENS + r"(?:[\s-]" + _SMALL + r")?\b)",
            _ONE,
            r"(?P<small>\b" + _SMALL + r"\b)",
            r"(?P<ish>(?:(?<=\d)|(?<=ing)|(?<=noon)|(?<=night)|(?<=lunch)|(?<=[ap]m))-?ish\b)",
            r"(?P<tilde>~)",
        ]
    )
)

_SUFFIX = {1: "st", 2: "nd", 3: "rd"}


def ordinal_suffix(n: int) -> str:
    """English ordinal suffix: 1st, 2nd, 3rd, 4th, 11th, 21st."""
    if 10 <= n % 100 <= 20:
        return "th"
    return _SUFFIX.get(n % 10, "th")


def _word_value(text: str) -> int:
    parts = re.split(r"[\s-]+", text)
    total = 0
    for p in parts:
        total += TENS.get(p, 0) + SMALL_NUMBERS.get(p, 0)
    return total


def _replacement(m: re.Match[str]) -> str:
    kind = m.lastgroup
    text = m.group(0)
    if kind == "fixed":
        return _FIXED[re.sub(r"\s+", " ", text)]
    if kind == "weekend":
        return "weekend"
    if kind == "am":
        return "am"
    if kind == "pm":
        return "pm"
    if kind == "frac":
        return f"{60 * int(m.group('fa')) // int(m.group('fb'))} minutes"
    if kind == "andhalf":
        return f"{m.group('hn')}.5 {m.group('hu')}"
    if kind == "vague":
        return str(VAGUE_COUNTS[re.sub(r"\s+", " ", text)])
    if kind == "article":
        return "1"
    if kind == "ordtens":
        head, tail = re.split(r"[\s-]?(?=" + _ORD_SIMPLE + r"$)", text, maxsplit=1)
        n = TENS[head.strip(" -")] + ORDINAL_WORDS[tail]
        return f"{n}{ordinal_suffix(n)}"
    if kind == "ordinal":
        n = ORDINAL_WORDS[text]
        return f"{n}{ordinal_suffix(n)}"
    if kind == "one":
        return "1"
    if kind in ("tensnum", "small"):
        return str(_word_value(text))
    return " " if kind == "tilde" else ""


@dataclass(frozen=True, slots=True)
class Normalized:
    """Canonical text plus, per character, the original span it was produced from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) offsets for the canonical slice [start, end)."""
        if end <= start:
            pos = (
                self.starts[start]
                if start < len(self.starts)
                else (self.ends[-1] if self.ends else 0)
            )
            return pos, pos
        return self.starts[start], self.ends[end - 1]


def normalize(text: str) -> Normalized:
    """Lower-case and canonicalise ``text``; see the module docstring."""
    low = text.lower()
    if len(low) != len(text):  # a few Unicode letters change length when lower-cased
        low = "".join(c.lower()[:1] or c for c in text)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _PATTERN.finditer(low):
        a, b = m.span()
        if a > pos:
            out.append(low[pos:a])
            starts.extend(range(pos, a))
            ends.extend(range(pos + 1, a + 1))
        rep = _replacement(m)
        out.append(rep)
        starts.extend([a] * len(rep))
        ends.extend([b] * len(rep))
        pos = b
    if pos < len(low):
        out.append(low[pos:])
        starts.extend(range(pos, len(low)))
        ends.extend(range(pos + 1, len(low) + 1))
    return Normalized("".join(out), tuple(starts), tuple(ends))
