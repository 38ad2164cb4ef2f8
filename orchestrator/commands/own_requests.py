"""What a rep can do to their own requests from Slack: look them up, pause, resume, cancel,
and say whether a meeting happened."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.audit import record_action
from db.models import (
    BOOKED_STATUSES,
    FINISHED_STATUSES,
    STOPPED_STATUSES,
    ActionStatus,
    ActionType,
    JobStatus,
    PendingAction,
    Rep,
    RequestOutcome,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
    SlackNotification,
)
from orchestrator.cadence import MAX_NO_SHOWS, follow_up_at
from orchestrator.commands.new_request import ensure_rep
from orchestrator.deps import Deps
from orchestrator.engine.dispatch import insert_job
from orchestrator.engine.event_types import (
    EmailReceived,
    EventType,
    MeetingRecovery,
    RedraftRequested,
    payload,
    redraft_key,
)
from orchestrator.engine.events import Event
from orchestrator.event_state import store_event_state
from orchestrator.mrkdwn import escape_mrkdwn
from orchestrator.negotiation import meeting_over, open_drafts
from orchestrator.notices.post import post_notice
from orchestrator.outbox.calendar import cancel_action, future_events
from orchestrator.steps.follow_up import FOLLOW_UP_STATUSES
from orchestrator.steps.meeting import check_key, meeting_check
from orchestrator.views import MeetingCheck, RepProfile, start_token, when_for_rep
from orchestrator.webhooks.events import WebhookEvent, record_event
from skills.next_move.model import EVENT_TYPE

# What `steps.respond` says when it leaves a reply alone because the request is paused.
PAUSED_REASON = f"the request is {RequestStatus.paused}"
# The decision card a reply on a paused request gets (`commands.decision_cards`).
REOPEN = "reopen"
# A job in one of these will still move its request on.
LIVE_JOB_STATES = (JobStatus.queued, JobStatus.running, JobStatus.waiting_approval)
# A resume never fires a follow-up at once: the rep may still be writing to them themselves.
RESUME_DELAY = timedelta(hours=1)


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
        if r.status not in FINISHED_STATUSES
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
    record_action(
        session,
        org_id=request.org_id,
        request_id=request.id,
        kind=kind,
        actor="user",
        reasoning=f"by <@{who}>",
        now=now,
    )


def pause(deps: Deps, *, org_id: str, ref: str, slack_user_id: str) -> Outcome:
    now = deps.clock.now()
    with deps.uow() as uow:
        request, problem = _owned(uow.session, org_id=org_id, ref=ref, slack_user_id=slack_user_id)
        if request is None:
            return Outcome(False, problem)
        if request.status in STOPPED_STATUSES:
            return Outcome(False, f"{request.ref} is {request.status}; nothing to pause.")
        request.paused_from, request.status = request.status, RequestStatus.paused
        request.updated_at = now
        uow.session.add(request)
        _audit(uow.session, request, "request_paused", slack_user_id, now)
        uow.commit()
    return Outcome(
        True, f"Paused {request.ref}. No follow-ups until you `/schedule resume {request.ref}`."
    )


# Before the first email goes out.
UNSENT_STATUSES = (RequestStatus.initiated, RequestStatus.proposing)


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
        if request.outcome == RequestOutcome.gave_up:
            request.outcome = None  # open again: it ends some other way, or gives up anew
            if request.event_next_action_subtype == "recommend_cancel":
                # Convene's advice to close, which the stop rule left: resuming turned it down.
                store_event_state(
                    uow.session,
                    request,
                    "reaching_out",
                    reasoning="resumed by the rep after Convene stopped chasing",
                    now=now,
                )
        if request.next_action_at is not None and request.next_action_at < now:
            # Don't fire a backlog of overdue follow-ups the moment the rep resumes.
            request.next_action_at = follow_up_at(uow.session, request, earliest=now + RESUME_DELAY)
        if request.event_next_action_subtype == REOPEN:
            # Resuming answers the "reopen?" card; the reply's own reading decides what's next.
            request.event_next_action = EVENT_TYPE["collecting_responses"]
            request.event_next_action_subtype = "collecting_responses"
        request.updated_at = now
        uow.session.add(request)
        _audit(uow.session, request, "request_resumed", slack_user_id, now)
        replay = _act_on_held_reply(uow.session, request, now=now)
        redraft = None if replay is not None else _redraft_unsent(uow.session, request, now=now)
        rearmed = None
        if replay is None and redraft is None:
            rearmed = _rearm(uow.session, request, now=now)
        rep = uow.session.get_one(Rep, request.rep_id)
        uow.commit()
    for job_id in (replay, redraft):
        if job_id is not None:
            deps.wakeups.run_step(job_id, tag="0-0")
    said = f"Resumed {request.ref}: back to {request.status.replace('_', ' ')}."
    if replay is not None:
        said += " Their reply from while it was paused is being acted on."
    if redraft is not None:
        said += " Nothing had been sent yet, so a fresh first email is being drafted."
    if rearmed is not None:
        when = when_for_rep(rearmed, rep.timezone)
        said += f" Next follow-up: {when}, drafted for your approval."
    return Outcome(True, said)


def _rearm(session: Session, request: SchedulingRequest, *, now: datetime) -> datetime | None:
    """A resumed request that nothing would move (a stop rule cleared its next follow-up, or
    it was paused with none due) chases again: a follow-up an hour on, on their working day.
    One with a draft, a decision or a step of its own under way is left to that."""
    if request.status not in FOLLOW_UP_STATUSES or request.next_action_at is not None:
        return None
    if request.event_next_action == "waiting_for_decision":
        return None
    open_action = next(iter(open_drafts(session, request.id)), None)
    live_job = session.exec(
        select(SequenceJob.id)
        .where(SequenceJob.request_id == request.id)
        .where(col(SequenceJob.status).in_(LIVE_JOB_STATES))
    ).first()
    if open_action is not None or live_job is not None:
        return None
    request.next_action_type = "follow_up"
    request.next_action_at = follow_up_at(session, request, earliest=now + RESUME_DELAY)
    return request.next_action_at


def _redraft_unsent(
    session: Session, request: SchedulingRequest, *, now: datetime
) -> uuid.UUID | None:
    """A request paused before its first email went out (the rep rejected the draft) has
    nothing to wait for once resumed: it gets a fresh first draft, once per rejected draft."""
    actions = session.exec(
        select(PendingAction)
        .where(PendingAction.request_id == request.id)
        .order_by(col(PendingAction.created_at).desc())
    ).all()
    if any(a.status == ActionStatus.executed for a in actions):
        return None
    last = next((a for a in actions if a.action_type == ActionType.email_initial), None)
    if last is None or last.status not in (ActionStatus.rejected, ActionStatus.expired):
        return None
    why = f"it was {last.status}, then the request resumed"
    return _first_email_again(session, request, key=redraft_key(last.id), why=why, now=now)


def search_again(
    session: Session, request: SchedulingRequest, *, now: datetime, key: str
) -> uuid.UUID | None:
    """A request whose first email never went out (its search found no time, or its draft
    failed) looks for times again: a fresh first-email job, once per `key` (the rep's click).
    None when an email already went out: then fresh times answer their reply instead."""
    sent = session.exec(
        select(PendingAction.id)
        .where(PendingAction.request_id == request.id)
        .where(PendingAction.status == ActionStatus.executed)
    ).first()
    if sent is not None or request.status not in UNSENT_STATUSES:
        return None
    why = "the rep asked to look for times again"
    return _first_email_again(session, request, key=key, why=why, now=now)


def _first_email_again(
    session: Session, request: SchedulingRequest, *, key: str, why: str, now: datetime
) -> uuid.UUID | None:
    """A fresh first-email job (search, draft, send), once per `key`; None when `key` ran."""
    request.status = RequestStatus.proposing
    session.add(request)
    job, created = insert_job(
        session,
        Event(
            type=EventType.redraft_requested,
            org_id=request.org_id,
            idempotency_key=key,
            source="slack",
            rep_id=request.rep_id,
            request_id=request.id,
            payload=RedraftRequested(stale=why),
        ),
        now=now,
    )
    return job.id if created else None


def _act_on_held_reply(
    session: Session, request: SchedulingRequest, *, now: datetime
) -> uuid.UUID | None:
    """The prospect's newest reply, when it came in while the request was paused, read again
    now that it is not: whatever it asks for is drafted as if it had just arrived. One job per
    held reply however often the rep resumes."""
    newest = session.exec(
        select(SequenceJob)
        .where(SequenceJob.request_id == request.id)
        .where(SequenceJob.event_type == EventType.email_received)
        .where(col(SequenceJob.idempotency_key).not_like("resumed:%"))
        .order_by(col(SequenceJob.created_at).desc())
    ).first()
    if newest is None or (newest.outputs.get("respond") or {}).get("reason") != PAUSED_REASON:
        return None
    job, created = insert_job(
        session,
        Event(
            type=EventType.email_received,
            org_id=request.org_id,
            idempotency_key=f"resumed:{newest.id}",
            source="slack",
            rep_id=request.rep_id,
            request_id=request.id,
            payload=payload(newest, EmailReceived),
            parent_job_id=newest.id,
            correlation_id=newest.correlation_id,
        ),
        now=now,
    )
    return job.id if created else None


def cancel(
    deps: Deps,
    *,
    org_id: str,
    ref: str,
    slack_user_id: str,
    outcome: RequestOutcome = RequestOutcome.cancelled_by_rep,
) -> Outcome:
    """Stop everything: open drafts and sequences are cancelled; nothing more is sent.

    `outcome` says why it ended: the rep's own call unless a decision card knows the prospect
    said no (`decision_cards.cancel_outcome`). A request Convene had already given up on keeps
    `gave_up`: closing it afterwards does not change why it ended.

    A meeting still ahead on the calendar is not removed behind the rep's back: its cancel is
    drafted as a `calendar_cancel` approval card, like every other side effect.
    """
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        request, problem = _owned(session, org_id=org_id, ref=ref, slack_user_id=slack_user_id)
        if request is None:
            return Outcome(False, problem)
        if request.status in FINISHED_STATUSES:
            return Outcome(False, f"{request.ref} is already {request.status}.")
        events = future_events(session, request, now=now)
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
        if request.outcome != RequestOutcome.gave_up:
            request.outcome = outcome
        request.next_action_at = None
        request.next_action_type = None
        store_event_state(session, request, "cancelled", reasoning="cancelled by the rep", now=now)
        _audit(session, request, "request_cancelled", slack_user_id, now)
        record_event(session, request, WebhookEvent.cancelled, now=now)
        cards = _propose_calendar_cancels(session, request, events, who=slack_user_id, now=now)
        uow.commit()
    for action_id in cards:
        deps.wakeups.post_action_card(action_id)
    message = f"Cancelled {request.ref}. Nothing more will be sent."
    if cards:
        message += " Approve the calendar card to take the meeting off everyone's calendar."
    return Outcome(True, message)


def _propose_calendar_cancels(
    session: Session,
    request: SchedulingRequest,
    events: dict[str, tuple[datetime, datetime]],
    *,
    who: str,
    now: datetime,
) -> list[uuid.UUID]:
    if not events:
        return []
    rep = session.get_one(Rep, request.rep_id)
    attendees = attendees_of(session, request)
    actions = [
        cancel_action(
            request,
            rep,
            attendees,
            event_id=event_id,
            start=start,
            reason=f"cancelled by <@{who}>",
            now=now,
        )
        for event_id, (start, _) in events.items()
    ]
    session.add_all(actions)
    return [action.id for action in actions]


# --- after the meeting ---------------------------------------------------------------------------

MEETING_EVENTS = {
    "held": "meeting_held",
    "no_show": "no_show_detected",
    "rescheduled": "meeting_rescheduled",
}
ANSWER_WORDS = {"held": "held", "no_show": "a no-show", "rescheduled": "rescheduled"}


@dataclass(frozen=True)
class MeetingAnswer:
    ok: bool
    message: str
    check: MeetingCheck | None = None  # the card as answered, to redraw in place
    card: tuple[str, str] | None = None  # its (channel, ts)


def answer_meeting(
    deps: Deps,
    *,
    org_id: str,
    request_id: uuid.UUID,
    meeting_start: datetime,
    answer: str,
    slack_user_id: str,
) -> MeetingAnswer:
    """The rep's answer to "did it happen?"; the first answer wins, later clicks are told.

    - held: the request is completed, outcome "held";
    - no_show: one more no-show; fresh times are drafted (tone by count), or at the third the
      request is paused, outcome "gave_up", and the rep told (stop rule);
    - rescheduled: back to negotiating; fresh times are drafted without asking anything more.
    """
    if answer not in MEETING_EVENTS:
        raise ValueError(f"unknown meeting answer {answer!r}")
    now = deps.clock.now()
    wake: uuid.UUID | None = None
    with deps.uow() as uow:
        session = uow.session
        request = session.get(SchedulingRequest, request_id)
        if request is None or request.org_id != org_id:
            return MeetingAnswer(False, "That request no longer exists.")
        rep = session.get_one(Rep, request.rep_id)
        if not rep.allows(slack_user_id):
            return MeetingAnswer(
                False, f"{request.ref} belongs to <@{rep.slack_user_id}>; only they can answer."
            )
        end = request.meeting_end or meeting_start
        no_shows = request.no_show_count + (answer == "no_show")
        stop = answer == "no_show" and no_shows >= MAX_NO_SHOWS
        # Conditional on the meeting still being booked at this time: of two clicks (the rep
        # and a delegate, or a double click) exactly one moves the request on.
        won = session.execute(
            update(SchedulingRequest)
            .where(col(SchedulingRequest.id) == request.id)
            .where(col(SchedulingRequest.status).in_(list(BOOKED_STATUSES)))
            .where(col(SchedulingRequest.meeting_start) == meeting_start)
            .values(
                status=_after(answer, stop=stop),
                outcome=RequestOutcome.gave_up if stop else RequestOutcome(answer),
                no_show_count=no_shows,
            )
        ).rowcount  # type: ignore[attr-defined]
        if won != 1:
            return MeetingAnswer(False, _already_answered(session, request, meeting_start))
        session.refresh(request)
        if answer != "rescheduled":
            # Told with the meeting's time, before a no-show clears it from the request.
            event = WebhookEvent.held if answer == "held" else WebhookEvent.no_show
            record_event(session, request, event, now=now, occurrence=meeting_start.isoformat())
            if stop:
                record_event(session, request, WebhookEvent.gave_up, now=now, occurrence=str(now))
        request.next_action_at = request.next_action_type = None
        request.updated_at = now
        if answer != "held":
            # The meeting is over; its time stays in the audit row, the next one is negotiated.
            meeting_over(request, now=now)
        if stop:
            request.paused_from = RequestStatus.no_show
        session.add(request)
        record_action(
            session,
            org_id=request.org_id,
            request_id=request.id,
            kind=MEETING_EVENTS[answer],
            actor="user",
            reasoning=f"by <@{slack_user_id}>",
            details={"meeting_start": meeting_start.isoformat(), "outcome": answer},
            now=now,
        )
        if stop:
            record_action(
                session,
                org_id=request.org_id,
                request_id=request.id,
                kind="follow_ups_stopped",
                actor="ai",
                reasoning=f"they have missed the meeting {no_shows} times",
                now=now,
            )
        elif answer != "held":
            job, created = insert_job(
                session,
                Event(
                    type=EventType.meeting_recovery,
                    org_id=request.org_id,
                    idempotency_key=f"meeting_recovery:{request.id}:{start_token(meeting_start)}",
                    source="slack",
                    rep_id=request.rep_id,
                    request_id=request.id,
                    payload=MeetingRecovery(reason=answer, meeting_start=meeting_start),
                ),
                now=now,
            )
            wake = job.id if created else None
        check = meeting_check(
            request,
            attendees_of(session, request),
            rep,
            start=meeting_start,
            end=end,
            answer=answer,
            answered_by=slack_user_id,
        )
        card = _check_card(session, request.id, meeting_start)
        uow.commit()
    if wake is not None:
        deps.wakeups.run_step(wake, tag="0-0")
    if stop:
        post_notice(
            deps.notices,
            rep_id=request.rep_id,
            text=(
                f":pause_button: *{escape_mrkdwn(request.ref)}* · They have missed the meeting "
                f"{no_shows} times, so Convene stopped: the request is paused and nothing more "
                "will be sent. Reach out yourself, or `/schedule cancel` it."
            ),
        )
    return MeetingAnswer(True, f"Marked {request.ref} as {ANSWER_WORDS[answer]}.", check, card)


def _after(answer: str, *, stop: bool) -> RequestStatus:
    if answer == "held":
        return RequestStatus.completed
    if answer == "rescheduled":
        return RequestStatus.negotiating
    return RequestStatus.paused if stop else RequestStatus.no_show


def _already_answered(session: Session, request: SchedulingRequest, start: datetime) -> str:
    answered = session.exec(
        select(SchedulingAction)
        .where(SchedulingAction.request_id == request.id)
        .where(col(SchedulingAction.action_type).in_(list(MEETING_EVENTS.values())))
        .order_by(col(SchedulingAction.created_at).desc())
    ).all()
    for row in answered:
        if row.details.get("meeting_start") == start.isoformat():
            outcome = ANSWER_WORDS.get(str(row.details.get("outcome")), "answered")
            return f"Already answered: {request.ref} was marked {outcome} {row.reasoning}."
    return (
        f"{request.ref} has moved on (it is {request.status.replace('_', ' ')}); nothing changed."
    )


def _check_card(session: Session, request_id: uuid.UUID, start: datetime) -> tuple[str, str] | None:
    row = session.exec(
        select(SlackNotification).where(
            SlackNotification.dedupe_key == check_key(request_id, start)
        )
    ).first()
    return (row.channel, row.ts) if row and row.ts else None


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
    zoom_link: str = "",
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
        rep.zoom_link = zoom_link
        # The brief's time, zone or quiet hours may have changed: the clock works it out anew.
        rep.next_brief_at = None
        uow.session.add(rep)
        uow.commit()
    return Outcome(True, "Settings saved.")
