"""Turn a Spec into aware datetimes, using ``now`` and the writer's zone."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from .calendar_math import safe_date
from .context import Context
from .durations import shift_date, shift_instant
from .lexicon import PARTS_OF_DAY, PM_PARTS, WEEKDAY_NAMES
from .spec import Spec
from .zones import localize, zone_name


def _earlier(a: datetime, b: datetime) -> bool:
    """``a < b`` as instants; same-zone comparison would ignore DST folds (PEP 495)."""
    return a.astimezone(UTC) < b.astimezone(UTC)


_DATE_FIELDS = ("year", "month", "day", "weekday", "weekday_mode", "date", "holiday")


@dataclass(slots=True)
class Resolved:
    start: datetime
    end: datetime | None
    grain: str
    tz_name: str
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def confidence(self) -> str:
        levels = {level for level, _ in self.notes}
        return "low" if "low" in levels else "medium" if "medium" in levels else "high"


def _context_for(spec: Spec, ctx: Context) -> Context:
    if spec.tz is None:
        return ctx
    return Context(ctx.now.astimezone(spec.tz), spec.tz, zone_name(spec.tz), ctx.dayfirst)


# ---- days ------------------------------------------------------------------------------


def _weekday_date(wd: int, mode: str, today: date) -> date:
    ahead = (wd - today.weekday()) % 7
    monday = today - timedelta(days=today.weekday())
    if mode == "this":
        return today + timedelta(days=ahead)
    if mode == "next":
        return monday + timedelta(days=7 + wd)
    if mode == "after_next":
        return today + timedelta(days=(ahead or 7) + 7)
    if mode == "last":
        return today - timedelta(days=(today.weekday() - wd) % 7 or 7)
    if mode == "this_week":
        return monday + timedelta(days=wd)
    if mode == "next_week":
        return monday + timedelta(days=7 + wd)
    if mode == "last_week":
        return monday + timedelta(days=wd - 7)
    # A bare weekday is the next one to come; on a Tuesday "Tuesday" means next week's.
    return today + timedelta(days=ahead or 7)


def _calendar_date(spec: Spec, today: date, notes: list[tuple[str, str]]) -> date | None:
    year, month, day, wd = spec.year, spec.month, spec.day, spec.weekday
    if month is None and day is None:
        return None
    if day is None:
        assert month is not None
        y = year if year is not None else today.year + (month < today.month)
        return date(y, month, 1)
    candidates: list[date] = []
    if month is not None and year is not None:
        d = safe_date(year, month, day)
        candidates = [d] if d else []
    elif month is not None:
        # Year rollover: "Jan 5" written in December is next January.  With a weekday,
        # look one more year ahead for the year where the two agree ("Fri, Jul 18").
        for y in range(today.year, today.year + 9):
            d = safe_date(y, month, day)
            if d and d >= today:
                candidates.append(d)
            if len(candidates) == 2:
                break
    else:
        # "the 15th" / "Monday the 5th": the next month that has that day (and weekday).
        first = today.replace(day=1)
        for k in range(13):
            index = first.year * 12 + first.month - 1 + k
            d = safe_date(index // 12, index % 12 + 1, day)
            if d and d >= today:
                candidates.append(d)
        if wd is None:
            candidates = candidates[:1]
    if not candidates:
        return None
    if wd is not None:
        for d in candidates:
            if d.weekday() == wd:
                return d
        notes.append(
            (
                "low",
                f"{WEEKDAY_NAMES[wd]} does not match {candidates[0]:%b %d %Y} "
                f"(a {WEEKDAY_NAMES[candidates[0].weekday()]}); kept the date",
            )
        )
    return candidates[0]


def resolve_day(
    spec: Spec, ctx: Context, notes: list[tuple[str, str]] | None = None
) -> date | None:
    """The calendar day a spec names, or None when it names none."""
    notes = notes if notes is not None else []
    c = _context_for(spec, ctx)
    today = c.today
    d: date | None
    if spec.date is not None:
        d = spec.date
    elif spec.instant is not None:
        d = spec.instant.astimezone(c.tz).date()
    elif spec.interval is not None:
        d = spec.interval.start.astimezone(c.tz).date()
    elif spec.holiday is not None:
        if spec.year is not None:
            d = spec.holiday(spec.year)
        else:
            d = spec.holiday(today.year)
            if d < today:
                d = spec.holiday(today.year + 1)
    elif spec.month is not None or spec.day is not None:
        d = _calendar_date(spec, today, notes)
    elif spec.weekday is not None:
        d = _weekday_date(spec.weekday, spec.weekday_mode, today)
    else:
        return None
    if d is not None and spec.shift is not None:
        d = shift_date(d, *spec.shift)
    return d


# ---- clock -------------------------------------------------------------------------------


def _hour24(spec: Spec, notes: list[tuple[str, str]]) -> int:
    h = spec.hour
    assert h is not None
    ap = spec.meridiem
    if ap == "am":
        return 0 if h == 12 else h
    if ap == "pm":
        return h if h >= 12 else h + 12
    if h == 0 or h >= 13:
        return h
    if spec.pod is not None:
        if spec.pod in PM_PARTS:
            if h == 12:
                return 0 if "night" in spec.pod else 12
            return h + 12 if h >= 5 or "night" not in spec.pod else h
        return h if h != 12 else 12
    # Business rule: a bare 7-11 is morning, 12 is noon, 1-6 is afternoon.
    if 1 <= h <= 6:
        notes.append(("medium", f"bare {h} read as {h} PM (business hours)"))
        return h + 12
    if h != 12:
        notes.append(("medium", f"bare {h} read as {h} AM (business hours)"))
    return h


def _infer_range_meridiem(a: Spec, b: Spec) -> tuple[Spec, Spec]:
    """Give the unmarked end of a clock range the meridiem that keeps it in order."""

    def value(h: int, ap: str) -> int:
        return (0 if h == 12 else h) + (12 if ap == "pm" else 0)

    if a.hour is None or b.hour is None or a.pod or b.pod:
        return a, b
    a_free = a.meridiem is None and 1 <= a.hour <= 12
    b_free = b.meridiem is None and 1 <= b.hour <= 12
    if a_free and b.meridiem:
        ap = b.meridiem
        end = value(b.hour, ap)
        if value(a.hour, ap) > end:
            ap = "am" if ap == "pm" else "pm"
        return replace(a, meridiem=ap), b
    if b_free and a.meridiem and a.hour <= 12:
        ap = a.meridiem
        if value(b.hour, ap) < value(a.hour, ap):
            ap = "am" if ap == "pm" else "pm"
        return a, replace(b, meridiem=ap)
    return a, b


# ---- whole specs ---------------------------------------------------------------------------


def resolve(spec: Spec, ctx: Context) -> Resolved | None:
    """Resolve a spec (a point, period or range) against the context."""
    if spec.end is not None:
        return _resolve_range(spec, spec.end, ctx)
    out = _resolve_point(spec, ctx)
    if out is None:
        return None
    if spec.before:
        return Resolved(ctx.now, out.start, out.grain, out.tz_name, out.notes)
    if spec.open_end and out.grain in ("minute", "hour"):
        # "After 3" on a day leaves the rest of that day open.
        tz = _context_for(spec, ctx).tz
        out.end = localize(out.start.astimezone(tz).date() + timedelta(days=1), 0, 0, tz)[0]
    elif spec.open_end:
        out.end = None
    return out


def _resolve_point(spec: Spec, ctx: Context) -> Resolved | None:
    c = _context_for(spec, ctx)
    notes = list(spec.notes)
    if spec.interval is not None:
        iv = spec.interval
        start = iv.start.astimezone(c.tz)
        end = iv.end.astimezone(c.tz) if iv.end else None
        if spec.duration is not None:
            end = start + spec.duration
        return Resolved(start, end, iv.grain, c.tz_name, notes)
    if spec.instant is not None:
        start = spec.instant.astimezone(c.tz)
        if spec.shift is not None:
            start = shift_instant(start, spec.shift[0], spec.shift[1], c)
        end = start + spec.duration if spec.duration is not None else None
        return Resolved(start, end, spec.instant_grain, c.tz_name, notes)
    day = resolve_day(spec, ctx, notes)
    explicit_day = day is not None
    if spec.hour is not None:
        hour = _hour24(spec, notes)
        minute = spec.minute or 0
        if day is None:
            day = c.today
            if _earlier(localize(day, hour, minute, c.tz)[0], c.now):
                day += timedelta(days=1)
        start, dst_note = localize(day, hour, minute, c.tz)
        if dst_note:
            notes.append(("low", dst_note))
        grain = "minute" if spec.minute is not None else "hour"
        end = start + spec.duration if spec.duration is not None else None
        return Resolved(start, end, grain, c.tz_name, notes)
    if spec.pod is not None:
        first, last = PARTS_OF_DAY[spec.pod]
        if day is None:
            day = c.today
            if not _earlier(c.now, localize(day, 0, 0, c.tz)[0] + timedelta(hours=last)):
                day += timedelta(days=1)
        start = localize(day, first, 0, c.tz)[0]
        end = localize(day + timedelta(days=last // 24), last % 24, 0, c.tz)[0]
        return Resolved(start, end, "part_of_day", c.tz_name, notes)
    if not explicit_day or day is None:
        return None
    start = localize(day, 0, 0, c.tz)[0]
    grain = "day"
    if spec.day is None and spec.month is not None and spec.date is None:
        grain = "month"
        nxt = safe_date(day.year + day.month // 12, day.month % 12 + 1, 1)
        end = localize(nxt, 0, 0, c.tz)[0] if nxt else None
    else:
        end = localize(day + timedelta(days=1), 0, 0, c.tz)[0]
    if spec.duration is not None:
        end = start + spec.duration
    return Resolved(start, end, grain, c.tz_name, notes)


def _weekday_only(s: Spec) -> bool:
    return s.weekday is not None and s.month is None and s.day is None and s.date is None


def _copy_date_fields(src: Spec, dst: Spec) -> None:
    for name in _DATE_FIELDS:
        setattr(dst, name, getattr(src, name))


def _resolve_range(a_in: Spec, b_in: Spec, ctx: Context) -> Resolved | None:
    a = a_in.copy()
    a.end = None
    b = b_in.copy()
    if not b.has_date() and b.instant is None and a.has_date():
        _copy_date_fields(a, b)
    elif not a.has_date() and a.instant is None and b.has_date():
        _copy_date_fields(b, a)
    elif a.day is not None and a.month is None and a.weekday is None and b.month is not None:
        # "between the 9th and the 17th of April": the month named once covers both ends.
        a.month, a.year = b.month, b.year
    if a.year is None and b.year is None and a.month and b.month and a.day and b.day:
        # A date range without a year is the next one that has not ended yet: "3 - 5 May"
        # on 4 May is this one, so the start takes the end's year.
        last = resolve_day(b, ctx)
        if last is not None:
            b.year = last.year
            a.year = last.year - ((a.month, a.day) > (b.month, b.day))
    elif a.year is None and a.month is not None and b.year is not None:
        a.year = b.year
        if b.month is not None and (a.month, a.day or 1) > (b.month, b.day or 1):
            a.year -= 1
    elif b.year is None and b.month is not None and a.year is not None:
        b.year = a.year
        if a.month is not None and (b.month, b.day or 1) < (a.month, a.day or 1):
            b.year += 1
    if b.tz is None:
        b.tz, b.tz_label = a.tz, a.tz_label
    if a.tz is None:
        a.tz, a.tz_label = b.tz, b.tz_label
    if a.pod is None and b.pod is not None and a.hour is not None:
        a.pod = b.pod
    if b.pod is None and a.pod is not None and b.hour is not None:
        b.pod = a.pod
    a, b = _infer_range_meridiem(a, b)
    ra = _resolve_point(a, ctx)
    if ra is None:
        return None
    if b.hour is not None and not b.has_date() and b.instant is None:
        b.date = ra.start.astimezone(b.tz or ctx.tz).date()  # a time-only end shares the day
    rb = _resolve_point(b, ctx)
    if rb is None:
        return ra
    end = rb.end if rb.grain in ("day", "week", "month", "part_of_day") and rb.end else rb.start
    if _weekday_only(b) and rb.end is not None:
        # "Monday to Wednesday" said on a Tuesday: the Wednesday after that Monday.
        while not _earlier(ra.start, end):
            end += timedelta(weeks=1)
    same_moment = not _earlier(ra.start, end) and not _earlier(end, ra.start)
    if same_moment and a.tz_label and b.tz_label and a.tz_label != b.tz_label:
        # "2pm EST - 1pm CST": one moment written in two zones, not a range.
        return Resolved(ra.start, None, ra.grain, ra.tz_name, ra.notes + rb.notes)
    if b.hour is not None and not _earlier(ra.start, end):
        if b.meridiem is None and b.hour < 12 and a.meridiem is None and (a.hour or 0) < 12:
            end += timedelta(hours=12)
        while not _earlier(ra.start, end):
            end += timedelta(days=1)
    return Resolved(ra.start, end, ra.grain, ra.tz_name, ra.notes + rb.notes)
