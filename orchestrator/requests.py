"""What a rep can do to their own requests from Slack: look them up, pause, resume, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.models import (
    ActionStatus,
    JobStatus,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.bootstrap import Deps
from orchestrator.intake import RepProfile, ensure_rep

CLOSED = (RequestStatus.completed, RequestStatus.cancelled)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


def find_rep(session: Session, *, org_id: str, slack_user_id: str) -> Rep | None:
    return session.exec(
        select(Rep).where(Rep.org_id == org_id, Rep.slack_user_id == slack_user_id)
    ).first()


def by_ref(session: Session, *, org_id: str, ref: str) -> SchedulingRequest | None:
    return session.exec(
        select(SchedulingRequest).where(
            SchedulingRequest.org_id == org_id, SchedulingRequest.ref == ref.upper()
        )
    ).first()


def requests_of(
    session: Session, *, rep_id: object, include_closed_since: datetime | None = None
) -> list[SchedulingRequest]:
    """The rep's open requests (and those closed since a moment, for "completed this week")."""
    rows = session.exec(
        select(SchedulingRequest)
        .where(SchedulingRequest.rep_id == rep_id)
        .order_by(col(SchedulingRequest.created_at).desc())
    ).all()
    return [
        r
        for r in rows
        if r.status not in CLOSED
        or (include_closed_since is not None and r.updated_at >= include_closed_since)
    ]


def attendees_of(session: Session, request: SchedulingRequest) -> list[SchedulingAttendee]:
    return list(
        session.exec(select(SchedulingAttendee).where(SchedulingAttendee.request_id == request.id))
    )


def recent_activity(
    session: Session, request: SchedulingRequest, limit: int = 5
) -> list[SchedulingAction]:
    # Oldest first, then the tail: rows written in one transaction share a timestamp, and
    # ascending order keeps them in the order they were written.
    rows = session.exec(
        select(SchedulingAction)
        .where(SchedulingAction.request_id == request.id)
        .order_by(col(SchedulingAction.created_at))
    ).all()
    return list(rows[-limit:])


def _owned(
    session: Session, *, org_id: str, ref: str, slack_user_id: str
) -> tuple[SchedulingRequest | None, str]:
    request = by_ref(session, org_id=org_id, ref=ref)
    if request is None:
        return None, f"I can't find a request called `{ref}`. `/schedule list` shows yours."
    rep = session.get_one(Rep, request.rep_id)
    if not rep.allows(slack_user_id):
        return None, f"{request.ref} belongs to <@{rep.slack_user_id}>; only they can change it."
    return request, ""


def _audit(
    session: Session, request: SchedulingRequest, kind: str, who: str, now: datetime
) -> None:
    session.add(
        SchedulingAction(
            org_id=request.org_id,
            request_id=request.id,
            action_type=kind,
            actor="user",
            reasoning=f"by <@{who}>",
            created_at=now,
        )
    )


def pause(deps: Deps, *, org_id: str, ref: str, slack_user_id: str) -> Outcome:
    now = deps.clock.now()
    with deps.uow() as uow:
        request, problem = _owned(uow.session, org_id=org_id, ref=ref, slack_user_id=slack_user_id)
        if request is None:
            return Outcome(False, problem)
        if request.status in (*CLOSED, RequestStatus.paused):
            return Outcome(False, f"{request.ref} is {request.status}; nothing to pause.")
        request.paused_from, request.status = request.status, RequestStatus.paused
        request.updated_at = now
        uow.session.add(request)
        _audit(uow.session, request, "request_paused", slack_user_id, now)
        uow.commit()
    return Outcome(
        True, f"Paused {request.ref}. No follow-ups until you `/schedule resume {request.ref}`."
    )


def resume(deps: Deps, *, org_id: str, ref: str, slack_user_id: str) -> Outcome:
    now = deps.clock.now()
    with deps.uow() as uow:
        request, problem = _owned(uow.session, org_id=org_id, ref=ref, slack_user_id=slack_user_id)
        if request is None:
            return Outcome(False, problem)
        if request.status != RequestStatus.paused:
            return Outcome(False, f"{request.ref} is {request.status}, not paused.")
        request.status = request.paused_from or RequestStatus.awaiting_response
        request.paused_from = None
        if request.next_action_at is not None and request.next_action_at < now:
            # Don't fire a backlog of overdue follow-ups the moment the rep resumes.
            request.next_action_at = now + timedelta(hours=1)
        request.updated_at = now
        uow.session.add(request)
        _audit(uow.session, request, "request_resumed", slack_user_id, now)
        uow.commit()
    return Outcome(True, f"Resumed {request.ref}: back to {request.status.replace('_', ' ')}.")


def cancel(deps: Deps, *, org_id: str, ref: str, slack_user_id: str) -> Outcome:
    """Stop everything: open drafts and sequences are cancelled; nothing more is sent."""
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        request, problem = _owned(session, org_id=org_id, ref=ref, slack_user_id=slack_user_id)
        if request is None:
            return Outcome(False, problem)
        if request.status in CLOSED:
            return Outcome(False, f"{request.ref} is already {request.status}.")
        session.execute(
            update(PendingAction)
            .where(col(PendingAction.request_id) == request.id)
            .where(col(PendingAction.status).in_([ActionStatus.pending, ActionStatus.approved]))
            .values(status=ActionStatus.cancelled, decided_by=slack_user_id, decided_at=now)
        )
        session.execute(
            update(SequenceJob)
            .where(col(SequenceJob.request_id) == request.id)
            .where(
                col(SequenceJob.status).in_(
                    [JobStatus.queued, JobStatus.running, JobStatus.waiting_approval]
                )
            )
            .values(status=JobStatus.cancelled, updated_at=now)
        )
        request.status = RequestStatus.cancelled
        request.next_action_at = None
        request.next_action_type = None
        request.updated_at = now
        session.add(request)
        _audit(session, request, "request_cancelled", slack_user_id, now)
        uow.commit()
    return Outcome(True, f"Cancelled {request.ref}. Nothing more will be sent.")


def save_settings(
    deps: Deps,
    *,
    org_id: str,
    profile: RepProfile,
    timezone: str,
    working_hours: dict[str, list[str]],
    brief_time: str,
    quiet_hours: tuple[str | None, str | None],
    daily_send_limit: int,
    delegates: list[str],
) -> Outcome:
    with deps.uow() as uow:
        rep = ensure_rep(
            uow.session,
            org_id=org_id,
            profile=profile,
            now=deps.clock.now(),
            daily_send_limit=deps.settings.daily_send_limit,
        )
        rep.timezone = timezone
        rep.working_hours = working_hours
        rep.brief_time = brief_time
        rep.quiet_hours_start, rep.quiet_hours_end = quiet_hours
        rep.daily_send_limit = daily_send_limit
        rep.delegate_slack_ids = [d for d in delegates if d != profile.slack_user_id]
        uow.session.add(rep)
        uow.commit()
    return Outcome(True, "Settings saved.")
