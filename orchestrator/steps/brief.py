"""The `morning_brief_due` sequence's one step: read the rep's day, compose, and DM it once.

Today's meetings are read from the rep's calendar; a calendar that can't be read (an outage, a
revoked grant) costs the brief that section's accuracy, not the brief: it says so and lists the
meetings Convene booked instead.

The clock dispatches it when the rep's local brief time has passed; this step checks again,
because minutes may pass between the two: quiet hours may have begun or the hourly cap filled.
A brief held back that way ends with `held` in its output, and the clock tries again later.

The brief's buttons act on the drafts, meetings and decisions it lists (bot/listeners/brief.py);
a decision's Open posts its card again, rebuilt here from the reply that raised it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import structlog
from sqlmodel import Session, col, or_, select

from connectors.errors import PermanentError, ReconnectRequired, TransientError
from db.models import (
    FINISHED_STATUSES,
    ActionStatus,
    EmailMessage,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.cadence import MAX_ATTEMPTS, MAX_DAYS_ACTIVE, unanswered_emails
from orchestrator.commands.decision_cards import decision_view
from orchestrator.deps import Deps
from orchestrator.engine.action_data import ActionData, action_data
from orchestrator.engine.event_types import BriefDue, EventType, payload, reply_id
from orchestrator.engine.events import StepContext, StepResult
from orchestrator.engine.outputs import Assess, UnderstandReply, output
from orchestrator.mrkdwn import owner_only
from orchestrator.notices.gate import (
    already_sent,
    brief_key,
    gate,
    post_once,
    rep_zone,
)
from orchestrator.steps.replies import summary_of
from orchestrator.views import ACTION_TITLES, DecisionView
from skills.compose_brief import (
    ActionInfo,
    BusyTime,
    CalendarProblem,
    RequestInfo,
    compose_brief,
)

log = structlog.get_logger(__name__)

# A failed send stays worth mentioning for a week; after that the Home tab has it.
FAILED_LOOKBACK = timedelta(days=7)
# The brief names a calendar action by what it does to the calendar, not by the invite.
ACTION_LABELS = {
    **ACTION_TITLES,
    "calendar_book": "Calendar booking",
    "calendar_update": "Calendar update",
}


def send_brief(job: SequenceJob, ctx: StepContext) -> StepResult:
    assert job.rep_id is not None
    rep = ctx.session.get_one(Rep, job.rep_id)
    day = payload(job, BriefDue).day
    if ctx.now.astimezone(rep_zone(rep)).date().isoformat() != day:
        # Ran after midnight (an outage, a long hold): yesterday's brief is no use today.
        return StepResult(output={"skipped": "the day is over"})
    key = brief_key(rep.id, day)
    if already_sent(ctx.session, dedupe_keys=[key]):
        return StepResult(output={"skipped": "already sent today"})
    verdict = gate(ctx.session, rep=rep, now=ctx.now, cap=ctx.ports.dm_per_hour_cap)
    if not verdict.open:
        # The clock looks at this rep again on its next tick, and tries once the gate opens.
        rep.next_brief_at = None
        ctx.session.add(rep)
        return StepResult(output={"held": verdict.reason})
    busy, problem = _calendar_today(ctx, rep)
    brief = compose_brief(
        rep_name=rep.name,
        timezone=rep_zone(rep).key,
        now=ctx.now,
        requests=_requests(ctx, rep),
        actions=_actions(ctx, rep),
        max_attempts=MAX_ATTEMPTS,
        max_days=MAX_DAYS_ACTIVE,
        calendar=busy,
        calendar_problem=problem,
    )
    if brief is None:
        return StepResult(output={"skipped": "nothing to say"})
    text, blocks = ctx.ports.cards.brief(brief)
    channel = ctx.ports.chat.open_dm(user_id=rep.slack_user_id)
    posted = post_once(
        ctx.session,
        ctx.ports.chat,
        rep=rep,
        kind="morning_brief",
        dedupe_key=key,
        channel=channel,
        now=ctx.now,
        text=text,
        blocks=blocks,
    )
    if posted is None:
        return StepResult(output={"skipped": "already sent today"})
    return StepResult(
        output={
            "channel": posted.channel,
            "ts": posted.ts,
            "meetings": len(brief.meetings),
            "attention": len(brief.attention),
            "at_risk": len(brief.at_risk),
            "calendar": "read" if busy is not None else problem,
        }
    )


def _calendar_today(ctx: StepContext, rep: Rep) -> tuple[list[BusyTime] | None, CalendarProblem]:
    """The rep's busy time over their local day, or None and why it couldn't be read."""
    zone = rep_zone(rep)
    today = ctx.now.astimezone(zone).date()
    start = datetime.combine(today, time(), zone)
    end = datetime.combine(today + timedelta(days=1), time(), zone)
    try:
        calendar = ctx.ports.calendar_for(rep.org_id)
        found = calendar.free_busy(emails=[rep.email], start=start, end=end)
    except ReconnectRequired as exc:
        log.warning("brief_calendar_unreadable", rep_id=str(rep.id), error=repr(exc))
        return None, "reconnect"
    except (TransientError, PermanentError, TimeoutError, ConnectionError) as exc:
        log.warning("brief_calendar_unreadable", rep_id=str(rep.id), error=repr(exc))
        return None, "unavailable"
    intervals = found.get(rep.email.lower(), found.get(rep.email))
    if intervals is None:
        # Providers leave out calendars the grant may not read rather than fail.
        return None, "unavailable"
    return [BusyTime(start=i.start, end=i.end) for i in intervals], ""


def _requests(ctx: StepContext, rep: Rep) -> list[RequestInfo]:
    requests = ctx.session.exec(
        select(SchedulingRequest)
        .where(SchedulingRequest.rep_id == rep.id)
        .where(col(SchedulingRequest.status).notin_(list(FINISHED_STATUSES)))
    ).all()
    return [
        RequestInfo(
            ref=r.ref,
            title=r.title or r.meeting_type,
            status=r.status,
            unanswered=unanswered_emails(ctx.session, r),
            created_at=r.created_at,
            meeting_start=r.meeting_start,
            meeting_end=r.meeting_end,
            prospect=_prospect(ctx, r),
            paused_reason=_paused_reason(ctx, r) if r.status == RequestStatus.paused else "",
            calendar_event_id=r.calendar_event_id,
            decision=(
                r.event_next_action_subtype
                if r.event_next_action == "waiting_for_decision"
                else None
            ),
            request_id=str(r.id),
        )
        for r in requests
    ]


def _prospect(ctx: StepContext, request: SchedulingRequest) -> str:
    attendee = ctx.session.exec(
        select(SchedulingAttendee)
        .where(SchedulingAttendee.request_id == request.id)
        .where(SchedulingAttendee.side == "external")
        .order_by(col(SchedulingAttendee.created_at))
    ).first()
    return (attendee.name or attendee.email) if attendee else ""


def _paused_reason(ctx: StepContext, request: SchedulingRequest) -> str:
    last = ctx.session.exec(
        select(SchedulingAction)
        .where(SchedulingAction.request_id == request.id)
        .where(col(SchedulingAction.action_type).in_(["follow_ups_stopped", "request_paused"]))
        .order_by(col(SchedulingAction.created_at).desc())
    ).first()
    if last is None:
        return ""
    # A pause by the rep's own command records who did it, which they know already.
    return "" if last.actor == "user" else last.reasoning


def _actions(ctx: StepContext, rep: Rep) -> list[ActionInfo]:
    rows = ctx.session.exec(
        select(PendingAction, SchedulingRequest)
        .join(SchedulingRequest, col(SchedulingRequest.id) == col(PendingAction.request_id))
        .where(PendingAction.rep_id == rep.id)
        .where(
            or_(
                (col(PendingAction.status) == ActionStatus.pending)
                & or_(
                    col(PendingAction.expires_at).is_(None),
                    col(PendingAction.expires_at) > ctx.now,
                ),
                (col(PendingAction.status) == ActionStatus.failed)
                & (col(PendingAction.updated_at) >= ctx.now - FAILED_LOOKBACK),
            )
        )
        .order_by(col(PendingAction.created_at))
    ).all()
    return [
        ActionInfo(
            action_id=str(action.id),
            ref=request.ref,
            title=ACTION_LABELS.get(action.action_type, action.action_type.replace("_", " ")),
            status=action.status,
            to=action_data(action, ActionData).to,
            error=action.error or "",
        )
        for action, request in rows
        if request.status not in FINISHED_STATUSES
    ]


# --- a decision's card, again ---------------------------------------------------------------


@dataclass(frozen=True)
class Reopened:
    ok: bool
    message: str  # why nothing was posted, when not ok


def repost_decision_card(
    deps: Deps, *, org_id: str, request_id: uuid.UUID, slack_user_id: str
) -> Reopened:
    """Post a decision's card to its rep again, so the brief's Open leads straight to it.

    Only while the request still waits on that decision, and only for the rep (or a delegate);
    the card is rebuilt from the reply that raised it, and its choices are applied once however
    many copies of it there are (orchestrator.commands.decision_cards.resolve).
    """
    with deps.uow() as uow:
        session = uow.session
        request = session.get(SchedulingRequest, request_id)
        if request is None or request.org_id != org_id:
            return Reopened(False, "That request no longer exists.")
        rep = session.get_one(Rep, request.rep_id)
        if not rep.allows(slack_user_id):
            return Reopened(False, owner_only(rep.slack_user_id))
        if request.event_next_action != "waiting_for_decision":
            return Reopened(False, f"Already decided: {request.ref} is no longer waiting on you.")
        view = _decision_view(session, request, rep)
        rep_user = rep.slack_user_id
    text, blocks = deps.cards.decision(view)
    channel = deps.chat.open_dm(user_id=rep_user)
    deps.chat.post_message(channel=channel, text=text, blocks=blocks)
    return Reopened(True, "")


def _decision_view(session: Session, request: SchedulingRequest, rep: Rep) -> DecisionView:
    """The card the reply's `tell_rep` step posted; bare choices if no reply raised it."""
    subtype = request.event_next_action_subtype or ""
    jobs = session.exec(
        select(SequenceJob)
        .where(SequenceJob.request_id == request.id)
        .where(SequenceJob.event_type == EventType.email_received)
        .order_by(col(SequenceJob.created_at).desc())
    ).all()
    for job in jobs:
        decision = output(job, Assess) or Assess()
        analysis = output(job, UnderstandReply)
        if not (decision.needs_rep and decision.subtype == subtype and analysis):
            continue
        row = session.get(EmailMessage, reply_id(job))
        if row is None:
            continue
        reply = summary_of(row, request, rep, analysis)
        return decision_view(request, rep, decision, reply=reply)
    return decision_view(request, rep, Assess(subtype=subtype), reply="")
