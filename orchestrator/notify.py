"""Direct messages to a rep about their own work (not prospect-facing, so not in the outbox)."""

from __future__ import annotations

import uuid

import structlog

from db.models import Rep
from orchestrator.bootstrap import Deps

log = structlog.get_logger(__name__)


def tell_rep(deps: Deps, *, rep_id: uuid.UUID | None, text: str) -> None:
    """Best effort: a failed DM is logged, never allowed to fail the caller."""
    if rep_id is None:
        return
    with deps.uow() as uow:
        rep = uow.session.get(Rep, rep_id)
        user_id = rep.slack_user_id if rep else None
    if user_id is None:
        return
    try:
        channel = deps.chat.open_dm(user_id=user_id)
        deps.chat.post_message(channel=channel, text=text)
    except Exception as exc:  # noqa: BLE001 - a notification must not break the sequence
        log.warning("tell_rep_failed", rep_id=str(rep_id), error=repr(exc))
