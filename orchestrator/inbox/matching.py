"""Which of the mailbox owner's requests an inbound message belongs to, if any.

Only the mailbox owner's requests are candidates, whatever the message's headers claim; the
evidence is tried most reliable first (thread, our Message-IDs, calendar UID, a bounce's
quoted id, sender and subject, the attendee an invite answer or bounce names).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from connectors.ports import InboundRaw
from db.models import (
    FINISHED_STATUSES,
    EmailMessage,
    Rep,
    SchedulingAttendee,
    SchedulingRequest,
)
from skills.email_text import bare_subject
from skills.read_email import Classification, InboundEmail

# Longer ids are not real Message-IDs, and would not fit a btree index row.
MAX_ID_CHARS = 250

MAX_QUOTED_IDS = 50  # Message-ID lines a bounce may quote

_QUOTED_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Match:
    request: SchedulingRequest | None
    how: str = ""  # thread | headers | calendar_uid | bounced_message | sender_subject | attendee


def match_request(
    session: Session,
    *,
    rep: Rep,
    message: InboundRaw,
    email: InboundEmail,
    kind: Classification,
) -> Match:
    """The request this message belongs to, most reliable evidence first: always one of the
    mailbox owner's (``rep``'s) requests, whatever the message's headers claim."""
    finders: list[tuple[str, Callable[[], SchedulingRequest | None]]] = [
        ("thread", lambda: _by_thread(session, rep=rep, thread_id=message.thread_id)),
        ("headers", lambda: _by_message_ids(session, rep, parents(email))),
        ("calendar_uid", lambda: _by_calendar_uid(session, rep, kind)),
        ("bounced_message", lambda: _by_bounced_message(session, rep, kind, message)),
        ("sender_subject", lambda: _by_sender_and_subject(session, rep=rep, email=email)),
        ("attendee", lambda: _by_attendee_address(session, rep=rep, kind=kind)),
    ]
    for how, find in finders:
        request = find()
        if request is not None:
            return Match(request, how)
    return Match(None)


def parents(email: InboundEmail) -> list[str]:
    """In-Reply-To first, then References from the newest back."""
    chain = [email.in_reply_to] if email.in_reply_to else []
    return chain + [ref for ref in reversed(email.references) if ref not in chain]


def _by_thread(session: Session, *, rep: Rep, thread_id: str) -> SchedulingRequest | None:
    # Provider thread ids are per mailbox (Gmail), so only this rep's requests can match.
    if not thread_id:
        return None
    return session.exec(
        select(SchedulingRequest)
        .where(SchedulingRequest.org_id == rep.org_id, SchedulingRequest.rep_id == rep.id)
        .where(SchedulingRequest.email_thread_id == thread_id)
        .order_by(col(SchedulingRequest.created_at).desc())
    ).first()


def _by_message_ids(
    session: Session, rep: Rep, message_ids: Sequence[str]
) -> SchedulingRequest | None:
    """Only emails this mailbox sent for its owner's requests: another rep's Message-ID in
    the headers (or an inbound one anyone could have copied) proves nothing about this mail."""
    message_ids = [m for m in message_ids if len(m) <= MAX_ID_CHARS]
    if not message_ids:
        return None
    rows = session.exec(
        select(EmailMessage)
        .join(SchedulingRequest, col(SchedulingRequest.id) == EmailMessage.request_id)
        .where(
            EmailMessage.org_id == rep.org_id,
            EmailMessage.direction == "outbound",
            func.lower(EmailMessage.sender) == rep.email.lower(),
            SchedulingRequest.rep_id == rep.id,
            col(EmailMessage.message_id).in_(message_ids),
        )
    ).all()
    by_id = {row.message_id: row for row in rows}
    for message_id in message_ids:  # the closest parent wins
        if message_id in by_id:
            return session.get(SchedulingRequest, by_id[message_id].request_id)
    return None


def _by_calendar_uid(session: Session, rep: Rep, kind: Classification) -> SchedulingRequest | None:
    if kind.kind != "calendar_reply" or not kind.event_uid:
        return None
    return session.exec(
        select(SchedulingRequest).where(
            SchedulingRequest.org_id == rep.org_id,
            SchedulingRequest.rep_id == rep.id,
            SchedulingRequest.calendar_event_id == kind.event_uid,
        )
    ).first()


def _by_bounced_message(
    session: Session, rep: Rep, kind: Classification, message: InboundRaw
) -> SchedulingRequest | None:
    """A bounce carries the failed message's headers; its Message-ID names our email."""
    if kind.kind != "bounce":
        return None
    quoted = _QUOTED_MESSAGE_ID.findall(message.raw.decode("latin-1"))
    return _by_message_ids(session, rep, quoted[:MAX_QUOTED_IDS])


def _by_sender_and_subject(
    session: Session, *, rep: Rep, email: InboundEmail
) -> SchedulingRequest | None:
    """A prospect who wrote back outside the thread, on the subject we used."""
    subject = bare_subject(email.subject)
    for request in _requests_with_prospect(session, rep=rep, addresses=[email.sender]):
        if subject and subject in _our_subjects(session, request):
            return request
    return None


def _by_attendee_address(
    session: Session, *, rep: Rep, kind: Classification
) -> SchedulingRequest | None:
    """Invite answers and bounces name the attendee: the newest open request with them."""
    addresses = [kind.attendee] if kind.attendee else list(kind.failed_recipients)
    if kind.kind not in ("calendar_reply", "bounce") or not addresses:
        return None
    candidates = _requests_with_prospect(session, rep=rep, addresses=addresses)
    return next((r for r in candidates if r.status not in FINISHED_STATUSES), None)


def _requests_with_prospect(
    session: Session, *, rep: Rep, addresses: Sequence[str]
) -> list[SchedulingRequest]:
    """This rep's requests with one of ``addresses`` as a prospect: open ones first, newest
    first within each group."""
    requests = known_prospect_requests(session, rep=rep, addresses=addresses)
    return sorted(requests, key=lambda r: r.status in FINISHED_STATUSES)


def _our_subjects(session: Session, request: SchedulingRequest) -> set[str]:
    subjects = session.exec(
        select(EmailMessage.subject).where(
            EmailMessage.request_id == request.id, EmailMessage.direction == "outbound"
        )
    ).all()
    return {bare_subject(s) for s in subjects}


def concerns_us(
    session: Session, rep: Rep, email: InboundEmail, kind: Classification, *, domain: str
) -> bool:
    """Unplaced mail that must still reach the rep: it quotes one of our Message-IDs, or it
    is from (or, for a bounce, about) someone who is a prospect on one of the rep's requests."""
    if any(ref.endswith(f"@{domain}>") for ref in parents(email)):
        return True
    addresses = [email.sender, *kind.failed_recipients]
    return bool(known_prospect_requests(session, rep=rep, addresses=addresses))


def known_prospect_requests(
    session: Session, *, rep: Rep, addresses: Sequence[str]
) -> list[SchedulingRequest]:
    """The mailbox owner's requests with one of ``addresses`` as a prospect (another rep's
    requests are theirs to hear about, not this rep's)."""
    lowered = [a.lower() for a in addresses if a]
    if not lowered:
        return []
    return list(
        session.exec(
            select(SchedulingRequest)
            .join(SchedulingAttendee, col(SchedulingAttendee.request_id) == SchedulingRequest.id)
            .where(SchedulingRequest.org_id == rep.org_id, SchedulingRequest.rep_id == rep.id)
            .where(SchedulingAttendee.side == "external")
            .where(func.lower(SchedulingAttendee.email).in_(lowered))
            .order_by(col(SchedulingRequest.created_at).desc())
        ).unique()
    )
