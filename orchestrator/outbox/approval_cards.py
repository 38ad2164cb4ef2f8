"""Approval cards in the rep's DMs: posted when a draft is created, refreshed on every change."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import text, update
from sqlmodel import Session, col, or_, select

from db.models import (
    UNPOSTED_CARD_WHERE,
    PendingAction,
    Rep,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.deps import Deps
from orchestrator.engine.action_data import ActionData, action_data
from orchestrator.engine.event_types import EventType
from orchestrator.notices.gate import claim, gate
from orchestrator.outbox.expiry import REDRAFTABLE
from orchestrator.views import ActionView

log = structlog.get_logger(__name__)

# Jobs that something other than the rep started; their cards are notices, not answers.
VOLUNTEERED = frozenset({EventType.email_received, EventType.follow_up_due, EventType.reminder_due})
CARD_GRACE = timedelta(minutes=1)
CARD_BATCH = 50


def action_view(session: Session, action: PendingAction) -> ActionView:
    rep = session.get_one(Rep, action.rep_id)
    request = session.get(SchedulingRequest, action.request_id) if action.request_id else None
    data = action_data(action, ActionData)
    return ActionView(
        action_id=str(action.id),
        action_type=action.action_type,
        status=action.status,
        to=data.to,
        subject=data.subject,
        body=data.body,
        reasoning=action.reasoning,
        confidence=action.confidence,
        request_ref=request.ref if request else "",
        request_title=request.title if request else "",
        rep_timezone=rep.timezone,
        undo_until=action.undo_until,
        decided_by=action.decided_by,
        executed_at=action.executed_at,
        error=action.error,
        cc=data.copied(),
        draft_version=action.draft_version,
        can_redraft=action.action_type in REDRAFTABLE,
        redrafted=bool((action.result or {}).get("redrafted")),
        offered_as_edited=_offered_as_edited(action),
    )


def _offered_as_edited(action: PendingAction) -> tuple[datetime, ...] | None:
    if "slots" not in (action.edited_data or {}):
        return None
    return tuple(datetime.fromisoformat(s) for s in (action.edited_data or {})["slots"])


def load_view(deps: Deps, action_id: uuid.UUID) -> ActionView | None:
    with deps.uow() as uow:
        action = uow.session.get(PendingAction, action_id)
        return action_view(uow.session, action) if action else None


def post_action_card(deps: Deps, action_id: uuid.UUID) -> str:
    """DM the rep a card for a new pending action; once only (the card's ts is recorded).

    A card for work the rep started (a command, a click) goes at once. One that something
    outside started (a reply, the follow-up clock) waits out the rep's quiet hours, and
    `post_waiting_cards` posts it when they end. Drafts are never held by the hourly cap (it is
    for notices), but count toward it."""
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        action = session.get_one(PendingAction, action_id)
        if action.slack_ts:
            return "already-posted"
        rep = session.get_one(Rep, action.rep_id)
        volunteered = _volunteered(session, action)
        if volunteered and not gate(session, rep=rep, now=now, cap=None).open:
            return "held"
        view = action_view(session, action)
    text, blocks = deps.cards.approval(view)
    channel = deps.chat.open_dm(user_id=rep.slack_user_id)
    posted = deps.chat.post_message(channel=channel, text=text, blocks=blocks)
    with deps.uow() as uow:
        action = uow.session.get_one(PendingAction, action_id)
        action.slack_channel, action.slack_ts = posted.channel, posted.ts
        action.card_status = view.status
        uow.session.add(action)
        if volunteered:  # counted toward the hourly cap that notices obey
            key = f"card:{action_id}"
            claim(uow.session, rep=rep, kind="card", dedupe_key=key, channel=channel, now=now)
        uow.commit()
    return "posted"


def _volunteered(session: Session, action: PendingAction) -> bool:
    job = session.get(SequenceJob, action.job_id) if action.job_id else None
    return job is not None and job.event_type in VOLUNTEERED


def post_waiting_cards(deps: Deps) -> int:
    """Post the cards still unposted: held by quiet hours, or whose post failed.

    Run by the clock. A card's own wake-up normally posts it within the second; the grace
    keeps this pass from racing that first try."""
    now = deps.clock.now()
    with deps.uow() as uow:
        waiting = uow.session.exec(
            select(PendingAction.id)
            .where(*unposted_cards(now))
            .order_by(col(PendingAction.created_at))
            .limit(CARD_BATCH)
        ).all()
    posted = 0
    for action_id in waiting:
        try:
            posted += post_action_card(deps, action_id) == "posted"
        except Exception as exc:  # noqa: BLE001 - the next tick tries again
            log.warning("card_post_failed", action_id=str(action_id), error=repr(exc))
    return posted


def unposted_cards(now: datetime) -> list[Any]:
    """Drafts still pending whose card was never posted, past the first try's grace and not
    expired (the tick's probe reads the same rows)."""
    return [
        # The partial index's own text: pending with no card, a handful at any size.
        text(UNPOSTED_CARD_WHERE),
        col(PendingAction.created_at) <= now - CARD_GRACE,
        or_(col(PendingAction.expires_at).is_(None), col(PendingAction.expires_at) > now),
    ]


def refresh_card(deps: Deps, action_id: uuid.UUID) -> None:
    """Redraw the card from the row (best effort: the row, not the card, is the truth)."""
    with deps.uow() as uow:
        action = uow.session.get_one(PendingAction, action_id)
        if not (action.slack_channel and action.slack_ts):
            return
        view = action_view(uow.session, action)
        channel, ts = action.slack_channel, action.slack_ts
    text, blocks = deps.cards.approval(view)
    try:
        deps.chat.update_message(channel=channel, ts=ts, text=text, blocks=blocks)
    except Exception as exc:  # noqa: BLE001 - a stale card is better than a failed send record
        log.warning("card_refresh_failed", action_id=str(action_id), error=repr(exc))
        return
    # What the card now shows; if the action moved on meanwhile, the reconciler sees the lag.
    with deps.uow() as uow:
        uow.session.execute(
            update(PendingAction)
            .where(col(PendingAction.id) == action_id)
            .values(card_status=view.status)
        )
        uow.commit()
