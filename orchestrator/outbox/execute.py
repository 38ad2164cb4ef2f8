"""The outbox: the only code that performs a prospect-facing side effect.

A pending action moves `pending → approved → executing → executed` by conditional UPDATEs, so of
two racing clicks or two racing workers exactly one wins. Each email carries our own Message-ID,
recorded before the send; a retry after a crash first asks the provider whether that Message-ID
was already sent. Each claim carries a fresh token: a worker that stalls past its lease is taken
over, and finds at its next step (the provider call, the final write) that it may not go on.
The clicks that move it to `approved` are `outbox.decisions`; the claim itself `outbox.claims`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func
from sqlmodel import Session, col, select

from connectors.errors import PermanentError, TransientError
from connectors.mail.outbound import prepare
from connectors.ports import MailPort, OutboundEmail, SentEmail
from db.audit import record_draft_action
from db.models import ActionStatus, EmailMessage, PendingAction, Rep
from orchestrator import error_reporting
from orchestrator.deps import Deps
from orchestrator.engine.action_data import EmailData, action_data
from orchestrator.engine.crashpoints import crashpoint
from orchestrator.engine.runner import TRANSIENT, backoff, resume_if_decided
from orchestrator.engine.shapes import ShapeError
from orchestrator.outbox.approval_cards import refresh_card
from orchestrator.outbox.calendar import EXECUTORS as CALENDAR_EXECUTORS
from orchestrator.outbox.calendar import invitation, record_on_request
from orchestrator.outbox.claims import claim, fence, hold, lease, superseded
from orchestrator.outbox.offered import record_offered
from orchestrator.outbox.revalidate import refuse_stale_send

log = structlog.get_logger(__name__)

MAX_SEND_ATTEMPTS = 5


def execute(deps: Deps, action_id: uuid.UUID) -> str:
    """Perform one approved action exactly once; every outcome is written to its row."""
    now = deps.clock.now()
    with deps.uow() as uow:
        token = claim(uow.session, action_id, now=now, lease=lease(deps))
        if token is None:
            return "skipped"
        action = uow.session.get_one(PendingAction, action_id)
        rep = uow.session.get_one(Rep, action.rep_id)
        try:
            refused = refuse_stale_send(deps, uow.session, action, rep, now=now)
        except ShapeError as exc:
            # Retrying cannot make the row fit: it fails once, and the rep hears why, instead
            # of being woken again by the clock on every tick.
            return _finish(deps, uow.session, action, token, now=now, error=_unreadable(exc))
        if refused is not None:
            return refused
        email: OutboundEmail | None = None
        if action.action_type.startswith("email_"):
            limit_hit = _sent_today(uow.session, rep, now=now) >= rep.daily_send_limit
            if limit_hit and action.attempts == 1:
                return _finish(
                    deps,
                    uow.session,
                    action,
                    token,
                    now=now,
                    error=(
                        f"Daily send limit reached ({rep.daily_send_limit} emails). "
                        "Raise it in /schedule settings or approve again tomorrow."
                    ),
                )
            try:
                email = _outbound_email(action, rep)
            except ShapeError as exc:
                return _finish(deps, uow.session, action, token, now=now, error=_unreadable(exc))
            _record_outbound(uow.session, action, email, now=now, request_id=action.request_id)
        uow.commit()
    crashpoint("outbox.claimed")

    sent: SentEmail | None = None
    try:
        calendar_executor = CALENDAR_EXECUTORS.get(action.action_type)
        if email is None and calendar_executor is None:
            raise PermanentError(f"no executor for {action.action_type}")
        if not hold(deps, action_id, token):
            return superseded(action_id)
        if email is not None:
            sent = _send_once(deps.mail_for(rep), email, first_attempt=action.attempts == 1)
            result = {
                "message_id": sent.message_id,
                "provider_id": sent.provider_id,
                "thread_id": sent.thread_id,
            }
        else:
            assert calendar_executor is not None
            result = calendar_executor(deps, action, rep)
            # After the calendar call, so a failed booking invites nobody; a retry repeats the
            # (idempotent) call, then finds this invitation in Sent instead of sending it again.
            if (invite := invitation(deps, action, rep, result)) is not None:
                sent = _send_invitation(deps, action, rep, invite, token)
                if sent is None:
                    return superseded(action_id)
                result = {**result, "invite_message_id": sent.message_id}
    except Exception as exc:  # noqa: BLE001 - every outcome is written to the row
        return _after_failure(deps, action_id, token, exc)
    crashpoint("outbox.provider_called")

    with deps.uow() as uow:
        if not fence(uow.session, action_id, token):
            return superseded(action_id)
        action = uow.session.get_one(PendingAction, action_id)
        if sent is not None:
            _mark_sent(uow.session, action, sent, now=deps.clock.now())
            record_offered(uow.session, action, now=deps.clock.now())
        if email is None:
            record_on_request(uow.session, action, result, now=deps.clock.now())
        return _finish(deps, uow.session, action, token, now=deps.clock.now(), result=result)


def _send_once(mailbox: MailPort, email: OutboundEmail, *, first_attempt: bool) -> SentEmail:
    """Send from the rep's own mailbox; a retry first looks in that mailbox's Sent.

    Every claim after the first is a retry: an earlier attempt, or a worker that stalled past
    its lease and was taken over, may have reached the provider before we got here.
    """
    if not first_attempt:
        already = mailbox.find_sent(sender=email.sender, message_id=email.message_id)
        if already is not None:
            log.info("send_reconciled", message_id=email.message_id)
            return already
    return mailbox.send(email)


def _send_invitation(
    deps: Deps, action: PendingAction, rep: Rep, invite: OutboundEmail, token: str
) -> SentEmail | None:
    """Send a calendar action's invitation email like any other: recorded, then sent once.
    None: the claim was taken over before the send."""
    with deps.uow() as uow:
        # Recorded without the request: the conversation's follow-ups and reminders thread under
        # its last email, and that must stay the conversation, not an invitation. The row keeps
        # the action's id, and RSVPs find the request by the invitation's UID.
        _record_outbound(uow.session, action, invite, now=deps.clock.now(), request_id=None)
        uow.commit()
    if not hold(deps, action.id, token):
        return None
    return _send_once(deps.mail_for(rep), invite, first_attempt=action.attempts == 1)


def _outbound_email(action: PendingAction, rep: Rep) -> OutboundEmail:
    """The email exactly as it will leave (signature, HTML part, thread subject/References), so
    the row recorded before sending matches what the provider stores."""
    data = action_data(action, EmailData)
    email = OutboundEmail(
        message_id=data.message_id,
        sender=rep.email,
        to=data.to,
        cc=data.copied(),
        subject=data.subject,
        body=data.body,
        in_reply_to=data.in_reply_to,
        references=data.references or (),
        thread_id=data.thread_id,
    )
    return prepare(email, signature=rep.signature)


def _record_outbound(
    session: Session,
    action: PendingAction,
    email: OutboundEmail,
    *,
    now: datetime,
    request_id: uuid.UUID | None,
) -> None:
    exists = session.exec(
        select(EmailMessage.id).where(
            EmailMessage.org_id == action.org_id, EmailMessage.message_id == email.message_id
        )
    ).first()
    if exists is None:
        session.add(
            EmailMessage(
                org_id=action.org_id,
                request_id=request_id,
                pending_action_id=action.id,
                direction="outbound",
                message_id=email.message_id,
                in_reply_to=email.in_reply_to,
                references=list(email.references),
                sender=email.sender,
                recipients=[*email.to, *email.cc],
                subject=email.subject,
                body_text=email.body,
                status="sending",
                created_at=now,
            )
        )


def _mark_sent(session: Session, action: PendingAction, sent: SentEmail, *, now: datetime) -> None:
    row = session.exec(
        select(EmailMessage).where(
            EmailMessage.org_id == action.org_id, EmailMessage.message_id == sent.message_id
        )
    ).one()
    row.status = "sent"
    row.provider_message_id = sent.provider_id
    row.thread_id = sent.thread_id
    row.sent_at = now
    session.add(row)


def _sent_today(session: Session, rep: Rep, *, now: datetime) -> int:
    local = now.astimezone(ZoneInfo(rep.timezone))
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    count = session.exec(
        select(func.count())
        .select_from(PendingAction)
        .where(PendingAction.rep_id == rep.id)
        .where(PendingAction.status == ActionStatus.executed)
        .where(col(PendingAction.action_type).startswith("email_"))
        .where(col(PendingAction.executed_at) >= day_start)
    ).one()
    return int(count)


def _unreadable(exc: ShapeError) -> str:
    return f"This draft's stored data can't be read, so nothing was sent ({exc})."


def _finish(
    deps: Deps,
    session: Session,
    action: PendingAction,
    token: str,
    *,
    now: datetime,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> str:
    """Write the outcome, if `token` still holds the claim; then wake the job and the card."""
    if not fence(session, action.id, token):
        session.rollback()
        return superseded(action.id)
    action.status = ActionStatus.executed if error is None else ActionStatus.failed
    action.result = result
    action.error = error
    action.executed_at = now if error is None else None
    action.locked_until = None
    action.updated_at = now
    session.add(action)
    record_draft_action(
        session, action, kind=f"action_{action.status}", actor="ai", now=now, error=error
    )
    session.commit()
    crashpoint("outbox.finished")
    resume_if_decided(deps, action.job_id)
    refresh_card(deps, action.id)
    crashpoint("outbox.card_refreshed")
    return action.status


def _after_failure(deps: Deps, action_id: uuid.UUID, token: str, exc: Exception) -> str:
    now = deps.clock.now()
    log.warning("execute_failed", action_id=str(action_id), error=repr(exc))
    error_reporting.report(exc)
    with deps.uow() as uow:
        if not fence(uow.session, action_id, token):
            return superseded(action_id)
        action = uow.session.get_one(PendingAction, action_id)
        if isinstance(exc, TRANSIENT) and action.attempts < MAX_SEND_ATTEMPTS:
            # Back to approved with a new due time; the Message-ID stays, so the retry reconciles.
            retry_at = now + backoff(action.attempts)
            action.status = ActionStatus.approved
            action.undo_until = retry_at
            action.locked_until = None
            action.error = f"{type(exc).__name__}: {exc}"[:2000]
            action.updated_at = now
            uow.session.add(action)
            uow.commit()
            crashpoint("outbox.failure_recorded")
            deps.wakeups.execute_action(action_id, tag=f"retry-{action.attempts}", at=retry_at)
            return "retrying"
        reason = str(exc) if isinstance(exc, (PermanentError, TransientError)) else repr(exc)
        return _finish(deps, uow.session, action, token, now=now, error=reason[:2000])
