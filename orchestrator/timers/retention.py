"""Retention: what the clock deletes (or blanks) once it is older than its configured age.

Every tick writes `job_runs` rows, every step audit rows, every email its body, every model
call a usage row; without pruning they grow forever. Pruning runs at most once an hour, in
bounded batches, and never touches what a live request or a check still reads:

- `job_runs` older than RETENTION_JOB_RUNS_DAYS, keeping the latest run of each name (the
  health checks read it);
- audit rows older than RETENTION_AUDIT_DAYS, only of finished requests;
- email bodies older than RETENTION_MAIL_BODY_DAYS, only of finished requests: the row stays
  (its Message-ID keeps a late reply matched and a resend from happening), the text goes;
- model-usage rows older than RETENTION_LLM_USAGE_DAYS (the monthly budget reads this month);
- webhook deliveries that ended (delivered, failed, cancelled) longer ago than
  RETENTION_WEBHOOK_DAYS: each holds attendees' addresses, and an open one is still owed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from db.models import (
    FINISHED_STATUSES,
    EmailMessage,
    JobRun,
    LLMUsage,
    SchedulingAction,
    SchedulingRequest,
    WebhookDelivery,
    WebhookStatus,
)
from orchestrator.deps import Deps
from orchestrator.settings import Settings

JOB_NAME = "retention"
EVERY = timedelta(hours=1)
# Rows per table per run: a first run on a large backlog catches up over a few hours instead
# of holding one long transaction.
BATCH = 5000


def prune_if_due(deps: Deps) -> dict[str, int]:
    """Prune when the last pruning is older than an hour; the counts of what went."""
    now = deps.clock.now()
    with deps.uow() as uow:
        last = uow.session.exec(
            select(func.max(JobRun.started_at)).where(col(JobRun.name) == JOB_NAME)
        ).one()
        if last is not None and last > now - EVERY:
            return {}
        counts = prune(uow.session, settings=deps.settings, now=now)
        uow.session.add(
            JobRun(name=JOB_NAME, started_at=now, finished_at=deps.clock.now(), counts=counts)
        )
        uow.commit()
    return counts


def prune(session: Session, *, settings: Settings, now: datetime) -> dict[str, int]:
    """One bounded pass over every table with a retention age."""
    finished = select(SchedulingRequest.id).where(
        col(SchedulingRequest.status).in_([str(s) for s in FINISHED_STATUSES])
    )
    later = aliased(JobRun)
    # Older than the latest run of the same name: that one is what the health checks read.
    not_latest = (
        select(func.max(later.started_at))
        .where(col(later.name) == col(JobRun.name))
        .scalar_subquery()
    )
    counts = {
        "job_runs": _delete(
            session,
            JobRun,
            col(JobRun.started_at) < now - timedelta(days=settings.retention_job_runs_days),
            col(JobRun.started_at) < not_latest,
        ),
        "audit_rows": _delete(
            session,
            SchedulingAction,
            col(SchedulingAction.created_at) < now - timedelta(days=settings.retention_audit_days),
            col(SchedulingAction.request_id).in_(finished),
        ),
        "llm_usage": _delete(
            session,
            LLMUsage,
            col(LLMUsage.created_at) < now - timedelta(days=settings.retention_llm_usage_days),
        ),
    }
    bodies = select(EmailMessage.id).where(
        col(EmailMessage.created_at) < now - timedelta(days=settings.retention_mail_body_days),
        col(EmailMessage.request_id).in_(finished),
        col(EmailMessage.body_text) != "",
    )
    ids = list(session.exec(bodies.limit(BATCH)).all())
    if ids:
        session.execute(
            update(EmailMessage).where(col(EmailMessage.id).in_(ids)).values(body_text="")
        )
    counts["mail_bodies"] = len(ids)
    ended = select(WebhookDelivery.seq).where(
        col(WebhookDelivery.status).in_(
            [WebhookStatus.delivered, WebhookStatus.failed, WebhookStatus.cancelled]
        ),
        col(WebhookDelivery.updated_at) < now - timedelta(days=settings.retention_webhook_days),
    )
    seqs = list(session.exec(ended.limit(BATCH)).all())
    if seqs:
        session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.seq).in_(seqs)))
    counts["webhook_deliveries"] = len(seqs)
    return counts


def _delete(session: Session, model: Any, *conditions: Any) -> int:
    ids = list(session.exec(select(model.id).where(*conditions).limit(BATCH)).all())
    if ids:
        session.execute(delete(model).where(col(model.id).in_(ids)))
    return len(ids)
