"""A rep's click on a draft: approve (now or later), reject, undo, retry a failed send, edit.

Each is one conditional UPDATE from the statuses it may leave, so a click that loses a race, or
comes too late, is told so; an approval wakes the outbox when its undo window closes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import false
from sqlmodel import col

from db.audit import record_draft_action
from db.models import ActionStatus, PendingAction, Rep
from orchestrator.deps import Deps
from orchestrator.engine.action_data import ActionData, action_data
from orchestrator.engine.crashpoints import crashpoint
from orchestrator.engine.runner import resume_if_decided
from orchestrator.engine.shapes import ShapeError
from orchestrator.mrkdwn import owner_only
from orchestrator.outbox.claims import transition
from orchestrator.outbox.offered import reread_edit
from orchestrator.outbox.revalidate import refuse_stale_approval
from orchestrator.outbox.superseded import REFUSED as SUPERSEDED_REFUSAL
from skills.draft_inputs import ANSWER_PLACEHOLDER

FILL_IN_FIRST = (
    "This draft still has a gap for your answer ([[ANSWER]]). Press Edit, write it, then approve."
)
STALE_EDIT = (
    "This draft changed since you opened it. Close this and press Edit again to see the "
    "latest version."
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Decision:
    ok: bool
    status: str  # the action's status after the decision
    message: str
    action: PendingAction | None = None


UNREADABLE = (
    "This draft's stored data can't be read, so it can't be sent as it is. Reject it and "
    "Convene drafts it again."
)


def decide(
    deps: Deps,
    *,
    action_id: uuid.UUID,
    decision: str,
    slack_user_id: str,
    send_at: datetime | None = None,
    reason: str = "",
    edits: dict[str, Any] | None = None,
    version: int | None = None,
) -> Decision:
    """Apply a rep's click; a click that loses a race (or comes too late) is told so.

    `approve` (optionally `send_at` a later time: "Send later"), `reject` (with a `reason` the
    next draft can use), `undo` (inside the undo window), `retry` (a failed send), `edit`
    (save `edits` over the draft while it is still pending and still at `version`, the one
    the Edit modal was opened on).
    """
    try:
        return _decide(
            deps,
            action_id=action_id,
            decision=decision,
            slack_user_id=slack_user_id,
            send_at=send_at,
            reason=reason,
            edits=edits,
            version=version,
        )
    except ShapeError as exc:
        # A row that does not fit its shape is answered on the click, like any refusal: the
        # listener must not fail, and nothing changes until the rep rejects it.
        log.warning("action_unreadable", action_id=str(action_id), error=str(exc))
        return Decision(False, ActionStatus.pending, UNREADABLE)


def _decide(
    deps: Deps,
    *,
    action_id: uuid.UUID,
    decision: str,
    slack_user_id: str,
    send_at: datetime | None = None,
    reason: str = "",
    edits: dict[str, Any] | None = None,
    version: int | None = None,
) -> Decision:
    now = deps.clock.now()
    if decision == "approve" and (
        stale := refuse_stale_approval(
            deps, action_id=action_id, slack_user_id=slack_user_id, now=now, send_at=send_at
        )
    ):
        return Decision(False, ActionStatus.pending, stale)
    with deps.uow() as uow:
        action = uow.session.get(PendingAction, action_id)
        if action is None:
            return Decision(False, "missing", "That draft no longer exists.")
        rep = uow.session.get_one(Rep, action.rep_id)
        if not rep.allows(slack_user_id):
            refusal = owner_only(rep.slack_user_id)
            return Decision(False, action.status, refusal)
        if action.expires_at is not None and action.expires_at <= now:
            return Decision(False, action.status, "This draft has expired.", action)
        if decision == "approve" and ANSWER_PLACEHOLDER in action_data(action, ActionData).body:
            return Decision(False, action.status, FILL_IN_FIRST, action)
        if decision == "edit" and edits:
            # The offer is what the edited email says, not what the draft said.
            edits, problem = reread_edit(uow.session, action, edits, now=now)
            if problem:
                return Decision(False, action.status, problem, action)
        source, condition, values = _decision_rule(
            decision,
            action,
            deps=deps,
            now=now,
            send_at=send_at,
            reason=reason,
            edits=edits,
            version=version,
        )
        if decision != "edit":
            values |= {"decided_by": slack_user_id, "decided_at": now}
        won = transition(
            uow.session, action_id, source=source, extra=condition, updated_at=now, **values
        )
        if won:
            details: dict[str, Any] = {"by": slack_user_id}
            if reason:
                details["reason"] = reason
            record_draft_action(
                uow.session, action, kind=f"action_{decision}", actor="user", now=now, **details
            )
        uow.commit()
        uow.session.refresh(action)
    if not won:
        if decision == "edit" and action.status == ActionStatus.pending:
            return Decision(False, action.status, STALE_EDIT, action)
        return Decision(False, action.status, _already_handled(action), action)
    crashpoint("outbox.decided")
    if action.status == ActionStatus.approved:
        assert action.undo_until is not None
        # With no undo window and no send time to wait for, the send goes straight onto the
        # queue: a scheduled wake-up waits for the scheduler's next look, up to a second later.
        at = action.undo_until if action.undo_until > now else None
        deps.wakeups.execute_action(action.id, tag=f"{decision}-{action.attempts}", at=at)
    elif action.status != ActionStatus.pending:
        resume_if_decided(deps, action.job_id)
    return Decision(True, action.status, "", action)


def _decision_rule(
    decision: str,
    action: PendingAction,
    *,
    deps: Deps,
    now: datetime,
    send_at: datetime | None,
    reason: str,
    edits: dict[str, Any] | None,
    version: int | None = None,
) -> tuple[list[str], Any, dict[str, Any]]:
    """(statuses it may leave, extra SQL condition, columns to set) for each decision."""
    if decision == "approve":
        undo_until = max(send_at or now, now + timedelta(seconds=deps.settings.undo_seconds))
        return (
            [ActionStatus.pending],
            None,
            {
                "status": ActionStatus.approved,
                "undo_until": undo_until,
                "error": None,  # a stale mark from an earlier refusal no longer holds
            },
        )
    if decision == "reject":
        result = {"reject_reason": reason} if reason else None
        return [ActionStatus.pending], None, {"status": ActionStatus.rejected, "result": result}
    if decision == "undo":
        return (
            [ActionStatus.approved],
            col(PendingAction.undo_until) > now,
            {
                "status": ActionStatus.cancelled,
            },
        )
    if decision == "retry":
        return (
            [ActionStatus.failed],
            None,
            {
                "status": ActionStatus.approved,
                "undo_until": now,
                "error": None,
            },
        )
    if decision == "edit":
        # Only over the draft the modal showed: a stale or replayed modal would put back
        # words the rep has since changed.
        merged = {**(action.edited_data or {}), **(edits or {})}
        return (
            [ActionStatus.pending],
            col(PendingAction.draft_version) == version if version is not None else false(),
            {"edited_data": merged, "draft_version": PendingAction.draft_version + 1},
        )
    raise ValueError(f"unknown decision {decision!r}")


def _already_handled(action: PendingAction) -> str:
    if action.status == ActionStatus.superseded:
        return SUPERSEDED_REFUSAL
    who = f" by <@{action.decided_by}>" if action.decided_by else ""
    return f"Already handled: this draft is {action.status}{who}."
