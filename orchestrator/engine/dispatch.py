"""`dispatch(event)`: one sequence job per idempotency key, however often the event arrives."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from db.models import JobStatus, SequenceJob
from db.upsert import insert_many_or_ignore, insert_or_ignore
from orchestrator.deps import Deps
from orchestrator.engine.events import Event


def insert_job(session: Session, event: Event, *, now: datetime) -> tuple[SequenceJob, bool]:
    """Insert the event's job in the caller's transaction; `(job, created)`.

    `INSERT … ON CONFLICT DO NOTHING` makes concurrent duplicates (Slack retries, double
    webhooks) collapse onto the first row without aborting the surrounding transaction.
    """
    created = insert_or_ignore(session, model=SequenceJob, values=_job_values(event, now=now))
    job = session.exec(
        select(SequenceJob).where(SequenceJob.idempotency_key == event.idempotency_key)
    ).one()
    return job, created


def insert_jobs(session: Session, events: list[Event], *, now: datetime) -> list[uuid.UUID]:
    """`insert_job` for a batch (the clock's due work) in one statement; the ids of the jobs
    this call created (a key already taken creates nothing)."""
    if not events:
        return []
    # Key order: two clocks inserting overlapping batches take the keys in the same order.
    rows = [_job_values(e, now=now) for e in sorted(events, key=lambda e: e.idempotency_key)]
    return [row["id"] for row in insert_many_or_ignore(session, model=SequenceJob, rows=rows)]


def _job_values(event: Event, *, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "org_id": event.org_id,
        "rep_id": event.rep_id,
        "request_id": event.request_id,
        "event_type": event.type,
        "event_source": event.source,
        "trigger_payload": event.payload.to_json(),
        "parent_job_id": event.parent_job_id,
        "idempotency_key": event.idempotency_key,
        "correlation_id": event.correlation_id or uuid.uuid4().hex,
        "status": JobStatus.queued,
        "current_step": 0,
        "steps_completed": [],
        "outputs": {},
        "attempts": 0,
        "run_after": now,
        "created_at": now,
        "updated_at": now,
    }


def dispatch(deps: Deps, event: Event) -> uuid.UUID:
    """Record the event's job and wake a worker for it. Returns the job id (new or existing)."""
    with deps.uow() as uow:
        job, created = insert_job(uow.session, event, now=deps.clock.now())
        uow.commit()
    if created:
        deps.wakeups.run_step(job.id, tag="0-0")
    return job.id
