"""Sending one recorded delivery, and the clock's look for the deliveries that are due.

A delivery moves `pending → delivering → delivered` (or back to `pending` with a later
`next_attempt_at`, or `failed` after the last attempt) by conditional UPDATEs carrying a claim
token, like the outbox: of two workers woken for the same row one sends, and a worker that
stalled past its lease cannot overwrite the one that took over. A crash after the POST and
before the write sends the same `delivery_id` again; receivers drop the repeat by that id.

Per subscription and request, only the oldest open delivery may go: a later event waits until
the earlier ones are delivered or given up, so a receiver sees a request's events in order.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, and_, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from db.models import WebhookDelivery, WebhookStatus, WebhookSubscription
from orchestrator.deps import Deps
from orchestrator.engine.crashpoints import crashpoint
from orchestrator.webhooks.signing import DELIVERY_HEADER, SIGNATURE_HEADER, signature

log = structlog.get_logger(__name__)

OPEN = (WebhookStatus.pending, WebhookStatus.delivering)
# Due rows the clock wakes per tick; the rest wait for the next one.
BATCH = 200


def backoff(attempt: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at 1 hour: eight attempts span about two hours."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempt - 1)))


def open_deliveries() -> ColumnElement[bool]:
    """Deliveries not yet delivered or given up (the clock's probe asks whether any exist)."""
    return col(WebhookDelivery.status).in_(OPEN)


def _due(now: datetime) -> ColumnElement[bool]:
    """SQL for "this delivery may go now": due, and no earlier open one for its request."""
    earlier = aliased(WebhookDelivery)
    ready = or_(
        and_(
            col(WebhookDelivery.status) == WebhookStatus.pending,
            col(WebhookDelivery.next_attempt_at) <= now,
        ),
        and_(
            col(WebhookDelivery.status) == WebhookStatus.delivering,
            col(WebhookDelivery.locked_until) < now,
        ),
    )
    blocked = exists().where(
        col(earlier.subscription_id) == col(WebhookDelivery.subscription_id),
        col(earlier.request_id) == col(WebhookDelivery.request_id),
        col(earlier.seq) < col(WebhookDelivery.seq),
        col(earlier.status).in_(OPEN),
    )
    return and_(ready, ~blocked)


def queue_due(deps: Deps) -> int:
    """The clock's part: wake a worker for each delivery that may go now (first attempts,
    retries whose time has come, claims whose worker died). One wake-up waits per row and
    attempt, however many ticks see it."""
    now = deps.clock.now()
    with deps.uow() as uow:
        rows = uow.session.exec(
            select(WebhookDelivery.seq, WebhookDelivery.attempts)
            .where(_due(now))
            .order_by(col(WebhookDelivery.seq))
            .limit(BATCH)
        ).all()
    return sum(
        deps.wakeups.deliver_webhook(seq, version=str(attempts))
        for seq, attempts in rows
        if seq is not None
    )


def deliver(deps: Deps, seq: int) -> str:
    """Attempt one delivery; every outcome is written to its row."""
    now = deps.clock.now()
    token = uuid.uuid4().hex
    lease = timedelta(seconds=deps.settings.webhook_timeout_seconds * 2 + 30)
    with deps.uow() as uow:
        won = uow.session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.seq) == seq)
            .where(_due(now))
            .values(
                status=WebhookStatus.delivering,
                claim_token=token,
                locked_until=now + lease,
                attempts=WebhookDelivery.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if won != 1:
            return "skipped"
        delivery = uow.session.get_one(WebhookDelivery, seq)
        subscription = uow.session.get_one(WebhookSubscription, delivery.subscription_id)
        if subscription.removed_at is not None:
            # Removed while this one was held by a worker that died: it goes nowhere now.
            delivery.status = WebhookStatus.cancelled
            delivery.locked_until = None
            uow.session.add(delivery)
            nxt = _next_in_line(uow.session, delivery)
            uow.commit()
            if nxt is not None:
                deps.wakeups.deliver_webhook(nxt, version="0")
            return str(WebhookStatus.cancelled)
        uow.commit()
    crashpoint("webhook.claimed")
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Convene-Webhooks/1",
        DELIVERY_HEADER: delivery.delivery_id,
        SIGNATURE_HEADER: signature(
            subscription.secret, body, timestamp=int(deps.clock.now().timestamp())
        ),
    }
    status: int | None = None
    error: str | None = None
    try:
        if deps.webhooks is None:
            raise RuntimeError("no webhook client configured")
        answer = deps.webhooks.post(url=subscription.url, body=body, headers=headers)
        status = answer.status
        if not 200 <= answer.status < 300:
            snippet = answer.body[:200].decode("utf-8", "replace").strip()
            error = f"HTTP {answer.status}" + (f": {snippet}" if snippet else "")
    except Exception as exc:  # noqa: BLE001 - every outcome is written to the row
        error = f"{type(exc).__name__}: {exc}"[:500]
    crashpoint("webhook.posted")
    return _record(deps, delivery, token, status=status, error=error)


def _record(
    deps: Deps, delivery: WebhookDelivery, token: str, *, status: int | None, error: str | None
) -> str:
    now = deps.clock.now()
    if error is None:
        values: dict[str, object] = {"status": WebhookStatus.delivered, "delivered_at": now}
    elif delivery.attempts >= deps.settings.webhook_max_attempts:
        values = {"status": WebhookStatus.failed}
    else:
        values = {
            "status": WebhookStatus.pending,
            "next_attempt_at": now + backoff(delivery.attempts),
        }
    with deps.uow() as uow:
        written = uow.session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.seq) == delivery.seq)
            .where(col(WebhookDelivery.claim_token) == token)
            .where(col(WebhookDelivery.status) == WebhookStatus.delivering)
            .values(
                **values,
                locked_until=None,
                last_status_code=status,
                last_error=error,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        nxt = _next_in_line(uow.session, delivery) if written == 1 else None
        uow.commit()
    outcome = str(values["status"]) if written == 1 else "superseded"
    log.info(
        "webhook_attempt",
        delivery_id=delivery.delivery_id,
        attempt=delivery.attempts,
        status_code=status,
        outcome=outcome,
    )
    if nxt is not None and outcome in (WebhookStatus.delivered, WebhookStatus.failed):
        # The request's next event was waiting on this one: it goes now, not at the next tick.
        deps.wakeups.deliver_webhook(nxt, version="0")
    return outcome


def _next_in_line(session: Session, delivery: WebhookDelivery) -> int | None:
    return session.exec(
        select(WebhookDelivery.seq)
        .where(WebhookDelivery.subscription_id == delivery.subscription_id)
        .where(WebhookDelivery.request_id == delivery.request_id)
        .where(col(WebhookDelivery.status).in_(OPEN))
        .order_by(col(WebhookDelivery.seq))
        .limit(1)
    ).first()
