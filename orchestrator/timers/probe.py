"""The tick's first read: is anything due, kind by kind? One statement for all of them.

Each kind's answer is an EXISTS over the very conditions its part queries with (the part
exports them), served by an index holding only what can come due; the tick then runs only
the parts with work. An idle tick is this read and the clock's heartbeat row, whatever the
number of requests, reps or jobs.

The probe only decides whether to look: each part still reads and claims its rows in its own
transaction, as a concurrent clock may have taken them in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func
from sqlmodel import col, select

from db.models import (
    JobRun,
    PendingAction,
    SchedulingRequest,
    SequenceJob,
    SlackNotification,
    WebhookDelivery,
)
from orchestrator.deps import Deps
from orchestrator.health import EVERY as HEALTH_EVERY
from orchestrator.health import HEALTH_RUN
from orchestrator.notices.post import held_over
from orchestrator.outbox.approval_cards import unposted_cards
from orchestrator.outbox.claims import claimable
from orchestrator.timers import retention, stalled
from orchestrator.timers.briefs import any_brief_due
from orchestrator.timers.due import DUE_WORK
from orchestrator.timers.pre_meeting import briefs_to_look_at
from orchestrator.timers.reconciler import lagging_cards, lost_jobs, parked_without_action
from orchestrator.webhooks.deliver import open_deliveries

# Where each of dispatch_due's parts reads.
DUE_TABLES: dict[str, Any] = {
    "requests": SchedulingRequest,
    "expired": PendingAction,
    "meetings_watched": SchedulingRequest,
    "reminders": SchedulingRequest,
    "meeting_checks": SchedulingRequest,
}


# The due time each part's partial index is ordered by.
DUE_ORDER: dict[str, Any] = {
    "requests": col(SchedulingRequest.next_action_at),
    "expired": col(PendingAction.expires_at),
    "reminders": col(SchedulingRequest.reminder_due_at),
    "meeting_checks": col(SchedulingRequest.check_due_at),
}


@dataclass(frozen=True)
class Due:
    repairs: bool  # the reconciler has something to repair
    dispatch: frozenset[str]  # the parts of dispatch_due with work
    held_notices: bool
    waiting_cards: bool
    retention: bool
    health: bool
    stalled: bool
    webhooks: bool  # a delivery is still owed (its part finds which may go now)
    pre_meeting: bool  # a meeting's brief is to be timed or sent


def probe(deps: Deps) -> Due:
    now = deps.clock.now()
    checks: dict[str, ColumnElement[bool]] = {
        "lost_jobs": _any(select(SequenceJob.id).where(lost_jobs(now))),
        "parked": _any(select(SequenceJob.id).where(*parked_without_action())),
        "late_actions": _any(select(PendingAction.id).where(claimable(now))),
        "lagging_cards": _any(select(PendingAction.id).where(*lagging_cards(now))),
        **{
            f"due:{name}": _first(DUE_ORDER[name], conditions(now))
            if name in DUE_ORDER
            else _any(select(DUE_TABLES[name].id).where(*conditions(now)))
            for name, conditions in DUE_WORK.items()
            if name != "briefs"
        },
        "due:briefs": any_brief_due(now),
        "held_notices": _first(col(SlackNotification.held_until), held_over(now)),
        "waiting_cards": _first(col(PendingAction.created_at), unposted_cards(now)),
        "retention": ~_ran_since(retention.JOB_NAME, now - retention.EVERY),
        "health": ~_ran_since(HEALTH_RUN, now - HEALTH_EVERY),
        "stalled": ~_ran_since(stalled.JOB_NAME, now - stalled.EVERY),
        "webhooks": _any(select(WebhookDelivery.seq).where(open_deliveries())),
        "pre_meeting": _any(select(SchedulingRequest.id).where(briefs_to_look_at(now))),
    }
    with deps.sessions() as session:
        row = session.execute(select(*(c.label(k.replace(":", "_")) for k, c in checks.items())))
        found = dict(zip(checks, row.one(), strict=True))
    return Due(
        repairs=any(found[k] for k in ("lost_jobs", "parked", "late_actions", "lagging_cards")),
        dispatch=frozenset(name for name in DUE_WORK if found[f"due:{name}"]),
        held_notices=bool(found["held_notices"]),
        waiting_cards=bool(found["waiting_cards"]),
        retention=bool(found["retention"]),
        health=bool(found["health"]),
        stalled=bool(found["stalled"]),
        webhooks=bool(found["webhooks"]),
        pre_meeting=bool(found["pre_meeting"]),
    )


def _any(rows: Select[Any]) -> ColumnElement[bool]:
    return rows.exists()


def _first(column: Any, conditions: list[Any]) -> ColumnElement[bool]:
    """Whether any row matches, asked as the earliest `column` among them: PostgreSQL reads
    that from the index on `column` in order, touching only the due rows. (An EXISTS would
    let it bet on a sequential scan finding a row soon, and read the whole table when, as on
    most ticks, none is due.)"""
    return select(func.min(column)).where(*conditions).scalar_subquery().is_not(None)


def _ran_since(name: str, since: datetime) -> ColumnElement[bool]:
    return (
        select(JobRun.id)
        .where(col(JobRun.name) == name)
        .where(col(JobRun.started_at) > since)
        .exists()
    )
