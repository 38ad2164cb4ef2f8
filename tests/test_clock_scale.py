"""The clock costs what is due, not what exists.

Thousands of rows are seeded in bulk (one INSERT per table), then the clock's own tick runs
against them: a newly due meeting is found however many older ones wait unanswered, two clocks
side by side dispatch each due item once, and an idle tick issues the same three statements
whatever the size.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlmodel import SQLModel, col, select

from db.models import (
    JobStatus,
    Rep,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.deps import Deps
from orchestrator.engine.embedded import drain
from orchestrator.engine.event_types import EventType
from orchestrator.engine.wakeups import WakeUps
from orchestrator.timers.due import dispatch_due
from orchestrator.timers.tick import tick
from orchestrator.views import start_token
from tests.support.stack import Stack

ORG = "T0SCALE"


# --- seeding in bulk ----------------------------------------------------------------------------


def _bulk(deps: Deps, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    if rows:
        with deps.uow() as uow:
            uow.session.execute(insert(model), rows)
            uow.commit()


def _rows(prototype: SQLModel, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One dict per row: the prototype's columns (defaults included) with each row's changes.
    Building ten thousand model objects would take longer than inserting them."""
    base = prototype.model_dump()
    return [{**base, "id": uuid.uuid4(), **change} for change in changes]


def seed_reps(deps: Deps, count: int, *, quiet: tuple[str, str] | None = None) -> list[uuid.UUID]:
    now = deps.clock.now()
    prototype = Rep(
        org_id=ORG,
        slack_user_id="",
        email="",
        timezone="UTC",
        quiet_hours_start=quiet[0] if quiet else None,
        quiet_hours_end=quiet[1] if quiet else None,
        created_at=now - timedelta(days=30),
    )
    rows = _rows(
        prototype,
        [
            {"slack_user_id": f"U{uuid.uuid4().hex[:10].upper()}", "email": f"r{i}@n.example"}
            for i in range(count)
        ],
    )
    _bulk(deps, Rep, rows)
    return [r["id"] for r in rows]


def seed_requests(
    deps: Deps,
    reps: list[uuid.UUID],
    count: int,
    *,
    status: str = RequestStatus.awaiting_response,
    meeting_start: Any = None,  # a function of the row's index, or None
    next_action_at: Any = None,
    updated_at: datetime | None = None,
    asked: str | None = None,  # this event's job already exists (asked, not answered)
) -> list[uuid.UUID]:
    now = deps.clock.now()
    prototype = SchedulingRequest(
        org_id=ORG,
        rep_id=reps[0],
        ref="",
        status=status,
        attempt_count=1,
        created_at=now - timedelta(days=10),
        updated_at=updated_at or now - timedelta(days=1),
    )
    changes = []
    for i in range(count):
        start = meeting_start(i) if meeting_start else None
        due = next_action_at(i) if next_action_at else None
        changes.append(
            {
                "rep_id": reps[i % len(reps)],
                "ref": f"S-{i}-{uuid.uuid4().hex[:8]}",
                "meeting_start": start,
                "meeting_end": start + timedelta(minutes=30) if start else None,
                "next_action_at": due,
                "next_action_type": "follow_up" if due else None,
            }
        )
    requests = _rows(prototype, changes)
    _bulk(deps, SchedulingRequest, requests)
    attendee = SchedulingAttendee(
        org_id=ORG, request_id=requests[0]["id"], side="external", email="", created_at=now
    )
    _bulk(
        deps,
        SchedulingAttendee,
        _rows(
            attendee,
            [
                {"request_id": r["id"], "email": f"p{i}@prospect.example"}
                for i, r in enumerate(requests)
            ],
        ),
    )
    if asked:
        job = SequenceJob(
            org_id=ORG,
            event_type=EventType.meeting_ended
            if asked == "meeting_ended"
            else EventType.reminder_due,
            event_source="clock",
            idempotency_key="",
            correlation_id="",
            status=JobStatus.done,
            run_after=now - timedelta(hours=1),
            created_at=now - timedelta(hours=1),
            updated_at=now - timedelta(hours=1),
        )
        _bulk(
            deps,
            SequenceJob,
            _rows(
                job,
                [
                    {
                        "rep_id": r["rep_id"],
                        "request_id": r["id"],
                        "idempotency_key": f"{asked}:{r['id']}:{start_token(r['meeting_start'])}",
                        "correlation_id": uuid.uuid4().hex,
                    }
                    for r in requests
                ],
            ),
        )
    return [r["id"] for r in requests]


def settle(deps: Deps) -> None:
    """Tick until the clock finds nothing more to do: a backlog as large as these may take it
    more than one tick's budget."""
    for _ in range(20):
        if not any(tick(deps).due.counts().values()):
            return
    raise AssertionError("the clock never settled")


def jobs_for(deps: Deps, request_id: uuid.UUID, event_type: str) -> list[SequenceJob]:
    with deps.uow() as uow:
        return list(
            uow.session.exec(
                select(SequenceJob)
                .where(col(SequenceJob.request_id) == request_id)
                .where(col(SequenceJob.event_type) == event_type)
            )
        )


class RecordingWakeUps(WakeUps):
    """The real wake-ups, remembering each job they were asked to run (from any thread)."""

    def __init__(self, inner: WakeUps) -> None:
        super().__init__(inner.queue)
        self.steps: list[uuid.UUID] = []
        self._lock = threading.Lock()

    def run_step(self, job_id: uuid.UUID, *, tag: str, at: datetime | None = None) -> None:
        with self._lock:
            self.steps.append(job_id)
        super().run_step(job_id, tag=tag, at=at)


# --- 1. a newly due meeting is never stuck behind older ones ------------------------------------

OLDER = 10_000


@pytest.mark.parametrize("older", ["asked", "quiet_hours"])
def test_a_newly_ended_meeting_is_asked_about_next_tick(stack: Stack, older: str) -> None:
    """10k meetings that ended earlier wait on the rep (already asked and unanswered, or their
    rep is in quiet hours); one that just ended is asked about on the very next tick."""
    deps, now = stack.deps, stack.clock.now()
    crowd = seed_reps(deps, 100, quiet=("00:00", "23:59") if older == "quiet_hours" else None)
    seed_requests(
        deps,
        crowd,
        OLDER,
        status=RequestStatus.confirmed,
        # Ended between 20 minutes and 5 days ago, all well inside the week the clock asks in.
        meeting_start=lambda i: now - timedelta(minutes=50) - timedelta(seconds=40 * i),
        asked="meeting_ended" if older == "asked" else None,
    )
    settle(deps)  # whatever the clock makes of the crowd, it has had its turn

    stack.clock.advance(timedelta(minutes=5))
    (rep,) = seed_reps(deps, 1)
    (fresh,) = seed_requests(
        deps,
        [rep],
        1,
        status=RequestStatus.confirmed,
        meeting_start=lambda _: stack.clock.now() - timedelta(minutes=45),
    )
    tick(deps)
    assert len(jobs_for(deps, fresh, EventType.meeting_ended)) == 1


def test_a_newly_due_reminder_is_sent_next_tick(stack: Stack) -> None:
    """10k meetings later today whose reminders were already drafted (and not yet approved,
    so they are still `confirmed`); a meeting booked now for tonight is reminded next tick."""
    deps, now = stack.deps, stack.clock.now()  # 14:00 UTC: every meeting's 08:00 has passed
    crowd = seed_reps(deps, 100)
    seed_requests(
        deps,
        crowd,
        OLDER,
        status=RequestStatus.confirmed,
        meeting_start=lambda i: now + timedelta(hours=1) + timedelta(seconds=2 * i),
        asked="reminder",
    )
    settle(deps)

    (rep,) = seed_reps(deps, 1)
    (fresh,) = seed_requests(
        deps,
        [rep],
        1,
        status=RequestStatus.confirmed,
        meeting_start=lambda _: now + timedelta(hours=9),
    )
    tick(deps)
    assert len(jobs_for(deps, fresh, EventType.reminder_due)) == 1


# --- 2. two clocks side by side -----------------------------------------------------------------


def test_two_clocks_dispatch_each_due_item_once(pg_stack: Stack) -> None:
    """Two clocks tick at the same moment over 10k requests, a tenth of them due (follow-ups,
    reminders, meetings just ended) and 100 reps' morning briefs: each item becomes one job
    with one wake-up between them."""
    deps, now = pg_stack.deps, pg_stack.clock.now()
    reps = seed_reps(deps, 100)
    seed_requests(  # not due: a follow-up tomorrow, a meeting next week
        deps, reps, 4000, next_action_at=lambda i: now + timedelta(days=1, seconds=i)
    )
    seed_requests(
        deps,
        reps,
        5000,
        status=RequestStatus.confirmed,
        meeting_start=lambda i: now + timedelta(days=7, seconds=i),
    )
    due = {
        EventType.follow_up_due: seed_requests(
            deps, reps, 500, next_action_at=lambda i: now - timedelta(seconds=i)
        ),
        EventType.reminder_due: seed_requests(
            deps,
            reps,
            250,
            status=RequestStatus.confirmed,
            meeting_start=lambda i: now + timedelta(hours=2, seconds=i),
        ),
        EventType.meeting_ended: seed_requests(
            deps,
            reps,
            250,
            status=RequestStatus.confirmed,
            meeting_start=lambda i: now - timedelta(hours=1, seconds=i),
        ),
    }
    wakeups = RecordingWakeUps(deps.wakeups)
    deps.wakeups = wakeups
    start = threading.Barrier(2)
    reports = []

    def clock() -> None:
        start.wait()
        # Tick until a tick finds nothing (a loaded machine may spend a tick's budget first).
        for _ in range(20):
            reports.append(report := dispatch_due(deps))
            if not any(report.counts().values()):
                return

    clocks = [threading.Thread(target=clock) for _ in range(2)]
    for c in clocks:
        c.start()
    for c in clocks:
        c.join(timeout=300)
    assert not any(c.is_alive() for c in clocks)
    assert not any(r.errors for r in reports), reports

    with deps.uow() as uow:
        jobs = list(
            uow.session.exec(select(SequenceJob).where(SequenceJob.event_source == "clock"))
        )
    for event_type, request_ids in due.items():
        made = Counter(j.request_id for j in jobs if j.event_type == event_type)
        assert set(made) == set(request_ids), event_type
        assert set(made.values()) == {1}, event_type
    briefs = Counter(j.rep_id for j in jobs if j.event_type == EventType.morning_brief_due)
    assert set(briefs) == set(reps) and set(briefs.values()) == {1}
    assert len(jobs) == 1000 + len(reps)
    # One wake-up per job, from one clock or the other.
    assert Counter(wakeups.steps) == Counter(j.id for j in jobs)
    total = Counter[str]()
    for report in reports:
        total.update(report.counts())
    assert (total["reminders"], total["meeting_checks"], total["briefs"]) == (250, 250, 100)
    assert total["requests"] == 500  # claimed once between them


# --- 3. an idle tick costs the same at any size -------------------------------------------------


@contextmanager
def statements(deps: Deps) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(deps.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(deps.engine, "before_cursor_execute", count)


def grow_and_settle(deps: Deps, reps: list[uuid.UUID], count: int) -> None:
    """Add requests that are not due (half chasing a reply tomorrow, half booked next week),
    then let the clock read every new meeting once and run its hourly work."""
    now = deps.clock.now()
    half = count // 2
    seed_requests(deps, reps, half, next_action_at=lambda i: now + timedelta(days=1, seconds=i))
    seed_requests(
        deps,
        reps,
        count - half,
        status=RequestStatus.confirmed,
        meeting_start=lambda i: now + timedelta(days=7, seconds=i),
    )
    settle(deps)
    drain(deps)  # the morning briefs it started run


def idle_tick(deps: Deps) -> list[str]:
    deps.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]
    with statements(deps) as seen:
        report = tick(deps)
    assert not any(report.due.counts().values()), report.line()
    assert report.reconciled.jobs == report.reconciled.actions == 0, report.line()
    return seen


def test_an_idle_tick_issues_the_same_few_statements_at_any_size(stack: Stack) -> None:
    deps = stack.deps
    reps = seed_reps(deps, 10)
    grow_and_settle(deps, reps, 100)
    small = idle_tick(deps)
    grow_and_settle(deps, reps, 4900)
    large = idle_tick(deps)
    assert len(large) == len(small), (len(small), len(large))
    # One read asks every part whether anything is due, then the clock's heartbeat row and the
    # read of which mailboxes to poll: no part reads its table when the answer is no.
    assert len(large) <= 3, large
    (probe,) = [s for s in large if "FROM sequence_jobs" in s]
    assert "FROM reps" in probe and "FROM pending_actions" in probe, probe
