"""The clock's second job (after `reconcile`): turn what has come due into events.

- requests whose `next_action_at` passed → their sequence (`follow_up` → `follow_up_due`);
- pending actions past `expires_at` → expired, card redrawn, rep told, parked job resumed;
- reps whose local brief time passed today with no brief yet → `morning_brief_due`
  (`timers.briefs`);
- confirmed meetings whose reminder time passed → `reminder_due`;
- booked meetings that ended ten minutes ago → `meeting_ended` (the held / no-show card).

Reminders and no-show checks follow the meeting's own time (`meeting_start`, `meeting_end`)
rather than an arming in `next_action_at`: whichever flow books or moves a meeting, the clock
sees `meeting_start` differ from the `watched_start` it last read, and writes that meeting's
reminder and check times on the row (`reminder_due_at`, `check_due_at`). Each is cleared when
its event is dispatched, so every query here reads only rows that are due, through a partial
index holding nothing else; the meeting time in every key makes a moved meeting new work.

Several clocks may run at once. Due rows are claimed in batches with `FOR UPDATE SKIP LOCKED`
on PostgreSQL (SQLite serialises writers, so a plain select is enough there), each claimed row
is cleared or moved past now in the same transaction, and every event carries a deterministic
idempotency key, so even two clocks that read the same row create one job between them. A tick
takes batch after batch until nothing is due, within DRAIN_BUDGET: a backlog (after an outage)
drains in one tick instead of one batch per tick.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import text, update
from sqlmodel import Session, col, select

from db.audit import record_draft_action
from db.models import (
    BOOKED_STATUSES,
    DUE_REQUEST_WHERE,
    UNWATCHED_WHERE,
    ActionStatus,
    ActionType,
    JobRun,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
    SchedulingTemplate,
)
from orchestrator.cadence import follow_up_times
from orchestrator.deps import Deps
from orchestrator.engine.action_data import ActionData, action_data
from orchestrator.engine.dispatch import insert_jobs
from orchestrator.engine.event_types import (
    EventType,
    FollowUpDue,
    MeetingEnded,
    ReminderDue,
)
from orchestrator.engine.events import Event
from orchestrator.engine.runner import resume_if_decided
from orchestrator.mrkdwn import escape_mrkdwn
from orchestrator.notices.gate import (
    gates,
)
from orchestrator.notices.post import gate_opens, post_notice
from orchestrator.outbox.approval_cards import refresh_card
from orchestrator.outbox.expiry import rule_for
from orchestrator.steps.meeting_times import (
    MAX_LEAD,
    NO_SHOW_GRACE,
    meeting_zone,
    reminder_at,
)
from orchestrator.timers.briefs import brief_due, dispatch_briefs
from orchestrator.views import start_token

log = structlog.get_logger(__name__)

# next_action_type -> the event whose sequence handles it.
DUE_EVENTS = {"follow_up": EventType.follow_up_due}
# A meeting that ended longer ago than this is not asked about any more (a long outage).
MEETING_CHECK_WINDOW = timedelta(days=7)
BATCH = 200
# How long one tick keeps taking batches of due work before leaving the rest to the next tick
# (elapsed time, not the injected clock: it bounds this process's work, not a business rule).
DRAIN_BUDGET_SECONDS = 10.0


@dataclass
class DueReport:
    requests: int = 0
    expired: int = 0
    briefs: int = 0
    meetings_watched: int = 0  # booked or moved meetings whose due times were read
    reminders: int = 0
    meeting_checks: int = 0
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "expired": self.expired,
            "briefs": self.briefs,
            "meetings_watched": self.meetings_watched,
            "reminders": self.reminders,
            "meeting_checks": self.meeting_checks,
        }


# What each part reads, as conditions on its table: the part's own query and the tick's probe
# (`timers.probe`) use the same ones. Each is served by a partial index holding only rows that
# can come due.
DUE_WORK: dict[str, Callable[[datetime], list[Any]]] = {
    "requests": lambda now: [
        # The partial index's own condition: paused and finished requests are not in it.
        text(DUE_REQUEST_WHERE),
        col(SchedulingRequest.next_action_at) <= now,
        col(SchedulingRequest.next_action_type).in_(list(DUE_EVENTS)),
    ],
    "expired": lambda now: [
        col(PendingAction.status) == ActionStatus.pending,
        col(PendingAction.expires_at) <= now,
    ],
    "briefs": lambda now: [brief_due(now)],
    "meetings_watched": lambda _now: [text(UNWATCHED_WHERE)],
    "reminders": lambda now: [col(SchedulingRequest.reminder_due_at) <= now],
    "meeting_checks": lambda now: [col(SchedulingRequest.check_due_at) <= now],
}
# A meeting watched on this tick may be reminded or asked about on this tick too.
FOLLOWS_WATCH = ("reminders", "meeting_checks")


def dispatch_due(deps: Deps, *, parts: frozenset[str] | None = None) -> DueReport:
    """One clock tick's worth of due work; what was dispatched is also kept in `job_runs`
    (every tick writes that row: it is the clock's heartbeat). `parts`: only these (the tick's
    probe found nothing due for the others); None runs them all."""
    now = deps.clock.now()
    report = DueReport()
    deadline = time.monotonic() + DRAIN_BUDGET_SECONDS
    steps: list[tuple[str, Callable[[Deps, datetime], tuple[int, int]]]] = [
        ("requests", _dispatch_requests),
        ("expired", _expire_actions),
        ("briefs", _dispatch_briefs),
        # Before the two that read what it writes: a meeting booked just now is reminded or
        # asked about on this tick.
        ("meetings_watched", _watch_meetings),
        ("reminders", _dispatch_reminders),
        ("meeting_checks", _dispatch_meeting_checks),
    ]
    if parts is not None and "meetings_watched" in parts:
        parts = parts | set(FOLLOWS_WATCH)
    for name, part in steps:
        if parts is not None and name not in parts:
            continue
        # One broken part (a bad row, a Slack outage) must not stop the others every tick.
        try:
            setattr(report, name, _drain(deps, now, part, deadline=deadline))
        except Exception as exc:  # noqa: BLE001 - recorded in job_runs for the health check
            log.exception("dispatch_due_failed", part=name, error=repr(exc))
            report.errors.append(f"{name}: {exc!r}"[:500])
    with deps.uow() as uow:
        uow.session.add(
            JobRun(
                name="dispatch_due",
                started_at=now,
                finished_at=deps.clock.now(),
                counts=report.counts(),
                errors=report.errors,
            )
        )
        uow.commit()
    return report


def _drain(
    deps: Deps,
    now: datetime,
    batch: Callable[[Deps, datetime], tuple[int, int]],
    *,
    deadline: float,
) -> int:
    """Run `batch` until it claims less than a full batch (nothing left is due) or the tick's
    budget is spent. Each batch returns (rows claimed, rows handled); every claimed row leaves
    the due set in its batch's transaction, so the loop always moves on."""
    handled = 0
    while True:
        claimed, done = batch(deps, now)
        handled += done
        if claimed < BATCH or time.monotonic() >= deadline:
            return handled


def _locking(session: Session, statement: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=True)
    return statement


# --- due requests ------------------------------------------------------------------------------


def _dispatch_requests(deps: Deps, now: datetime) -> tuple[int, int]:
    events: list[Event] = []
    with deps.uow() as uow:
        statement = (
            select(SchedulingRequest)
            .where(*DUE_WORK["requests"](now))
            .order_by(col(SchedulingRequest.next_action_at))
            .limit(BATCH)
        )
        claimed = uow.session.exec(_locking(uow.session, statement)).all()
        later = follow_up_times(uow.session, claimed, earliest=now)
        for request in claimed:
            assert request.next_action_at is not None and request.next_action_type is not None
            if later[request.id] > now:
                # Their weekend or a holiday (a resume, a late clock): wait for their workday.
                request.next_action_at = later[request.id]
                request.updated_at = now
                uow.session.add(request)
                continue
            # The due time is part of the key: the same arming collapses onto one job however
            # many clocks see it, and a re-armed action (after a resume) gets a fresh one.
            due = int(request.next_action_at.timestamp())
            kind = request.next_action_type
            events.append(
                Event(
                    type=DUE_EVENTS[kind],
                    org_id=request.org_id,
                    idempotency_key=f"{kind}:{request.id}:{request.attempt_count}:{due}",
                    source="clock",
                    rep_id=request.rep_id,
                    request_id=request.id,
                    payload=FollowUpDue(due_at=request.next_action_at),
                )
            )
            # The sequence sets the next due time when it finishes; until then nothing is due.
            request.next_action_at = None
            request.updated_at = now
            uow.session.add(request)
        created = insert_jobs(uow.session, events, now=now)
        uow.commit()
    for job_id in created:
        deps.wakeups.run_step(job_id, tag="0-0")
    return len(claimed), len(claimed)


# --- expired drafts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Expired:
    action_id: uuid.UUID
    job_id: uuid.UUID | None
    rep_id: uuid.UUID
    text: str


def _expire_actions(deps: Deps, now: datetime) -> tuple[int, int]:
    expired: list[_Expired] = []
    with deps.uow() as uow:
        statement = (
            select(PendingAction)
            .where(*DUE_WORK["expired"](now))
            .order_by(col(PendingAction.expires_at))
            .limit(BATCH)
        )
        claimed = uow.session.exec(_locking(uow.session, statement)).all()
        requests = _by_id(uow.session, SchedulingRequest, [a.request_id for a in claimed])
        for action in claimed:
            # Conditional, so a click that got in first (approve, reject) keeps its decision.
            won = uow.session.execute(
                update(PendingAction)
                .where(col(PendingAction.id) == action.id)
                .where(col(PendingAction.status) == ActionStatus.pending)
                # The card says why it expired (a stale mark made at Approve says it best).
                .values(
                    status=ActionStatus.expired,
                    error=action.error or rule_for(action.action_type).why,
                    updated_at=now,
                )
            ).rowcount  # type: ignore[attr-defined]
            if won != 1:
                continue
            request = requests.get(action.request_id) if action.request_id else None
            record_draft_action(
                uow.session,
                action,
                kind="action_expired",
                actor="system",
                reasoning="nobody decided before it expired; nothing was sent",
                now=now,
            )
            expired.append(
                _Expired(action.id, action.job_id, action.rep_id, _expiry_notice(action, request))
            )
        uow.commit()
    for item in expired:
        refresh_card(deps, item.action_id)
        post_notice(deps.notices, rep_id=item.rep_id, text=item.text)
        resume_if_decided(deps, item.job_id)
    return len(claimed), len(expired)


def _expiry_notice(action: PendingAction, request: SchedulingRequest | None) -> str:
    what = action.action_type.removeprefix("email_").replace("_", "-")
    to = ", ".join(action_data(action, ActionData).to) or "the prospect"
    ref = f"*{escape_mrkdwn(request.ref)}* · " if request else ""
    text = (
        f":hourglass_flowing_sand: {ref}The {what} draft to {escape_mrkdwn(to)} expired "
        "before anyone decided, so nothing was sent."
    )
    if action.action_type == ActionType.email_follow_up and request is not None:
        text += (
            f" Follow-ups on {escape_mrkdwn(request.ref)} are paused; "
            f"`/schedule resume {escape_mrkdwn(request.ref)}` drafts a fresh one."
        )
    return text


# --- morning briefs ----------------------------------------------------------------------------


def _dispatch_briefs(deps: Deps, now: datetime) -> tuple[int, int]:
    return dispatch_briefs(deps, now, lock=_locking)


# --- the meeting's day and its end --------------------------------------------------------------


def _watch_meetings(deps: Deps, now: datetime) -> tuple[int, int]:
    """Read the due times of meetings booked or moved since the last tick."""
    with deps.uow() as uow:
        session = uow.session
        statement = select(SchedulingRequest).where(*DUE_WORK["meetings_watched"](now)).limit(BATCH)
        claimed = session.exec(_locking(session, statement)).all()
        for request in claimed:
            start, end = request.meeting_start, request.meeting_end
            assert start is not None
            request.watched_start = start
            # The reminder is first looked at when the earliest rule could want it; its rule
            # and zone are read then (a team may change its rule after the booking).
            request.reminder_due_at = max(start - MAX_LEAD, now) if start > now else None
            # A meeting that ended longer ago than the window (a long outage) is not asked
            # about any more.
            recent = end is not None and end > now - MEETING_CHECK_WINDOW
            request.check_due_at = end + NO_SHOW_GRACE if end is not None and recent else None
            session.add(request)
        uow.commit()
    return len(claimed), len(claimed)


def _reminder_rules(
    session: Session, requests: list[SchedulingRequest]
) -> dict[tuple[str, str], str]:
    """Each (org, meeting type)'s reminder rule, for the meeting types in the batch."""
    if not requests:
        return {}
    templates = session.exec(
        select(SchedulingTemplate).where(
            col(SchedulingTemplate.org_id).in_({r.org_id for r in requests})
        )
    )
    return {(t.org_id, t.meeting_type): t.reminder_rule for t in templates}


def _dispatch_reminders(deps: Deps, now: datetime) -> tuple[int, int]:
    """Confirmed meetings whose reminder time (by their rule, in the prospect's zone) passed;
    one whose time is still ahead is looked at again then."""
    with deps.uow() as uow:
        session = uow.session
        statement = (
            select(SchedulingRequest)
            .where(*DUE_WORK["reminders"](now))
            .order_by(col(SchedulingRequest.reminder_due_at))
            .limit(BATCH)
        )
        claimed = list(session.exec(_locking(session, statement)).all())
        attendees: dict[uuid.UUID, list[SchedulingAttendee]] = defaultdict(list)
        if claimed:
            for attendee in session.exec(
                select(SchedulingAttendee).where(
                    col(SchedulingAttendee.request_id).in_([r.id for r in claimed])
                )
            ):
                attendees[attendee.request_id].append(attendee)
        rules = _reminder_rules(session, claimed)
        events = []
        for request in claimed:
            start = request.meeting_start
            request.reminder_due_at = None
            session.add(request)
            # Cancelled, reminded or begun since it was watched: nothing to remind. (A moved
            # meeting was watched again before this, with its own time.)
            if (
                request.status != RequestStatus.confirmed
                or start is None
                or start != request.watched_start
                or start <= now
            ):
                continue
            tz = meeting_zone(request, attendees[request.id])
            at = reminder_at(rules.get((request.org_id, request.meeting_type)), start=start, tz=tz)
            if at is None:
                continue
            if at > now:
                request.reminder_due_at = at
                continue
            events.append(
                Event(
                    type=EventType.reminder_due,
                    org_id=request.org_id,
                    idempotency_key=f"reminder:{request.id}:{start_token(start)}",
                    source="clock",
                    rep_id=request.rep_id,
                    request_id=request.id,
                    payload=ReminderDue(meeting_start=start, due_at=at),
                )
            )
        created = _insert_new(session, events, now=now)
        uow.commit()
    for job_id in created:
        deps.wakeups.run_step(job_id, tag="0-0")
    return len(claimed), len(created)


def _dispatch_meeting_checks(deps: Deps, now: datetime) -> tuple[int, int]:
    """Booked meetings that ended at least the grace period ago: ask the rep if they happened.

    The card is a DM Convene volunteers, so it waits for the rep's quiet hours to end and for
    room under the hourly cap: its check time moves to when the gate may open, so a rep whose
    gate is closed holds up no one else. The deterministic key still makes it one card per
    meeting time.
    """
    with deps.uow() as uow:
        session = uow.session
        statement = (
            select(SchedulingRequest)
            .where(*DUE_WORK["meeting_checks"](now))
            .order_by(col(SchedulingRequest.check_due_at))
            .limit(BATCH)
        )
        claimed = session.exec(_locking(session, statement)).all()
        reps = _by_id(session, Rep, [r.rep_id for r in claimed])
        verdicts = gates(session, reps=reps.values(), now=now, cap=deps.settings.dm_per_hour_cap)
        events = []
        for request in claimed:
            start, end = request.meeting_start, request.meeting_end
            request.check_due_at = None
            session.add(request)
            if (
                request.status not in BOOKED_STATUSES
                or start is None
                or end is None
                or start != request.watched_start
                or end <= now - MEETING_CHECK_WINDOW
            ):
                continue
            rep = reps[request.rep_id]
            if not verdicts[rep.id].open:
                request.check_due_at = gate_opens(rep, verdicts[rep.id], now)
                continue
            events.append(
                Event(
                    type=EventType.meeting_ended,
                    org_id=request.org_id,
                    idempotency_key=f"meeting_ended:{request.id}:{start_token(start)}",
                    source="clock",
                    rep_id=request.rep_id,
                    request_id=request.id,
                    payload=MeetingEnded(meeting_start=start),
                )
            )
        created = _insert_new(session, events, now=now)
        uow.commit()
    for job_id in created:
        deps.wakeups.run_step(job_id, tag="0-0")
    return len(claimed), len(created)


def _insert_new(session: Session, events: list[Event], *, now: datetime) -> list[uuid.UUID]:
    """Insert the jobs not created on an earlier tick, all in one statement: a key already
    taken (an earlier tick, a concurrent clock) creates nothing."""
    return insert_jobs(session, events, now=now)


def _by_id(session: Session, model: Any, ids: list[Any]) -> dict[Any, Any]:
    """Rows of `model` by id, for a batch's parents in one read."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.exec(select(model).where(col(model.id).in_(wanted)))}
