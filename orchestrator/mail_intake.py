"""Reply intake: read each rep's new mail, match it to its scheduling request, act on its kind.

The clock calls :func:`poll_inboxes` every interval. Per message, in one transaction: the
inbound ``email_messages`` row (its unique provider id and Message-ID are the de-duplication
gate), the audit row, any request or attendee change, and the ``email_received`` job. Wake-ups
and DMs go out after that commit. A rep's cursor is saved only after the whole batch is
recorded, so a crash makes the next poll read the same messages again, and the unique
constraints turn them into no-ops.

What is never done here: answering the prospect, or reopening a finished request. Mail that
plausibly concerns a prospect but cannot be placed goes to the rep instead of being dropped.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
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
from orchestrator.events import Event
from orchestrator.mrkdwn import escape_mrkdwn, quote_mrkdwn
from orchestrator.notifications import claim
from orchestrator.notify import tell_rep
from orchestrator.providers import mail_provider_of
from orchestrator.steps.replies import prospect_tz
from skills.parse_times import parse_time
from skills.read_email import Classification, InboundEmail, classify, clean_body, parse_email

log = structlog.get_logger(__name__)

FINISHED = (RequestStatus.completed, RequestStatus.cancelled)
# Errors that mean "try the whole mailbox again next tick", not "this message is unreadable".
RETRY_LATER = (SQLAlchemyError, TransientError, TimeoutError, ConnectionError)
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
    """Take one message in. A message we cannot process is reported to the rep and skipped,
    so one malformed email cannot stall the mailbox; database and network trouble instead
    stops the poll (the cursor stays, the batch is read again next tick)."""
    try:
        return intake_message(deps, rep=rep, message=message)
    except RETRY_LATER:
        raise
    except Exception as exc:  # noqa: BLE001 - reported to the rep below, never dropped silently
        log.warning("mail_unreadable", rep_id=str(rep.id), error=repr(exc))
        tell_rep(
            deps,
            rep_id=rep.id,
            text=":warning: Convene could not read an email in your inbox "
            f"(provider id {escape_mrkdwn(message.provider_id)}). Please look at it yourself.",
        )
        return "unreadable"


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


def intake_message(deps: Deps, *, rep: Rep, message: InboundRaw) -> str:
    """Record and act on one message from ``rep``'s inbox; returns the outcome label."""
    email = parse_email(message.raw)
    kind = classify(email)
    with deps.uow() as uow:
        outcome = _route(uow.session, deps, rep=rep, message=message, email=email, kind=kind)
        uow.commit()
    if outcome.wake_job is not None:
        deps.wakeups.run_step(outcome.wake_job, tag="0-0")
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
    if _seen(session, org_id=rep.org_id, provider_id=message.provider_id):
        return Outcome("duplicates")  # cheap early exit; the insert below is the real gate
    match = match_request(session, rep=rep, message=message, email=email, kind=kind)
    domain = deps.settings.mail_domain
    if match.request is None and not _concerns_us(session, rep, email, kind, domain=domain):
        # Not ours (newsletters, colleagues, other business): not stored, never processed.
        return Outcome("ignored")
    row_id = _record_inbound(
        session, rep=rep, request=match.request, message=message, email=email, now=now
    )
    if row_id is None:
        return Outcome("duplicates")
    inbound = Inbound(session, rep, match.request, email, kind, message, row_id, match.how, now)
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


def _record_inbound(
    session: Session,
    *,
    rep: Rep,
    request: SchedulingRequest | None,
    message: InboundRaw,
    email: InboundEmail,
    now: datetime,
) -> uuid.UUID | None:
    """Insert the inbound row; None when it already exists (same provider id, or the same
    Message-ID seen in another mailbox of ours). ON CONFLICT keeps the transaction usable."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = EmailMessage.__table__  # type: ignore[attr-defined]
    result = session.execute(
        insert(table)
        .values(
            id=uuid.uuid4(),
            org_id=rep.org_id,
            request_id=request.id if request else None,
            direction="inbound",
            # A message without a Message-ID still needs a unique one for the constraint.
            message_id=email.message_id or f"<{message.provider_id}@inbound.invalid>",
            in_reply_to=email.in_reply_to,
            references=list(email.references),
            provider_message_id=message.provider_id,
            thread_id=message.thread_id,
            sender=email.sender,
            recipients=[*email.to, *email.cc],
            subject=email.subject,
            body_text=email.text,
            status="received",
            # When we received it by our clock; the Date header is the sender's claim.
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
    return result.scalar_one_or_none()


# --- matching ----------------------------------------------------------------------------------


def match_request(
    session: Session,
    *,
    rep: Rep,
    message: InboundRaw,
    email: InboundEmail,
    kind: Classification,
) -> Match:
    """The request this message belongs to, most reliable evidence first."""
    finders: list[tuple[str, Callable[[], SchedulingRequest | None]]] = [
        ("thread", lambda: _by_thread(session, rep=rep, thread_id=message.thread_id)),
        ("headers", lambda: _by_message_ids(session, rep.org_id, _parents(email))),
        ("calendar_uid", lambda: _by_calendar_uid(session, rep.org_id, kind)),
        ("bounced_message", lambda: _by_bounced_message(session, rep.org_id, kind, message)),
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
    session: Session, org_id: str, message_ids: Sequence[str]
) -> SchedulingRequest | None:
    if not message_ids:
        return None
    rows = session.exec(
        select(EmailMessage).where(
            EmailMessage.org_id == org_id,
            col(EmailMessage.message_id).in_(message_ids),
            col(EmailMessage.request_id).is_not(None),
        )
    ).all()
    by_id = {row.message_id: row for row in rows}
    for message_id in message_ids:  # the closest parent wins
        if message_id in by_id:
            return session.get(SchedulingRequest, by_id[message_id].request_id)
    return None


def _by_calendar_uid(
    session: Session, org_id: str, kind: Classification
) -> SchedulingRequest | None:
    if kind.kind != "calendar_reply" or not kind.event_uid:
        return None
    return session.exec(
        select(SchedulingRequest).where(
            SchedulingRequest.org_id == org_id,
            SchedulingRequest.calendar_event_id == kind.event_uid,
        )
    ).first()


def _by_bounced_message(
    session: Session, org_id: str, kind: Classification, message: InboundRaw
) -> SchedulingRequest | None:
    """A bounce carries the failed message's headers; its Message-ID names our email."""
    if kind.kind != "bounce":
        return None
    quoted = _QUOTED_MESSAGE_ID.findall(message.raw.decode("latin-1"))
    return _by_message_ids(session, org_id, quoted)


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
    is from (or, for a bounce, about) someone who is a prospect on any request."""
    if any(ref.endswith(f"@{domain}>") for ref in _parents(email)):
        return True
    addresses = [email.sender, *kind.failed_recipients]
    return bool(_known_prospect_requests(session, org_id=rep.org_id, addresses=addresses))


def _known_prospect_requests(
    session: Session, *, org_id: str, addresses: Sequence[str]
) -> list[SchedulingRequest]:
    lowered = [a.lower() for a in addresses if a]
    if not lowered:
        return []
    return list(
        session.exec(
            select(SchedulingRequest)
            .join(SchedulingAttendee, col(SchedulingAttendee.request_id) == SchedulingRequest.id)
            .where(SchedulingRequest.org_id == org_id, SchedulingAttendee.side == "external")
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
    event = Event(
        type="email_received",
        org_id=request.org_id,
        idempotency_key=f"mail:{request.org_id}:{m.message.provider_id}",
        source="mail",
        rep_id=request.rep_id,
        request_id=request.id,
        payload={"email_message_id": str(m.row_id), "matched_by": m.how},
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
        m.session, org_id=m.rep.org_id, addresses=[m.email.sender, *m.kind.failed_recipients]
    )
    _audit(
        m,
        "unmatched_mail",
        actor="system",
        reasoning="no request claims it; the rep was told",
        known_requests=[r.ref for r in known],
    )
    on = ", ".join(f"*{escape_mrkdwn(r.ref)}* ({r.status})" for r in known)
    text = (
        f":incoming_envelope: {escape_mrkdwn(m.email.sender)} wrote to you "
        f"(“{escape_mrkdwn(m.email.subject)}”) and Convene could not tell which request it "
        f"belongs to{f'; they are on {on}' if on else ''}. Nothing was done: please read it."
        f"\n{quote_mrkdwn(clean_body(m.email.text))}"
    )
    return Outcome("escalated", notices=[(m.rep.id, text)])


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


def _from_our_side(session: Session, request: SchedulingRequest, sender: str) -> bool:
    internal = {a.email.lower() for a in _attendees(session, request) if a.side == "internal"}
    rep = session.get_one(Rep, request.rep_id)
    return sender in internal | {rep.email.lower()}
