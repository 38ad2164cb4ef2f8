"""Push notifications as triggers for the read polling does.

A Gmail push or a Graph change notification says only "this mailbox changed". It never carries
mail we act on: it picks which connected rep's mailbox to read now, and the read itself
(`mail_polls.poll_mailbox`, from the rep's stored cursor) is the one polling queues. So a
message is taken in once however it is noticed — pushed, polled, or both, or pushed twice —
because the cursor moves past it and intake's unique provider id turns a second sight into a
no-op; a read already waiting is not queued again.

What a notification names is not trusted beyond that choice: a Gmail address reads only the
mailbox of a rep connected to Gmail under that address, and a Graph notification counts only
with the subscription's own clientState, which only Graph and we know.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from sqlalchemy import func
from sqlmodel import col, select

from db.models import Rep
from orchestrator.deps import Deps

log = structlog.get_logger(__name__)

# A batch from Graph holds at most a few hundred; more is not Graph.
MAX_NOTIFICATIONS = 1000


def secret_digest(secret: str) -> str:
    """What is stored of a subscription's clientState: enough to check it, useless to send."""
    return hashlib.sha256(secret.encode()).hexdigest()


def gmail_pushed(deps: Deps, address: str) -> int:
    """Queue a read of the Gmail mailbox ``address`` belongs to; returns reads queued."""
    wanted = address.strip().lower()
    if not wanted:
        return 0
    with deps.uow() as uow:
        rep_ids = list(
            uow.session.exec(
                select(Rep.id)
                .where(col(Rep.mail_provider) == "gmail")
                .where(func.lower(col(Rep.email)) == wanted)
            )
        )
    if not rep_ids:
        log.info("gmail_push_unknown_mailbox")
    return deps.wakeups.poll_mailboxes(rep_ids)


def graph_notified(deps: Deps, notifications: Iterable[Any]) -> int:
    """Queue a read of each mailbox whose subscription sent a notification with its own
    clientState; the rest are ignored. Returns reads queued."""
    claimed: dict[str, set[str]] = {}
    for note in list(notifications)[:MAX_NOTIFICATIONS]:
        if not isinstance(note, Mapping):
            continue
        subscription, state = note.get("subscriptionId"), note.get("clientState")
        if isinstance(subscription, str) and isinstance(state, str) and subscription:
            claimed.setdefault(subscription, set()).add(secret_digest(state))
    if not claimed:
        return 0
    with deps.uow() as uow:
        rows = list(
            uow.session.exec(
                select(Rep.id, Rep.watch_id, Rep.watch_secret_digest)
                .where(col(Rep.mail_provider) == "microsoft")
                .where(col(Rep.watch_id).in_(list(claimed)))
            )
        )
    rep_ids: list[uuid.UUID] = []
    for rep_id, subscription, digest in rows:
        if digest and any(hmac.compare_digest(digest, d) for d in claimed[str(subscription)]):
            rep_ids.append(rep_id)
    if len(rep_ids) < len(claimed):
        log.warning("graph_notifications_ignored", count=len(claimed) - len(rep_ids))
    return deps.wakeups.poll_mailboxes(rep_ids)
