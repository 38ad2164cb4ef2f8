"""`run_step`: lease a job row, run exactly one step, commit everything it produced at once.

The step's output, its pending actions, its follow-up events and the job's next state are
written in one transaction; wake-ups are enqueued only after that commit. A crash before the
commit leaves the row leased (`running`) until its lease runs out, when the reconciler wakes
it again and the step runs from the start. Each lease writes a fresh token to `locked_by`, and
the step commits only while that token still holds the row: a worker that stalled past its
lease, and was taken over, throws its work away instead of writing it a second time.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from connectors.errors import ReconnectRequired, TransientError
from db.models import OPEN_ACTION_STATUSES, JobStatus, PendingAction, SequenceJob
from orchestrator import error_reporting
from orchestrator.deps import Deps
from orchestrator.engine.crashpoints import crashpoint
from orchestrator.engine.dispatch import insert_job
from orchestrator.engine.event_types import EventType
from orchestrator.engine.events import (
    Event,
    ProposedAction,
    Step,
    StepContext,
    StepPorts,
    StepResult,
)
from orchestrator.engine.outputs import StepOutput
from orchestrator.engine.sequences import SEQUENCES
from orchestrator.llm_budget import BudgetedModels
from orchestrator.notices.post import post_notice
from orchestrator.outbox.expiry import proposed_expiry
from orchestrator.outbox.recipients import check as check_recipients

log = structlog.get_logger(__name__)

TRANSIENT = (TransientError, TimeoutError, ConnectionError)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempt: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at 5 minutes."""
    return timedelta(seconds=min(300, 5 * 2 ** max(0, attempt - 1)))


def lease(session: Session, job_id: uuid.UUID, *, now: datetime, seconds: int) -> str | None:
    """Conditionally take the row and return this lease's token; None when another worker
    holds it or it is not runnable."""
    token = f"{WORKER_ID}/{uuid.uuid4().hex}"
    result = session.execute(
        update(SequenceJob)
        .where(col(SequenceJob.id) == job_id)
        .where(col(SequenceJob.status).in_([JobStatus.queued, JobStatus.running]))
        .where(col(SequenceJob.run_after) <= now)
        .where(or_(col(SequenceJob.locked_until).is_(None), col(SequenceJob.locked_until) < now))
        .values(
            status=JobStatus.running,
            locked_by=token,
            locked_until=now + timedelta(seconds=seconds),
            attempts=SequenceJob.attempts + 1,
            updated_at=now,
        )
    )
    return token if result.rowcount == 1 else None  # type: ignore[attr-defined]


def _fence(session: Session, job_id: uuid.UUID, token: str) -> bool:
    """Lock the row if `token` still holds the lease, for the rest of this transaction (the
    no-op write takes PostgreSQL's row lock, so no take-over can land before our commit)."""
    result = session.execute(
        update(SequenceJob)
        .where(col(SequenceJob.id) == job_id)
        .where(col(SequenceJob.status) == JobStatus.running)
        .where(col(SequenceJob.locked_by) == token)
        .values(locked_by=token)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _lease_lost(job_id: uuid.UUID) -> str:
    log.warning("step_lease_lost", job_id=str(job_id))
    return "lease-lost"


def step_ports(deps: Deps) -> StepPorts:
    """What a step may use of `deps`, read as it is now (tests swap adapters on a live Deps)."""
    models = BudgetedModels(
        deps.llm,
        sessions=deps.sessions,
        clock=deps.clock,
        monthly_budget_usd=deps.settings.llm_monthly_budget_usd,
    )
    return StepPorts(
        chat=deps.chat,
        cards=deps.cards,
        calendar_for=deps.calendar_for,
        llm_for=models.llm_for,
        notices=deps.notices,
        mail_domain=deps.settings.mail_domain,
        dm_per_hour_cap=deps.settings.dm_per_hour_cap,
        holiday_country=deps.settings.holiday_country,
        meeting_buffer=timedelta(minutes=deps.settings.meeting_buffer_minutes),
    )


def run_step(deps: Deps, job_id: uuid.UUID) -> str:
    now = deps.clock.now()
    with deps.uow() as uow:
        token = lease(uow.session, job_id, now=now, seconds=deps.settings.step_lease_seconds)
        if token is None:
            return "not-runnable"
        uow.commit()
    crashpoint("runner.leased")

    with deps.uow() as uow:
        job = uow.session.get_one(SequenceJob, job_id)
        if job.locked_by != token:
            return _lease_lost(job_id)
        step = SEQUENCES[EventType(job.event_type)][job.current_step]
        bound = log.bind(job_id=str(job.id), step=step.name, correlation_id=job.correlation_id)
        try:
            result = step.handler(
                job, StepContext(session=uow.session, ports=step_ports(deps), now=now)
            )
            check_recipients(uow.session, job, result.actions)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
            uow.session.rollback()
            bound.warning("step_failed", error=repr(exc))
            error_reporting.report(exc)
            return _record_failure(deps, job_id, token, step, exc, now=now)
        crashpoint("runner.step_ran")
        if not _fence(uow.session, job_id, token):
            return _lease_lost(job_id)
        wake = _apply(uow.session, job, step, result, now=now)
        uow.commit()
        bound.info("step_done", status=job.status)
    crashpoint("runner.step_committed")
    _send_wakeups(deps, *wake)
    return job.status


Wake = tuple[uuid.UUID, str, datetime | None]  # a job, its wake-up's tag, and when (None: now)


def _apply(
    session: Session, job: SequenceJob, step: Step, result: StepResult, *, now: datetime
) -> tuple[list[Wake], list[uuid.UUID]]:
    """Write the result and the next state; return the (jobs, actions) to wake after commit."""
    if result.defer_until is not None:
        # The step asked to run again later; the row's run_after lets the clock re-wake it.
        job.status = JobStatus.queued
        job.run_after = result.defer_until
        job.attempts = 0
        job.locked_by = None
        job.locked_until = None
        job.updated_at = now
        session.add(job)
        tag = f"{job.current_step}-deferred-{result.defer_until.timestamp():.0f}"
        return [(job.id, tag, result.defer_until)], []
    output = result.output
    stored = output.to_json() if isinstance(output, StepOutput) else output
    job.outputs = {**job.outputs, step.name: stored}
    job.steps_completed = [*job.steps_completed, step.name]
    actions = [_pending_action(session, job, proposed, now=now) for proposed in result.actions]
    session.add_all(actions)
    children = [
        insert_job(session, _child_event(job, event), now=now)[0] for event in result.events
    ]
    last = job.current_step + 1 >= len(SEQUENCES[EventType(job.event_type)])
    job.current_step += 1
    job.attempts = 0
    job.last_error = None
    job.locked_by = None
    job.locked_until = None
    job.updated_at = now
    wake_jobs: list[Wake] = [
        (child.id, "0-0", None) for child in children if child.status == JobStatus.queued
    ]
    if result.stop or last:
        job.status = JobStatus.done
    elif step.approval and actions:
        job.status = JobStatus.waiting_approval
    else:
        job.status = JobStatus.queued
        job.run_after = now
        wake_jobs.append((job.id, f"{job.current_step}-0", None))
    session.add(job)
    return wake_jobs, [action.id for action in actions]


def _pending_action(
    session: Session, job: SequenceJob, proposed: ProposedAction, *, now: datetime
) -> PendingAction:
    assert job.rep_id is not None, "actions need a rep to approve them"
    action = PendingAction(
        org_id=job.org_id,
        rep_id=job.rep_id,
        request_id=job.request_id,
        job_id=job.id,
        action_type=proposed.action_type,
        action_data=proposed.action_data.to_json(),
        confidence=proposed.confidence,
        reasoning=proposed.reasoning,
        idempotency_key=f"{job.id}:{proposed.key}",
        expires_at=proposed_expiry(session, job, proposed, now=now),
        created_at=now,
        updated_at=now,
    )
    return action


def _child_event(job: SequenceJob, event: Event) -> Event:
    return Event(
        type=event.type,
        org_id=event.org_id,
        idempotency_key=event.idempotency_key,
        source=event.source,
        rep_id=event.rep_id,
        request_id=event.request_id,
        payload=event.payload,
        parent_job_id=job.id,
        correlation_id=job.correlation_id,
    )


def _record_failure(
    deps: Deps, job_id: uuid.UUID, token: str, step: Step, exc: Exception, *, now: datetime
) -> str:
    with deps.uow() as uow:
        if not _fence(uow.session, job_id, token):
            return _lease_lost(job_id)
        job = uow.session.get_one(SequenceJob, job_id)
        job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        job.locked_by = None
        job.locked_until = None
        job.updated_at = now
        retry_at: datetime | None = None
        if isinstance(exc, TRANSIENT) and job.attempts < deps.settings.max_step_attempts:
            job.status = JobStatus.queued
            job.run_after = retry_at = now + backoff(job.attempts)
        elif step.critical:
            job.status = JobStatus.failed
        else:
            # Best-effort step: note the failure and carry on with the next step.
            job.outputs = {**job.outputs, step.name: {"error": job.last_error}}
            job.current_step += 1
            job.attempts = 0
            last = job.current_step >= len(SEQUENCES[EventType(job.event_type)])
            job.status = JobStatus.done if last else JobStatus.queued
            job.run_after = retry_at = now
        uow.session.add(job)
        uow.commit()
    crashpoint("runner.failure_recorded")
    if retry_at is not None and job.status == JobStatus.queued:
        deps.wakeups.run_step(job.id, tag=f"{job.current_step}-{job.attempts}", at=retry_at)
    if job.status == JobStatus.failed:
        post_notice(deps.notices, rep_id=job.rep_id, text=_failure_message(step, exc))
    return job.status


def _failure_message(step: Step, exc: Exception) -> str:
    what = step.name.replace("_", " ")
    if isinstance(exc, ReconnectRequired):
        # Retrying cannot fix a revoked grant; only the rep can, so say exactly how.
        return (
            f":electric_plug: I lost access to a calendar or mailbox while working on *{what}* "
            f"({exc}). Reconnect with `/schedule connect` and schedule it again. "
            "Nothing was sent."
        )
    error = f"{type(exc).__name__}: {exc}"
    return f":warning: Convene could not finish *{what}*: {error}. Nothing was sent."


def _send_wakeups(deps: Deps, jobs: list[Wake], actions: list[uuid.UUID]) -> None:
    for job_id, tag, at in jobs:
        deps.wakeups.run_step(job_id, tag=tag, at=at)
    for action_id in actions:
        deps.wakeups.post_action_card(action_id)


def resume_if_decided(deps: Deps, job_id: uuid.UUID | None, *, tag: str = "resume") -> None:
    """Wake a job parked in `waiting_approval` once none of its actions is still open."""
    if job_id is None:
        return
    now = deps.clock.now()
    with deps.uow() as uow:
        still_open = uow.session.exec(
            select(PendingAction.id)
            .where(PendingAction.job_id == job_id)
            .where(col(PendingAction.status).in_(OPEN_ACTION_STATUSES))
        ).first()
        if still_open is not None:
            return
        result = uow.session.execute(
            update(SequenceJob)
            .where(col(SequenceJob.id) == job_id)
            .where(col(SequenceJob.status) == JobStatus.waiting_approval)
            .values(status=JobStatus.queued, run_after=now, updated_at=now)
        )
        uow.commit()
    if result.rowcount == 1:  # type: ignore[attr-defined]
        crashpoint("runner.resumed")
        deps.wakeups.run_step(job_id, tag=tag)
