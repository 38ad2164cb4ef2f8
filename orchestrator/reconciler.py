"""The clock's safety net: wake whatever PostgreSQL says should be running but nobody is.

Redis only carries wake-ups. If one is lost (Redis restarted, a worker killed mid-job, a
scheduled wake-up never fired), the row is still here, and this finds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_
from sqlmodel import col, select

from db.models import ActionStatus, JobRun, JobStatus, PendingAction, SequenceJob
from orchestrator.bootstrap import Deps

# A queued wake-up normally runs within seconds; one this late is presumed lost.
LOST_WAKEUP_GRACE = timedelta(seconds=60)
BATCH = 200


@dataclass(frozen=True)
class ReconcileReport:
    jobs: int
    actions: int


def reconcile(deps: Deps) -> ReconcileReport:
    now = deps.clock.now()
    tag = f"reconcile-{int(now.timestamp())}"
    with deps.uow() as uow:
        run = JobRun(name="reconcile", started_at=now)
        jobs = uow.session.exec(
            select(SequenceJob.id)
            .where(
                or_(
                    and_(
                        col(SequenceJob.status) == JobStatus.queued,
                        col(SequenceJob.run_after) <= now - LOST_WAKEUP_GRACE,
                    ),
                    and_(
                        col(SequenceJob.status) == JobStatus.running,
                        col(SequenceJob.locked_until) < now,
                    ),
                )
            )
            .limit(BATCH)
        ).all()
        actions = uow.session.exec(
            select(PendingAction.id)
            .where(
                or_(
                    and_(
                        col(PendingAction.status) == ActionStatus.approved,
                        col(PendingAction.undo_until) <= now,
                    ),
                    and_(
                        col(PendingAction.status) == ActionStatus.executing,
                        col(PendingAction.locked_until) < now,
                    ),
                )
            )
            .limit(BATCH)
        ).all()
        run.finished_at = deps.clock.now()
        run.counts = {"jobs": len(jobs), "actions": len(actions)}
        uow.session.add(run)
        uow.commit()
    for job_id in jobs:
        deps.wakeups.run_step(job_id, tag=tag)
    for action_id in actions:
        deps.wakeups.execute_action(action_id, tag=tag)
    return ReconcileReport(jobs=len(jobs), actions=len(actions))
