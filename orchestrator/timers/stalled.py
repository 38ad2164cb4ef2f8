"""Stalled requests: under way, yet nothing will ever move them. The rep is asked.

`timers.stuck` knows what moves a request (a wake-up the clock acts on, a card waiting on the
rep). A request with neither — a reply read as a hand-over with no address, a step that ended
without drafting anything, a draft that expired with nobody deciding — is one the rep believes
is being handled. It becomes a decision card (fresh times, keep chasing, take it over, cancel),
once: the card itself is what moves it from then on.

When: each job that ends checks its own request (`after_job`). Left with nothing, the request
gets a stall check due in GRACE (a step between two others is not stalled: the next one may
still come), or at once when its newest draft expired: the rep already let that one go, and
waiting another hour helps no one. The clock asks about stall checks that came due and, as a
backstop for a worker that died between a job's end and its check, about any request the stuck
check has listed for GRACE.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from db.audit import record_action
from db.models import (
    ActionStatus,
    JobRun,
    JobStatus,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.commands.decision_cards import decision_view
from orchestrator.deps import Deps
from orchestrator.engine.outputs import Assess
from orchestrator.mrkdwn import escape_mrkdwn
from orchestrator.timers.stuck import stuck_requests

log = structlog.get_logger(__name__)

STALLED = "stalled"
BATCH = 20
# A step between two others is not stalled; an hour with nothing scheduled is. (The ops
# channel hears later, after STALE_REQUEST_HOURS, if the rep's card is not answered.)
GRACE = timedelta(hours=1)
JOB_NAME = "stalled"
MAX_REASON_CHARS = 400  # a step's error, cut to what a card line holds
EVERY = timedelta(minutes=5)


def escalate_if_due(deps: Deps) -> int:
    """`escalate_stalled` when its last run is EVERY old (the clock's tick calls this): a stall
    is an hour in the making, so looking every few minutes asks just as soon, and the look
    reads every request that has been quiet for an hour."""
    now = deps.clock.now()
    with deps.uow() as uow:
        last = uow.session.exec(
            select(func.max(JobRun.started_at)).where(col(JobRun.name) == JOB_NAME)
        ).one()
        if last is not None and last > now - EVERY:
            return 0
        uow.session.add(JobRun(name=JOB_NAME, started_at=now))
        uow.commit()
    return escalate_stalled(deps)


def after_job(deps: Deps, job_id: uuid.UUID) -> None:
    """A job has ended: if it left its request with nothing to move it, arm a stall check, due
    at once when the request's newest draft expired undecided (then ask now), else in GRACE."""
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        job = session.get(SequenceJob, job_id)
        if job is None or job.request_id is None:
            return
        if job.status not in (JobStatus.done, JobStatus.failed):
            return
        stuck = stuck_requests(session, now=now, request_ids=[job.request_id])
        if not stuck or stuck[0].status == RequestStatus.paused:
            return  # a paused request is the rep's to move
        request = stuck[0]
        at_once = _newest_draft_expired(session, request.id)
        request.stall_check_at = now if at_once else now + GRACE
        request.updated_at = now
        session.add(request)
        uow.commit()  # armed first: if the card below fails, the clock asks on its next look
    if at_once:
        _ask(deps, request.id, now=now)


def _newest_draft_expired(session: Session, request_id: uuid.UUID) -> bool:
    newest = session.exec(
        select(PendingAction.status)
        .where(PendingAction.request_id == request_id)
        .order_by(col(PendingAction.created_at).desc())
    ).first()
    return newest == ActionStatus.expired


def escalate_stalled(deps: Deps) -> int:
    """Ask the rep about each request whose stall check came due, and each stuck for longer
    than GRACE; how many cards were posted."""
    now = deps.clock.now()
    with deps.sessions() as session:
        due = session.exec(
            select(SchedulingRequest.id)
            .where(col(SchedulingRequest.stall_check_at) <= now)
            .order_by(col(SchedulingRequest.stall_check_at))
            .limit(BATCH)
        ).all()
        idle = [
            r.id
            for r in stuck_requests(session, now=now, idle_since=now - GRACE)
            if r.status != RequestStatus.paused
        ]
    ids = list(dict.fromkeys([*due, *idle]))[:BATCH]
    return sum(_ask(deps, request_id, now=now) for request_id in ids)


def _ask(deps: Deps, request_id: uuid.UUID, *, now: datetime) -> int:
    try:
        with deps.uow() as uow:
            session = uow.session
            if not _still_stuck(session, request_id, now=now):
                uow.commit()  # the stall check it came for is cleared: something moved it
                return 0
            # Claimed by the same compare-and-set a rep's decision uses: two clocks post once.
            won = session.execute(
                update(SchedulingRequest)
                .where(col(SchedulingRequest.id) == request_id)
                .where(
                    or_(
                        col(SchedulingRequest.event_next_action).is_(None),
                        col(SchedulingRequest.event_next_action) != "waiting_for_decision",
                    )
                )
                .values(
                    event_next_action="waiting_for_decision",
                    event_next_action_subtype=STALLED,
                    updated_at=now,
                )
            ).rowcount  # type: ignore[attr-defined]
            if won != 1:
                uow.commit()
                return 0
            request = session.get_one(SchedulingRequest, request_id)
            session.refresh(request)
            rep = session.get_one(Rep, request.rep_id)
            record_action(
                session,
                org_id=request.org_id,
                request_id=request.id,
                kind="stall_escalated",
                actor="system",
                reasoning="nothing scheduled and nothing waiting on the rep",
                now=now,
            )
            said = _what_happened(session, request)
            decision = Assess(
                next_action="waiting_for_decision",
                subtype=STALLED,
                needs_rep=True,
                summary=f"Nothing is moving {request.ref} on its own: choose what happens next.",
            )
            fallback, blocks = deps.cards.decision(
                decision_view(request, rep, decision, reply=said)
            )
            channel = deps.chat.open_dm(user_id=rep.slack_user_id)
            deps.chat.post_message(channel=channel, text=fallback, blocks=blocks)
            uow.commit()
    except Exception as exc:  # noqa: BLE001 - rolled back: the next tick asks again
        log.warning("stall_card_failed", request_id=str(request_id), error=repr(exc))
        return 0
    return 1


def _what_happened(session: Session, request: SchedulingRequest) -> str:
    """The card's first lines: why nothing moves, with the failure that stopped the first
    email when that is the reason (a search that found no time tells the rep why)."""
    ref = escape_mrkdwn(request.ref)
    if request.status in (RequestStatus.initiated, RequestStatus.proposing):
        failed = session.exec(
            select(SequenceJob.last_error)
            .where(SequenceJob.request_id == request.id)
            .where(SequenceJob.status == JobStatus.failed)
            .order_by(col(SequenceJob.created_at).desc())
        ).first()
        if failed:
            why = failed.split(": ", 1)[-1].strip()[:MAX_REASON_CHARS]
            return (
                f":hourglass: *{ref}* never got its first email: {escape_mrkdwn(why)}. "
                "Nothing has been sent to them. Offer fresh times looks again once you have "
                "made room (or changed your hours); or take it over."
            )
    return (
        f":hourglass: *{ref}* has no follow-up scheduled and nothing waiting on you, so "
        "nothing would happen on it. Nothing has been sent to them."
    )


def _still_stuck(session: Session, request_id: uuid.UUID, *, now: datetime) -> bool:
    """Whether the request has nothing but its stall check to move it (which this clears):
    since it was armed, a reply may have brought a draft or a follow-up may have been set."""
    request = session.get(SchedulingRequest, request_id)
    if request is None:
        return False
    if request.stall_check_at is not None:
        request.stall_check_at = None
        session.add(request)
        session.flush()
    stuck = stuck_requests(session, now=now, request_ids=[request_id])
    return bool(stuck) and stuck[0].status != RequestStatus.paused
