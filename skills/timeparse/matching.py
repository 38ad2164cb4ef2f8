"""Which proposed slot did the writer pick?"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from .context import Context
from .lexicon import ORDINAL_WORDS, alternation
from .model import ParsedTime
from .spec import Spec

_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "former": 0,
}
_BY_NUMBER = re.compile(
    r"\b(?:option|slot|choice|number|no\.?|#)\s*#?\s*(\d{1,2})\b|#(\d{1,2})\b", re.IGNORECASE
)
_BY_ORDINAL = re.compile(
    r"\b(?:the\s+)?(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|last|final|latter|former)"
    r"(?:\s+(?:one|option|slot|choice|time|proposal|suggestion))?\b"
    r"(?!\s+(?:week|day|thing|of|half|quarter|monday|tuesday|wednesday|thursday|friday|we|i|you|"
    r"they|minute|moment|year|month))",
    re.IGNORECASE,
)
_EARLY_LATE = re.compile(
    r"\b(?:the\s+)?(earlier|earliest|later|latest)(?:\s+(?:one|option|slot|time))?\b",
    re.IGNORECASE,
)
_ORDINAL_NEEDS_NOUN = {"first", "second", "third", "fourth", "fifth", "1st", "2nd", "3rd", "4th"}


def _fits(
    slot: datetime, parsed: ParsedTime, spec: Spec, ctx: Context, *, any_year: bool = False
) -> bool:
    """Does the writer's expression describe this proposed slot?

    With ``any_year`` a day of the month ("the 26th", "Sept 4") fits that day in whichever
    month or year the slot falls, as a weekday fits that weekday in any week.
    """
    local = slot.astimezone(parsed.start.tzinfo)
    if spec.end is not None or spec.interval is not None:
        # Compare as UTC instants: same-zone comparison ignores DST folds (PEP 495).
        moment = slot.astimezone(UTC)
        first = parsed.start.astimezone(UTC)
        last = (parsed.end or parsed.start).astimezone(UTC)
        return first <= moment < last or moment == first
    has_day = spec.has_date() or spec.instant is not None
    if spec.weekday is not None and spec.month is None and spec.day is None and spec.date is None:
        day_ok = local.weekday() == spec.weekday
    elif any_year and spec.day is not None and spec.date is None and spec.year is None:
        day_ok = (
            local.day == spec.day
            and spec.month in (None, local.month)
            and spec.weekday in (None, local.weekday())
        )
    else:
        day_ok = not has_day or local.date() == parsed.start.date()
    if not day_ok:
        return False
    if spec.has_clock():
        want = parsed.start
        if spec.minute is None:
            return local.hour == want.hour
        return (local.hour, local.minute) == (want.hour, want.minute)
    if spec.pod is not None and parsed.end is not None:
        start_t, end_t = parsed.start.timetz(), parsed.end.timetz()
        t = local.timetz()
        return start_t <= t < end_t or (end_t.hour == 0 and t >= start_t)
    return True


def match_proposed(
    body: str, proposed: Sequence[datetime], times: list[tuple[ParsedTime, Spec]], ctx: Context
) -> int | None:
    """See :func:`skills.parse_times.match_to_proposed`."""
    if not proposed:
        return None
    n = len(proposed)
    allowed = set(range(n))
    chosen: set[int] | None = None
    for parsed, spec in times:
        fits = {i for i, slot in enumerate(proposed) if _fits(slot, parsed, spec, ctx)}
        if parsed.excluded:
            allowed -= fits
        else:
            chosen = fits if chosen is None else chosen | fits

    pick = _explicit_pick(body, n)
    if pick is not None:
        return pick if pick in allowed else None

    pool = (chosen if chosen is not None else set(range(n))) & allowed
    which = _EARLY_LATE.search(body)
    if which and pool:
        ordered = sorted(pool, key=lambda i: proposed[i])
        return ordered[0] if which.group(1).lower().startswith("earl") else ordered[-1]
    if chosen is not None and len(pool) == 1:
        return next(iter(pool))
    if chosen is None and len(allowed) == 1 and len(allowed) < n:
        return next(iter(allowed))  # "not Monday" with two options leaves one
    return None


def _explicit_pick(body: str, n: int) -> int | None:
    m = _BY_NUMBER.search(body)
    if m:
        k = int(m.group(1) or m.group(2)) - 1
        return k if 0 <= k < n else None
    for m in _BY_ORDINAL.finditer(body):
        word = m.group(1).lower()
        whole = m.group(0).lower()
        if (
            word in _ORDINAL_NEEDS_NOUN
            and whole.split()[-1] == word
            and not whole.startswith("the")
        ):
            continue  # "first" alone ("first, thanks") is too weak
        if word in ("last", "final", "latter"):
            return n - 1
        k = _ORDINALS[word]
        return k if k < n else None
    return None


@dataclass(frozen=True, slots=True)
class SlotFit:
    """One time expression in free text and the proposed slots it describes.

    ``slots`` holds the indices of the slots it fits, empty when it names none of them, and is
    ``None`` when it is too vague to compare ("next week", "in March", "in two hours").
    ``only_part_of_day`` marks a bare part of day ("morning works"): it names no day or clock.
    """

    text: str
    span: tuple[int, int]
    slots: frozenset[int] | None
    only_part_of_day: bool
    excluded: bool


def fit_each(
    body: str, proposed: Sequence[datetime], times: list[tuple[ParsedTime, Spec]], ctx: Context
) -> list[SlotFit]:
    """See :func:`skills.parse_times.compare_to_proposed`."""
    nearby = [
        SlotFit(m.group(0), m.span(), None, only_part_of_day=False, excluded=False)
        for m in _NEAR_OURS.finditer(body)
    ]
    out: list[SlotFit] = list(nearby)
    for parsed, spec in times:
        if spec.is_now or _SPELLED_ORDINAL_ALONE.fullmatch(parsed.text) or _day_bound(spec):
            continue
        if any(parsed.span[0] < n.span[1] and n.span[0] < parsed.span[1] for n in nearby):
            continue
        slots: frozenset[int] | None = None
        if _comparable(parsed, spec):
            slots = frozenset(
                i
                for i, slot in enumerate(proposed)
                if any(
                    _fits(slot, reading, spec, ctx, any_year=True)
                    for reading in _readings(parsed, spec)
                )
            )
        only_pod = spec.pod is not None and not spec.has_clock() and not spec.has_date()
        out.append(SlotFit(parsed.text, parsed.span, slots, only_pod, parsed.excluded))
    return sorted(out, key=lambda fit: fit.span)


# In a reply, "the first" or "second" alone picks one of our options (see :func:`match_proposed`);
# it is not the first day of a month.
_SPELLED_ORDINAL_ALONE = re.compile(
    r"(?:the\s+)?" + alternation(list(ORDINAL_WORDS)), re.IGNORECASE
)


# "Earlier in the day", "later in the week": a time named only against the one we offered.
# The grammar reads no time in it (or a part of day alone), yet it asks for another time.
_NEAR_OURS = re.compile(
    r"\b(?:earlier|later) in the (?:day|week|morning|afternoon|evening)\b", re.IGNORECASE
)


def _day_bound(spec: Spec) -> bool:
    """A limit on the days, not an offer: "back after Labor Day", "before tomorrow morning".

    A bound on a clock ("free after 3", "from 2") is an offer, and fits like the clock.
    """
    return (spec.open_end or spec.before) and not spec.has_clock()


def _comparable(parsed: ParsedTime, spec: Spec) -> bool:
    """Whether the expression pins a day, a clock or a part of day that a slot can be held to."""
    if parsed.grain in ("week", "month") or spec.interval is not None or spec.instant is not None:
        return False
    return (
        spec.has_clock()
        or spec.pod is not None
        or spec.weekday is not None
        or spec.day is not None
        or spec.date is not None
        or spec.holiday is not None
    )


def _readings(parsed: ParsedTime, spec: Spec) -> tuple[ParsedTime, ...]:
    """Every way the expression can be meant: "at 3" is 3:00 or 15:00 when nothing says which."""
    said = spec.meridiem is not None or spec.pod is not None or spec.end is not None
    if spec.hour is None or said or not 1 <= spec.hour <= 12:
        return (parsed,)
    other = parsed.start.replace(hour=(parsed.start.hour + 12) % 24)
    return (parsed, replace(parsed, start=other))
