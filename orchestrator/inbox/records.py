"""The inbound mail rows: one per message, de-duplicated, and one for mail that could not be read.

The row is the de-duplication gate (its unique provider id and Message-ID), so reading the
same message again finds it and does nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlmodel import Session, select

from connectors.ports import InboundRaw
from db.audit import record_action
from db.models import EmailMessage, Rep, SchedulingRequest
from db.upsert import insert_or_ignore
from orchestrator.deps import Deps
from orchestrator.engine.event_types import EmailReceived, EventType
from orchestrator.engine.events import Event
from orchestrator.inbox.matching import MAX_ID_CHARS
from orchestrator.mrkdwn import escape_mrkdwn
from orchestrator.notices.post import post_notice
from skills.clean_text import clean_line
from skills.email_text import bare_subject
from skills.read_email import InboundEmail, parse_email

MAX_SUBJECT_SHOWN = 200


log = structlog.get_logger(__name__)


def record_unreadable(deps: Deps, *, rep: Rep, message: InboundRaw, reason: str) -> str:
    """One row for a message that could not be taken in, with whatever of it can be read,
    and one notice to the rep (the row is the gate: reading the message again finds it)."""
    email = _salvage(message.raw)
    now = deps.clock.now()
    with deps.uow() as uow:
        if seen(uow.session, org_id=rep.org_id, provider_id=provider_key(message)):
            return "duplicates"
        stored = record_inbound(
            uow.session,
            rep=rep,
            request=None,
            message=message,
            email=email,
            now=now,
            status="unreadable",
            trust_ids=False,
        )
        if stored is not None:
            record_action(
                uow.session,
                org_id=rep.org_id,
                request_id=None,
                kind="unreadable_mail",
                actor="system",
                reasoning=reason,
                details={"email_message_id": str(stored.row_id), "from": email.sender},
                now=now,
            )
        uow.commit()
    if stored is None:
        return "duplicates"
    post_notice(
        deps.notices, rep_id=rep.id, text=unreadable_notice(email, reason=reason, request=None)
    )
    return "unreadable"


def _salvage(raw: bytes) -> InboundEmail:
    """What can be read of a message that failed: the headers at least, when parsing works."""
    try:
        email = parse_email(raw)
    except Exception:  # noqa: BLE001 - nothing readable: the row still records that it came
        return parse_email(b"")
    return email


def unreadable_notice(
    email: InboundEmail, *, reason: str, request: SchedulingRequest | None
) -> str:
    sender = escape_mrkdwn(email.sender or "an unknown sender")
    subject = escape_mrkdwn(email.subject[:MAX_SUBJECT_SHOWN] or "no subject")
    on = f" on *{escape_mrkdwn(request.ref)}*" if request is not None else ""
    return (
        f":warning: Convene could not fully read an email from {sender}{on} "
        f"(“{subject}”): {escape_mrkdwn(reason)}. Nothing was done with it; "
        "please read it in your mailbox."
    )


def seen(session: Session, *, org_id: str, provider_id: str) -> bool:
    return (
        session.exec(
            select(EmailMessage.id).where(
                EmailMessage.org_id == org_id,
                EmailMessage.direction == "inbound",
                EmailMessage.provider_message_id == provider_id,
            )
        ).first()
        is not None
    )


@dataclass(frozen=True)
class Stored:
    row_id: uuid.UUID
    claimed_id: str | None  # the Message-ID it carried, when another message already had it


def record_inbound(
    session: Session,
    *,
    rep: Rep,
    request: SchedulingRequest | None,
    message: InboundRaw,
    email: InboundEmail,
    now: datetime,
    status: str = "received",
    trust_ids: bool = True,
) -> Stored | None:
    """Insert the inbound row; None when this mail is already recorded (the same provider id,
    or the same Message-ID with the same sender, subject and text, as when one email reaches
    two of our mailboxes). A *different* message reusing a known Message-ID (a sender's bug,
    or a stranger copying one of ours), or a copy this mailbox places on its own request, is
    kept under a placeholder id, never dropped. ON CONFLICT keeps the transaction usable."""
    claimed = email.message_id if trust_ids and len(email.message_id) <= MAX_ID_CHARS else ""
    values: dict[str, Any] = {
        "org_id": rep.org_id,
        "request_id": request.id if request else None,
        "direction": "inbound",
        "in_reply_to": _bounded(email.in_reply_to),
        "references": [r for r in email.references if len(r) <= MAX_ID_CHARS],
        "provider_message_id": provider_key(message),
        "thread_id": _bounded(clean_line(message.thread_id)),
        "sender": email.sender[:MAX_ID_CHARS],
        "recipients": [*email.to, *email.cc],
        "subject": email.subject,
        "body_text": email.text,
        "status": status,
        # When we received it by our clock; the Date header is the sender's claim.
        "created_at": now,
        "date_offset_minutes": offset_minutes(email.date),
    }
    # A message without a (usable) Message-ID still needs a unique one for the constraint.
    row_id = _insert_inbound(session, values, claimed or _placeholder_id(rep, message, ""))
    if row_id is not None:
        return Stored(row_id, None)
    if not claimed or seen(session, org_id=rep.org_id, provider_id=provider_key(message)):
        return None
    holder = session.exec(
        select(EmailMessage).where(
            EmailMessage.org_id == rep.org_id, EmailMessage.message_id == claimed
        )
    ).first()
    if holder is None:
        return None
    # The same email in another of our mailboxes counts once, unless this mailbox places it
    # on a request the first copy was not placed on (then it is this request's mail too).
    placed_here = request is not None and holder.request_id != request.id
    if _same_mail(holder, email) and not placed_here:
        return None
    row_id = _insert_inbound(session, values, _placeholder_id(rep, message, "reused."))
    log.warning("mail_message_id_reused", rep_id=str(rep.id), message_id=claimed[:120])
    return Stored(row_id, claimed) if row_id is not None else None


def _insert_inbound(
    session: Session, values: Mapping[str, Any], message_id: str
) -> uuid.UUID | None:
    row_id = uuid.uuid4()
    row = {"id": row_id, "message_id": message_id, **values}
    return row_id if insert_or_ignore(session, model=EmailMessage, values=row) else None


def reply_received(
    request: SchedulingRequest, *, provider_id: str | None, row_id: uuid.UUID, matched_by: str
) -> Event:
    """The event a prospect's reply starts. Keyed by the provider's id, so a reply held for the
    rep and handed on later starts the same one job as if it had been matched at once."""
    return Event(
        type=EventType.email_received,
        org_id=request.org_id,
        idempotency_key=f"mail:{request.org_id}:{provider_id}",
        source="mail",
        rep_id=request.rep_id,
        request_id=request.id,
        payload=EmailReceived(email_message_id=str(row_id), matched_by=matched_by),
    )


def provider_key(message: InboundRaw) -> str:
    """The provider's id for a message as stored: it is the de-duplication key, so it must
    be storable whatever the provider (or a fake of one) hands over."""
    key = clean_line(message.provider_id)
    if key == message.provider_id and len(key) <= MAX_ID_CHARS:
        return key
    return "sha256:" + hashlib.sha256(message.provider_id.encode("utf-8", "replace")).hexdigest()


def _placeholder_id(rep: Rep, message: InboundRaw, tag: str) -> str:
    digest = hashlib.sha256(f"{rep.org_id}\n{provider_key(message)}".encode()).hexdigest()[:32]
    return f"<{tag}{digest}@inbound.invalid>"


def offset_minutes(sent: datetime | None) -> int | None:
    """The Date header's UTC offset in minutes; None when absent or implausible."""
    offset = sent.utcoffset() if sent is not None else None
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    return minutes if abs(minutes) <= 14 * 60 else None


def _bounded(value: str | None) -> str | None:
    return value[:MAX_ID_CHARS] if value else value


def _same_mail(row: EmailMessage, email: InboundEmail) -> bool:
    """The row holding a Message-ID is this very email (another copy of it), not a different
    one that reuses the id."""

    def words(text: str) -> str:
        return " ".join(text.split())

    return (
        row.sender.lower() == email.sender
        and bare_subject(row.subject) == bare_subject(email.subject)
        and words(row.body_text) == words(email.text)
    )
