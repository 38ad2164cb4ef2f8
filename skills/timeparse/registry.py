"""The recogniser registry and helpers shared by the ``rules_*`` modules.

A rule is a regular expression over normalised text plus a handler that turns a match into
a partial :class:`Spec`.  Registration order breaks ties between equally long matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from .context import Context
from .lexicon import FIXED_ABBREVIATIONS, MONTHS, WEEKDAYS, ZONE_WORDS, alternation
from .spec import Interval, Spec
from .zones import localize

Handler = Callable[[re.Match[str], Context], Spec | None]


@dataclass(frozen=True, slots=True)
class Atom:
    start: int
    end: int
    rank: int
    spec: Spec


RULES: list[tuple[re.Pattern[str], Handler, frozenset[str]]] = []


def rule(pattern: str, needs: str = "") -> Callable[[Handler], Handler]:
    """Register a recogniser; ``needs`` lists cheap preconditions (d: a digit, m: a month
    name, w: a weekday name, ".": digits around a dot, 4: four digits in a row) so most
    rules are skipped on text that cannot match them."""

    def register(fn: Handler) -> Handler:
        RULES.append((re.compile(pattern), fn, frozenset(needs)))
        return fn

    return register


# ---- helpers -------------------------------------------------------------------------


def month_of(word: str) -> int:
    return MONTHS[word.rstrip(".")]


def weekday_of(word: str) -> int:
    w = word.rstrip(".")
    return WEEKDAYS[w] if w in WEEKDAYS else WEEKDAYS[w[:-1]]


def year_of(text: str | None) -> int | None:
    if not text:
        return None
    y = int(text.lstrip("'"))
    if y >= 100:
        return y
    # Two-digit years pivot like POSIX strptime: 00-68 are 2000s, 69-99 the 1900s ("31/10/74").
    return y + 2000 if y < 69 else y + 1900


def ordinal_of(text: str) -> int:
    """1 for "1st", -1 for "last"."""
    return int(text[:-2]) if text[0].isdigit() else -1


def future_year(ctx: Context, build: Callable[[int], date | None]) -> date | None:
    """The first of this year's and next year's candidates that is not in the past."""
    for year in (ctx.today.year, ctx.today.year + 1):
        d = build(year)
        if d is not None and d >= ctx.today:
            return d
    return None


def interval_spec(ctx: Context, first: date, last_exclusive: date, grain: str) -> Spec:
    return Spec(interval=Interval(ctx.midnight(first), ctx.midnight(last_exclusive), grain))


def weekend_spec(ctx: Context, first: date, last: date, hour: int = 18) -> Spec:
    """From ``hour`` on ``first`` to the end of ``last``: a weekend starts on Friday evening."""
    start = localize(first, hour, 0, ctx.tz)[0]
    return Spec(interval=Interval(start, ctx.midnight(last + timedelta(days=1)), "hour"))


def calendar_spec(day: int | None, month: int | None, year: int | None) -> Spec | None:
    if day is not None and not 1 <= day <= 31:
        return None
    if month is not None and not 1 <= month <= 12:
        return None
    return Spec(year=year, month=month, day=day)


RISKY_ZONES = {"z", "west", "wet", "met", "art", "ast", "gst", "nst", "mest"}
ZONE_ALT = alternation([a for a in FIXED_ABBREVIATIONS if a not in RISKY_ZONES] + list(ZONE_WORDS))
DAYNUM = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
NOT_CLOCK = r"(?![\d:]|\s*(?:am|pm|oclock)\b|[ap]\b|h\b|h\d|\s*(?:minutes|mins|hours|hrs|days)\b)"
# Only 19xx/20xx: "6 Nov 2359" ends in a 24-hour time, not a year.
YEAR_TAIL = r"(?:\s*,?\s*(?P<y>(?:19|20)\d{2})(?![\d:]))?"
RANGE_WORD = r"(?:-|–|—|to|through|thru|until|untill|till)"

# "The 15th" is a date when a time word or a verb follows, not "the 2nd person".
ORDINAL_FOLLOW = (
    r"(?!\s+(?!(?:at|or|and|works?|is|would|could|should|sounds|suits|fits|looks|if|then|in|on|"
    r"for|to|through|thru|until|till|morning|afternoon|evening|night|am|pm|please|instead|but|"
    r"as|so|with|from|between|ok|okay|might|may|will|i|we|you|they|this|next|of|is|was|"
    r"be|are|too|also|perhaps|maybe|then|after|before|around|by|or)\b)[a-z])"
)
