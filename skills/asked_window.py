"""Where a reply asks us to look for fresh times, when it names no exact one.

"I'm free next Tuesday afternoon", "anything after the 15th?", "not mornings", "can we push to
next week?" (of a booked meeting: later than it). The reading is the TimeParser's
(:func:`skills.parse_times.extract_times`); this module only says what its readings mean for
a slot search:

- a day, a part of a named day, a week or a month the writer offers is a span to search in;
- an open "after X" is a floor (from the day after X); "before X" a span up to X;
- a part of the day ruled out with no day named ("not mornings") is avoided every day, and a
  part named alone ("an afternoon instead") keeps the search to that part; a day or a part of
  a named day ruled out is an excluded span;
- asking to push a booked meeting later puts the floor at its end.

Exact clock times ("Wednesday at 2pm") are not windows: the reply handler checks and books
those. Pure: no I/O, no clock (``now`` is passed in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from skills.parse_times import ParsedTime, extract_times

EXACT = frozenset({"minute", "hour"})
# Parts of the day as the slot finder names them, by the hour a reading of one starts.
_PARTS = (("morning", 0, 12), ("afternoon", 12, 17), ("evening", 17, 24))
_NAMES_A_DAY = re.compile(
    r"\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\b|\d|\b(?:today|tomorrow|tonight|week|month)\b",
    re.IGNORECASE,
)
_LATER = re.compile(
    r"\b(?:push(?:ed|ing)?|postpone\w*|later|delay\w*|move\s+(?:it|this|that|the\s+\w+)\s+back)\b",
    re.IGNORECASE,
)


# "Anything after the 15th?", "Do you have time Tuesday afternoon?": a question for times.
_ASKS_FOR_TIMES = re.compile(
    r"\b(?:any(?:thing|time|\s+time|\s+slots?|\s+openings?)|availab\w*|free|open(?:ings?)?"
    r"|slots?|(?:do|would|could|can) you (?:have|do|manage|make)|what about|how about)\b",
    re.IGNORECASE,
)


def asks_for_times(question: str) -> bool:
    """Whether a question asks us for times ("anything after the 15th?"), rather than about
    the meeting ("will the demo cover the API next week?")."""
    return _ASKS_FOR_TIMES.search(question) is not None


@dataclass(frozen=True)
class AskedWindow:
    """Where fresh times may fall. Empty (falsy) when the reply asks for nothing in
    particular; ``said`` holds the writer's words each part was read from."""

    spans: tuple[tuple[datetime, datetime], ...] = ()
    not_before: datetime | None = None
    excluded: tuple[tuple[datetime, datetime], ...] = ()
    avoid: tuple[str, ...] = ()  # slot-finder avoid rules, read in the writer's zone
    said: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.spans or self.not_before or self.excluded or self.avoid)

    def allows(self, start: datetime, end: datetime) -> bool:
        """Whether a meeting from ``start`` to ``end`` keeps to the spans, floor and excluded
        spans (the avoided parts of the day are the slot finder's to apply)."""
        if self.not_before is not None and start < self.not_before:
            return False
        if self.spans and not any(lo <= start and end <= hi for lo, hi in self.spans):
            return False
        return not any(start < hi and lo < end for lo, hi in self.excluded)


def asked_window(
    text: str,
    *,
    now: datetime,
    tz: str,
    booked: tuple[datetime, datetime] | None = None,
) -> AskedWindow:
    """What ``text`` (a reply, quoted history included or not) asks of fresh times, read in
    ``tz``; ``booked`` is the meeting already on the calendar, if any."""
    spans: list[tuple[datetime, datetime]] = []
    excluded: list[tuple[datetime, datetime]] = []
    avoid: list[str] = []
    floors: list[datetime] = []
    said: list[str] = []
    for found in extract_times(text, now=now, tz=tz, include_excluded=True):
        if found.grain in EXACT:
            continue
        part = _part(found)
        generic = part is not None and not _NAMES_A_DAY.search(found.text)
        if found.excluded:
            if generic and part is not None:
                avoid.append(part)
            else:
                excluded.append(_span(found))
        elif generic and part is not None:
            avoid += [name for name, _, _ in _PARTS if name != part]
        elif found.end is None:
            # "After the 15th": an open range from the day after the one named.
            floors.append(found.start + timedelta(days=1) if found.grain == "day" else found.start)
        else:
            spans.append(_span(found))
        said.append(found.text)
    if booked is not None and _LATER.search(text):
        floors.append(booked[1])
        said.append("later than the booked meeting")
    floor = max(floors, default=None)
    # "Next week is packed. Anything after the 15th?": a span over by the floor is moot.
    spans = [(lo, hi) for lo, hi in spans if floor is None or hi > floor]
    return AskedWindow(
        spans=tuple(spans),
        not_before=floor,
        excluded=tuple(excluded),
        avoid=tuple(dict.fromkeys(avoid)),
        said=tuple(said),
    )


def _part(found: ParsedTime) -> str | None:
    if found.grain != "part_of_day":
        return None
    hour = found.start.hour
    return next((name for name, lo, hi in _PARTS if lo <= hour < hi), None)


def _span(found: ParsedTime) -> tuple[datetime, datetime]:
    end = found.end or found.start + timedelta(days=1)
    return found.start, end
