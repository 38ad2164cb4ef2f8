"""Find meeting times that suit everyone on our side and are reasonable for the prospect.

Pure logic: no I/O and no clock (``now`` is a field of the query). Time is handled as half-open
``[start, end)`` intervals of aware datetimes; the finder merges busy time, intersects the windows
every rule allows and only then looks at the ``step`` grid, so its cost follows the number of busy
intervals, not the length of the search window.

Rules, in the prospect's terms since the proposal is written to them:

* **Hard** (a slot breaking one is never proposed): inside ``[window_start, window_end]``; starts
  at least ``min_notice`` after ``now``; every *required* attendee free, with ``buffer`` kept clear
  on both sides of each of their busy intervals; inside every required attendee's working hours in
  their own zone; not on a shared ``holidays`` date in the prospect's zone nor in any required
  attendee's zone, nor on a required attendee's own holiday in their zone, nor on one of the
  prospect's (``prospect_holidays``) in theirs; not in an ``avoid`` period; on a workday for the
  prospect (``prospect_weekend``, Saturday and Sunday unless told otherwise) and between 07:00
  and 20:00 for them ("never propose 5 am").
* **Soft** (changes the score): a start before 08:00 or an end after 18:00 for the prospect is
  flagged "early/late for them" and penalised; a start in a ``preferred_parts`` part of the
  prospect's day is rewarded; each optional attendee who is busy or outside their working hours
  (or on their own holiday) is listed in ``optional_conflicts`` and penalised.

``avoid`` and ``preferred_parts`` are read in the prospect's zone: "mornings, not Mondays" is what
the prospect reads in the email, and our own side's constraints are already carried by working
hours and busy time. ``avoid`` excludes rather than penalises, because a rep who says "not on
Fridays" expects never to see a Friday, even in a busy week.

Selection follows seed 000's round-robin by day: days (the prospect's dates) are ranked by their
best slot, each pass takes the best remaining slot of every day in that order, and slots picked on
one day never overlap each other. The result is in chronological order.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from zoneinfo import ZoneInfo

from skills.intervals import (
    Interval,
    clip,
    dates,
    first_on_grid,
    intersect,
    merge,
    since_midnight,
    subtract,
    wall,
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Parts of a day as offsets from local midnight; shared by preferences and avoid.
PARTS: dict[str, tuple[timedelta, timedelta]] = {
    "morning": (timedelta(hours=0), timedelta(hours=12)),
    "afternoon": (timedelta(hours=12), timedelta(hours=17)),
    "evening": (timedelta(hours=17), timedelta(hours=24)),
}

# Reasonable hours for the prospect; outside them a slot is flagged and penalised.
REASONABLE_HOURS = (timedelta(hours=8), timedelta(hours=18))
# Tolerated hours for the prospect; outside them a slot is never proposed.
TOLERATED_HOURS = (timedelta(hours=7), timedelta(hours=20))

BASE_SCORE = 100
PREFERRED_BONUS = 20
OFF_HOURS_PENALTY = 30
OPTIONAL_CONFLICT_PENALTY = 10

DEFAULT_MIN_NOTICE = timedelta(hours=4)
_DAY = timedelta(days=1)
_ZERO = timedelta(0)
# Steps back from an exclusive end to the last instant a meeting occupies.
_TICK = timedelta(microseconds=1)


def default_working_hours() -> dict[int, tuple[time, time]]:
    """Monday to Friday, 09:00-17:00 (weekday 0 is Monday)."""
    return {weekday: (time(9), time(17)) for weekday in range(5)}


@dataclass(frozen=True)
class AttendeeAvailability:
    """One internal attendee as the calendar connector sees them.

    ``busy`` holds aware ``(start, end)`` pairs in any order and any zone; ``working_hours`` maps a
    weekday (0 = Monday) to local ``(start, end)`` times in ``tz``; a missing weekday is a day off,
    and so is each of their ``holidays`` (local dates in ``tz``: their country's public holidays,
    which the caller works out). An optional attendee (``required=False``) never blocks a slot,
    only lowers its score.
    """

    email: str
    tz: str
    busy: Sequence[Interval] = ()
    working_hours: Mapping[int, tuple[time, time]] = field(default_factory=default_working_hours)
    required: bool = True
    holidays: Collection[date] = ()

    def __post_init__(self) -> None:
        ZoneInfo(self.tz)
        for weekday, (start, end) in self.working_hours.items():
            if weekday not in range(7):
                raise ValueError(f"{self.email}: weekday {weekday} is not in 0-6")
            if end <= start:
                raise ValueError(f"{self.email}: working hours end before they start")


@dataclass(frozen=True)
class SlotQuery:
    """Everything :func:`find_slots` needs; all datetimes must be timezone-aware.

    ``avoid`` entries are a weekday (``"monday"``), a part of the day (``"evening"``) or both
    (``"friday_afternoon"``); ``preferred_parts`` are parts (``"morning"``, ``"afternoon"``,
    ``"evening"``). Both are read in ``prospect_tz``. ``holidays`` are dates on which no one meets,
    in anyone's zone; ``prospect_holidays`` are the prospect's own days off (their public holidays),
    read in ``prospect_tz`` like ``prospect_weekend`` (0 = Monday). Start times fall on multiples
    of ``step`` from the prospect's local midnight.
    """

    now: datetime
    duration: timedelta
    window_start: datetime
    window_end: datetime
    attendees: Sequence[AttendeeAvailability]
    prospect_tz: str
    preferred_parts: Collection[str] = ()
    avoid: Collection[str] = ()
    buffer: timedelta = _ZERO
    min_notice: timedelta = DEFAULT_MIN_NOTICE
    holidays: Collection[date] = ()
    prospect_holidays: Collection[date] = ()
    step: timedelta = timedelta(minutes=15)
    count: int = 5
    prospect_weekend: Collection[int] = (5, 6)

    def __post_init__(self) -> None:
        for name in ("now", "window_start", "window_end"):
            if getattr(self, name).utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.duration <= _ZERO or self.step <= _ZERO:
            raise ValueError("duration and step must be positive")
        if self.buffer < _ZERO or self.min_notice < _ZERO or self.count < 0:
            raise ValueError("buffer, min_notice and count must not be negative")
        ZoneInfo(self.prospect_tz)
        unknown = set(self.preferred_parts) - set(PARTS)
        if unknown:
            raise ValueError(f"unknown preferred parts: {sorted(unknown)}")
        for token in self.avoid:
            _parse_avoid(token)


@dataclass(frozen=True)
class Slot:
    """A proposed meeting time in UTC; a higher ``score`` is better and ``reasons`` explain it."""

    start: datetime
    end: datetime
    score: int
    reasons: tuple[str, ...]
    optional_conflicts: tuple[str, ...] = ()


# --- public API -------------------------------------------------------------------------------


def find_slots(query: SlotQuery) -> list[Slot]:
    """Up to ``query.count`` non-overlapping slots spread across days, in chronological order."""
    ctx = _Context(query)
    runs = [run for block in _start_blocks(ctx) for run in _scored_runs(ctx, *block)]
    return _pick_diverse(ctx, runs)


def check_slots(
    candidates: Iterable[datetime], query: SlotQuery
) -> list[tuple[datetime, bool, str]]:
    """Test proposed start times (e.g. a prospect's counter-proposal) against our side.

    Each answer is ``(start, ok, reason)``: the first hard rule the meeting breaks, or
    ``"available"`` followed by any flags. The prospect's own hours, days off and holidays and the
    ``step`` grid are not checked, because the prospect chose the time.
    """
    ctx = _Context(query)
    answers = []
    for start in candidates:
        if start.utcoffset() is None:
            raise ValueError("candidate start times must be timezone-aware")
        problem = _hard_problem(ctx, start)
        if problem:
            answers.append((start, False, problem))
        else:
            _, reasons, _ = _assess(ctx, start)
            answers.append((start, True, "; ".join(("available", *reasons[1:]))))
    return answers


# --- context ----------------------------------------------------------------------------------


class _Attendee:
    """One attendee's merged busy time and working windows, ready for bisecting."""

    def __init__(self, person: AttendeeAvailability, duration: timedelta):
        self.email = person.email
        self.tz = ZoneInfo(person.tz)
        self.hours = person.working_hours
        self.holidays = frozenset(person.holidays)
        self.duration = duration
        self.busy = merge(person.busy)
        self.busy_ends = [end for _, end in self.busy]
        self._windows: dict[date, Interval | None] = {}

    def busy_between(self, start: datetime, end: datetime) -> bool:
        i = bisect_right(self.busy_ends, start)
        return i < len(self.busy) and self.busy[i][0] < end

    def working_at(self, start: datetime, end: datetime) -> bool:
        window = self.window_on(start.astimezone(self.tz).date())
        return window is not None and window[0] <= start and end <= window[1]

    def window_on(self, day: date) -> Interval | None:
        """Working hours on one local date, as UTC instants; cached as callers revisit days."""
        if day not in self._windows:
            hours = self.hours.get(day.weekday())
            self._windows[day] = None
            if hours and day not in self.holidays:
                start, end = (wall(day, since_midnight(t), self.tz) for t in hours)
                self._windows[day] = (start, end)
        return self._windows[day]

    def windows(self, lo: datetime, hi: datetime) -> list[Interval]:
        """Working windows on every local date touched by ``[lo, hi]``."""
        days = dates(lo.astimezone(self.tz).date(), hi.astimezone(self.tz).date())
        return [window for window in map(self.window_on, days) if window]


class _Context:
    """The query with its zones resolved, its avoid rules parsed and its search span fixed."""

    def __init__(self, query: SlotQuery):
        self.query = query
        self.ptz = ZoneInfo(query.prospect_tz)
        self.avoid = sorted({_parse_avoid(token) for token in query.avoid}, key=str)
        self.preferred = frozenset(query.preferred_parts)
        self.holidays = frozenset(query.holidays)
        self.prospect_holidays = frozenset(query.prospect_holidays)
        self.lo = max(query.window_start, query.now + query.min_notice).astimezone(UTC)
        self.hi = query.window_end.astimezone(UTC)
        people = [_Attendee(a, query.duration) for a in query.attendees]
        self.required = [p for p, a in zip(people, query.attendees, strict=True) if a.required]
        self.optional = [p for p, a in zip(people, query.attendees, strict=True) if not a.required]
        self.zones = list(dict.fromkeys([self.ptz, *(p.tz for p in self.required)]))


# --- hard rules as intervals ------------------------------------------------------------------


def _start_blocks(ctx: _Context) -> Iterator[tuple[date, datetime, int]]:
    """Each stretch of allowed start times as ``(prospect's date, first start, how many)``."""
    q = ctx.query
    for a, b in _free_time(ctx):
        first = first_on_grid(a, ctx.ptz, q.step)
        last = b - q.duration
        if first <= last:
            yield first.astimezone(ctx.ptz).date(), first, (last - first) // q.step + 1


def _free_time(ctx: _Context) -> list[Interval]:
    """Where a whole meeting may sit: allowed windows minus required busy time and buffers."""
    allowed = clip(_prospect_windows(ctx), ctx.lo, ctx.hi)
    for person in ctx.required:
        allowed = intersect(allowed, person.windows(ctx.lo, ctx.hi))
    allowed = subtract(allowed, _holiday_blocks(ctx))
    busy = merge(chain.from_iterable(person.busy for person in ctx.required))
    buffer = ctx.query.buffer
    return subtract(allowed, [(s - buffer, e + buffer) for s, e in busy])


def _prospect_windows(ctx: _Context) -> list[Interval]:
    """The prospect's tolerated hours on each of their workdays, minus the avoided periods."""
    windows: list[Interval] = []
    for day in dates(ctx.lo.astimezone(ctx.ptz).date(), ctx.hi.astimezone(ctx.ptz).date()):
        if day.weekday() in ctx.query.prospect_weekend or day in ctx.prospect_holidays:
            continue
        tolerated = [
            (wall(day, TOLERATED_HOURS[0], ctx.ptz), wall(day, TOLERATED_HOURS[1], ctx.ptz))
        ]
        # `subtract` needs its cuts in order; two avoided parts ("not mornings or evenings")
        # come in the order of their rules, not of the day.
        windows += subtract(tolerated, merge(period for _, period in _avoid_periods(ctx, day)))
    return windows


def _holiday_blocks(ctx: _Context) -> list[Interval]:
    return merge(
        (wall(day, _ZERO, tz), wall(day, _DAY, tz)) for tz in ctx.zones for day in ctx.holidays
    )


def _avoid_periods(ctx: _Context, day: date) -> list[tuple[str, Interval]]:
    """The avoided periods of one prospect-local date, each with the rule that avoids it."""
    periods = []
    for weekday, part in ctx.avoid:
        if weekday is None or weekday == day.weekday():
            lo, hi = PARTS[part] if part else (_ZERO, _DAY)
            period = (wall(day, lo, ctx.ptz), wall(day, hi, ctx.ptz))
            periods.append((_avoid_name(weekday, part), period))
    return periods


# --- soft rules and scoring -------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """Consecutive grid starts on one prospect date that share a score."""

    day: date
    first: datetime
    length: int
    score: int
    reasons: tuple[str, ...]
    conflicts: tuple[str, ...]


def _scored_runs(ctx: _Context, day: date, first: datetime, length: int) -> list[_Run]:
    """Split a stretch of starts where a soft rule may change, and score each piece."""
    q = ctx.query
    cuts = {0, length}

    def cut_at(moment: datetime) -> None:
        # The grid start at or just after ``moment``, and the next one, cover both ``<`` and ``<=``.
        index = -((first - moment) // q.step)
        cuts.update(i for i in (index, index + 1) if 0 < i < length)

    for offset in (REASONABLE_HOURS[0], *(lo for lo, _ in PARTS.values())):
        cut_at(wall(day, offset, ctx.ptz))
    cut_at(wall(day, REASONABLE_HOURS[1], ctx.ptz) - q.duration)
    last = first + (length - 1) * q.step
    for person in ctx.optional:
        for moment in _change_points(person, first, last + q.duration):
            cut_at(moment)
    edges = sorted(cuts)
    runs = []
    for i, j in zip(edges, edges[1:], strict=False):
        start = first + i * q.step
        runs.append(_Run(day, start, j - i, *_assess(ctx, start)))
    return runs


def _change_points(person: _Attendee, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """Start times around which this optional attendee's availability may change."""
    i = bisect_right(person.busy_ends, lo)
    while i < len(person.busy) and person.busy[i][0] < hi:
        yield person.busy[i][0] - person.duration
        yield person.busy[i][1]
        i += 1
    for start, end in person.windows(lo, hi):
        yield start
        yield end - person.duration


def _assess(ctx: _Context, start: datetime) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """Score, reasons and optional conflicts of a meeting starting at ``start``."""
    q = ctx.query
    local = start.astimezone(ctx.ptz)
    midnight = datetime.combine(local.date(), time())
    begins = local.replace(tzinfo=None) - midnight
    ends = (start + q.duration).astimezone(ctx.ptz).replace(tzinfo=None) - midnight
    score = BASE_SCORE
    reasons = ["all required attendees free"]
    part = next(name for name, (lo, hi) in PARTS.items() if lo <= begins < hi)
    if part in ctx.preferred:
        score += PREFERRED_BONUS
        reasons.append(f"{part} for them, as preferred")
    if begins < REASONABLE_HOURS[0]:
        score -= OFF_HOURS_PENALTY
        reasons.append(f"early for them (before 08:00 {q.prospect_tz})")
    if ends > REASONABLE_HOURS[1]:
        score -= OFF_HOURS_PENALTY
        reasons.append(f"late for them (after 18:00 {q.prospect_tz})")
    end = start + q.duration
    conflicts = tuple(
        p.email for p in ctx.optional if p.busy_between(start, end) or not p.working_at(start, end)
    )
    for email in conflicts:
        score -= OPTIONAL_CONFLICT_PENALTY
        reasons.append(f"optional {email} unavailable")
    return score, tuple(reasons), conflicts


# --- selection --------------------------------------------------------------------------------


def _pick_diverse(ctx: _Context, runs: list[_Run]) -> list[Slot]:
    """Round-robin over days ranked by their best slot; picks on one day never overlap."""
    q = ctx.query
    by_day: dict[date, list[_Run]] = {}
    for run in runs:
        by_day.setdefault(run.day, []).append(run)
    for day_runs in by_day.values():
        day_runs.sort(key=lambda r: (-r.score, r.first))
    days = sorted(by_day, key=lambda d: (-by_day[d][0].score, d))
    queues = {day: _starts_by_rank(by_day[day], q.step, q.duration) for day in days}
    picked: dict[date, list[Slot]] = {day: [] for day in days}
    total = 0
    while days and total < q.count:
        for day in list(days):
            choice = _next_apart(queues[day], picked[day], q.duration)
            if choice is None:
                days.remove(day)
                continue
            picked[day].append(choice)
            total += 1
            if total == q.count:
                break
    return sorted((slot for slots in picked.values() for slot in slots), key=lambda s: s.start)


def _next_apart(queue: Iterator[Slot], taken: list[Slot], duration: timedelta) -> Slot | None:
    """The next slot in ``queue`` that overlaps none already taken that day."""
    return next((c for c in queue if all(abs(c.start - t.start) >= duration for t in taken)), None)


def _starts_by_rank(runs: list[_Run], step: timedelta, duration: timedelta) -> Iterator[Slot]:
    for run in runs:
        for i in range(run.length):
            start = run.first + i * step
            yield Slot(start, start + duration, run.score, run.reasons, run.conflicts)


# --- hard rules one start at a time (check_slots) ---------------------------------------------


def _hard_problem(ctx: _Context, start: datetime) -> str | None:
    q = ctx.query
    end = start + q.duration
    if start < q.now:
        return "in the past"
    if start < q.now + q.min_notice:
        return f"less than {_humanize(q.min_notice)} notice"
    if start < q.window_start or end > q.window_end:
        return "outside the search window"
    for tz in ctx.zones:
        for day in _local_dates(start, end, tz):
            if day in ctx.holidays:
                return f"on a holiday ({day.isoformat()} in {tz.key})"
    for day in _local_dates(start, end, ctx.ptz):
        for name, (lo, hi) in _avoid_periods(ctx, day):
            if lo < end and start < hi:
                return f"avoided ({name})"
    for person in ctx.required:
        for day in _local_dates(start, end, person.tz):
            if day in person.holidays:
                return f"on a holiday of {person.email} ({day.isoformat()} in {person.tz.key})"
    for person in ctx.required:
        if not person.working_at(start, end):
            return f"outside working hours of {person.email}"
        if person.busy_between(start, end):
            return f"{person.email} is busy"
        if person.busy_between(start - q.buffer, end + q.buffer):
            return f"too close to another meeting of {person.email}"
    return None


def _local_dates(start: datetime, end: datetime, tz: ZoneInfo) -> Iterator[date]:
    """The local dates in ``tz`` that a meeting ``[start, end)`` touches."""
    return dates(start.astimezone(tz).date(), (end - _TICK).astimezone(tz).date())


# --- avoid rules and wording ------------------------------------------------------------------


def _parse_avoid(token: str) -> tuple[int | None, str | None]:
    """``"friday_afternoon"`` -> ``(4, "afternoon")``; plurals ("mondays") are accepted."""
    weekday: int | None = None
    part: str | None = None
    for word in token.strip().lower().replace("-", "_").replace(" ", "_").split("_"):
        word = word.removesuffix("s")
        if word in WEEKDAYS and weekday is None:
            weekday = WEEKDAYS.index(word)
        elif word in PARTS and part is None:
            part = word
        elif word:
            raise ValueError(f"cannot read avoid rule {token!r}")
    if weekday is None and part is None:
        raise ValueError(f"cannot read avoid rule {token!r}")
    return weekday, part


def _avoid_name(weekday: int | None, part: str | None) -> str:
    return "_".join(word for word in (weekday is not None and WEEKDAYS[weekday], part) if word)


def _humanize(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} min"
    return f"{minutes // 60} h"
