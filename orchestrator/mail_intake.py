"""Reply intake: read each rep's new mail, match it to its scheduling request, act on its kind.

The clock calls :func:`poll_inboxes` every interval. Per message, in one transaction: the
inbound ``email_messages`` row (its unique provider id and Message-ID are the de-duplication
gate), the audit row, any request or attendee change, and the ``email_received`` job. Wake-ups
and DMs go out after that commit. A rep's cursor is saved only after the whole batch is
recorded, so a crash makes the next poll read the same messages again, and the unique
constraints turn them into no-ops.

A message is that message's problem, never the mailbox's: one Convene cannot parse, or one the
database refuses, is recorded as unreadable (its own row, in a fresh transaction, with what
could be read), the rep is told once, and the poll moves on. Only an outage — the database or
the provider unreachable — leaves the cursor where it was.

Mail belongs to its mailbox: a message is matched only to the mailbox owner's requests, by
Message-IDs sent from that mailbox. A reply on a request's thread from someone who is not on
the request is shown to the rep (`orchestrator.stranger_replies`), never taken as the answer.

What is never done here: answering the prospect, or reopening a finished request. Mail that
plausibly concerns a prospect but cannot be placed goes to the rep instead of being dropped.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, col, select

from connectors.errors import ReconnectRequired, TransientError
from connectors.ports import InboundRaw, MailReader
from db.audit import record_action
from db.models import (
    EmailMessage,
    JobRun,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
)
from orchestrator.bootstrap import Deps
from orchestrator.dispatch import insert_job
from orchestrator.event_types import EmailReceived, EventType
from orchestrator.events import Event
from orchestrator.mrkdwn import escape_mrkdwn, quote_mrkdwn
from orchestrator.notifications import claim
from orchestrator.notify import tell_rep
from orchestrator.providers import mail_provider_of
from orchestrator.steps.replies import prospect_tz
from orchestrator.stranger_replies import hold_stranger_reply
from skills.clean_text import clean_line
from skills.parse_times import parse_time
from skills.read_email import Classification, InboundEmail, classify, clean_body, parse_email

log = structlog.get_logger(__name__)

FINISHED = (RequestStatus.completed, RequestStatus.cancelled)
# Errors that mean "try the whole mailbox again next tick", not "this message is unreadable".
OUTAGES = (
    TransientError,
    TimeoutError,
    ConnectionError,
    DisconnectionError,
    InterfaceError,
    PoolTimeout,
)
# SQLSTATE classes in which the database refuses a value (22 data exception: NUL, bad
# encoding; 54 program limit: an index row too large), not its own availability.
_REFUSED_VALUE = ("22", "54")
# Longer ids are not real Message-IDs, and would not fit a btree index row.
MAX_ID_CHARS = 250
MAX_SUBJECT_SHOWN = 200
MAX_QUOTED_IDS = 50  # Message-ID lines a bounce may quote
# An out-of-office person is taken to be back at this local time on their return day.
BACK_AT = time(9, 0)
PARTSTATS = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
_REPLY_PREFIXES = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|sv|wg|tr|antw|vs)(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE
)
_QUOTED_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_THROUGH = r"\b(?:through|thru)\s+"


ReaderFor = Callable[[Rep], "MailReader | None"]


# --- the poll ----------------------------------------------------------------------------------


def poll_inboxes(deps: Deps, *, reader_for: ReaderFor | None = None) -> dict[str, int]:
    """Read every rep's new mail once; returns what happened, counted by outcome.

    ``reader_for`` picks each rep's mailbox reader (default: ``deps.reader_for``, the rep's
    own Gmail, Microsoft 365, IMAP or embedded inbox). One failing mailbox is recorded and
    skipped; the others still run. A rep whose grant is gone is asked, once, to reconnect.
    """
    started = deps.clock.now()
    counts: Counter[str] = Counter()
    errors: list[str] = []
    for rep in _reps(deps):
        try:
            reader = reader_for(rep) if reader_for else deps.reader_for(rep)
            if reader is None:
                continue
            _poll_mailbox(deps, rep=rep, reader=reader, counts=counts)
        except ReconnectRequired as exc:
            # Retrying every tick cannot fix a revoked grant; the rep can, so tell them once.
            log.warning("mail_reconnect_required", rep_id=str(rep.id), error=str(exc))
            counts["reconnect_required"] += 1
            errors.append(f"rep {rep.id}: {type(exc).__name__}: {exc}"[:500])
            _ask_to_reconnect(deps, rep=rep, reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - one mailbox must not stop the others
            log.warning("mail_poll_failed", rep_id=str(rep.id), error=repr(exc))
            counts["failed_mailboxes"] += 1
            errors.append(f"rep {rep.id}: {type(exc).__name__}: {exc}"[:500])
    _record_run(deps, started=started, counts=counts, errors=errors)
    return dict(counts)


def _ask_to_reconnect(deps: Deps, *, rep: Rep, reason: str) -> None:
    """DM the rep once per lost grant (a later reconnect that is lost again is a new notice)."""
    grant = deps.mailboxes.grant_of(rep) if deps.mailboxes else "local"
    key = f"mail_reconnect:{rep.id}:{grant}"
    provider = mail_provider_of(deps.settings, rep)
    if provider == "smtp":
        fix = "An admin needs to check the SMTP/IMAP login (`convene doctor`)."
    else:
        fix = "Run `/schedule connect` to connect it."
    text = (
        f":electric_plug: I can't reach your mailbox ({escape_mrkdwn(reason)}), so replies to "
        f"your requests aren't being read and nothing can be sent. {fix}"
    )
    try:
        channel = deps.chat.open_dm(user_id=rep.slack_user_id)
        with deps.uow() as uow:
            now = deps.clock.now()
            if not claim(
                uow.session,
                rep=rep,
                kind="mail_reconnect",
                dedupe_key=key,
                channel=channel,
                now=now,
            ):
                return
            # Posted inside the claim's transaction: a failed post rolls the claim back, so
            # the next tick tries again.
            deps.chat.post_message(channel=channel, text=text)
            uow.commit()
    except Exception as exc:  # noqa: BLE001 - a notice must not break the poll
        log.warning("mail_reconnect_notice_failed", rep_id=str(rep.id), error=repr(exc))


def _reps(deps: Deps) -> list[Rep]:
    with deps.uow() as uow:
        return list(uow.session.exec(select(Rep).order_by(col(Rep.created_at))))


def _poll_mailbox(deps: Deps, *, rep: Rep, reader: MailReader, counts: Counter[str]) -> None:
    batch = reader.fetch_new(rep.mail_cursor)
    counts["mailboxes"] += 1
    for message in batch.messages:
        counts[_intake_or_report(deps, rep=rep, message=message)] += 1
    # Only now: every message above is committed (or knowingly skipped).
    _save_cursor(deps, rep_id=rep.id, cursor=batch.cursor)


def _save_cursor(deps: Deps, *, rep_id: uuid.UUID, cursor: str) -> None:
    with deps.uow() as uow:
        uow.session.execute(update(Rep).where(col(Rep.id) == rep_id).values(mail_cursor=cursor))
        uow.commit()


def _record_run(deps: Deps, *, started: datetime, counts: Counter[str], errors: list[str]) -> None:
    with deps.uow() as uow:
        uow.session.add(
            JobRun(
                name="mail_intake",
                started_at=started,
                finished_at=deps.clock.now(),
                counts=dict(counts),
                errors=errors,
            )
        )
        uow.commit()


def _intake_or_report(deps: Deps, *, rep: Rep, message: InboundRaw) -> str:
    """Take one message in. A message we cannot process, or one the database refuses, is
    recorded as unreadable in a fresh transaction and the rep told; an outage instead stops
    the poll (the cursor stays, the batch is read again next tick). Recording the unreadable
    row is the last test: if even that fails, the database is what is failing."""
    try:
        return intake_message(deps, rep=rep, message=message)
    except Exception as exc:
        if is_outage(exc):
            raise
        log.warning("mail_unreadable", rep_id=str(rep.id), error=repr(exc)[:500])
        return record_unreadable(deps, rep=rep, message=message, reason=_failure(exc))


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database or the provider is unavailable (try the mailbox
    again later) rather than that this one message cannot be taken in."""
    if isinstance(exc, OUTAGES):
        return True
    if isinstance(exc, OperationalError):
        # Locked, deadlocked, disconnected, timed out: transient. A value the database will
        # never accept is not.
        state = str(getattr(exc.orig, "sqlstate", "") or "")
        return not state.startswith(_REFUSED_VALUE)
    return False


def _failure(exc: BaseException) -> str:
    if isinstance(exc, RecursionError | MemoryError):
        return "it is too complex to read"
    return f"reading it failed ({type(exc).__name__})"


def record_unreadable(deps: Deps, *, rep: Rep, message: InboundRaw, reason: str) -> str:
    """One row for a message that could not be taken in, with whatever of it can be read,
    and one notice to the rep (the row is the gate: reading the message again finds it)."""
    email = _salvage(message.raw)
    now = deps.clock.now()
    with deps.uow() as uow:
        if _seen(uow.session, org_id=rep.org_id, provider_id=provider_key(message)):
            return "duplicates"
        stored = _record_inbound(
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
    tell_rep(deps, rep_id=rep.id, text=_unreadable_notice(email, reason=reason, request=None))
    return "unreadable"


def _salvage(raw: bytes) -> InboundEmail:
    """What can be read of a message that failed: the headers at least, when parsing works."""
    try:
        email = parse_email(raw)
    except Exception:  # noqa: BLE001 - nothing readable: the row still records that it came
        return parse_email(b"")
    return email


def _unreadable_notice(
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


# --- one message -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    request: SchedulingRequest | None
    how: str = ""  # thread | headers | calendar_uid | bounced_message | sender_subject | attendee


@dataclass
class Outcome:
    label: str  # the counter it adds to
    notices: list[tuple[uuid.UUID, str]] = field(default_factory=list)  # (rep id, DM text)
    wake_job: uuid.UUID | None = None
    after_commit: list[Callable[[Deps], None]] = field(default_factory=list)  # e.g. a card


@dataclass(frozen=True)
class Inbound:
    """One inbound message being handled, with everything its handler may need."""

    session: Session
    rep: Rep  # the mailbox owner
    request: SchedulingRequest | None
    email: InboundEmail
    kind: Classification
    message: InboundRaw
    row_id: uuid.UUID
    how: str
    now: datetime
    claimed_id: str | None = None  # a Message-ID another message already had, kept for audit


def intake_message(deps: Deps, *, rep: Rep, message: InboundRaw) -> str:
    """Record and act on one message from ``rep``'s inbox; returns the outcome label."""
    email = parse_email(message.raw)
    kind = classify(email)
    with deps.uow() as uow:
        outcome = _route(uow.session, deps, rep=rep, message=message, email=email, kind=kind)
        uow.commit()
    # Committed: from here on nothing may turn this message into an "unreadable" one.
    for effect in outcome.after_commit:
        try:
            effect(deps)
        except Exception as exc:  # noqa: BLE001 - the row and its job are saved; the clock resumes
            log.warning("mail_effect_failed", rep_id=str(rep.id), error=repr(exc)[:500])
    if outcome.wake_job is not None:
        try:
            deps.wakeups.run_step(outcome.wake_job, tag="0-0")
        except Exception as exc:  # noqa: BLE001 - the job row is committed; the clock resumes it
            log.warning("mail_wakeup_failed", job_id=str(outcome.wake_job), error=repr(exc))
    for rep_id, text in outcome.notices:
        tell_rep(deps, rep_id=rep_id, text=text)
    return outcome.label


def _route(
    session: Session,
    deps: Deps,
    *,
    rep: Rep,
    message: InboundRaw,
    email: InboundEmail,
    kind: Classification,
) -> Outcome:
    now = deps.clock.now()
    if _seen(session, org_id=rep.org_id, provider_id=provider_key(message)):
        return Outcome("duplicates")  # cheap early exit; the insert below is the real gate
    match = match_request(session, rep=rep, message=message, email=email, kind=kind)
    domain = deps.settings.mail_domain
    if match.request is None and not _concerns_us(session, rep, email, kind, domain=domain):
        # Not ours (newsletters, colleagues, other business): not stored, never processed.
        return Outcome("ignored")
    status = "unreadable" if email.problem else "received"
    stored = _record_inbound(
        session,
        rep=rep,
        request=match.request,
        message=message,
        email=email,
        now=now,
        status=status,
    )
    if stored is None:
        return Outcome("duplicates")
    inbound = Inbound(
        session,
        rep,
        match.request,
        email,
        kind,
        message,
        stored.row_id,
        match.how,
        now,
        claimed_id=stored.claimed_id,
    )
    if email.problem:
        return _on_unreadable(inbound, reason=email.problem)
    if match.request is None:
        return _escalate_unmatched(inbound)
    return HANDLERS[kind.kind](inbound)


def _seen(session: Session, *, org_id: str, provider_id: str) -> bool:
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


def _record_inbound(
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
    }
    # A message without a (usable) Message-ID still needs a unique one for the constraint.
    row_id = _insert_inbound(session, values, claimed or _placeholder_id(rep, message, ""))
    if row_id is not None:
        return Stored(row_id, None)
    if not claimed or _seen(session, org_id=rep.org_id, provider_id=provider_key(message)):
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
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = EmailMessage.__table__  # type: ignore[attr-defined]
    result = session.execute(
        insert(table)
        .values(id=uuid.uuid4(), message_id=message_id, **values)
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
    return result.scalar_one_or_none()


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


# --- matching ----------------------------------------------------------------------------------


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
        ("headers", lambda: _by_message_ids(session, rep, _parents(email))),
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


def _parents(email: InboundEmail) -> list[str]:
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
    return next((r for r in candidates if r.status not in FINISHED), None)


def _requests_with_prospect(
    session: Session, *, rep: Rep, addresses: Sequence[str]
) -> list[SchedulingRequest]:
    """This rep's requests with one of ``addresses`` as a prospect: open ones first, newest
    first within each group."""
    lowered = [a.lower() for a in addresses]
    rows = session.exec(
        select(SchedulingRequest)
        .join(SchedulingAttendee, col(SchedulingAttendee.request_id) == SchedulingRequest.id)
        .where(SchedulingRequest.org_id == rep.org_id, SchedulingRequest.rep_id == rep.id)
        .where(SchedulingAttendee.side == "external")
        .where(func.lower(SchedulingAttendee.email).in_(lowered))
        .order_by(col(SchedulingRequest.created_at).desc())
    ).all()
    unique = list({r.id: r for r in rows}.values())
    return sorted(unique, key=lambda r: r.status in FINISHED)


def _our_subjects(session: Session, request: SchedulingRequest) -> set[str]:
    subjects = session.exec(
        select(EmailMessage.subject).where(
            EmailMessage.request_id == request.id, EmailMessage.direction == "outbound"
        )
    ).all()
    return {bare_subject(s) for s in subjects}


def bare_subject(subject: str) -> str:
    """The subject without "Re:"/"Fwd:"/"AW:" prefixes, case and spacing: what threads share."""
    return " ".join(_REPLY_PREFIXES.sub("", subject).split()).lower()


def _concerns_us(
    session: Session, rep: Rep, email: InboundEmail, kind: Classification, *, domain: str
) -> bool:
    """Unplaced mail that must still reach the rep: it quotes one of our Message-IDs, or it
    is from (or, for a bounce, about) someone who is a prospect on one of the rep's requests."""
    if any(ref.endswith(f"@{domain}>") for ref in _parents(email)):
        return True
    addresses = [email.sender, *kind.failed_recipients]
    return bool(_known_prospect_requests(session, rep=rep, addresses=addresses))


def _known_prospect_requests(
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


# --- handlers, one per kind of mail --------------------------------------------------------------


def _audit(m: Inbound, kind: str, *, actor: str, reasoning: str, **details: object) -> None:
    record_action(
        m.session,
        org_id=m.rep.org_id,
        request_id=m.request.id if m.request else None,
        kind=kind,
        actor=actor,
        reasoning=reasoning,
        details={
            "email_message_id": str(m.row_id),
            "from": m.email.sender,
            "matched_by": m.how,
            **({"claimed_message_id": m.claimed_id} if m.claimed_id else {}),
            **details,
        },
        now=m.now,
    )


def _on_normal(m: Inbound) -> Outcome:
    request = _request(m)
    if request.status in FINISHED:
        return _tell_about_finished(m, request)
    if _from_our_side(m.session, request, m.email.sender):
        # A teammate's reply-all is not the prospect's answer; the thread keeps it, no more.
        _audit(m, "internal_reply", actor="user", reasoning="a reply from our side")
        return Outcome("internal")
    if not _on_request(m.session, request, m.email.sender):
        # Anyone who sees the thread can reply on it; only the people on the request answer it.
        _audit(m, "reply_from_stranger", actor="system", reasoning="sender is not on the request")
        card = hold_stranger_reply(
            m.session, request=request, row_id=m.row_id, email=m.email, now=m.now
        )
        return Outcome("stranger_replies", after_commit=[card])
    event = Event(
        type=EventType.email_received,
        org_id=request.org_id,
        idempotency_key=f"mail:{request.org_id}:{provider_key(m.message)}",
        source="mail",
        rep_id=request.rep_id,
        request_id=request.id,
        payload=EmailReceived(email_message_id=str(m.row_id), matched_by=m.how),
    )
    # Same transaction as the inbound row: both exist or neither does.
    job, created = insert_job(m.session, event, now=m.now)
    return Outcome("dispatched", wake_job=job.id if created else None)


def _tell_about_finished(m: Inbound, request: SchedulingRequest) -> Outcome:
    _audit(
        m,
        "reply_on_finished_request",
        actor="prospect",
        reasoning=f"reply on a {request.status} request; not reopened",
    )
    sender, ref = escape_mrkdwn(m.email.sender), escape_mrkdwn(request.ref)
    text = (
        f":incoming_envelope: {sender} replied on *{ref}*, which is {request.status}."
        " Convene did not reopen it; use `/schedule` if they want to meet again."
        f"\n{quote_mrkdwn(clean_body(m.email.text))}"
    )
    return Outcome("escalated", notices=[(request.rep_id, text)])


def _on_auto_reply(m: Inbound) -> Outcome:
    request = _request(m)
    if not _on_request(m.session, request, m.email.sender):
        # Someone else's absence says nothing about when the prospect is back.
        _audit(m, "auto_reply", actor="system", reasoning=f"{m.kind.reason}; not on the request")
        return Outcome("auto_replies")
    tz = prospect_tz(m.session, request, m.email.sender)
    back = _back_at(m.email.text, m.kind.return_text, now=m.now, tz=tz)
    paused_until = _hold_follow_ups(request, back=back, now=m.now)
    if paused_until is not None:
        m.session.add(request)
    _audit(
        m,
        "auto_reply",
        actor="prospect",
        reasoning=m.kind.reason,
        return_text=m.kind.return_text,
        follow_ups_paused_until=paused_until.isoformat() if paused_until else None,
    )
    return Outcome("auto_replies")


def _back_at(text: str, return_text: str | None, *, now: datetime, tz: str) -> datetime | None:
    """When an out-of-office person is back: their return day at 9:00 their time. "Through
    Friday" means back the day after; "back on"/"until" name the return day itself."""
    parsed = parse_time(return_text, now=now, tz=tz) if return_text else None
    if parsed is None or return_text is None:
        return None
    zone = ZoneInfo(tz)
    day = parsed.start.astimezone(zone).date()
    if re.search(_THROUGH + re.escape(return_text), " ".join(text.split()), re.IGNORECASE):
        day += timedelta(days=1)
    back = datetime.combine(day, BACK_AT, tzinfo=zone).astimezone(UTC)
    return back if back > now else None


def _hold_follow_ups(
    request: SchedulingRequest, *, back: datetime | None, now: datetime
) -> datetime | None:
    """Move a pending follow-up to the return time (never earlier); None when unchanged."""
    if back is None or request.status in FINISHED:
        return None
    if request.next_action_type != "follow_up" or request.next_action_at is None:
        return None
    if back <= request.next_action_at:
        return None
    request.next_action_at = back
    request.updated_at = now
    return back


def _on_bounce(m: Inbound) -> Outcome:
    request = _request(m)
    failed = ", ".join(m.kind.failed_recipients) or "an address the bounce did not name"
    _audit(
        m,
        "email_bounced",
        actor="system",
        reasoning=m.kind.reason,
        failed_recipients=list(m.kind.failed_recipients),
    )
    text = (
        f":warning: *{escape_mrkdwn(request.ref)}* · your email to {escape_mrkdwn(failed)} "
        "could not be delivered. Check the address; Convene has not retried."
    )
    if _everyone_bounced(m, request) and request.next_action_type == "follow_up":
        # A nudge to a dead address only bounces again. No command edits an attendee, so a
        # corrected address means a new request.
        request.next_action_at = request.next_action_type = None
        request.updated_at = m.now
        m.session.add(request)
        text += (
            " Follow-ups are stopped; to reach them at a corrected address, "
            f"`/schedule cancel {escape_mrkdwn(request.ref)}` and schedule again with it."
        )
    return Outcome("bounces", notices=[(request.rep_id, text)])


def _everyone_bounced(m: Inbound, request: SchedulingRequest) -> bool:
    """Whether every external attendee's address has bounced, by this or an earlier DSN."""
    external = m.session.exec(
        select(SchedulingAttendee.email).where(
            SchedulingAttendee.request_id == request.id, SchedulingAttendee.side == "external"
        )
    ).all()
    earlier = m.session.exec(
        select(SchedulingAction.details).where(
            SchedulingAction.request_id == request.id,
            SchedulingAction.action_type == "email_bounced",
        )
    ).all()
    bounced = {a.lower() for a in m.kind.failed_recipients}
    bounced |= {a.lower() for details in earlier for a in details.get("failed_recipients", [])}
    return bool(external) and {a.lower() for a in external} <= bounced


def _on_calendar_reply(m: Inbound) -> Outcome:
    request = _request(m)
    who = (m.kind.attendee or m.email.sender).lower()
    status = PARTSTATS.get(m.kind.partstat or "", "needs_action")
    attendee = m.session.exec(
        select(SchedulingAttendee).where(
            SchedulingAttendee.request_id == request.id,
            func.lower(SchedulingAttendee.email) == who,
        )
    ).first()
    if attendee is not None:
        attendee.invite_status = status
        m.session.add(attendee)
    _audit(
        m,
        "invite_response",
        actor="prospect",
        reasoning=m.kind.reason,
        attendee=who,
        invite_status=status,
        known_attendee=attendee is not None,
    )
    return Outcome("calendar_replies")


def _escalate_unmatched(m: Inbound) -> Outcome:
    """Mail about a prospect that no request claims: the rep reads it, Convene does nothing."""
    if m.kind.kind == "auto_reply":
        _audit(m, "auto_reply", actor="prospect", reasoning=f"{m.kind.reason}; no request")
        return Outcome("auto_replies")
    known = _known_prospect_requests(
        m.session, rep=m.rep, addresses=[m.email.sender, *m.kind.failed_recipients]
    )
    _audit(
        m,
        "unmatched_mail",
        actor="system",
        reasoning="no request claims it; the rep was told",
        known_requests=[r.ref for r in known],
    )
    on = ", ".join(f"*{escape_mrkdwn(r.ref)}* ({r.status})" for r in known)
    subject = escape_mrkdwn(m.email.subject[:MAX_SUBJECT_SHOWN])
    text = (
        f":incoming_envelope: {escape_mrkdwn(m.email.sender)} wrote to you "
        f"(“{subject}”) and Convene could not tell which request it "
        f"belongs to{f'; they are on {on}' if on else ''}. Nothing was done: please read it."
        f"\n{quote_mrkdwn(clean_body(m.email.text))}"
    )
    return Outcome("escalated", notices=[(m.rep.id, text)])


def _on_unreadable(m: Inbound, *, reason: str) -> Outcome:
    """Read only in part: recorded, and the rep reads it; nothing acts on a partial text."""
    _audit(m, "unreadable_mail", actor="system", reasoning=reason)
    rep_id = m.request.rep_id if m.request else m.rep.id
    return Outcome(
        "unreadable",
        notices=[(rep_id, _unreadable_notice(m.email, reason=reason, request=m.request))],
    )


HANDLERS: dict[str, Callable[[Inbound], Outcome]] = {
    "normal": _on_normal,
    "auto_reply": _on_auto_reply,
    "bounce": _on_bounce,
    "calendar_reply": _on_calendar_reply,
}


def _request(m: Inbound) -> SchedulingRequest:
    assert m.request is not None, "handlers run on matched mail only"
    return m.request


def _attendees(session: Session, request: SchedulingRequest) -> list[SchedulingAttendee]:
    return list(
        session.exec(select(SchedulingAttendee).where(SchedulingAttendee.request_id == request.id))
    )


def _on_request(session: Session, request: SchedulingRequest, sender: str) -> bool:
    """Whether ``sender`` is one of the request's prospects (a delegate the rep confirmed is
    one of them too)."""
    external = {a.email.lower() for a in _attendees(session, request) if a.side == "external"}
    return sender.lower() in external


def _from_our_side(session: Session, request: SchedulingRequest, sender: str) -> bool:
    internal = {a.email.lower() for a in _attendees(session, request) if a.side == "internal"}
    rep = session.get_one(Rep, request.rep_id)
    return sender in internal | {rep.email.lower()}
