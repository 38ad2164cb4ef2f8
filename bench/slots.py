"""Benchmark the slot finder against a naive 5-minute grid scan written here, in the same run.

    python bench/slots.py

1. Agreement: on 200 random, smaller scenarios (seeded, so every run is the same) the finder and
   the grid must return identical slots: same starts, ends, scores and optional conflicts.
   The scenarios vary zones (DST weeks included), steps, buffers, notice, holidays, avoid rules,
   preferences and optional attendees.
2. Speed: scenarios of 10 internal attendees x 2,000 busy intervals each over 30 days in 4 time
   zones; the median time of the finder for the top 5 and the median of the grid on the same
   scenarios; targets <= 20 ms and >= 50x.

The grid is the obvious program: every 5-minute start in the window, every rule checked
directly for that start, busy time by scanning each attendee's busy list.
"""

from __future__ import annotations

import random
import statistics
import sys
import time as clock
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skills.find_slots import (  # noqa: E402
    BASE_SCORE,
    OFF_HOURS_PENALTY,
    OPTIONAL_CONFLICT_PENALTY,
    PREFERRED_BONUS,
    AttendeeAvailability,
    SlotQuery,
    find_slots,
)

TEAM_ZONES = ("America/New_York", "America/Chicago", "Europe/London", "Europe/Berlin")
PROSPECT_ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "Europe/Paris",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Sao_Paulo",
)
AVOID_RULES = ("monday", "friday_afternoon", "evening", "wednesday_morning")
FIVE = timedelta(minutes=5)
AGREEMENT_SCENARIOS = 200
SPEED_SCENARIOS = 5
FINDER_REPEATS = 7
TARGET_MS = 20.0
TARGET_RATIO = 50.0

Answer = list[tuple[datetime, datetime, int, tuple[str, ...]]]


# --- scenarios ----------------------------------------------------------------------------------


def local(day: date, minutes: int, tz: str) -> datetime:
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes)
    return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def busy_for(rng: random.Random, tz: str, first: date, days: int, count: int) -> list:
    """A crowded calendar: a few meetings a day, each echoed by many overlapping entries.

    Real calendars repeat the same time across calendars, holds and invitations, so the
    entries overlap heavily; all times are on 5-minute marks, as calendar events are.
    """
    meetings = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        per_day = rng.randint(2, 5) if day.weekday() < 5 else rng.randint(0, 1)
        for _ in range(per_day):
            start = local(day, rng.randrange(7 * 12, 19 * 12) * 5, tz)
            meetings.append((start, start + rng.choice((15, 30, 45, 60, 90)) * FIVE / 5))
    entries = list(meetings)
    while len(entries) < count:
        start, end = rng.choice(meetings)
        marks = (end - start) // FIVE
        a = rng.randrange(marks)
        b = rng.randint(a + 1, marks)
        entries.append((start + a * FIVE, start + b * FIVE))
    entries = entries[:count]
    entries.sort()  # providers return busy time in start order
    return entries


def speed_scenario(seed: int) -> SlotQuery:
    rng = random.Random(seed)
    first = date(2026, 3, 2) + timedelta(days=rng.randrange(14))
    attendees = [
        AttendeeAvailability(
            email=f"rep{i}@example.com",
            tz=TEAM_ZONES[i % 4],
            busy=busy_for(rng, TEAM_ZONES[i % 4], first, 30, 2000),
            required=i < 3,
        )
        for i in range(10)
    ]
    start = datetime.combine(first, time(), tzinfo=UTC)
    return SlotQuery(
        now=start - timedelta(hours=3, minutes=7),
        duration=timedelta(minutes=rng.choice((30, 45, 60))),
        window_start=start,
        window_end=start + timedelta(days=30),
        attendees=attendees,
        prospect_tz=rng.choice(("America/New_York", "Europe/Paris", "America/Sao_Paulo")),
        preferred_parts=rng.choice(((), ("morning",), ("afternoon",))),
        avoid=rng.choice(((), ("friday_afternoon",), ("monday",))),
        buffer=rng.choice((timedelta(0), timedelta(minutes=10))),
        step=FIVE,
    )


def agreement_scenario(seed: int) -> SlotQuery:
    rng = random.Random(seed)
    first = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
    days = rng.randint(2, 12)
    attendees = []
    team = rng.sample(TEAM_ZONES, 2) if rng.random() < 0.8 else rng.sample(PROSPECT_ZONES, 2)
    for i in range(rng.randint(1, 5)):
        tz = rng.choice(team)
        begin = rng.choice((7, 8, 9, 10))
        hours = {d: (time(begin), time(begin + rng.choice((6, 8, 10)))) for d in range(5)}
        if rng.random() < 0.2:
            hours[5] = (time(10), time(14))
        busy = busy_for(rng, tz, first - timedelta(days=1), days + 2, rng.randint(5, 120))
        required = i == 0 or rng.random() < 0.6
        attendees.append(AttendeeAvailability(f"p{i}@example.com", tz, busy, hours, required))
    start = datetime.combine(first, time(rng.randrange(24)), tzinfo=UTC)
    holidays = tuple(first + timedelta(days=rng.randrange(days)) for _ in range(rng.randint(0, 2)))
    return SlotQuery(
        now=start - timedelta(minutes=rng.randrange(600)),
        duration=rng.choice((15, 30, 45, 60, 90)) * FIVE / 5,
        window_start=start,
        window_end=start + timedelta(days=days, hours=rng.randrange(24)),
        attendees=attendees,
        prospect_tz=rng.choice(PROSPECT_ZONES + TEAM_ZONES),
        preferred_parts=tuple(rng.sample(("morning", "afternoon", "evening"), rng.randint(0, 2))),
        avoid=tuple(rng.sample(AVOID_RULES, rng.randint(0, 2))),
        buffer=rng.choice((0, 0, 5, 10, 15)) * FIVE / 5,
        min_notice=rng.choice((0, 60, 240, 1440)) * FIVE / 5,
        holidays=holidays,
        step=rng.choice((5, 10, 15, 30, 60)) * FIVE / 5,
        count=rng.choice((1, 3, 5, 8)),
        prospect_weekend=rng.choice(((5, 6), (5, 6), (4, 5), ())),
    )


# --- the naive grid -----------------------------------------------------------------------------


@dataclass
class Candidate:
    start: datetime
    end: datetime
    score: int
    conflicts: tuple[str, ...]
    day: date


def minutes_of(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def in_working_hours(person: AttendeeAvailability, start: datetime, end: datetime) -> bool:
    tz = ZoneInfo(person.tz)
    a, b = start.astimezone(tz), end.astimezone(tz)
    hours = person.working_hours.get(a.weekday())
    if hours is None or a.date() != b.date():
        return False
    return hours[0] <= a.time() and b.time() <= hours[1]


def overlaps_busy(person: AttendeeAvailability, start: datetime, end: datetime) -> bool:
    return any(s < end and e > start for s, e in person.busy)


def part_of(minute: int) -> str:
    return "morning" if minute < 12 * 60 else "afternoon" if minute < 17 * 60 else "evening"


def avoided(q: SlotQuery, start: datetime, end: datetime) -> bool:
    tz = ZoneInfo(q.prospect_tz)
    moment = start
    while moment < end:  # every 5-minute piece of the meeting, in the prospect's zone
        here = moment.astimezone(tz)
        day, part = here.strftime("%A").lower(), part_of(minutes_of(here))
        for rule in q.avoid:
            if rule in (day, part, f"{day}_{part}"):
                return True
        moment += FIVE
    return False


def on_holiday(q: SlotQuery, start: datetime, end: datetime) -> bool:
    zones = [q.prospect_tz] + [a.tz for a in q.attendees if a.required]
    moment = start
    while moment < end:
        if any(moment.astimezone(ZoneInfo(z)).date() in q.holidays for z in zones):
            return True
        moment += FIVE
    return False


def grid_candidate(q: SlotQuery, start: datetime) -> Candidate | None:
    end = start + q.duration
    if start < q.window_start or end > q.window_end or start < q.now + q.min_notice:
        return None
    them = start.astimezone(ZoneInfo(q.prospect_tz))
    them_end = end.astimezone(ZoneInfo(q.prospect_tz))
    since_midnight = timedelta(hours=them.hour, minutes=them.minute)
    if since_midnight % q.step:
        return None
    if them_end.date() != them.date() or them.weekday() in q.prospect_weekend:
        return None
    if minutes_of(them) < 7 * 60 or minutes_of(them_end) > 20 * 60:
        return None
    if on_holiday(q, start, end) or avoided(q, start, end):
        return None
    for person in q.attendees:
        if person.required and not in_working_hours(person, start, end):
            return None
    for person in q.attendees:
        if person.required and overlaps_busy(person, start - q.buffer, end + q.buffer):
            return None
    score = BASE_SCORE
    if part_of(minutes_of(them)) in q.preferred_parts:
        score += PREFERRED_BONUS
    if minutes_of(them) < 8 * 60:
        score -= OFF_HOURS_PENALTY
    if minutes_of(them_end) > 18 * 60:
        score -= OFF_HOURS_PENALTY
    conflicts = tuple(
        p.email
        for p in q.attendees
        if not p.required and (overlaps_busy(p, start, end) or not in_working_hours(p, start, end))
    )
    score -= OPTIONAL_CONFLICT_PENALTY * len(conflicts)
    return Candidate(start, end, score, conflicts, them.date())


def grid_find(q: SlotQuery) -> Answer:
    start = q.window_start.astimezone(UTC).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 5)
    found = []
    while start + q.duration <= q.window_end:
        candidate = grid_candidate(q, start)
        if candidate:
            found.append(candidate)
        start += FIVE
    by_day: dict[date, list[Candidate]] = {}
    for c in found:
        by_day.setdefault(c.day, []).append(c)
    for cs in by_day.values():
        cs.sort(key=lambda c: (-c.score, c.start))
    days = sorted(by_day, key=lambda d: (-by_day[d][0].score, d))
    picked: dict[date, list[Candidate]] = {d: [] for d in days}
    total = 0
    progress = True
    while progress and total < q.count:
        progress = False
        for d in days:
            free = [
                c for c in by_day[d] if all(abs(c.start - p.start) >= q.duration for p in picked[d])
            ]
            if free and total < q.count:
                picked[d].append(free[0])
                total += 1
                progress = True
    chosen = sorted((c for cs in picked.values() for c in cs), key=lambda c: c.start)
    return [(c.start, c.end, c.score, c.conflicts) for c in chosen]


def finder_answer(q: SlotQuery) -> Answer:
    return [(s.start, s.end, s.score, s.optional_conflicts) for s in find_slots(q)]


# --- run ----------------------------------------------------------------------------------------


def check_agreement() -> None:
    began = clock.perf_counter()
    non_empty = 0
    for seed in range(AGREEMENT_SCENARIOS):
        q = agreement_scenario(seed)
        expected, got = grid_find(q), finder_answer(q)
        assert got == expected, f"scenario {seed}: finder {got} != grid {expected}"
        non_empty += bool(got)
    took = clock.perf_counter() - began
    print(
        f"agreement: {AGREEMENT_SCENARIOS}/{AGREEMENT_SCENARIOS} scenarios identical to the grid "
        f"({non_empty} with slots, {AGREEMENT_SCENARIOS - non_empty} with none) in {took:.1f} s"
    )


def measure_speed() -> tuple[float, float]:
    finder_ms: list[float] = []
    grid_ms: list[float] = []
    for seed in range(SPEED_SCENARIOS):
        q = speed_scenario(1000 + seed)
        for _ in range(FINDER_REPEATS):
            began = clock.perf_counter()
            got = finder_answer(q)
            finder_ms.append((clock.perf_counter() - began) * 1000)
        began = clock.perf_counter()
        expected = grid_find(q)
        grid_ms.append((clock.perf_counter() - began) * 1000)
        assert got == expected, f"speed scenario {seed}: finder {got} != grid {expected}"
        assert len(got) == q.count, f"speed scenario {seed} found only {len(got)} slots"
    return statistics.median(finder_ms), statistics.median(grid_ms)


def main() -> int:
    print("slot finder bench: 10 attendees x 2,000 busy intervals, 30 days, 4 zones, top 5")
    print("(busy lists in start order, as calendar APIs return them; 3 required, 7 optional)")
    check_agreement()
    finder, grid = measure_speed()
    ratio = grid / finder
    print(f"finder median: {finder:8.2f} ms   (target <= {TARGET_MS:.0f} ms)")
    print(f"grid median:   {grid:8.2f} ms   (naive 5-minute grid, same scenarios)")
    print(f"speed-up:      {ratio:8.1f} x   (target >= {TARGET_RATIO:.0f} x)")
    ok = finder <= TARGET_MS and ratio >= TARGET_RATIO
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
