"""Recognisers for offsets ("in 2 hours"), windows ("next 3 days"), weeks and month parts,
and operators that need the date that follows ("the week of ...", "2 days after ...")."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from .calendar_math import add_months, monday_of, month_length
from .context import Context
from .durations import (
    DURATION,
    GRAIN_OF_UNIT,
    parts,
    shift_date,
    shift_instant,
    to_timedelta,
    unit_of,
)
from .lexicon import MONTH_RE, UNIT_RE, WEEKDAY_RE
from .registry import interval_spec, month_of, rule, weekday_of, weekend_spec
from .resolve import resolve_day
from .spec import Interval, Spec

# ---- operators that need the date that follows ----------------------------------------


def _op(fn: Callable[[Spec, Context], Spec | None], ctx: Context) -> Spec:
    return Spec(op=lambda target: fn(target, ctx))


def _day_op(fn: Callable[[date, Context], Spec | None], ctx: Context) -> Spec:
    """An operator on the day the following expression names; nothing when it names none."""

    def apply(target: Spec, c: Context) -> Spec | None:
        d = resolve_day(target, c)
        return None if d is None else fn(d, c)

    return _op(apply, ctx)


@rule(r"\b(?:the\s+)?week\s+of\s+(?:the\s+)?")
def _week_of(m: re.Match[str], ctx: Context) -> Spec | None:
    def apply(d: date, c: Context) -> Spec | None:
        # "The week of Sunday the 6th" is the working week that Sunday opens.
        monday = monday_of(d) if d.weekday() < 5 else d + timedelta(days=7 - d.weekday())
        return interval_spec(c, monday, monday + timedelta(days=7), "week")

    return _day_op(apply, ctx)


@rule(
    rf"\b(?:the\s+)?(?:(?P<n>\d)(?:st|nd|rd|th)\s+)?(?:closest|nearest)\s+(?P<wd>{WEEKDAY_RE})"
    r"\s+to\s+(?:the\s+)?",
    needs="w",
)
def _closest(m: re.Match[str], ctx: Context) -> Spec | None:
    wd, n = weekday_of(m.group("wd")), int(m.group("n") or 1)

    def apply(d: date, c: Context) -> Spec | None:
        candidates = [d + timedelta(days=k) for k in range(-7 * n - 7, 7 * n + 8)]
        matching = [x for x in candidates if x.weekday() == wd]
        matching.sort(key=lambda x: (abs((x - d).days), x))
        return Spec(date=matching[n - 1])

    return _day_op(apply, ctx)


@rule(
    rf"\b(?:the\s+(?:(?P<n0>\d{{1,2}})(?:st|nd|rd|th)?\s+)?|(?P<n>\d{{1,2}})(?:st|nd|rd|th)?\s+)"
    rf"(?P<wd>{WEEKDAY_RE})\s+(?P<dir>after|before)\s+"
    # "Monday before noon" is a clock on that Monday, not a Monday counted from noon.
    r"(?!\d|noon\b|midnight\b|lunch\b|dinner\b|breakfast\b|the\s+(?:morning|afternoon|evening)\b)",
    needs="w",
)
def _nth_weekday_after(m: re.Match[str], ctx: Context) -> Spec | None:
    """ "The 2nd Monday after Easter", "the Friday before Christmas"."""
    n = int(m.group("n") or m.group("n0") or 1)
    wd, forward = weekday_of(m.group("wd")), m.group("dir") == "after"

    def apply(d: date, c: Context) -> Spec | None:
        step = 1 if forward else -1
        cur, count = d, 0
        while count < n:
            cur += timedelta(days=step)
            count += cur.weekday() == wd
        return Spec(date=cur)

    return _day_op(apply, ctx)


@rule(rf"(?<!for )\b{DURATION}\s+(?P<dir>after|before|from)\s+(?!now\b|right\s+now\b)", needs="d")
def _offset_op(m: re.Match[str], ctx: Context) -> Spec | None:
    amounts = parts(m)
    if not amounts:
        return None
    return _shift_op(amounts, -1 if m.group("dir") == "before" else 1, ctx)


@rule(
    r"\bthe\s+(?P<u>day|week)\s+(?P<dir>after|before)\s+"
    r"(?!tomorrow\b|yesterday\b|today\b|next\b|now\b|that\b|this\b)"
)
def _one_unit_op(m: re.Match[str], ctx: Context) -> Spec | None:
    """ "The day after Thanksgiving", "the week before Christmas"."""
    sign = -1 if m.group("dir") == "before" else 1
    if m.group("u") == "week":
        # The calendar week next to the one the day falls in, not the day seven days on.
        def week(d: date, c: Context) -> Spec:
            monday = monday_of(d) + timedelta(weeks=sign)
            return interval_spec(c, monday, monday + timedelta(weeks=1), "week")

        return _day_op(week, ctx)
    return _shift_op([(1.0, "day")], sign, ctx)


def _shift_op(amounts: list[tuple[float, str]], sign: int, ctx: Context) -> Spec:
    def apply(target: Spec, c: Context) -> Spec | None:
        if target.instant is not None:
            return _shifted(target.instant, amounts, sign, c)
        d = resolve_day(target, c)
        if d is None:
            return None
        for amount, unit in amounts:
            d = shift_date(d, sign * amount, unit)
        out = target.copy()
        out.year = out.month = out.day = out.weekday = out.holiday = None
        out.date = d
        return out

    return _op(apply, ctx)


# ---- offsets from now ----------------------------------------------------------------

_ABOUT = r"(?:(?:about|around|approximately|approx|roughly|just|another|over|some)\s+)?"


def _offset_spec(m: re.Match[str], ctx: Context, sign: int = 1) -> Spec | None:
    amounts = parts(m)
    if not amounts:
        return None
    return _shifted(ctx.now, amounts, sign, ctx)


def _shifted(moment: datetime, amounts: list[tuple[float, str]], sign: int, ctx: Context) -> Spec:
    """``moment`` moved by every amount in turn, as precise as the last unit named."""
    for amount, unit in amounts:
        moment = shift_instant(moment, sign * amount, unit, ctx)
    return Spec(instant=moment, instant_grain=GRAIN_OF_UNIT[amounts[-1][1]])


@rule(rf"\b(?:in|within|after)\s+{_ABOUT}{DURATION}", needs="d")
def _in_duration(m: re.Match[str], ctx: Context) -> Spec | None:
    return _offset_spec(m, ctx)


@rule(rf"\b{DURATION}\s+(?:from\s+(?:right\s+)?now|hence|later|out|ahead)\b", needs="d")
def _duration_from_now(m: re.Match[str], ctx: Context) -> Spec | None:
    return _offset_spec(m, ctx)


@rule(rf"\b{DURATION}\s+(?:ago|before\s+now|back)\b", needs="d")
def _duration_ago(m: re.Match[str], ctx: Context) -> Spec | None:
    return _offset_spec(m, ctx, -1)


@rule(rf"(?<![\w:])(?P<s>[+-])(?P<n>\d+)\s*(?P<u>{UNIT_RE})(?![a-z])", needs="d")
def _shift_suffix(m: re.Match[str], ctx: Context) -> Spec | None:
    n = float(m.group("n")) * (-1 if m.group("s") == "-" else 1)
    return Spec(shift=(n, unit_of(m.group("u"))))


@rule(rf"\bfor\s+{_ABOUT}{DURATION}", needs="d")
def _for_duration(m: re.Match[str], ctx: Context) -> Spec | None:
    delta = to_timedelta(parts(m))
    return Spec(duration=delta) if delta else None


@rule(
    r"\b(?P<rel>next|last|past|upcoming|coming|the\s+next|the\s+last|the\s+past|"
    rf"the\s+coming|within\s+the\s+next)\s+(?:\d+\s*(?:-|–|to|or)\s*)?{DURATION}",
    needs="d",
)
def _window(m: re.Match[str], ctx: Context) -> Spec | None:
    # "the next 2 - 3 weeks" is the wider window: the writer is free for all of it.
    amounts = parts(m)
    if not amounts:
        return None
    rel = m.group("rel").split()[-1]
    if len(amounts) > 1 or rel in ("upcoming", "coming"):
        return _offset_spec(m, ctx)
    amount, unit = amounts[0]
    n = int(amount)
    past = rel in ("last", "past")
    if unit in ("minute", "hour", "second"):
        step = timedelta(minutes=1) if unit != "hour" else timedelta(hours=1)
        anchor = ctx.now.replace(second=0, microsecond=0)
        if unit == "hour":
            anchor = anchor.replace(minute=0)
        start = anchor - n * step if past else anchor + step
        grain = "minute" if unit != "hour" else "hour"
        return Spec(interval=Interval(start, start + n * step, grain))
    if unit == "day":
        first = ctx.today - timedelta(days=n) if past else ctx.days(1)
        return interval_spec(ctx, first, first + timedelta(days=n), "day")
    if unit in ("week", "fortnight"):
        weeks = n * (2 if unit == "fortnight" else 1)
        monday = monday_of(ctx.today)
        first = monday - timedelta(weeks=weeks) if past else monday + timedelta(weeks=1)
        return interval_spec(ctx, first, first + timedelta(weeks=weeks), "week")
    if unit in ("month", "year"):
        months = n * (12 if unit == "year" else 1)
        first_of = ctx.today.replace(day=1)
        first = add_months(first_of, -months if past else 1)
        return interval_spec(ctx, first, add_months(first, months), "month")
    return None


@rule(rf"\b(?P<n>\d+)\s+(?:upcoming|coming)\s+(?P<u>{UNIT_RE})(?![a-z])", needs="d")
def _n_upcoming(m: re.Match[str], ctx: Context) -> Spec | None:
    return _shifted(ctx.now, [(float(m.group("n")), unit_of(m.group("u")))], 1, ctx)


@rule(r"\b(?:the\s+)?(?:next|following)\s+(?P<u>hour|minute)\b")
def _next_unit(m: re.Match[str], ctx: Context) -> Spec | None:
    start = ctx.now.replace(second=0, microsecond=0)
    if m.group("u") == "hour":
        start = start.replace(minute=0) + timedelta(hours=1)
    else:
        start += timedelta(minutes=1)
    return Spec(instant=start, instant_grain="minute")


# ---- weeks, weekends and parts of months -----------------------------------------------

_REL_STEP = {
    "this": 0,
    "current": 0,
    "next": 1,
    "coming": 1,
    "upcoming": 1,
    "following": 1,
    "last": -1,
    "past": -1,
    "previous": -1,
}


@rule(
    r"\b(?:the\s+)?(?P<rel>this|next|coming|upcoming|following|current|last|past|previous)"
    r"\s+(?P<u>week|month|year|weekend)\b|\b(?:the\s+|this\s+)?(?P<bare>weekend)\b"
    r"|\b(?:the\s+)?(?P<u2>week|weekend)\s+after\s+next\b"
)
def _period(m: re.Match[str], ctx: Context) -> Spec | None:
    unit = m.group("u") or m.group("u2") or "weekend"
    step = _REL_STEP[m.group("rel")] if m.group("rel") else 2 if m.group("u2") else 0
    if unit == "week":
        monday = monday_of(ctx.today) + timedelta(weeks=step)
        # "This week" in a scheduling mail means what is left of it.
        first = max(monday, ctx.today) if step == 0 else monday
        return interval_spec(ctx, first, monday + timedelta(weeks=1), "week")
    if unit == "weekend":
        friday = ctx.today + timedelta(days=(4 - ctx.today.weekday()) % 7)
        if ctx.today.weekday() >= 5:  # already in the weekend: "this weekend" is this one
            friday = ctx.today - timedelta(days=ctx.today.weekday() - 4)
        friday += timedelta(weeks=max(step, 0) if step >= 0 else step)
        return weekend_spec(ctx, friday, friday + timedelta(days=2))
    if unit == "month":
        first = add_months(ctx.today.replace(day=1), step)
        first_day = max(first, ctx.today) if step == 0 else first
        return interval_spec(ctx, first_day, add_months(first, 1), "month")
    first = date(ctx.today.year + step, 1, 1)
    return interval_spec(ctx, first, date(first.year + 1, 1, 1), "month")


_PART = r"(?P<part>early|earlier|mid|middle|late|later|end|beginning|start|rest)"


@rule(
    rf"\b(?:the\s+)?{_PART}(?:\s+of|\s+in)?[\s-]*(?:the\s+)?"
    r"(?P<rel>this|next|coming|following|current|upcoming)?\s*(?P<u>week|month)\b"
)
def _period_part(m: re.Match[str], ctx: Context) -> Spec | None:
    part, unit = m.group("part"), m.group("u")
    step = _REL_STEP.get(m.group("rel") or "this", 0)
    if unit == "week":
        monday = monday_of(ctx.today) + timedelta(weeks=step)
        spans = {
            "early": (0, 3),
            "earlier": (0, 3),
            "beginning": (0, 3),
            "start": (0, 3),
            "mid": (1, 4),
            "middle": (1, 4),
            "late": (3, 5),
            "later": (3, 5),
            "end": (4, 7),
        }
        if part == "rest":
            first, last = max(ctx.today, monday), monday + timedelta(days=5)
        elif part == "later" and step == 0:
            first, last = ctx.days(1), monday + timedelta(days=5)
        else:
            a, b = spans[part]
            first, last = monday + timedelta(days=a), monday + timedelta(days=b)
        if step == 0 and first < ctx.today:
            first = min(ctx.today, last - timedelta(days=1))
        if last <= first:
            return None
        return interval_spec(ctx, first, last, "day")
    first_of = add_months(ctx.today.replace(day=1), step)
    return _month_part(part, first_of.year, first_of.month, ctx)


def _month_part(part: str, year: int, month: int, ctx: Context) -> Spec | None:
    length = month_length(year, month)
    spans = {
        "early": (1, 11),
        "earlier": (1, 11),
        "beginning": (1, 11),
        "start": (1, 11),
        "mid": (11, 21),
        "middle": (11, 21),
        "late": (21, length + 1),
        "later": (21, length + 1),
        "end": (21, length + 1),
        "rest": (
            ctx.today.day if (year, month) == (ctx.today.year, ctx.today.month) else 1,
            length + 1,
        ),
    }
    a, b = spans[part]
    first = date(year, month, a)
    last = date(year, month, 1) + timedelta(days=b - 1)
    return interval_spec(ctx, first, last, "day")


@rule(
    rf"\b(?:the\s+)?{_PART}(?:\s+of|\s+in)?[\s-]*(?:the\s+month\s+of\s+)?"
    rf"(?P<m>{MONTH_RE})(?![a-z])(?:\s*,?\s*(?P<y>\d{{4}}))?",
    needs="m",
)
def _month_part_rule(m: re.Match[str], ctx: Context) -> Spec | None:
    month = month_of(m.group("m"))
    if m.group("y"):
        year = int(m.group("y"))
    else:
        year = ctx.today.year if month >= ctx.today.month else ctx.today.year + 1
    return _month_part(m.group("part"), year, month, ctx)


# ---- references back to a day named earlier ---------------------------------------------


@rule(
    r"\b(?:that(?:\s+same)?|the\s+same)\s+"
    r"(?:(?P<pod>morning|afternoon|evening|night)|(?P<u>day|week))\b"
)
def _anaphor(m: re.Match[str], ctx: Context) -> Spec | None:
    """ "That day", "the same afternoon": which day is decided by the text before them."""
    return Spec(pod=m.group("pod"), anaphor=m.group("u") or "day")
