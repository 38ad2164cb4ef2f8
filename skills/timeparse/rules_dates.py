"""Recognisers for calendar dates, weekdays, holidays and relative days."""

from __future__ import annotations

import re
from datetime import date, timedelta, tzinfo

from .calendar_math import (
    HOLIDAY_DATES,
    HOLIDAYS,
    add_months,
    full_weeks,
    holiday_key,
    month_length,
    nth_weekday_of_month,
    safe_date,
)
from .context import Context
from .lexicon import MONTH_RE, WEEKDAY_RE, alternation
from .registry import (
    DAYNUM,
    NOT_CLOCK,
    ORDINAL_FOLLOW,
    RANGE_WORD,
    YEAR_TAIL,
    calendar_spec,
    future_year,
    interval_spec,
    month_of,
    ordinal_of,
    rule,
    weekday_of,
    weekend_spec,
    year_of,
)
from .spec import Spec
from .zones import fixed_offset

# ---- dates ---------------------------------------------------------------------------


@rule(
    r"\b(?P<y>\d{4})(?P<sep>[-/.])(?P<a>\d{1,2})(?P=sep)(?P<b>\d{1,2})"
    r"(?:[t ](?P<h>\d{1,2}):(?P<mi>\d{2})(?::\d{2}(?:\.\d+)?)?"
    r"(?P<z>z\b|[+-]\d{2}:?\d{2}\b)?)?(?![\d/])",
    needs="d",
)
def _year_first(m: re.Match[str], ctx: Context) -> Spec | None:
    a, b = int(m.group("a")), int(m.group("b"))
    month, day = (a, b) if a <= 12 else (b, a)
    spec = calendar_spec(day, month, int(m.group("y")))
    if spec is None or safe_date(int(m.group("y")), month, day) is None:
        return None
    if m.group("h"):
        spec.hour, spec.minute = int(m.group("h")), int(m.group("mi"))
        spec.meridiem = "am" if spec.hour < 12 else None  # ISO 8601 is the 24-hour clock
        z = m.group("z")
        if z:
            spec.tz = fixed_offset("+", 0) if z == "z" else _offset_tz(z)
            spec.tz_label = z.upper()
    return spec


def _offset_tz(text: str) -> tzinfo:
    sign, digits = text[0], text[1:].replace(":", "")
    return fixed_offset(sign, int(digits[:2]), int(digits[2:4] or 0))


@rule(
    r"\b(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})(?![\d/])"
    r"(?:\s+(?P<h>[01]?\d|2[0-3])\.(?P<mi>[0-5]\d)(?![\d.]))?",
    needs="d",
)
def _numeric_full(m: re.Match[str], ctx: Context) -> Spec | None:
    a, b, year = int(m.group("a")), int(m.group("b")), year_of(m.group("y"))
    if m.group("sep") != ".":
        return None if m.group("h") else _numeric(a, b, year, ctx)
    if b > 12 >= a:
        a, b = b, a  # "10.31.1974" can only be month-first
    spec = calendar_spec(a, b, year)  # dots mean day-first: 19.06.2023 is 19 June
    if spec is not None and m.group("h"):
        # "29.02.2020 13.12": after a dotted date a dotted pair is its 24-hour time.
        spec.hour, spec.minute = int(m.group("h")), int(m.group("mi"))
        spec.meridiem = "am" if spec.hour < 12 else None
    return spec


@rule(
    r"(?<![\d/])(?<!\d\.)(?<![a-z]-)\b(?P<a>\d{1,2})(?P<sp>\s*)/(?P<sp2>\s*)(?P<b>\d{1,2})\b"
    r"(?![/\d]|\s*(?:hours?|h\b))",
    needs="d",
)
def _numeric_short(m: re.Match[str], ctx: Context) -> Spec | None:
    a, b = int(m.group("a")), int(m.group("b"))
    if (m.group("sp") or m.group("sp2")) and max(a, b) <= 12:
        return None  # "1 / 2" with spaces is a fraction as often as a date
    return _numeric(a, b, None, ctx)


# Day-first dotted dates and dotted clock times share a shape: "19.06" is 19 June, "08.40"
# twenty to nine.  A trailing dot ("03.08.") or a weekday before it makes a date; minutes
# above 12 or "00" make a clock ("17.05-18.15", "09.00"); otherwise a two-digit pair reads
# as a date.
# Numbers that are amounts ("2.50 hours", "$3.15", "1.10%") are left alone.
_DOTTED = r"(?P<{a}>\d{{1,2}})\.(?P<{b}>\d{{1,2}})(?P<{t}>\.(?!\d))?"
_MONEY_BEFORE = re.compile(
    r"(?:\b(?:eur|euros?|usd|gbp|chf|inr|rs|price|prices|cost|costs|total|fee|pay|paid|at\s+only)"
    r"|[$€£¥])\s*:?\s*$"
)
_NOT_AMOUNT = (
    r"(?!\d|,\d|\.\d|\s*(?:%|percent|million|billion|bn|k\b|m\b|x\b|hours?|hrs?|h\b|mins?|"
    r"minutes?|days?|weeks?|months?|years?|kg|km|miles?|mb|gb|points?|pts|usd|eur|gbp|dollars?))"
)


@rule(
    rf"(?<![\d.,$€£#/:+-])(?:(?P<wd>{WEEKDAY_RE})(?![a-z])\s*,?\s*"
    r"|(?P<at>(?:at|@|um|from|until|till|around|about)\s+))?\b"
    + _DOTTED.format(a="a", b="b", t="t")
    + rf"(?:\s*(?:-|–|—|to|until|till)\s*{_DOTTED.format(a='c', b='d', t='u')})?"
    + _NOT_AMOUNT,
    needs=".",
)
def _dotted(m: re.Match[str], ctx: Context) -> Spec | None:
    if _MONEY_BEFORE.search(m.string, max(0, m.start() - 20), m.start()):
        return None  # "EUR 12.50", "price 10.30"
    pairs = [(m.group("a"), m.group("b"), m.group("t"))]
    if m.group("c"):
        pairs.append((m.group("c"), m.group("d"), m.group("u")))
    # A dot after a pair that cannot be a month ("arrives 18.15.") ends the sentence.
    dated = bool(m.group("wd")) or any(t and int(b) <= 12 for _, b, t in pairs)
    # "at 10.05" is a clock whatever the minutes say; "14.00" or "09.00" has no month 0.
    clock = (
        not dated
        and all(len(b) == 2 for _, b, _ in pairs)
        and (
            bool(m.group("at"))
            or any(int(b) > 12 for _, b, _ in pairs)
            or any(len(a) == 2 and int(b) == 0 for a, b, _ in pairs)
        )
    )
    if not dated and not clock and any(len(a) != 2 or len(b) != 2 for a, b, _ in pairs):
        return None  # "1.5", "3.75", "2.10": decimals and versions, unless a dot or day says date
    specs: list[Spec] = []
    for a, b, _ in pairs:
        if clock:
            hour, minute = int(a), int(b)
            if hour > 23 or minute > 59:
                return None
            # 24-hour notation: a zero-padded or afternoon hour says which half of the day.
            ap = "am" if a.startswith("0") else None
            spec = Spec(hour=hour, minute=minute, meridiem=ap if hour < 12 else None)
        else:
            spec_or_none = calendar_spec(int(a), int(b), None)
            if spec_or_none is None:
                return None
            spec = spec_or_none
        specs.append(spec)
    if m.group("wd") and not clock:
        specs[0].weekday = weekday_of(m.group("wd"))
    head = specs[0]
    if len(specs) == 2:
        head.end = specs[1]
    head.notes.append(("medium", "dotted numbers read " + ("as a clock" if clock else "day-first")))
    return head


def _numeric(a: int, b: int, year: int | None, ctx: Context) -> Spec | None:
    month, day = (b, a) if ctx.dayfirst else (a, b)
    if month > 12 and day <= 12:
        month, day = day, month
    return calendar_spec(day, month, year)


@rule(
    rf"\b(?P<d>\d{{1,2}})[/.-](?P<m>{MONTH_RE})[/.-]?(?P<y>\d{{4}}|\d{{2}})?(?![\d])"
    rf"|\b(?P<y2>\d{{4}})\s*[/.-]?\s*(?P<m2>{MONTH_RE})\s*[/.-]?\s*(?P<d2>\d{{1,2}})(?![\d:])",
    needs="dm",
)
def _numeric_month_name(m: re.Match[str], ctx: Context) -> Spec | None:
    """ "5-Mar-2026", "2026 Mar 5", and (registered again below) "Sep-23-2020", "2020/23/Sep":
    the month name says which number is the day; a leading year is always four digits."""
    if m.group("m2"):
        return calendar_spec(int(m.group("d2")), month_of(m.group("m2")), int(m.group("y2")))
    return _month_day(m, ctx)


@rule(
    # "2 May, 9-10.30am": a number before the month is its day, so the one after is not.
    rf"(?<!\d\s)(?<!\d)\b(?P<m>{MONTH_RE})(?![a-z])\s*,?\s*(?:the\s+)?{DAYNUM}{NOT_CLOCK}"
    rf"{YEAR_TAIL}(?![\d:])",
    needs="dm",
)
def _month_day(m: re.Match[str], ctx: Context) -> Spec | None:
    """ "March 5th, 2026" and (registered again below) "the 5th of March": day, month, year."""
    return calendar_spec(int(m.group("d")), month_of(m.group("m")), year_of(m.group("y")))


rule(
    rf"\b(?:the\s+)?{DAYNUM}(?:\s+of\s+|\s+|\.\s+|[-/.]|)(?:the\s+month\s+of\s+)?"
    rf"(?P<m>{MONTH_RE})(?![a-z]){YEAR_TAIL}",
    needs="dm",
)(_month_day)


@rule(rf"\b(?P<m>{MONTH_RE})(?![a-z])\s*,?\s*(?P<y>(?:19|20)\d{{2}})\b", needs="dm")
def _month_year(m: re.Match[str], ctx: Context) -> Spec | None:
    return Spec(year=int(m.group("y")), month=month_of(m.group("m")))


# "May" and "march" are also a verb and a modal, and Jan, June, April and August people's
# names, so alone they need a word that makes them a month ("in May", "until June"); the
# other names stand alone ("July works for me").
_MONTH_LEAD = r"(?:in|during|of|since|until|till|by|from|through|before|after)\s+"
_MONTH_WORDLIKE = r"(?:may|march|jan|june|april|august)"


@rule(
    rf"\b(?:{_MONTH_LEAD}(?P<m>{_MONTH_WORDLIKE})|(?P<n>(?!{_MONTH_WORDLIKE}\b){MONTH_RE}))"
    # "through Jan. 2" names a day: the month-and-day rule reads it.
    r"(?![a-z'’-])(?!\.?\s*,?\s*\d)",
    needs="m",
)
def _month_alone(m: re.Match[str], ctx: Context) -> Spec | None:
    return Spec(month=month_of(m.group("m") or m.group("n")))


@rule(
    rf"\b(?P<m>{MONTH_RE})(?![a-z])\s*(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s*{RANGE_WORD}\s*"
    rf"(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?{NOT_CLOCK}{YEAR_TAIL}"
    rf"|\b(?P<bw>between\s+(?:the\s+)?)?(?P<e1>\d{{1,2}})(?:st|nd|rd|th)?\s*"
    rf"(?:{RANGE_WORD}|(?(bw)and|(?!)))\s*(?:the\s+)?(?P<e2>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"\s*(?:of\s+)?(?P<n>{MONTH_RE})(?![a-z])(?:\s*,?\s*(?P<z>\d{{4}}))?",
    needs="dm",
)
def _day_range(m: re.Match[str], ctx: Context) -> Spec | None:
    if m.group("m"):
        month, d1, d2, year = month_of(m.group("m")), m.group("d1"), m.group("d2"), m.group("y")
    else:
        month, d1, d2, year = month_of(m.group("n")), m.group("e1"), m.group("e2"), m.group("z")
    start = calendar_spec(int(d1), month, year_of(year))
    end = calendar_spec(int(d2), month, year_of(year))
    if start is None or end is None or int(d2) < int(d1):
        return None
    start.end = end
    return start


rule(
    rf"\b(?P<m>{MONTH_RE})(?![a-z])(?P<sep>[-/])(?P<d>\d{{1,2}})(?:(?P=sep)(?P<y>\d{{4}}))?(?![\d:/-])"
    rf"|\b(?P<y2>\d{{4}})/(?P<d2>\d{{1,2}})/(?P<m2>{MONTH_RE})(?![a-z])",
    needs="dm",
)(_numeric_month_name)


@rule(
    r"(?<![\d.,/-])\b(?P<y>(?:19|20)\d{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])\b"
    r"(?![\d,/-]|\.\d)",
    needs="4",
)
def _compact_date(m: re.Match[str], ctx: Context) -> Spec | None:
    """ "20200701": ISO 8601 basic format, always year, month, day."""
    d = safe_date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
    return Spec(date=d) if d else None


@rule(
    rf"\b(?P<wd>{WEEKDAY_RE})(?![a-z])\s*,?\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b{NOT_CLOCK}"
    r"(?![/.-]\d)"  # "Thurs 24/4": the number starts a written date
    + ORDINAL_FOLLOW,  # "Friday 20 attendees" counts people
    needs="dw",
)
def _weekday_daynum(m: re.Match[str], ctx: Context) -> Spec | None:
    """ "Friday 31": the next Friday that falls on a 31st."""
    day = int(m.group("d"))
    if not 13 <= day <= 31:
        return None  # "Friday 10" is as likely ten o'clock; the clock rules keep it
    spec = calendar_spec(day, None, None)
    if spec is not None:
        spec.weekday = weekday_of(m.group("wd"))
    return spec


@rule(rf"\b(?P<y>\d{{4}})\s+(?P<m>{MONTH_RE})\s+{DAYNUM}\b", needs="dm")
def _year_month_day(m: re.Match[str], ctx: Context) -> Spec | None:
    return calendar_spec(int(m.group("d")), month_of(m.group("m")), int(m.group("y")))


@rule(
    r"\b(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)\b"
    r"(?!\s+(?:one|1|option|slot|choice|time|week|weekend|day|last|closest|of\b|proposal))"
    + ORDINAL_FOLLOW,
    needs="d",
)
def _ordinal_day(m: re.Match[str], ctx: Context) -> Spec | None:
    return calendar_spec(int(m.group("d")), None, None)


@rule(
    r"\b(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:day\s+)?of\s+(?:the\s+)?"
    r"(?P<rel>this|next|current|coming|following|last|previous)\s+month\b",
    needs="d",
)
def _day_of_relative_month(m: re.Match[str], ctx: Context) -> Spec | None:
    months = {"next": 1, "coming": 1, "following": 1, "last": -1, "previous": -1}
    first = add_months(ctx.today.replace(day=1), months.get(m.group("rel"), 0))
    d = safe_date(first.year, first.month, int(m.group("d")))
    return Spec(date=d) if d else None


@rule(r"\b(?:the\s+)?ides\s+of\s+(?P<m>" + MONTH_RE + ")", needs="m")
def _ides(m: re.Match[str], ctx: Context) -> Spec | None:
    month = month_of(m.group("m"))
    return Spec(month=month, day=15 if month in (3, 5, 7, 10) else 13)


_HOLIDAY_RE = alternation(list(HOLIDAYS)).replace("'", "['’]?")


# "New Year" alone is a greeting ("Happy New Year") or the coming year as often as the day:
# it is New Year's Day after a word that points at a day ("after New Year", "between
# Christmas and New Year").
_NEW_YEAR_LEADS = "|".join(
    f"(?<={w} )"
    for w in ("after", "before", "until", "till", "by", "over", "around", "and", "to", "from")
)


@rule(rf"(?:{_NEW_YEAR_LEADS})(?:the\s+)?new\s+year\b(?![\w'’])")
def _new_year(m: re.Match[str], ctx: Context) -> Spec | None:
    return Spec(holiday=HOLIDAY_DATES["new years day"])


@rule(
    r"\b(?P<h>" + _HOLIDAY_RE + r")(?![\w'])(?:(?P<wknd>\s+week[\s-]?end)|(?P<week>\s+week))?"
    r"(?:\s+(?P<y>\d{4})\b)?"
)
def _holiday(m: re.Match[str], ctx: Context) -> Spec | None:
    rule_of = HOLIDAY_DATES[holiday_key(m.group("h"))]
    year = year_of(m.group("y"))
    if not m.group("wknd") and not m.group("week"):
        return Spec(holiday=rule_of, year=year)
    day = rule_of(year) if year else future_year(ctx, rule_of)
    if day is None:
        return None
    if m.group("week"):  # "Thanksgiving week": the Monday-to-Sunday week holding it
        monday = day - timedelta(days=day.weekday())
        return interval_spec(ctx, monday, monday + timedelta(days=7), "week")
    # "Labor Day weekend": the weekend the holiday joins, from the evening before it starts
    # (as "weekend" starts on Friday evening) to the night after its last day.
    wd = day.weekday()
    if wd == 0:  # a Monday holiday lengthens the weekend before it
        first, last, hour = day - timedelta(days=3), day, 18
    elif wd == 3:  # Thanksgiving: Thursday to Sunday
        first, last, hour = day, day + timedelta(days=3), 0
    elif wd == 4:
        first, last, hour = day - timedelta(days=1), day + timedelta(days=2), 18
    else:
        friday = day + timedelta(days=4 - wd) if wd < 4 else day - timedelta(days=wd - 4)
        first, last, hour = friday, friday + timedelta(days=2), 18
    return weekend_spec(ctx, first, last, hour)


@rule(r"\b(?P<y>(?:19|20)\d{2})\b(?![:/.\-]\d|\s*(?:am|pm|hours|h\b))", needs="d")
def _year_only(m: re.Match[str], ctx: Context) -> Spec | None:
    return Spec(year=int(m.group("y")))


# ---- relative days -------------------------------------------------------------------


@rule(
    r"(?<!\d\s)\b(?:the\s+)?day\s+after\s+tomorrow\b|\b(?:the\s+)?day\s+before\s+yesterday\b"
    r"|\btoday\b|\btomorrow\b|\byesterday\b|\b(?:the\s+)?(?:next|following)\s+day\b"
)
def _relative_day(m: re.Match[str], ctx: Context) -> Spec | None:
    text = m.group(0)
    if "after tomorrow" in text:
        n = 2
    elif "before yesterday" in text:
        n = -2
    elif "yesterday" in text:
        n = -1
    elif text == "today":
        n = 0
    else:
        n = 1
    return Spec(date=ctx.days(n))


@rule(r"\b(?:(?P<late>late)\s+)?tonight\b")
def _tonight(m: re.Match[str], ctx: Context) -> Spec | None:
    return Spec(date=ctx.today, pod="late night" if m.group("late") else "tonight")


@rule(r"\b(?:right\s+)?now\b|\b(?:at\s+)?this\s+(?:time|moment)\b|\basap\b|\bimmediately\b")
def _now(m: re.Match[str], ctx: Context) -> Spec | None:
    return Spec(instant=ctx.now, instant_grain="minute", is_now=True)


_WEEK_REL = r"(?P<wk>this|next|coming|following|last|previous|current|past)"


@rule(
    r"\b(?:(?P<pre>this|next|coming|upcoming|following|last|past|previous|the\s+following|"
    r"the\s+coming|the\s+next|this\s+coming|this\s+past)\s+)?"
    rf"(?P<wd>{WEEKDAY_RE})(?![a-z])(?P<after>\s+after\s+next)?"
    rf"(?:\s*,?\s*(?:of\s+|from\s+|in\s+)?(?:the\s+)?{_WEEK_REL}\s+week\b)?",
    needs="w",
)
def _weekday_rule(m: re.Match[str], ctx: Context) -> Spec | None:
    wd = weekday_of(m.group("wd"))
    pre = re.sub(r"\s+", " ", m.group("pre") or "")
    mode = "bare"
    if m.group("wk"):
        wk = m.group("wk")
        mode = {"next": "next_week", "coming": "next_week", "following": "next_week"}.get(
            wk, "last_week" if wk in ("last", "previous", "past") else "this_week"
        )
    elif m.group("after"):
        mode = "after_next"
    elif pre in ("this",):
        mode = "this"
    elif pre in ("next", "the next", "following", "the following"):
        mode = "next"
    elif pre in ("last", "past", "previous", "this past"):
        mode = "last"
    return Spec(weekday=wd, weekday_mode=mode)


@rule(rf"\b(?P<n>\d+)\s+(?P<wd>{WEEKDAY_RE})\s+(?:from|after)\s+(?:now|today)\b", needs="dw")
def _n_weekdays(m: re.Match[str], ctx: Context) -> Spec | None:
    wd, n = weekday_of(m.group("wd")), int(m.group("n"))
    first = ctx.today + timedelta(days=(wd - ctx.today.weekday()) % 7 or 7)
    return Spec(date=first + timedelta(weeks=n - 1))


@rule(
    rf"\b(?:the\s+)?(?P<n>last|\d(?:st|nd|rd|th))\s+(?P<wd>{WEEKDAY_RE})\s+(?:of|in)\s+"
    rf"(?:(?P<m>{MONTH_RE})(?![a-z])(?:\s*,?\s*(?P<y>\d{{4}}))?|(?:the\s+)?(?P<rel>this|next)\s+month)",
    needs="w",
)
def _nth_weekday(m: re.Match[str], ctx: Context) -> Spec | None:
    n = ordinal_of(m.group("n"))
    wd = weekday_of(m.group("wd"))
    if m.group("rel"):
        first = add_months(ctx.today.replace(day=1), 1 if m.group("rel") == "next" else 0)
        d = nth_weekday_of_month(first.year, first.month, wd, n)
        return Spec(date=d) if d else None
    month = month_of(m.group("m"))
    if m.group("y"):
        d = nth_weekday_of_month(int(m.group("y")), month, wd, n)
    else:
        d = future_year(ctx, lambda y: nth_weekday_of_month(y, month, wd, n))
    return Spec(date=d) if d else None


@rule(
    r"\b(?:the\s+)?(?:(?P<n>\d{1,2})(?:st|nd|rd|th)\s+)?(?P<last>last\s+)?day\s+(?:of|in)\s+"
    rf"(?P<m>{MONTH_RE})(?![a-z])(?:\s*,?\s*(?P<y>\d{{4}}))?",
    needs="m",
)
def _nth_day(m: re.Match[str], ctx: Context) -> Spec | None:
    if not m.group("n") and not m.group("last"):
        return None
    n = int(m.group("n") or 1)
    month = month_of(m.group("m"))

    def build(year: int) -> date | None:
        if m.group("last"):
            return safe_date(year, month, month_length(year, month) - n + 1)
        return safe_date(year, month, n)

    d = build(int(m.group("y"))) if m.group("y") else future_year(ctx, build)
    return Spec(date=d) if d else None


@rule(
    r"\b(?:the\s+)?(?:(?P<n>\d{1,2})(?:st|nd|rd|th)\s+)?(?P<last>last\s+)?(?P<kind>weekend|week)"
    rf"\s+(?:of|in)\s+(?:(?P<m>{MONTH_RE})(?![a-z])(?:\s*,?\s*(?P<y>\d{{4}}))?|(?P<yo>\d{{4}}))"
)
def _nth_week(m: re.Match[str], ctx: Context) -> Spec | None:
    if not m.group("n") and not m.group("last"):
        return None
    n = int(m.group("n") or 1)
    weekend = m.group("kind") == "weekend"

    def weeks(year: int) -> list[date]:
        if m.group("yo"):
            first, last = date(year, 1, 1), date(year, 12, 31)
        else:
            month = month_of(m.group("m"))
            first = date(year, month, 1)
            last = date(year, month, month_length(year, month))
        if weekend:
            # A weekend belongs to the month holding its Saturday and Sunday.
            sats = [first + timedelta(days=i) for i in range((last - first).days)]
            return [d - timedelta(days=1) for d in sats if d.weekday() == 5]
        return full_weeks(first, last)

    def pick(year: int) -> date | None:
        found = weeks(year)
        index = -n if m.group("last") else n - 1
        return found[index] if -len(found) <= index < len(found) else None

    explicit = m.group("y") or m.group("yo")
    d = pick(int(explicit)) if explicit else future_year(ctx, pick)
    if d is None:
        return None
    if weekend:
        return weekend_spec(ctx, d, d + timedelta(days=2))
    return interval_spec(ctx, d, d + timedelta(days=7), "week")
