"""Reply intake: read each rep's new mail, match it to its scheduling request, act on its kind.

The clock queues one read per mailbox every interval (:mod:`orchestrator.inbox.mail_polls`);
:func:`poll_inboxes` reads them all at once, in this process. Per message, in one transaction: the
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
the request is shown to the rep (`orchestrator.inbox.stranger_replies`), never taken as the answer.

What is never done here: answering the prospect, or reopening a finished request. Mail that
plausibly concerns a prospect but cannot be placed goes to the rep instead of being dropped.
Mail from someone new that asks to meet becomes a card (`orchestrator.inbox.inbound_requests`);
nothing is drafted until the rep chooses.

This module runs the poll and takes each message through its one transaction; the rows are
written by :mod:`orchestrator.inbox.records`, the request found by
:mod:`orchestrator.inbox.matching`, and each kind of mail acted on by
:mod:`orchestrator.inbox.handlers`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import update
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, col, select

from connectors.errors import ReconnectRequired, TransientError
from connectors.ports import InboundRaw, MailReader
from db.models import JobRun, Rep
from orchestrator.deps import Deps
from orchestrator.inbox.handlers import (
    HANDLERS,
    Inbound,
    Outcome,
    escalate_unmatched,
    on_unreadable,
)
from orchestrator.inbox.inbound_requests import on_new_mail, post_missing_cards
from orchestrator.inbox.matching import concerns_us, match_request
from orchestrator.inbox.records import provider_key, record_inbound, record_unreadable, seen
from orchestrator.mrkdwn import escape_mrkdwn
from orchestrator.notices.gate import claim
from orchestrator.notices.post import post_notice
from orchestrator.providers import mail_provider_of
from skills.read_email import Classification, InboundEmail, classify, parse_email

log = structlog.get_logger(__name__)

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
        read_mailbox(deps, rep=rep, reader_for=reader_for, counts=counts, errors=errors)
    record_run(deps, started=started, counts=counts, errors=errors)
    return dict(counts)


def read_mailbox(
    deps: Deps,
    *,
    rep: Rep,
    reader_for: ReaderFor | None,
    counts: Counter[str],
    errors: list[str],
) -> None:
    """Read one rep's new mail; a failure is counted and recorded in ``errors``, never raised,
    so one mailbox cannot stop the others (or the worker reading them)."""
    try:
        reader = reader_for(rep) if reader_for else deps.reader_for(rep)
        if reader is None:
            return
        _poll_mailbox(deps, rep=rep, reader=reader, counts=counts)
        post_missing_cards(deps, rep=rep)
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
    # Only now: every message above is committed (or knowingly skipped). An unchanged cursor
    # is not written back: most reads find nothing, and a write per mailbox per tick adds up.
    if batch.cursor != rep.mail_cursor:
        _save_cursor(deps, rep_id=rep.id, cursor=batch.cursor)
        rep.mail_cursor = batch.cursor


def _save_cursor(deps: Deps, *, rep_id: uuid.UUID, cursor: str) -> None:
    with deps.uow() as uow:
        uow.session.execute(update(Rep).where(col(Rep.id) == rep_id).values(mail_cursor=cursor))
        uow.commit()


def record_run(deps: Deps, *, started: datetime, counts: Counter[str], errors: list[str]) -> None:
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


# --- one message -------------------------------------------------------------------------------


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
        post_notice(deps.notices, rep_id=rep_id, text=text)
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
    if seen(session, org_id=rep.org_id, provider_id=provider_key(message)):
        return Outcome("duplicates")  # cheap early exit; the insert below is the real gate
    match = match_request(session, rep=rep, message=message, email=email, kind=kind)
    domain = deps.settings.mail_domain
    if match.request is None and not concerns_us(session, rep, email, kind, domain=domain):
        # On none of our threads: someone new asking to meet gets a card; the rest is not ours.
        return on_new_mail(session, rep=rep, message=message, email=email, kind=kind, now=now)
    status = "unreadable" if email.problem else "received"
    stored = record_inbound(
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
        return on_unreadable(inbound, reason=email.problem)
    if match.request is None:
        return escalate_unmatched(inbound)
    return HANDLERS[kind.kind](inbound)
