"""Partial time specifications: what one atom (or a group of atoms) says about a time.

An atom rarely says everything: "Tuesday" gives a weekday, "3pm" a clock, "EST" a zone.
Neighbouring specs merge when they say different things, and the merged spec is resolved
against ``now`` only at the end, so word order ("3pm tomorrow" / "tomorrow at 3pm") and the
choice of zone do not matter while parsing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date as Date
from datetime import datetime, timedelta, tzinfo


@dataclass(frozen=True, slots=True)
class Interval:
    """An already resolved period (weeks, month parts, windows)."""

    start: datetime
    end: datetime | None
    grain: str


@dataclass(slots=True)
class Spec:
    """Everything an expression has said so far; ``None`` means "not said"."""

    # calendar
    year: int | None = None
    month: int | None = None
    day: int | None = None
    weekday: int | None = None
    weekday_mode: str = "bare"
    date: Date | None = None
    holiday: Callable[[int], Date] | None = None
    # clock
    hour: int | None = None
    minute: int | None = None
    meridiem: str | None = None
    weak: bool = False
    pod: str | None = None
    # zone
    tz: tzinfo | None = None
    tz_label: str | None = None
    # already resolved forms
    instant: datetime | None = None
    instant_grain: str = "minute"
    is_now: bool = False  # the instant is "now" itself, so a day can re-anchor it
    # "that day", "that week": the unit of a day named earlier; still set after reading when
    # nothing earlier in the text names one (see ``anaphora``).
    anaphor: str | None = None
    interval: Interval | None = None
    # modifiers
    duration: timedelta | None = None
    shift: tuple[float, str] | None = None
    op: Callable[[Spec], Spec | None] | None = None
    end: Spec | None = None
    open_end: bool = False
    before: bool = False
    excluded: bool = False
    notes: list[tuple[str, str]] = field(default_factory=list)  # (confidence, why)

    # ---- what kind of thing this is -------------------------------------------------
    def has_date(self) -> bool:
        return (
            self.date is not None
            or self.month is not None
            or self.day is not None
            or self.weekday is not None
            or self.holiday is not None
            or self.year is not None
        )

    def has_clock(self) -> bool:
        return self.hour is not None

    def is_resolved_form(self) -> bool:
        return self.instant is not None or self.interval is not None

    def copy(self) -> Spec:
        # Hot path: a field-by-field copy is an order of magnitude cheaper than replace().
        new = object.__new__(Spec)
        for name in _FIELD_NAMES:
            object.__setattr__(new, name, getattr(self, name))
        new.notes = list(self.notes)
        return new


_FIELD_NAMES = tuple(f.name for f in fields(Spec))

# Fields that two specs may not both set; the rest are flags or derived.
_EXCLUSIVE = (
    "year",
    "month",
    "day",
    "weekday",
    "date",
    "holiday",
    "hour",
    "minute",
    "meridiem",
    "pod",
    "tz",
    "instant",
    "interval",
    "duration",
    "shift",
)
_COPY_ALWAYS = tuple(f.name for f in fields(Spec) if f.name not in _EXCLUSIVE)


def merge(a: Spec, b: Spec) -> Spec | None:
    """Combine two neighbouring specs, or ``None`` when they contradict or cannot combine."""
    if a.op is not None or b.op is not None or a.end is not None or b.end is not None:
        return None
    if a.excluded != b.excluded:
        return None
    for name in _EXCLUSIVE:
        if getattr(a, name) is not None and getattr(b, name) is not None:
            return None
    # A concrete day and calendar fields would be two different answers to "which day".
    if (a.date is not None or b.date is not None) and (
        a.month or b.month or a.day or b.day or a.weekday is not None or b.weekday is not None
    ):
        return None
    if a.is_resolved_form() or b.is_resolved_form():
        return _merge_resolved(a, b)
    if (a.pod and (b.minute is not None and b.hour is None)) or (
        b.pod and (a.minute is not None and a.hour is None)
    ):
        return None
    out = a.copy()
    for name in _EXCLUSIVE:
        v = getattr(b, name)
        if v is not None:
            setattr(out, name, v)
    if b.weekday is not None:
        out.weekday_mode = b.weekday_mode
    if b.tz_label is not None:
        out.tz_label = b.tz_label
    # A bare number next to a date or part of day is a clock time ("9 tomorrow").
    out.weak = (a.weak or b.weak) and not (a.has_date() or b.has_date() or out.pod or out.meridiem)
    out.open_end = a.open_end or b.open_end
    out.anaphor = a.anaphor or b.anaphor
    out.before = a.before or b.before
    out.notes = a.notes + b.notes
    return out


def _merge_resolved(a: Spec, b: Spec) -> Spec | None:
    base, other = (a, b) if a.is_resolved_form() else (b, a)
    if other.is_resolved_form():
        return None
    if base.instant is not None and other.hour is not None and not other.has_date():
        # "in 7 days at 5pm": the offset picks the day, the clock the time.
        out = other.copy()
        out.date = base.instant.date()
        out.weak = False
        return out
    if base.instant is not None and other.date is not None and other.hour is None:
        if base.is_now:  # "this time tomorrow": that day at the current time of day
            out = other.copy()
            out.hour, out.minute = base.instant.hour, base.instant.minute
            out.meridiem = "am" if out.hour < 12 else None
            return out
        return base.copy()  # "today in one hour"
    if other.tz is not None and not other.has_date() and other.hour is None:
        return base.copy()
    if other.duration is not None and not other.has_date() and other.hour is None:
        out = base.copy()
        out.duration = other.duration
        return out
    return None
