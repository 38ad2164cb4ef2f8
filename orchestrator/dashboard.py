"""The numbers and rows behind the Home tab (seed 000's dashboard groupings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, select

from db.models import ActionStatus, PendingAction, RequestStatus, SchedulingRequest
from orchestrator import requests
from orchestrator.bootstrap import Deps

IN_FLIGHT = {
    RequestStatus.initiated,
    RequestStatus.proposing,
    RequestStatus.awaiting_response,
    RequestStatus.negotiating,
    RequestStatus.confirming,
}
BOOKED = {RequestStatus.confirmed, RequestStatus.reminder_sent}
ATTENTION = {RequestStatus.paused, RequestStatus.no_show}


@dataclass(frozen=True)
class Row:
    ref: str
    title: str
    status: str
    next_action: str | None
    next_action_at: datetime | None
    meeting_start: datetime | None

    @classmethod
    def of(cls, request: SchedulingRequest) -> Row:
        return cls(
            ref=request.ref,
            title=request.title,
            status=request.status,
            next_action=request.next_action_type,
            next_action_at=request.next_action_at,
            meeting_start=request.meeting_start,
        )


@dataclass(frozen=True)
class Dashboard:
    timezone: str
    pending_confirmation: list[Row] = field(default_factory=list)
    upcoming: list[Row] = field(default_factory=list)
    needs_attention: list[Row] = field(default_factory=list)
    completed_this_week: list[Row] = field(default_factory=list)
    drafts_waiting: int = 0
    known: bool = True  # False when this Slack user has never used Convene


def dashboard_for(deps: Deps, *, org_id: str, slack_user_id: str) -> Dashboard:
    now = deps.clock.now()
    with deps.uow() as uow:
        rep = requests.find_rep(uow.session, org_id=org_id, slack_user_id=slack_user_id)
        if rep is None:
            return Dashboard(timezone="UTC", known=False)
        week_ago = now - timedelta(days=7)
        rows = requests.requests_of(uow.session, rep_id=rep.id, include_closed_since=week_ago)
        waiting = uow.session.exec(
            select(PendingAction.request_id)
            .where(PendingAction.rep_id == rep.id)
            .where(col(PendingAction.status) == ActionStatus.pending)
        ).all()
    waiting_requests = set(waiting)
    board = Dashboard(timezone=rep.timezone, drafts_waiting=len(waiting))
    for request in rows:
        deciding = request.event_next_action == "waiting_for_decision"
        if request.id in waiting_requests or request.status in ATTENTION or deciding:
            board.needs_attention.append(Row.of(request))
        elif request.status in IN_FLIGHT:
            board.pending_confirmation.append(Row.of(request))
        elif request.status in BOOKED:
            board.upcoming.append(Row.of(request))
        elif request.status == RequestStatus.completed:
            board.completed_this_week.append(Row.of(request))
    board.upcoming.sort(key=lambda r: r.meeting_start or now)
    return board
