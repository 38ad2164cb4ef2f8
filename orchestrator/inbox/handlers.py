"""What is done with each kind of inbound mail once it is recorded: one handler per kind.

A prospect's reply becomes an ``email_received`` job; an auto-reply holds follow-ups until
the writer is back; a bounce and an invite answer update the request; mail no request
claims, and mail read only in part, go to the rep. Each runs inside the message's
transaction and returns an :class:`Outcome`: what to count and what to do after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from connectors.ports import InboundRaw
from db.audit import record_action
from db.models import (
    BOOKED_STATUSES,
    FINISHED_STATUSES,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
)
from orchestrator.deps import Deps
from orchestrator.engine.dispatch import insert_job
from orchestrator.engine.runner import resume_if_decided
from orchestrator.inbox.invite_answers import INVITE_DECISIONS, invite_answer_card, invite_comment
from orchestrator.inbox.matching import known_prospect_requests
from orchestrator.inbox.records import (
    MAX_SUBJECT_SHOWN,
    provider_key,
    reply_received,
    unreadable_notice,
)
from orchestrator.inbox.stranger_replies import hold_stranger_reply
from orchestrator.mrkdwn import escape_mrkdwn, quote_mrkdwn
from orchestrator.outbox.approval_cards import refresh_card
from orchestrator.outbox.superseded import supersede_for_reply
from orchestrator.steps.replies import prospect_tz
from skills.email_text import clean_body
from skills.out_of_office import back_at, return_day
from skills.read_email import Classification, InboundEmail

PARTSTATS = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}


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
    if request.status in FINISHED_STATUSES:
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
    event = reply_received(
        request, provider_id=provider_key(m.message), row_id=m.row_id, matched_by=m.how
    )
    # Same transaction as the inbound row: both exist or neither does.
    job, created = insert_job(m.session, event, now=m.now)
    if not created:
        return Outcome("dispatched")
    # What was drafted for their earlier words must not go out over these.
    replaced = supersede_for_reply(m.session, request_id=request.id, reply_job=job, now=m.now)
    return Outcome(
        "dispatched",
        wake_job=job.id,
        after_commit=[lambda deps: _after_superseded(deps, replaced)] if replaced else [],
    )


def _after_superseded(deps: Deps, replaced: list[PendingAction]) -> None:
    for action in replaced:
        refresh_card(deps, action.id)
        resume_if_decided(deps, action.job_id)


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
    day = return_day(clean_body(m.email.text), now=m.now, tz=tz)
    back = back_at(day, tz) if day is not None else None
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


def _hold_follow_ups(
    request: SchedulingRequest, *, back: datetime | None, now: datetime
) -> datetime | None:
    """Move a pending follow-up to the return time (never earlier); None when unchanged."""
    if back is None or back <= now or request.status in FINISHED_STATUSES:
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
        # corrected address means a new request. Paused, like any stop of the follow-ups:
        # nothing would move it on, and the next move is the rep's.
        request.next_action_at = request.next_action_type = None
        request.paused_from, request.status = request.status, RequestStatus.paused
        request.updated_at = m.now
        m.session.add(request)
        _audit(m, "follow_ups_stopped", actor="system", reasoning="every address bounced")
        text += (
            " Follow-ups are stopped and the request is paused; to reach them at a corrected "
            f"address, `/schedule cancel {escape_mrkdwn(request.ref)}` and schedule again "
            "with it."
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
    if attendee is None or status not in INVITE_DECISIONS or request.status not in BOOKED_STATUSES:
        return Outcome("calendar_replies")
    # A "no" or "maybe" to a booked meeting changes what the rep expects: they decide, on a
    # card, rather than find it in the audit log after an empty meeting room.
    request.event_next_action = "waiting_for_decision"
    request.event_next_action_subtype = INVITE_DECISIONS[status]
    request.updated_at = m.now
    m.session.add(request)
    card = invite_answer_card(
        request_id=request.id,
        who=attendee.name or attendee.email,
        status=status,
        comment=invite_comment(m.email),
    )
    return Outcome("calendar_replies", after_commit=[card])


def escalate_unmatched(m: Inbound) -> Outcome:
    """Mail about a prospect that no request claims: the rep reads it, Convene does nothing."""
    if m.kind.kind == "auto_reply":
        _audit(m, "auto_reply", actor="prospect", reasoning=f"{m.kind.reason}; no request")
        return Outcome("auto_replies")
    known = known_prospect_requests(
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


def on_unreadable(m: Inbound, *, reason: str) -> Outcome:
    """Read only in part: recorded, and the rep reads it; nothing acts on a partial text."""
    _audit(m, "unreadable_mail", actor="system", reasoning=reason)
    rep_id = m.request.rep_id if m.request else m.rep.id
    return Outcome(
        "unreadable",
        notices=[(rep_id, unreadable_notice(m.email, reason=reason, request=m.request))],
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
