"""Who may run an approved action: a claim with a fresh token and a lease.

Every status change is a conditional UPDATE, so of two racing clicks or two racing workers
exactly one wins. A worker that stalls past its lease is taken over, and finds at its next step
(the provider call, the final write) that it may not go on.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import Session, col

from db.models import ActionStatus, PendingAction
from orchestrator.deps import Deps

log = structlog.get_logger(__name__)

# The default of `execution_lease_seconds`: a send claimed longer ago than this, and not
# finished, is presumed dead and may be claimed again (its worker's later writes are fenced off).
EXECUTION_LEASE = timedelta(minutes=2)


def transition(
    session: Session, action_id: uuid.UUID, *, source: list[str], extra: Any = None, **values: Any
) -> bool:
    statement = (
        update(PendingAction)
        .where(col(PendingAction.id) == action_id)
        .where(col(PendingAction.status).in_(source))
    )
    if extra is not None:
        statement = statement.where(extra)
    return session.execute(statement.values(**values)).rowcount == 1  # type: ignore[attr-defined]


def claimable(now: datetime) -> ColumnElement[bool]:
    """Approved with its undo window closed, or executing past its lease (its executor died).

    The reconciler looks for the same rows the claim takes, so a lost wake-up is found again.
    """
    return or_(
        and_(
            col(PendingAction.status) == ActionStatus.approved,
            col(PendingAction.undo_until) <= now,
        ),
        and_(
            col(PendingAction.status) == ActionStatus.executing,
            col(PendingAction.locked_until) < now,
        ),
    )


def claim(session: Session, action_id: uuid.UUID, *, now: datetime, lease: timedelta) -> str | None:
    """Take an approved action whose undo window has closed, or one whose executor died.

    Returns this claim's token (None: not ours to run). A worker that stalls past its lease
    loses the action to the next claim, and with it the right to send or to finish it.
    """
    token = uuid.uuid4().hex
    won = transition(
        session,
        action_id,
        source=[ActionStatus.approved, ActionStatus.executing],
        extra=claimable(now),
        status=ActionStatus.executing,
        locked_until=now + lease,
        claim_token=token,
        attempts=PendingAction.attempts + 1,
        updated_at=now,
    )
    return token if won else None


def fence(session: Session, action_id: uuid.UUID, token: str) -> bool:
    """Lock the row if `token` still holds it, for the rest of this transaction.

    The write is a no-op on purpose: on PostgreSQL it takes the row lock, so a take-over's
    claim waits for our commit and then finds the action no longer executing.
    """
    return transition(
        session,
        action_id,
        source=[ActionStatus.executing],
        extra=col(PendingAction.claim_token) == token,
        claim_token=token,
    )


def hold(deps: Deps, action_id: uuid.UUID, token: str) -> bool:
    """Right before a provider call: is the claim still ours? If so, renew its lease, so no
    other worker can take the action over between this check and the call."""
    now = deps.clock.now()
    with deps.uow() as uow:
        held = transition(
            uow.session,
            action_id,
            source=[ActionStatus.executing],
            extra=col(PendingAction.claim_token) == token,
            locked_until=now + lease(deps),
        )
        uow.commit()
    return held


def lease(deps: Deps) -> timedelta:
    return timedelta(seconds=deps.settings.execution_lease_seconds)


def superseded(action_id: uuid.UUID) -> str:
    # Whoever claimed it after us looks in Sent first, so what we may have sent is found there.
    log.warning("claim_superseded", action_id=str(action_id))
    return "superseded"
