"""The numbers and rows behind the Home tab (seed 000's dashboard groupings)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import and_, func
from sqlmodel import Session, col, or_, select

from db.models import (
    BOOKED_STATUSES,
    ActionStatus,
    PendingAction,
    RequestStatus,
    SchedulingAction,
)
from orchestrator.commands import own_requests
from orchestrator.commands.stats import stats_in
from orchestrator.deps import Deps
from orchestrator.views import Dashboard, LastAction, Row

IN_FLIGHT = {
    RequestStatus.initiated,
    RequestStatus.proposing,
    RequestStatus.awaiting_response,
    RequestStatus.negotiating,
    RequestStatus.confirming,
}
ATTENTION = {RequestStatus.paused, RequestStatus.no_show}

# Audit rows one step writes share its timestamp. These only lead up to what the step did
# (times found before the draft, the send before "first email sent"), so at the same moment
# any other row is the better answer to "what happened last".
LEAD_INS = frozenset({"request_created", "slots_found", "calendars_unreadable", "action_executed"})


def latest_actions(
    session: Session, request_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, LastAction]:
    """The last audit row of each request, for all of them in one query."""
    if not request_ids:
        return {}
    latest = (
        select(
            col(SchedulingAction.request_id).label("request_id"),
            func.max(SchedulingAction.created_at).label("at"),
        )
        .where(col(SchedulingAction.request_id).in_(request_ids))
        .group_by(col(SchedulingAction.request_id))
        .subquery()
    )
    rows = session.exec(
        select(SchedulingAction)
        .join(
            latest,
            and_(
                col(SchedulingAction.request_id) == latest.c.request_id,
                col(SchedulingAction.created_at) == latest.c.at,
            ),
        )
        .order_by(col(SchedulingAction.created_at))
    ).all()
    found: dict[uuid.UUID, SchedulingAction] = {}
    for row in rows:  # oldest first: of rows sharing a moment, the later written wins
        assert row.request_id is not None
        current = found.get(row.request_id)
        if current is None or row.action_type not in LEAD_INS or current.action_type in LEAD_INS:
            found[row.request_id] = row
    return {request_id: LastAction.of(row) for request_id, row in found.items()}


def dashboard_for(deps: Deps, *, org_id: str, slack_user_id: str) -> Dashboard:
    now = deps.clock.now()
    with deps.uow() as uow:
        rep = own_requests.find_rep(uow.session, org_id=org_id, slack_user_id=slack_user_id)
        if rep is None:
            return Dashboard(timezone="UTC", known=False)
        figures = stats_in(uow.session, org_id=org_id, rep_id=rep.id, now=now)
        week_ago = now - timedelta(days=7)
        rows = own_requests.requests_of(uow.session, rep_id=rep.id, include_closed_since=week_ago)
        waiting = uow.session.exec(
            select(PendingAction.request_id)
            .where(PendingAction.rep_id == rep.id)
            .where(col(PendingAction.status) == ActionStatus.pending)
            .where(
                or_(col(PendingAction.expires_at).is_(None), col(PendingAction.expires_at) > now)
            )
        ).all()
        last = latest_actions(uow.session, [r.id for r in rows])
    waiting_by_request = Counter(waiting)
    board = Dashboard(timezone=rep.timezone, drafts_waiting=len(waiting), stats=figures)
    for request in rows:
        row = Row.of(
            request, last=last.get(request.id), drafts_waiting=waiting_by_request[request.id]
        )
        deciding = request.event_next_action == "waiting_for_decision"
        if row.drafts_waiting or request.status in ATTENTION or deciding:
            board.needs_attention.append(row)
        elif request.status in IN_FLIGHT:
            board.pending_confirmation.append(row)
        elif request.status in BOOKED_STATUSES:
            board.upcoming.append(row)
        elif request.status == RequestStatus.completed:
            board.completed_this_week.append(row)
    board.upcoming.sort(key=lambda r: r.meeting_start or now)
    return board
