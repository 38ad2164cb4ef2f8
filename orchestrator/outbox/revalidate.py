"""Is a draft still what the rep would send? Asked at Approve, and again just before the send.

A draft is a snapshot: its times were ahead and free, and its recipients the request's, when it
was written. A click two weeks later, a "Send later" or the undo window can make it wrong, so
before anything leaves:

- at Approve, every time it offers or books is ahead by the margin its expiry rule uses
  (`outbox.expiry`), is still ahead when a "Send later" would send it, and is still free
  for everyone required on our side (the calendar is asked again through its port); and the
  draft has not expired;
- just before the send, none of those times has passed, and a reminder's or confirmation's
  meeting has not started (the undo window, a "Send later" or retries can carry an approved
  action that far; an action the rep approved in time is not refused for its expiry alone);
- its recipients are still the ones it was drafted with (`action_data`): nothing written over
  it later may add or swap an address.

A stale draft is refused, never approved: the clicker is told why, the card says so and, for a
first email, offers "Redraft with fresh times", which runs the `redraft_requested` sequence that
a rejected first email already uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import update
from sqlmodel import Session, col, select

from db.audit import record_draft_action
from db.models import (
    FINISHED_STATUSES,
    ActionStatus,
    ActionType,
    PendingAction,
    Rep,
    SchedulingAttendee,
    SchedulingRequest,
)
from orchestrator.deps import Deps
from orchestrator.engine.action_data import ActionData, action_data
from orchestrator.engine.dispatch import insert_job
from orchestrator.engine.event_types import EventType, RedraftRequested, redraft_key
from orchestrator.engine.events import Event
from orchestrator.engine.runner import resume_if_decided
from orchestrator.mrkdwn import escape_mrkdwn, owner_only
from orchestrator.negotiation import meeting
from orchestrator.outbox.approval_cards import refresh_card
from orchestrator.outbox.expiry import (
    BOOK_MARGIN,
    OFFER_MARGIN,
    REDRAFTABLE,
    rule_for,
)
from skills.draft_wording import format_slot

log = structlog.get_logger(__name__)

BOOKINGS = (ActionType.calendar_book, ActionType.calendar_update)
RECIPIENTS_CHANGED = "its recipients changed after it was drafted"
ZERO = timedelta(0)
CALENDAR_DOWN = (
    "I couldn't check the calendar just now, so nothing was approved. Try again in a minute."
)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


# --- the checks ---------------------------------------------------------------------------------


def stale_at_approve(
    action: PendingAction, *, now: datetime, send_at: datetime | None, tz: str
) -> str | None:
    """Why a click at `now` may not approve the draft (pure: its own data and the time)."""
    if recipients_changed(action):
        return RECIPIENTS_CHANGED
    # Ahead by the margin now, and still ahead when a "Send later" sends it.
    problem = _times_problem(
        action, at=now, tz=tz, offer_margin=OFFER_MARGIN, book_margin=BOOK_MARGIN
    )
    if problem is None and send_at is not None and send_at > now:
        problem = _times_problem(action, at=send_at, tz=tz)
    if problem is None and action.expires_at is not None and action.expires_at <= now:
        problem = rule_for(action.action_type).why
    return problem


def stale_at_send(action: PendingAction, *, now: datetime, tz: str) -> str | None:
    """Why an approved action may not reach the provider at `now`: a time it offers or books
    has passed, or the meeting its expiry is bound to (a reminder's) has started."""
    if recipients_changed(action):
        return RECIPIENTS_CHANGED
    if problem := _times_problem(action, at=now, tz=tz):
        return problem
    meeting_bound = rule_for(action.action_type).bound in ("meeting_start", "meeting_end")
    if meeting_bound and action.expires_at is not None and action.expires_at <= now:
        return rule_for(action.action_type).why
    return None


def _times_problem(
    action: PendingAction,
    *,
    at: datetime,
    tz: str,
    offer_margin: timedelta = ZERO,
    book_margin: timedelta = ZERO,
) -> str | None:
    """A time the action offers or books that is not ahead of `at` by the margin."""
    data = action_data(action, ActionData)
    offered = data.offered()
    if late := [t for t in offered if t < at + offer_margin]:
        when = _times(late, tz)
        if len(late) == len(offered):
            return f"every time it offers has passed or is too close to offer ({when})"
        return f"some times it offers have passed or are too close to offer ({when})"
    span = data.booked() if action.action_type in BOOKINGS else None
    if span is not None and span[0] < at + book_margin:
        return f"the meeting time ({_times([span[0]], tz)}) has passed"
    return None


def recipients_changed(action: PendingAction) -> bool:
    """True when something written over the draft names other addresses than it was drafted
    with (the rep's edits change the words, never who gets them)."""
    drafted = action_data(action, ActionData, edited=False)
    return _recipients(drafted) != _recipients(action_data(action, ActionData))


def _recipients(data: ActionData) -> tuple[list[str], ...]:
    return tuple(_addresses(group) for group in (data.to, data.copied(), data.guests()))


def _addresses(emails: Iterable[str]) -> list[str]:
    return sorted(email.strip().lower() for email in emails)


def _times(times: Sequence[datetime], tz: str) -> str:
    shown = [format_slot(t, tz=tz) for t in times[:3]]
    return "; ".join(shown) + (f" and {len(times) - 3} more" if len(times) > 3 else "")


@dataclass(frozen=True)
class _CalendarQuestion:
    org_id: str
    emails: tuple[str, ...]
    spans: tuple[tuple[datetime, datetime], ...]
    own: tuple[datetime, datetime] | None  # the meeting a move moves: not a conflict with itself


def _calendar_question(
    session: Session, action: PendingAction, rep: Rep
) -> _CalendarQuestion | None:
    if action.request_id is None:
        return None
    request = session.get(SchedulingRequest, action.request_id)
    if request is None:
        return None
    data = action_data(action, ActionData)
    length = timedelta(minutes=request.duration_minutes)
    spans: list[tuple[datetime, datetime]] = [(t, t + length) for t in data.offered()]
    if action.action_type in BOOKINGS and (span := data.booked()) is not None:
        spans = [span]
    if not spans:
        return None
    attendees = session.exec(
        select(SchedulingAttendee).where(SchedulingAttendee.request_id == request.id)
    ).all()
    # Whoever the finder had to keep free when it chose the times: our required people.
    emails = tuple(a.email for a in attendees if a.side == "internal" and a.required)
    own = None
    if action.action_type == ActionType.calendar_update and (booked := meeting(request)):
        own = (booked.start, booked.end)
    return _CalendarQuestion(action.org_id, emails or (rep.email,), tuple(spans), own)


def busy_reason(deps: Deps, question: _CalendarQuestion, *, tz: str) -> str | None:
    """Which of the draft's times the calendar now shows as taken, and for whom."""
    lo = min(start for start, _ in question.spans)
    hi = max(end for _, end in question.spans)
    busy = deps.calendar_for(question.org_id).free_busy(emails=question.emails, start=lo, end=hi)
    taken: list[str] = []
    for start, end in question.spans:
        who = sorted(
            email
            for email, intervals in busy.items()
            for interval in intervals
            if interval.start < end
            and start < interval.end
            and not _is_own(interval.start, interval.end, question.own)
        )
        if who:
            taken.append(f"{format_slot(start, tz=tz)} ({', '.join(dict.fromkeys(who))} busy)")
    if not taken:
        return None
    return f"{'; '.join(taken)} {'is' if len(taken) == 1 else 'are'} no longer free"


def _is_own(start: datetime, end: datetime, own: tuple[datetime, datetime] | None) -> bool:
    return own is not None and own[0] <= start and end <= own[1]


# --- at Approve -------------------------------------------------------------------------------


def refuse_stale_approval(
    deps: Deps,
    *,
    action_id: uuid.UUID,
    slack_user_id: str,
    now: datetime,
    send_at: datetime | None = None,
) -> str | None:
    """The refusal for approving a stale draft (its card is redrawn to say why), or None.

    Only a pending draft its rep may decide is checked; every other click is left to the
    outbox, which answers it as before. A "Send later" is checked at the time it would send.
    """
    with deps.uow() as uow:
        action = uow.session.get(PendingAction, action_id)
        if action is None or action.status != ActionStatus.pending:
            return None
        rep = uow.session.get_one(Rep, action.rep_id)
        if not rep.allows(slack_user_id):
            return None
        reason = stale_at_approve(action, now=now, send_at=send_at, tz=rep.timezone)
        question = None if reason else _calendar_question(uow.session, action, rep)
    if question is not None:
        try:
            reason = busy_reason(deps, question, tz=rep.timezone)
        except Exception as exc:  # noqa: BLE001 - an unchecked time is not approved
            log.warning("revalidate_calendar_failed", action_id=str(action_id), error=repr(exc))
            return CALENDAR_DOWN
    if reason is None:
        return None
    _mark_stale(deps, action, reason, now=now)
    return _refusal(action.action_type, reason)


def _mark_stale(deps: Deps, action: PendingAction, reason: str, *, now: datetime) -> None:
    """Keep the reason on the still-pending row (its card shows it) and on the record."""
    with deps.uow() as uow:
        marked = uow.session.execute(
            update(PendingAction)
            .where(col(PendingAction.id) == action.id)
            .where(col(PendingAction.status) == ActionStatus.pending)
            .values(error=reason, updated_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if marked:
            _audit(uow.session, action, "action_refused_stale", reason, now=now)
        uow.commit()
    refresh_card(deps, action.id)


def _refusal(action_type: str, reason: str) -> str:
    then = (
        "Press *Redraft with fresh times* on the card for a new draft."
        if action_type in REDRAFTABLE
        else "Reject it on the card; nothing was sent."
    )
    return f":warning: Not sent: {escape_mrkdwn(reason)}. {then}"


# --- just before the send -----------------------------------------------------------------------


def refuse_stale_send(
    deps: Deps, session: Session, action: PendingAction, rep: Rep, *, now: datetime
) -> str | None:
    """Called by the outbox with the action just claimed: None to go on, else the outcome.

    The undo window, a "Send later" or retries can carry an approved action past its times;
    such an action expires here instead of reaching the provider. Only this claim (the row's
    attempt count is the claim's) may expire it.
    """
    reason = stale_at_send(action, now=now, tz=rep.timezone)
    if reason is None:
        return None
    won = session.execute(
        update(PendingAction)
        .where(col(PendingAction.id) == action.id)
        .where(col(PendingAction.status) == ActionStatus.executing)
        .where(col(PendingAction.attempts) == action.attempts)
        .values(status=ActionStatus.expired, error=reason, locked_until=None, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if won:
        _audit(session, action, "action_expired", f"not sent: {reason}", now=now)
    session.commit()
    if not won:
        return "skipped"
    log.info("send_refused_stale", action_id=str(action.id), reason=reason)
    resume_if_decided(deps, action.job_id)
    refresh_card(deps, action.id)
    return ActionStatus.expired


# --- Redraft with fresh times -------------------------------------------------------------------


def redraft(deps: Deps, *, action_id: uuid.UUID, slack_user_id: str) -> Outcome:
    """Retire a stale or expired first email and draft a new one with fresh times.

    The old draft becomes `expired`, marked `redrafted` so its own sequence leaves the request
    to the new one; the new job's key is one per old draft, so a second click starts nothing.
    """
    now = deps.clock.now()
    with deps.uow() as uow:
        session = uow.session
        action = session.get(PendingAction, action_id)
        if action is None:
            return Outcome(False, "That draft no longer exists.")
        rep = session.get_one(Rep, action.rep_id)
        if not rep.allows(slack_user_id):
            return Outcome(False, owner_only(rep.slack_user_id))
        if action.action_type not in REDRAFTABLE or action.request_id is None:
            return Outcome(False, "Only a first email can be redrafted from its card.")
        if (action.result or {}).get("redrafted"):
            return Outcome(False, "Already redrafted; the new draft has its own card.")
        if action.status == ActionStatus.pending and not action.error:
            return Outcome(False, "This draft can still go out as it is: approve or reject it.")
        if action.status not in (ActionStatus.pending, ActionStatus.expired):
            return Outcome(False, f"Already handled: this draft is {action.status}.")
        request = session.get_one(SchedulingRequest, action.request_id)
        if request.status in FINISHED_STATUSES:
            return Outcome(False, f"{request.ref} is {request.status}; nothing to redraft.")
        reason = action.error or rule_for(action.action_type).why
        won = session.execute(
            update(PendingAction)
            .where(col(PendingAction.id) == action.id)
            .where(col(PendingAction.status).in_([ActionStatus.pending, ActionStatus.expired]))
            .values(
                status=ActionStatus.expired,
                error=reason,
                result={**(action.result or {}), "redrafted": True},
                updated_at=now,
            )
        ).rowcount  # type: ignore[attr-defined]
        job, created = insert_job(
            session,
            Event(
                type=EventType.redraft_requested,
                org_id=action.org_id,
                idempotency_key=redraft_key(action.id),
                source="slack:redraft",
                rep_id=action.rep_id,
                request_id=action.request_id,
                payload=RedraftRequested(stale=reason),
            ),
            now=now,
        )
        if not (won and created):
            return Outcome(False, "Already redrafted; the new draft has its own card.")
        _audit(session, action, "redraft_requested", f"fresh times, because {reason}", now=now)
        uow.commit()
    deps.wakeups.run_step(job.id, tag="0-0")
    resume_if_decided(deps, action.job_id)
    refresh_card(deps, action.id)
    return Outcome(True, "Redrafting with fresh times; the new draft comes as its own card.")


def _audit(
    session: Session, action: PendingAction, kind: str, reasoning: str, *, now: datetime
) -> None:
    record_draft_action(session, action, kind=kind, actor="system", reasoning=reasoning, now=now)
