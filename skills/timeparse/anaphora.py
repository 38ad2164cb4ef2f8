"""Bind "that day", "that week", "the same morning" to the day named before them.

In "back September 3 and in the office all that week" the week is September 3's, and in
"Monday works; that afternoon is best" the afternoon is Monday's: the reference takes the
day of the latest earlier reading that names one day.  With none in the text the writer
means a day from the conversation this text answers, which the text alone cannot tell: the
reading falls back on today, with low confidence, and keeps ``anaphor`` set so callers that
place days on a calendar can leave it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from .calendar_math import monday_of
from .context import Context
from .model import ParsedTime
from .registry import interval_spec
from .spec import Spec

# Readings finer than a day, or one day long, name a day a reference can point back to.
_DAY_GRAINS = frozenset({"minute", "hour", "part_of_day", "day"})


def bind(spec: Spec, earlier: Sequence[ParsedTime], ctx: Context) -> Spec:
    """``spec`` with the day its reference points to; unchanged when it holds none."""
    if spec.anaphor is None:
        return spec
    out = spec.copy()
    if spec.has_date() or spec.is_resolved_form():
        out.anaphor = None  # "that day, Friday 5th": the date is written out
        return out
    day = _antecedent(earlier, week=spec.anaphor == "week")
    if day is None:
        day = ctx.today
        unit = spec.anaphor
        why = f"refers back to a {unit} the text does not name; read as this {unit}"
        out.notes.append(("low", why))
    else:
        out.anaphor = None
    if spec.anaphor == "week" and not spec.has_clock() and spec.pod is None:
        monday = monday_of(day)
        week = interval_spec(ctx, monday, monday + timedelta(weeks=1), "week")
        out.interval = week.interval
    else:
        out.date = day
    return out


def _antecedent(earlier: Sequence[ParsedTime], *, week: bool) -> date | None:
    for reading in reversed(earlier):
        one_day = reading.end is None or reading.end - reading.start <= timedelta(days=1)
        if (reading.grain in _DAY_GRAINS and one_day) or (week and reading.grain == "week"):
            return reading.start.date()
    return None
