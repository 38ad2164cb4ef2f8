"""Morning briefs on the clock: which reps it looks at on a tick, and when it looks again.

Each rep's row keeps when the clock next looks at their brief (`reps.next_brief_at`): their
brief time in their own zone, or, for a brief that has to wait, when quiet hours end or the
hourly cap may have room. A tick reads only the reps whose time has come, through the column's
index, instead of every rep. NULL means "not worked out yet": a new rep, one whose brief time,
zone or quiet hours just changed, or one whose brief was held back after it was dispatched
(`steps.brief`); the next tick reads them and writes their time.

Whether a brief is due is decided as before, from the rep's wall clock (08:00 local across DST
changes; a brief time skipped by a spring-forward gap fires right after the jump), what they
were already sent and their earlier brief jobs today; the stored time only says when to look.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from db.models import JobStatus, Rep, SequenceJob
from orchestrator.deps import Deps
from orchestrator.engine.dispatch import insert_jobs
from orchestrator.engine.event_types import BriefDue, EventType
from orchestrator.engine.events import Event
from orchestrator.notices.gate import already_sent, brief_key, gates, parse_clock, rep_zone
from orchestrator.notices.post import gate_opens

BATCH = 200
# A rep woken before their brief time (only in a spring-forward gap, whose wall-clock time
# has no instant) is looked at again this soon.
RECHECK = timedelta(minutes=1)
# A rep with no readable brief time gets no brief; their row is looked at again daily.
NO_BRIEF_RECHECK = timedelta(days=1)


def brief_due(now: datetime) -> Any:
    """The reps whose brief the clock should look at now (the tick's probe reads this too)."""
    return or_(col(Rep.next_brief_at).is_(None), col(Rep.next_brief_at) <= now)


def any_brief_due(now: datetime) -> Any:
    """`brief_due` as the tick's probe asks it: each half through the column's index (a
    time not worked out yet, then the earliest time), touching no rep whose time is ahead."""
    unset = select(Rep.id).where(col(Rep.next_brief_at).is_(None)).exists()
    earliest = select(func.min(Rep.next_brief_at)).scalar_subquery()
    return or_(unset, earliest <= now)


def dispatch_briefs(deps: Deps, now: datetime, *, lock: Any) -> tuple[int, int]:
    """One batch of due reps: a brief job for each whose brief is due and whose gate is open,
    and the time to look again for every one of them, in the same transaction."""
    created: list[uuid.UUID] = []
    with deps.uow() as uow:
        session = uow.session
        reps = list(session.exec(lock(session, select(Rep).where(brief_due(now)).limit(BATCH))))
        if not reps:
            return 0, 0
        later: dict[uuid.UUID, datetime] = {}
        due: list[tuple[Rep, str]] = []
        for rep in reps:
            day, looks = _past_brief_time(rep, now)
            if day is None:
                later[rep.id] = looks
            else:
                due.append((rep, day))
                later[rep.id] = looks  # the next day's brief time, unless held below
        created = _start_briefs(deps, session, due, now=now, later=later)
        for rep in reps:
            rep.next_brief_at = max(later[rep.id], now + RECHECK)
            session.add(rep)
        uow.commit()
    for job_id in created:
        deps.wakeups.run_step(job_id, tag="0-0")
    return len(reps), len(created)


def _start_briefs(
    deps: Deps,
    session: Session,
    due: list[tuple[Rep, str]],
    *,
    now: datetime,
    later: dict[uuid.UUID, datetime],
) -> list[uuid.UUID]:
    """Insert today's brief job for each rep still owed one whose gate is open; a rep whose
    gate is closed is looked at again when it may open."""
    if not due:
        return []
    sent = already_sent(session, dedupe_keys=[brief_key(rep.id, day) for rep, day in due])
    due = [(rep, day) for rep, day in due if brief_key(rep.id, day) not in sent]
    earlier: dict[str, list[SequenceJob]] = defaultdict(list)
    for job in _recent_brief_jobs(session, [rep.id for rep, _ in due], now=now):
        earlier[job.idempotency_key.split("#")[0]].append(job)
    # Only a brief held back (quiet hours, the hourly cap) is tried again; one that ran,
    # failed, or had nothing to say is the day's last word. (A held brief's step clears the
    # rep's time, so the clock reads them again on its next tick.)
    due = [
        (rep, day)
        for rep, day in due
        if all(_was_held(j) for j in earlier[f"morning_brief:{rep.id}:{day}"])
    ]
    verdicts = gates(
        session, reps=[rep for rep, _ in due], now=now, cap=deps.settings.dm_per_hour_cap
    )
    events = []
    for rep, day in due:
        if not verdicts[rep.id].open:
            later[rep.id] = gate_opens(rep, verdicts[rep.id], now)
            continue
        base = f"morning_brief:{rep.id}:{day}"
        today = earlier[base]
        key = base if not today else f"{base}#{len(today) + 1}"
        events.append(
            Event(
                type=EventType.morning_brief_due,
                org_id=rep.org_id,
                idempotency_key=key,
                source="clock",
                rep_id=rep.id,
                payload=BriefDue(day=day),
            )
        )
    return insert_jobs(session, events, now=now)


def _past_brief_time(rep: Rep, now: datetime) -> tuple[str | None, datetime]:
    """(the rep's local date, when to look next) when their brief time has passed today,
    their time; else (None, when it will pass).

    A rep who joined after today's brief time gets their first brief tomorrow: a brief
    minutes after signing up would only repeat what they just did.
    """
    at = parse_clock(rep.brief_time)
    if at is None:
        return None, now + NO_BRIEF_RECHECK
    zone = rep_zone(rep)
    local = now.astimezone(zone)
    today = local.date()
    tomorrow = _instant(today + timedelta(days=1), at, zone)
    if local.time() < at:
        return None, _instant(today, at, zone)
    joined = rep.created_at.astimezone(zone)
    if (joined.date(), joined.time()) > (today, at):
        return None, tomorrow
    return today.isoformat(), tomorrow


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The first moment `at` is on the wall clock that day: of a time repeated by a fall-back,
    the first; of one skipped by a spring-forward, a moment before the jump (looked at again
    each RECHECK until the wall clock gets there)."""
    return min(
        datetime.combine(day, at, tzinfo=zone).replace(fold=fold).astimezone(UTC) for fold in (0, 1)
    )


def _recent_brief_jobs(
    session: Session, rep_ids: list[uuid.UUID], *, now: datetime
) -> list[SequenceJob]:
    if not rep_ids:
        return []
    # A local date spans at most 50 hours of UTC, so this window holds every job of "today".
    return list(
        session.exec(
            select(SequenceJob)
            .where(SequenceJob.event_type == EventType.morning_brief_due)
            .where(col(SequenceJob.rep_id).in_(rep_ids))
            .where(col(SequenceJob.created_at) >= now - timedelta(hours=50))
        ).all()
    )


def _was_held(job: SequenceJob) -> bool:
    return job.status == JobStatus.done and "held" in job.outputs.get("send_brief", {})
