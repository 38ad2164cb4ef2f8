"""The clock's safety net: repair whatever a crash between two commits left behind.

Redis only carries wake-ups, and every side effect commits before the next one starts, so a
process that dies between two commits leaves a row that says what should happen next. Each
such state is found here (the boundaries are the `crashpoint` names in the runner and outbox):

- a job `queued` whose wake-up never ran (lost from Redis, or enqueued by a process that died
  after its commit: runner.step_committed, runner.failure_recorded, runner.resumed);
- a job `running` whose lease ran out (its worker died or stalled mid-step: runner.leased);
- a job parked in `waiting_approval` with no open action left: the decision or the send was
  committed, but the process died before waking the job (outbox.decided, outbox.finished);
- an action `approved` past its undo window, or `executing` past its lease (its wake-up was
  lost, or its worker died before, during or after the provider call: outbox.decided,
  outbox.claimed, outbox.provider_called, outbox.failure_recorded);
- a card that still shows an older status than its action (outbox.finished, after a decision).

A late row is not always a lost one: when workers are behind, its wake-up is still waiting in
the queue. Re-waking those would grow the very backlog that made them late, so a row whose
wake-up waits is left alone, and a row re-woken once is not re-woken again while it stays in
the same state (its wake-up's id names that state: `WakeUps.rewake_step`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, text
from sqlmodel import col, select

from db.models import (
    CARD_LAG_WHERE,
    OPEN_ACTION_WHERE,
    PARKED_JOB_WHERE,
    JobRun,
    JobStatus,
    PendingAction,
    SequenceJob,
)
from orchestrator.deps import Deps
from orchestrator.engine.runner import resume_if_decided
from orchestrator.outbox.approval_cards import refresh_card
from orchestrator.outbox.claims import claimable

# A queued wake-up normally runs within seconds; one this late is presumed lost.
LOST_WAKEUP_GRACE = timedelta(seconds=60)
# A card Slack keeps refusing to update (deleted, archived DM) is given up after this.
CARD_REPAIR_WINDOW = timedelta(days=1)
BATCH = 200


@dataclass(frozen=True)
class ReconcileReport:
    jobs: int
    actions: int
    resumed: int = 0
    cards: int = 0


def reconcile(deps: Deps) -> ReconcileReport:
    now = deps.clock.now()
    tag = f"reconcile-{int(now.timestamp())}"
    with deps.uow() as uow:
        run = JobRun(name="reconcile", started_at=now)
        late_jobs = uow.session.exec(
            select(
                SequenceJob.id,
                SequenceJob.current_step,
                SequenceJob.attempts,
                SequenceJob.updated_at,
            )
            .where(lost_jobs(now))
            .limit(BATCH)
        ).all()
        parked = uow.session.exec(
            select(SequenceJob.id).where(*parked_without_action()).limit(BATCH)
        ).all()
        late_actions = uow.session.exec(
            select(PendingAction.id, PendingAction.attempts, PendingAction.updated_at)
            .where(claimable(now))
            .limit(BATCH)
        ).all()
        waiting = deps.wakeups.waiting() if late_jobs or late_actions else None
        jobs = [
            (job_id, f"{step}-{attempts}-{_stamp(updated)}")
            for job_id, step, attempts, updated in late_jobs
            if waiting is None or job_id not in waiting.steps
        ]
        actions = [
            (action_id, f"{attempts}-{_stamp(updated)}")
            for action_id, attempts, updated in late_actions
            if waiting is None or action_id not in waiting.actions
        ]
        stale_cards = uow.session.exec(
            select(PendingAction.id).where(*lagging_cards(now)).limit(BATCH)
        ).all()
        run.finished_at = deps.clock.now()
        run.counts = {
            "jobs": len(jobs),
            "actions": len(actions),
            "resumed": len(parked),
            "cards": len(stale_cards),
        }
        uow.session.add(run)
        uow.commit()
    for job_id, version in jobs:
        deps.wakeups.rewake_step(job_id, version=version)
    for job_id in parked:
        resume_if_decided(deps, job_id, tag=tag)
    for action_id, version in actions:
        deps.wakeups.rewake_action(action_id, version=version)
    for action_id in stale_cards:
        refresh_card(deps, action_id)
    return ReconcileReport(
        jobs=len(jobs), actions=len(actions), resumed=len(parked), cards=len(stale_cards)
    )


# What each of the reconciler's reads looks for (the tick's probe reads the same rows).


def lost_jobs(now: datetime) -> ColumnElement[bool]:
    """Queued past the grace with no wake-up run, or running past their lease."""
    return or_(
        and_(
            col(SequenceJob.status) == JobStatus.queued,
            col(SequenceJob.run_after) <= now - LOST_WAKEUP_GRACE,
        ),
        and_(
            col(SequenceJob.status) == JobStatus.running,
            col(SequenceJob.locked_until) < now,
        ),
    )


def parked_without_action() -> list[Any]:
    """Parked for a decision with no open action left. Both sides are partial indexes' own
    text, so the check reads two small indexes and no table rows."""
    open_action = (
        select(PendingAction.id)
        .where(col(PendingAction.job_id) == col(SequenceJob.id))
        .where(text(OPEN_ACTION_WHERE))
        .exists()
    )
    return [text(PARKED_JOB_WHERE), ~open_action]


def lagging_cards(now: datetime) -> list[Any]:
    """A card is redrawn right after its action's commit; one still behind a minute later
    lost that redraw. An executing action's card keeps showing the approval until done."""
    return [
        # Posted, not executing, drawn with another status: the partial index's own text.
        text(CARD_LAG_WHERE),
        col(PendingAction.updated_at) <= now - LOST_WAKEUP_GRACE,
        col(PendingAction.updated_at) > now - CARD_REPAIR_WINDOW,
    ]


def _stamp(at: datetime) -> str:
    """A row's last write, to the millisecond: with its step and attempt, its state's name."""
    return str(int(at.timestamp() * 1000))
