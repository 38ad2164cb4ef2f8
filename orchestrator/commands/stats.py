"""Seed 000's scheduler metrics for a rep and their team: `/schedule stats` and the Home tab.

The period is a cohort, as in seed 000's `scheduler_metrics` view: the requests *started* in the
last `days` days (30 unless asked otherwise), and everything that has happened to them so far.
A request started 40 days ago and held yesterday is in last month's figures, not these; every
ratio below has its numerator and denominator from the same requests.

Each figure is an SQL aggregate that runs the same on SQLite and PostgreSQL, except the days to
book, which are read per booked request so the median can be taken here.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from db.models import (
    ENDING_OUTCOMES,
    ActionStatus,
    ActionType,
    PendingAction,
    RequestOutcome,
    SchedulingRequest,
    draft_was_edited,
)
from orchestrator.commands import own_requests
from orchestrator.deps import Deps
from orchestrator.views import Figures, SchedulerStats

PERIOD_DAYS = 30
# The drafts a rep approved that went out or are going (undone ones are not).
APPROVED = (
    ActionStatus.approved,
    ActionStatus.executing,
    ActionStatus.executed,
    ActionStatus.failed,
)
EMAILS = tuple(t for t in ActionType if t.value.startswith("email_"))


def _spelled(*outcomes: RequestOutcome) -> list[str]:
    return [stored for outcome in outcomes for stored in outcome.spellings()]


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def figures(
    session: Session,
    *,
    org_id: str,
    since: datetime,
    until: datetime,
    rep_id: uuid.UUID | None = None,
) -> Figures:
    """The figures over the requests of `org_id` (of `rep_id` alone, if given) created after
    `since` and up to `until`:

    - started: those requests;
    - held / cancelled_by_rep / cancelled_by_them / declined / gave_up: those whose recorded
      outcome says so (older rows' "cancelled" counts as cancelled_by_rep);
    - finished: those with an ending outcome (`ENDING_OUTCOMES`); success rate = held / finished;
    - booked: those with an executed calendar booking; days to book = first booking's execution
      minus the request's creation, per booked request (mean and median of those);
    - attempts per booking: emails of any kind sent (executed) on the booked requests before
      their first booking, divided by the booked requests;
    - no-show rate: meetings they missed (each request's `no_show_count`) over meetings that
      reached their end and were answered Held or No-show (missed + held); Rescheduled
      meetings never took place, so they count in neither;
    - edit rate: drafts on those requests that the rep approved (approved, sending, sent, or
      failed after approval; not undone) and had edited first, over all they approved.
    """
    request = SchedulingRequest
    cohort = [
        col(request.org_id) == org_id,
        col(request.created_at) > since,
        col(request.created_at) <= until,
    ]
    if rep_id is not None:
        cohort.append(col(request.rep_id) == rep_id)
    outcome = col(request.outcome)
    # Eight columns: wider than sqlmodel's typed `select`, so SQLAlchemy's own.
    started, held, finished, by_rep, by_them, declined, gave_up, no_shows = session.execute(
        sa_select(
            func.count(),
            _count(outcome.in_(_spelled(RequestOutcome.held))),
            _count(outcome.in_(_spelled(*ENDING_OUTCOMES))),
            _count(outcome.in_(_spelled(RequestOutcome.cancelled_by_rep))),
            _count(outcome.in_(_spelled(RequestOutcome.cancelled_by_them))),
            _count(outcome.in_(_spelled(RequestOutcome.declined))),
            _count(outcome.in_(_spelled(RequestOutcome.gave_up))),
            func.coalesce(func.sum(col(request.no_show_count)), 0),
        ).where(*cohort)
    ).one()

    action = PendingAction
    first_booking = (
        select(
            col(action.request_id).label("request_id"),
            func.min(col(action.executed_at)).label("booked_at"),
        )
        .where(col(action.action_type) == ActionType.calendar_book)
        .where(col(action.status) == ActionStatus.executed)
        .group_by(col(action.request_id))
        .subquery()
    )
    bookings = session.exec(
        select(col(request.created_at), first_booking.c.booked_at)
        .join(first_booking, first_booking.c.request_id == col(request.id))
        .where(*cohort)
    ).all()
    emails_before = session.exec(
        select(func.count())
        .select_from(action)
        .join(request, col(request.id) == col(action.request_id))
        .join(first_booking, first_booking.c.request_id == col(action.request_id))
        .where(*cohort)
        .where(col(action.action_type).in_(EMAILS))
        .where(col(action.status) == ActionStatus.executed)
        .where(col(action.executed_at) < first_booking.c.booked_at)
    ).one()
    approved, edited = session.exec(
        select(func.count(), _count(draft_was_edited()))
        .select_from(action)
        .join(request, col(request.id) == col(action.request_id))
        .where(*cohort)
        .where(col(action.status).in_(APPROVED))
    ).one()
    return Figures(
        started=started,
        booked=len(bookings),
        held=held,
        finished=finished,
        cancelled_by_rep=by_rep,
        cancelled_by_them=by_them,
        declined=declined,
        gave_up=gave_up,
        emails_before_booking=emails_before,
        days_to_book=tuple(
            (booked_at - created).total_seconds() / 86400 for created, booked_at in bookings
        ),
        no_shows=no_shows,
        meetings_ended=no_shows + held,
        approved=approved,
        edited=edited,
    )


def stats_in(
    session: Session,
    *,
    org_id: str,
    rep_id: uuid.UUID | None,
    now: datetime,
    days: int = PERIOD_DAYS,
) -> SchedulerStats:
    """The rep's figures and the team's (the whole org), over the last `days` days to `now`.
    A Slack user who never used Convene (`rep_id` None) has empty figures of their own."""
    since = now - timedelta(days=days)
    team = figures(session, org_id=org_id, since=since, until=now)
    you = (
        figures(session, org_id=org_id, rep_id=rep_id, since=since, until=now)
        if rep_id is not None
        else Figures()
    )
    return SchedulerStats(days=days, you=you, team=team)


def stats_for(deps: Deps, *, org_id: str, slack_user_id: str) -> SchedulerStats:
    with deps.uow() as uow:
        rep = own_requests.find_rep(uow.session, org_id=org_id, slack_user_id=slack_user_id)
        rep_id = rep.id if rep else None
        return stats_in(uow.session, org_id=org_id, rep_id=rep_id, now=deps.clock.now())
