"""Health: is this deployment ready to serve (`/readyz`), and what has gone wrong in it.

`readiness` answers a load balancer or an orchestrator's probe: the database, Redis, the
schema revision, and whether a clock and a worker are alive. `find_problems` is what an
on-call engineer wants to hear about; the clock runs it every few minutes and posts each
finding once to OPS_CHANNEL (`report_if_due`), and `convene doctor --health` lists them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, func, text
from sqlmodel import Session, col, select

from db.models import (
    STOPPED_STATUSES,
    ActionStatus,
    EmailMessage,
    JobRun,
    JobStatus,
    PendingAction,
    SchedulingRequest,
    SequenceJob,
    SlackNotification,
)
from db.upsert import insert_or_ignore
from orchestrator.deps import Deps

log = structlog.get_logger(__name__)

CLOCK_RUN = "dispatch_due"  # the job_runs row every clock tick writes: its heartbeat
HEALTH_RUN = "health"
EVERY = timedelta(minutes=10)
RECENT = timedelta(hours=24)  # failures older than this were already reported or are moot
KIND = "ops_finding"
# A send-failure rate worth waking someone for: at least this many sends in the last hour,
# and at least this share of them failed.
RATE_WINDOW = timedelta(hours=1)
RATE_MIN_SENDS = 5
RATE_THRESHOLD = 0.2


@dataclass(frozen=True)
class Finding:
    key: str  # the same problem keeps the same key, so it is reported once
    text: str


# --- readiness -----------------------------------------------------------------------------------


def clock_alive(session: Session, deps: Deps, now: datetime) -> bool:
    last = session.exec(
        select(func.max(JobRun.started_at)).where(col(JobRun.name) == CLOCK_RUN)
    ).one()
    if last is None:
        return False
    allowed = timedelta(seconds=max(3 * deps.settings.clock_interval_seconds, 120))
    return last >= now - allowed


def worker_alive(deps: Deps) -> bool:
    """Some worker is registered in Redis (RQ expires a worker that stops heartbeating).
    Without REDIS_URL the worker runs inside `convene web`, so it lives as long as this does."""
    if deps.settings.redis_url is None:
        return True
    from rq import Worker

    return bool(Worker.all(connection=deps.redis))


def readiness(deps: Deps) -> tuple[bool, dict[str, str]]:
    """Every check by name, "ok" or what is wrong; ready only when all are ok."""
    from db.migrate import schema_problem

    checks: dict[str, str] = {}
    now = deps.clock.now()
    try:
        with deps.sessions() as session:
            session.execute(text("SELECT 1"))
            checks["database"] = "ok"
            checks["clock"] = "ok" if clock_alive(session, deps, now) else "no recent tick"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"error: {type(exc).__name__}"
        checks["clock"] = "unknown"
    try:
        deps.redis.ping()
        checks["redis"] = "ok"
        checks["worker"] = "ok" if worker_alive(deps) else "no worker registered"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
        checks["worker"] = "unknown"
    if checks["database"] == "ok":
        try:
            checks["schema"] = schema_problem(deps.settings.database_url) or "ok"
        except Exception as exc:  # noqa: BLE001
            checks["schema"] = f"error: {type(exc).__name__}"
    return all(v == "ok" for v in checks.values()), checks


# --- findings ------------------------------------------------------------------------------------


def find_problems(deps: Deps) -> list[Finding]:
    now = deps.clock.now()
    found: list[Finding] = []
    with deps.sessions() as session:
        found += _stale_requests(session, deps, now)
        found += _sent_without_thread(session, now)
        found += _failed_actions(session, now)
        found += _failed_jobs(session, now)
        found += _send_failure_rate(session, now)
        day = now.date().isoformat()
        if not clock_alive(session, deps, now):
            found.append(
                Finding(f"clock_dead:{day}", "No clock tick recently: is `convene clock` running?")
            )
    try:
        worker = worker_alive(deps)
    except Exception:  # noqa: BLE001 - Redis down: the worker cannot be seen, say that
        worker = False
    if not worker:
        found.append(
            Finding(
                f"worker_dead:{now.date().isoformat()}",
                "No worker registered in Redis: is `convene worker` running (and Redis up)?",
            )
        )
    return found


def _stale_requests(session: Session, deps: Deps, now: datetime) -> list[Finding]:
    """Live requests untouched for STALE_REQUEST_HOURS with no wake-up ahead and no open card:
    nobody, Convene or the rep, is going to move them."""
    hours = deps.settings.stale_request_hours
    open_card = select(PendingAction.request_id).where(
        col(PendingAction.status).in_([ActionStatus.pending, ActionStatus.approved])
    )
    rows = session.exec(
        select(SchedulingRequest)
        .where(col(SchedulingRequest.status).not_in([str(s) for s in STOPPED_STATUSES]))
        .where(col(SchedulingRequest.updated_at) < now - timedelta(hours=hours))
        .where(
            col(SchedulingRequest.next_action_at).is_(None)
            | (col(SchedulingRequest.next_action_at) < now - timedelta(hours=1))
        )
        .where(col(SchedulingRequest.id).not_in(open_card))
        .limit(50)
    ).all()
    return [
        Finding(
            f"stale:{r.id}",
            f"Request {r.ref} ({r.status}) has not moved for {hours}h and has no wake-up or "
            "open card.",
        )
        for r in rows
    ]


def _sent_without_thread(session: Session, now: datetime) -> list[Finding]:
    rows = session.exec(
        select(EmailMessage)
        .where(col(EmailMessage.direction) == "outbound")
        .where(col(EmailMessage.status) == "sent")
        .where(col(EmailMessage.thread_id).is_(None))
        .where(col(EmailMessage.created_at) >= now - RECENT)
        .limit(50)
    ).all()
    return [
        Finding(
            f"no_thread:{m.id}",
            f"Sent email {m.message_id} has no thread id: replies to it may not be matched.",
        )
        for m in rows
    ]


def _failed_actions(session: Session, now: datetime) -> list[Finding]:
    rows = session.exec(
        select(PendingAction)
        .where(col(PendingAction.status) == ActionStatus.failed)
        .where(col(PendingAction.updated_at) >= now - RECENT)
        .limit(50)
    ).all()
    return [
        Finding(
            f"failed_action:{a.id}",
            f"{a.action_type} {a.id} failed: {(a.error or 'no error recorded')[:200]}",
        )
        for a in rows
    ]


def _failed_jobs(session: Session, now: datetime) -> list[Finding]:
    rows = session.exec(
        select(SequenceJob)
        .where(col(SequenceJob.status) == JobStatus.failed)
        .where(col(SequenceJob.updated_at) >= now - RECENT)
        .limit(50)
    ).all()
    return [
        Finding(
            f"failed_job:{j.id}",
            f"{j.event_type} job {j.id} failed after {j.attempts} attempt(s): "
            f"{(j.last_error or 'no error recorded')[:200]}",
        )
        for j in rows
    ]


def _send_failure_rate(session: Session, now: datetime) -> list[Finding]:
    rows = session.exec(
        select(PendingAction.status, func.count())
        .where(col(PendingAction.status).in_([ActionStatus.executed, ActionStatus.failed]))
        .where(col(PendingAction.updated_at) >= now - RATE_WINDOW)
        .group_by(col(PendingAction.status))
    ).all()
    counts = {str(status): int(n) for status, n in rows}
    total = sum(counts.values())
    failed = counts.get(ActionStatus.failed, 0)
    if total < RATE_MIN_SENDS or failed / total < RATE_THRESHOLD:
        return []
    hour = now.replace(minute=0, second=0, microsecond=0).isoformat()
    return [
        Finding(
            f"send_failure_rate:{hour}",
            f"{failed} of {total} sends in the last hour failed: check the mail and calendar "
            "providers.",
        )
    ]


# --- reporting -----------------------------------------------------------------------------------


def report_if_due(deps: Deps) -> int:
    """Every EVERY: post each new finding once to OPS_CHANNEL (or log it, without one)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        last = uow.session.exec(
            select(func.max(JobRun.started_at)).where(col(JobRun.name) == HEALTH_RUN)
        ).one()
        if last is not None and last > now - EVERY:
            return 0
        uow.session.add(JobRun(name=HEALTH_RUN, started_at=now))
        uow.commit()
    posted = 0
    for finding in find_problems(deps):
        posted += _report_once(deps, finding, now)
    return posted


def _report_once(deps: Deps, finding: Finding, now: datetime) -> int:
    key = f"{KIND}:{finding.key}"
    channel = deps.settings.ops_channel or ""
    with deps.uow() as uow:
        claimed = insert_or_ignore(
            uow.session,
            model=SlackNotification,
            values={
                "id": uuid.uuid4(),
                "org_id": "ops",
                "kind": KIND,
                "dedupe_key": key,
                "channel": channel,
                "text": finding.text,
                "sent_at": now,
            },
        )
        uow.commit()
    if not claimed:
        return 0
    log.warning("health_finding", key=finding.key, finding=finding.text)
    if not channel:
        return 0
    try:
        deps.chat.post_message(channel=channel, text=f":rotating_light: {finding.text}")
    except Exception as exc:  # noqa: BLE001 - un-claim, so the next run tries again
        log.warning("health_post_failed", key=finding.key, error=repr(exc))
        with deps.uow() as uow:
            uow.session.execute(
                delete(SlackNotification).where(col(SlackNotification.dedupe_key) == key)
            )
            uow.commit()
        return 0
    return 1
