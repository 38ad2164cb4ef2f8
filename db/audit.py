"""The audit log's one writer: every row of `scheduling_actions` is added here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from db.models import PendingAction, SchedulingAction


def record_action(
    session: Session,
    *,
    org_id: str,
    request_id: uuid.UUID | None,
    kind: str,
    actor: str,
    now: datetime,
    reasoning: str = "",
    details: Mapping[str, Any] | None = None,
) -> SchedulingAction:
    """Append what happened to a request and who did it (ai, user, prospect or system).

    Rows are only ever added, in the caller's transaction, so the log says exactly what the
    committed state says."""
    row = SchedulingAction(
        org_id=org_id,
        request_id=request_id,
        action_type=kind,
        actor=actor,
        reasoning=reasoning,
        details=dict(details or {}),
        created_at=now,
    )
    session.add(row)
    return row


def record_draft_action(
    session: Session,
    action: PendingAction,
    *,
    kind: str,
    actor: str,
    now: datetime,
    reasoning: str = "",
    **details: Any,
) -> SchedulingAction:
    """`record_action` for what happened to one draft: the row names the draft and its type,
    so the log can be read per draft as well as per request."""
    return record_action(
        session,
        org_id=action.org_id,
        request_id=action.request_id,
        kind=kind,
        actor=actor,
        reasoning=reasoning,
        details={"pending_action_id": str(action.id), "type": action.action_type, **details},
        now=now,
    )
