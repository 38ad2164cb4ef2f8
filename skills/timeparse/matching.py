"""Which proposed slot did the writer pick?"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from .context import Context
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


def _fits(slot: datetime, parsed: ParsedTime, spec: Spec, ctx: Context) -> bool:
    """Does the writer's expression describe this proposed slot?"""
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
