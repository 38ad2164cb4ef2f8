"""Stalled requests: under way, yet nothing will ever move them. The rep is asked.

`timers.stuck` knows what moves a request (a wake-up the clock acts on, a card waiting on the
rep). A request with neither for an hour — a reply read as a hand-over with no
address, a step that ended without drafting anything — is one the rep believes is being
handled. The clock turns each into a decision card (fresh times, keep chasing, take it over,
cancel), once: the card itself is what moves it from then on.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, or_, update
from sqlmodel import col, select

from db.audit import record_action
from db.models import JobRun, Rep, RequestStatus, SchedulingRequest
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


def escalate_stalled(deps: Deps) -> int:
    """Ask the rep about each request stuck for longer than GRACE; how many cards were posted."""
    now = deps.clock.now()
    with deps.sessions() as session:
        ids = [
            r.id
            for r in stuck_requests(session, now=now, idle_since=now - GRACE)
            if r.status != RequestStatus.paused
        ][:BATCH]
    return sum(_ask(deps, request_id, now=now) for request_id in ids)


def _ask(deps: Deps, request_id: uuid.UUID, *, now: datetime) -> int:
    try:
        with deps.uow() as uow:
            session = uow.session
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
            text = (
                f":hourglass: *{escape_mrkdwn(request.ref)}* has no follow-up scheduled and "
                "nothing waiting on you, so nothing would happen on it. Nothing has been sent "
                "to them."
            )
            decision = Assess(
                next_action="waiting_for_decision",
                subtype=STALLED,
                needs_rep=True,
                summary=f"Nothing is moving {request.ref} on its own: choose what happens next.",
            )
            fallback, blocks = deps.cards.decision(
                decision_view(request, rep, decision, reply=text)
            )
            channel = deps.chat.open_dm(user_id=rep.slack_user_id)
            deps.chat.post_message(channel=channel, text=fallback, blocks=blocks)
            uow.commit()
    except Exception as exc:  # noqa: BLE001 - rolled back: the next tick asks again
        log.warning("stall_card_failed", request_id=str(request_id), error=repr(exc))
        return 0
    return 1
