"""Push watches on reps' Gmail and Microsoft 365 mailboxes, made and renewed by the clock.

Each connected Gmail mailbox gets a `users.watch` on its Inbox (Gmail publishes to the Pub/Sub
topic, whose push subscription posts to /webhooks/gmail); each Microsoft one a Graph
subscription to new Inbox messages, posting to PUBLIC_URL/webhooks/graph with a random
clientState of its own. A watch lapses (Gmail's after a week, ours to Graph after six days),
so `watch_renew_at` says when the clock next renews it: a day before it lapses, and daily for
Gmail, as Google asks. NULL means "make one now": a mailbox just connected or a deployment
that just turned push on.

The tick issues one query for what is due (through a partial index on `watch_renew_at`) and
queues one job per mailbox; the provider is called on a worker, never in the tick. A failed
call is tried again an hour later. Polling goes on regardless, so a watch that is missing,
lapsed or broken delays mail by at most a poll interval and loses nothing.

A crash after Graph made a subscription but before its id was stored leaves a subscription we
cannot check the clientState of: its notifications are ignored, it lapses by itself, and the
next run makes another.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from connectors.errors import PermanentError
from db.models import Rep
from orchestrator.deps import Deps
from orchestrator.inbox.push import secret_digest

log = structlog.get_logger(__name__)

RENEW_AHEAD = timedelta(days=1)
# Google asks for a watch call every day, whatever the expiry it answered.
RENEW_GMAIL_EVERY = timedelta(days=1)
RETRY_AFTER = timedelta(hours=1)
# Graph keeps a subscription on messages for at most 10,080 minutes.
GRAPH_LIFETIME = timedelta(days=6)
BATCH = 200


def watches_due(session: Session, *, now: datetime, providers: list[str]) -> list[uuid.UUID]:
    """Mailboxes of ``providers`` whose watch is to be made or renewed, oldest due first."""
    due = or_(col(Rep.watch_renew_at).is_(None), col(Rep.watch_renew_at) <= now)
    query = (
        select(Rep.id)
        .where(col(Rep.mail_provider).in_(providers))
        .where(due)
        .order_by(col(Rep.watch_renew_at).asc().nulls_first())
        .limit(BATCH)
    )
    return list(session.exec(query))


def queue_watch_renewals(deps: Deps) -> int:
    """Queue a renewal for each watch that is due; without push configured, no query at all."""
    providers = deps.settings.watched_providers()
    if not providers:
        return 0
    with deps.uow() as uow:
        rep_ids = watches_due(uow.session, now=deps.clock.now(), providers=providers)
    return sum(1 for rep_id in rep_ids if deps.wakeups.renew_watch(rep_id))


def renew_watch(deps: Deps, rep_id: uuid.UUID) -> str:
    """Make or renew one mailbox's watch (the worker's side of :func:`queue_watch_renewals`)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        rep = uow.session.get(Rep, rep_id)
    if rep is None or rep.mail_provider not in deps.settings.watched_providers():
        return "not watched"
    if rep.watch_renew_at is not None and rep.watch_renew_at > now:
        return "not due"  # a second wake-up for a renewal another worker made
    try:
        values = _watch(deps, rep, now=now)
    except Exception as exc:  # noqa: BLE001 - recorded below; polling covers the mailbox meanwhile
        log.warning("mail_watch_failed", rep_id=str(rep.id), error=repr(exc)[:500])
        values = {"watch_renew_at": now + RETRY_AFTER}
    with deps.uow() as uow:
        uow.session.execute(update(Rep).where(col(Rep.id) == rep.id).values(**values))
        uow.commit()
    return "renewed" if "watch_expires_at" in values else "failed"


def _watch(deps: Deps, rep: Rep, *, now: datetime) -> dict[str, object]:
    mailbox = deps.mailboxes.mailbox(rep) if deps.mailboxes else None
    if mailbox is None:
        raise PermanentError(f"no provider mailbox for {rep.mail_provider}")
    port = mailbox.port
    settings = deps.settings
    if rep.mail_provider == "gmail":
        from connectors.mail.gmail import GmailMailbox

        assert isinstance(port, GmailMailbox) and settings.gmail_push_topic
        expires = port.watch(settings.gmail_push_topic)
        return _stored(now=now, expires=expires, at_most=RENEW_GMAIL_EVERY)

    from connectors.mail.graph import GraphMailbox, GraphNotFound

    assert isinstance(port, GraphMailbox) and settings.public_url
    wanted = now + GRAPH_LIFETIME
    if rep.watch_id and rep.watch_expires_at and rep.watch_expires_at > now:
        try:
            return _stored(now=now, expires=port.renew_subscription(rep.watch_id, expires=wanted))
        except GraphNotFound:
            log.info("graph_subscription_gone", rep_id=str(rep.id))
    secret = secrets.token_urlsafe(32)
    subscription, expires = port.subscribe(
        notification_url=settings.public_url.rstrip("/") + "/webhooks/graph",
        client_state=secret,
        expires=wanted,
    )
    return {
        **_stored(now=now, expires=expires),
        "watch_id": subscription,
        "watch_secret_digest": secret_digest(secret),
    }


def _stored(
    *, now: datetime, expires: datetime, at_most: timedelta | None = None
) -> dict[str, object]:
    renew_at = expires - RENEW_AHEAD
    if at_most is not None:
        renew_at = min(renew_at, now + at_most)
    return {"watch_expires_at": expires, "watch_renew_at": renew_at}
