"""The outbox: the only code that performs a prospect-facing side effect.

A pending action moves `pending → approved → executing → executed` by conditional UPDATEs, so of
two racing clicks or two racing workers exactly one wins. Each email carries our own Message-ID,
recorded before the send; a retry after a crash first asks the provider whether that Message-ID
was already sent. Each claim carries a fresh token: a worker that stalls past its lease is taken
over, and finds at its next step (the provider call, the final write) that it may not go on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import ColumnElement, and_, false, func, or_, update
from sqlmodel import Session, col, select

from connectors.errors import PermanentError, TransientError
from connectors.mail.outbound import prepare
from connectors.ports import MailPort, OutboundEmail, SentEmail
from db.audit import record_draft_action
from db.models import (
    ActionStatus,
    EmailMessage,
    PendingAction,
    Rep,
)
from orchestrator.deps import Deps
from orchestrator.engine.crashpoints import crashpoint
from orchestrator.engine.runner import TRANSIENT, backoff, resume_if_decided
from orchestrator.mrkdwn import owner_only
from orchestrator.outbox.approval_cards import refresh_card
from orchestrator.outbox.calendar import EXECUTORS as CALENDAR_EXECUTORS
from orchestrator.outbox.calendar import invitation, record_on_request
from orchestrator.outbox.revalidate import refuse_stale_approval, refuse_stale_send
from skills.draft_inputs import ANSWER_PLACEHOLDER

log = structlog.get_logger(__name__)

# The default of `execution_lease_seconds`: a send claimed longer ago than this, and not
# finished, is presumed dead and may be claimed again (its worker's later writes are fenced off).
EXECUTION_LEASE = timedelta(minutes=2)
FILL_IN_FIRST = (
    "This draft still has a gap for your answer ([[ANSWER]]). Press Edit, write it, then approve."
)
MAX_SEND_ATTEMPTS = 5
STALE_EDIT = (
    "This draft changed since you opened it. Close this and press Edit again to see the "
    "latest version."
)


@dataclass(frozen=True)
class Decision:
    ok: bool
    status: str  # the action's status after the decision
    message: str
    action: PendingAction | None = None


def _transition(
    session: Session, action_id: uuid.UUID, *, source: list[str], extra: Any = None, **values: Any
) -> bool:
    statement = (
        update(PendingAction)
        .where(col(PendingAction.id) == action_id)
        .where(col(PendingAction.status).in_(source))
    )
    if extra is not None:
        statement = statement.where(extra)
    return session.execute(statement.values(**values)).rowcount == 1  # type: ignore[attr-defined]


def decide(
    deps: Deps,
    *,
    action_id: uuid.UUID,
    decision: str,
    slack_user_id: str,
    send_at: datetime | None = None,
    reason: str = "",
    edits: dict[str, Any] | None = None,
    version: int | None = None,
) -> Decision:
    """Apply a rep's click; a click that loses a race (or comes too late) is told so.

    `approve` (optionally `send_at` a later time: "Send later"), `reject` (with a `reason` the
    next draft can use), `undo` (inside the undo window), `retry` (a failed send), `edit`
    (save `edits` over the draft while it is still pending and still at `version`, the one
    the Edit modal was opened on).
    """
    now = deps.clock.now()
    if decision == "approve" and (
        stale := refuse_stale_approval(
            deps, action_id=action_id, slack_user_id=slack_user_id, now=now, send_at=send_at
        )
    ):
        return Decision(False, ActionStatus.pending, stale)
    with deps.uow() as uow:
        action = uow.session.get(PendingAction, action_id)
        if action is None:
            return Decision(False, "missing", "That draft no longer exists.")
        rep = uow.session.get_one(Rep, action.rep_id)
        if not rep.allows(slack_user_id):
            refusal = owner_only(rep.slack_user_id)
            return Decision(False, action.status, refusal)
        if action.expires_at is not None and action.expires_at <= now:
            return Decision(False, action.status, "This draft has expired.", action)
        if decision == "approve" and ANSWER_PLACEHOLDER in str(action.effective_data().get("body")):
            return Decision(False, action.status, FILL_IN_FIRST, action)
        source, condition, values = _decision_rule(
            decision,
            action,
            deps=deps,
            now=now,
            send_at=send_at,
            reason=reason,
            edits=edits,
            version=version,
        )
        if decision != "edit":
            values |= {"decided_by": slack_user_id, "decided_at": now}
        won = _transition(
            uow.session, action_id, source=source, extra=condition, updated_at=now, **values
        )
        if won:
            details: dict[str, Any] = {"by": slack_user_id}
            if reason:
                details["reason"] = reason
            record_draft_action(
                uow.session, action, kind=f"action_{decision}", actor="user", now=now, **details
            )
        uow.commit()
        uow.session.refresh(action)
    if not won:
        if decision == "edit" and action.status == ActionStatus.pending:
            return Decision(False, action.status, STALE_EDIT, action)
        return Decision(False, action.status, _already_handled(action), action)
    crashpoint("outbox.decided")
    if action.status == ActionStatus.approved:
        assert action.undo_until is not None
        deps.wakeups.execute_action(
            action.id, tag=f"{decision}-{action.attempts}", at=action.undo_until
        )
    elif action.status != ActionStatus.pending:
        resume_if_decided(deps, action.job_id)
    return Decision(True, action.status, "", action)


def _decision_rule(
    decision: str,
    action: PendingAction,
    *,
    deps: Deps,
    now: datetime,
    send_at: datetime | None,
    reason: str,
    edits: dict[str, Any] | None,
    version: int | None = None,
) -> tuple[list[str], Any, dict[str, Any]]:
    """(statuses it may leave, extra SQL condition, columns to set) for each decision."""
    if decision == "approve":
        undo_until = max(send_at or now, now + timedelta(seconds=deps.settings.undo_seconds))
        return (
            [ActionStatus.pending],
            None,
            {
                "status": ActionStatus.approved,
                "undo_until": undo_until,
                "error": None,  # a stale mark from an earlier refusal no longer holds
            },
        )
    if decision == "reject":
        result = {"reject_reason": reason} if reason else None
        return [ActionStatus.pending], None, {"status": ActionStatus.rejected, "result": result}
    if decision == "undo":
        return (
            [ActionStatus.approved],
            col(PendingAction.undo_until) > now,
            {
                "status": ActionStatus.cancelled,
            },
        )
    if decision == "retry":
        return (
            [ActionStatus.failed],
            None,
            {
                "status": ActionStatus.approved,
                "undo_until": now,
                "error": None,
            },
        )
    if decision == "edit":
        # Only over the draft the modal showed: a stale or replayed modal would put back
        # words the rep has since changed.
        merged = {**(action.edited_data or {}), **(edits or {})}
        return (
            [ActionStatus.pending],
            col(PendingAction.draft_version) == version if version is not None else false(),
            {"edited_data": merged, "draft_version": PendingAction.draft_version + 1},
        )
    raise ValueError(f"unknown decision {decision!r}")


def _already_handled(action: PendingAction) -> str:
    who = f" by <@{action.decided_by}>" if action.decided_by else ""
    return f"Already handled: this draft is {action.status}{who}."


# --- execution ---------------------------------------------------------------------------------


def claimable(now: datetime) -> ColumnElement[bool]:
    """Approved with its undo window closed, or executing past its lease (its executor died).

    The reconciler looks for the same rows the claim takes, so a lost wake-up is found again.
    """
    return or_(
        and_(
            col(PendingAction.status) == ActionStatus.approved,
            col(PendingAction.undo_until) <= now,
        ),
        and_(
            col(PendingAction.status) == ActionStatus.executing,
            col(PendingAction.locked_until) < now,
        ),
    )


def claim(session: Session, action_id: uuid.UUID, *, now: datetime, lease: timedelta) -> str | None:
    """Take an approved action whose undo window has closed, or one whose executor died.

    Returns this claim's token (None: not ours to run). A worker that stalls past its lease
    loses the action to the next claim, and with it the right to send or to finish it.
    """
    token = uuid.uuid4().hex
    won = _transition(
        session,
        action_id,
        source=[ActionStatus.approved, ActionStatus.executing],
        extra=claimable(now),
        status=ActionStatus.executing,
        locked_until=now + lease,
        claim_token=token,
        attempts=PendingAction.attempts + 1,
        updated_at=now,
    )
    return token if won else None


def _fence(session: Session, action_id: uuid.UUID, token: str) -> bool:
    """Lock the row if `token` still holds it, for the rest of this transaction.

    The write is a no-op on purpose: on PostgreSQL it takes the row lock, so a take-over's
    claim waits for our commit and then finds the action no longer executing.
    """
    return _transition(
        session,
        action_id,
        source=[ActionStatus.executing],
        extra=col(PendingAction.claim_token) == token,
        claim_token=token,
    )


def _hold(deps: Deps, action_id: uuid.UUID, token: str) -> bool:
    """Right before a provider call: is the claim still ours? If so, renew its lease, so no
    other worker can take the action over between this check and the call."""
    now = deps.clock.now()
    with deps.uow() as uow:
        held = _transition(
            uow.session,
            action_id,
            source=[ActionStatus.executing],
            extra=col(PendingAction.claim_token) == token,
            locked_until=now + _lease(deps),
        )
        uow.commit()
    return held


def _lease(deps: Deps) -> timedelta:
    return timedelta(seconds=deps.settings.execution_lease_seconds)


def _superseded(action_id: uuid.UUID) -> str:
    # Whoever claimed it after us looks in Sent first, so what we may have sent is found there.
    log.warning("claim_superseded", action_id=str(action_id))
    return "superseded"


def execute(deps: Deps, action_id: uuid.UUID) -> str:
    """Perform one approved action exactly once; every outcome is written to its row."""
    now = deps.clock.now()
    with deps.uow() as uow:
        token = claim(uow.session, action_id, now=now, lease=_lease(deps))
        if token is None:
            return "skipped"
        action = uow.session.get_one(PendingAction, action_id)
        rep = uow.session.get_one(Rep, action.rep_id)
        if (refused := refuse_stale_send(deps, uow.session, action, rep, now=now)) is not None:
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
            email = _outbound_email(action, rep)
            _record_outbound(uow.session, action, email, now=now, request_id=action.request_id)
        uow.commit()
    crashpoint("outbox.claimed")

    sent: SentEmail | None = None
    try:
        calendar_executor = CALENDAR_EXECUTORS.get(action.action_type)
        if email is None and calendar_executor is None:
            raise PermanentError(f"no executor for {action.action_type}")
        if not _hold(deps, action_id, token):
            return _superseded(action_id)
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
                    return _superseded(action_id)
                result = {**result, "invite_message_id": sent.message_id}
    except Exception as exc:  # noqa: BLE001 - every outcome is written to the row
        return _after_failure(deps, action_id, token, exc)
    crashpoint("outbox.provider_called")

    with deps.uow() as uow:
        if not _fence(uow.session, action_id, token):
            return _superseded(action_id)
        action = uow.session.get_one(PendingAction, action_id)
        if sent is not None:
            _mark_sent(uow.session, action, sent, now=deps.clock.now())
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
    if not _hold(deps, action.id, token):
        return None
    return _send_once(deps.mail_for(rep), invite, first_attempt=action.attempts == 1)


def _outbound_email(action: PendingAction, rep: Rep) -> OutboundEmail:
    """The email exactly as it will leave (signature, HTML part, thread subject/References), so
    the row recorded before sending matches what the provider stores."""
    data = action.effective_data()
    email = OutboundEmail(
        message_id=data["message_id"],
        sender=rep.email,
        to=tuple(data["to"]),
        cc=tuple(data.get("cc", ())),
        subject=data["subject"],
        body=data["body"],
        in_reply_to=data.get("in_reply_to"),
        references=tuple(data.get("references", ())),
        thread_id=data.get("thread_id"),
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
    if not _fence(session, action.id, token):
        session.rollback()
        return _superseded(action.id)
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
    with deps.uow() as uow:
        if not _fence(uow.session, action_id, token):
            return _superseded(action_id)
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
