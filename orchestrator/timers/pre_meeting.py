"""The pre-meeting brief on the clock: `PRE_MEETING_BRIEF_MINUTES` before a booked meeting, each
of our attendees who is a Convene rep (the request's rep, and teammates on the invite with a
rep row) gets a DM saying who is coming, how the meeting came about, what the prospect said and
asked, and where to join (skills.compose_pre_meeting, bot/pre_meeting_blocks).

Timing follows the meeting's own start, as the reminder does (timers.due): whichever flow books
or moves a meeting, `meeting_start` differs from the `brief_watched_start` last read, and the
next tick writes the brief's due time (`brief_due_at`). Both are read through partial indexes
holding only the rows that can act, read together in one statement and claimed with FOR UPDATE
SKIP LOCKED on PostgreSQL. A moved meeting is timed anew before its old time is looked at; a
cancelled one is dropped when its time comes.

Quiet hours: a brief falling in an attendee's quiet hours waits for them to end if that is still
before the start (`brief_due_at` moves there), else it is skipped and the skip recorded on the
request. The hourly DM cap does not apply: a brief held past the start would be worthless.

Exactly once per attendee per meeting start: the `slack_notifications` row (keyed by request,
rep and start) is committed before the post. A crash after the post therefore never posts
again; the price is that a crash between that commit and the post loses that one brief (Slack
offers no way to ask whether a message went out). A post that fails outright removes its row and
the brief is tried again a few minutes later.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, delete, func, or_, text, update
from sqlmodel import Session, col, select

from db.audit import record_action
from db.models import (
    BOOKED_STATUSES,
    BRIEF_UNWATCHED_WHERE,
    EmailMessage,
    Rep,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SlackNotification,
)
from orchestrator.deps import Deps
from orchestrator.engine.crashpoints import crashpoint
from orchestrator.notices.gate import already_sent, claim, gate, rep_zone
from orchestrator.notices.post import RETRY_AFTER, release_time
from orchestrator.outbox.calendar import booked_join_url
from orchestrator.views import start_token
from skills.compose_pre_meeting import (
    Person,
    PreMeetingBrief,
    ThreadEmail,
    compose_pre_meeting,
)

log = structlog.get_logger(__name__)

KIND = "pre_meeting_brief"
SKIPPED = "pre_meeting_brief_skipped"
BATCH = 200
# Bounds one tick's work (elapsed time, not the injected clock), as timers.due does.
DRAIN_BUDGET_SECONDS = 10.0


def brief_key(request_id: uuid.UUID, rep_id: uuid.UUID, start: datetime) -> str:
    """One brief per attendee per meeting start: a moved meeting is a new brief."""
    return f"{KIND}:{request_id}:{rep_id}:{start_token(start)}"


@dataclass(frozen=True)
class _Outgoing:
    key: str
    request_id: uuid.UUID
    start: datetime
    slack_user_id: str
    brief: PreMeetingBrief


def send_pre_meeting_briefs(deps: Deps) -> int:
    """Time the briefs of meetings booked or moved since the last tick and post those due;
    returns how many were posted."""
    now = deps.clock.now()
    lead = timedelta(minutes=deps.settings.pre_meeting_brief_minutes)
    deadline = time.monotonic() + DRAIN_BUDGET_SECONDS
    posted = 0
    while True:
        claimed, outgoing = _claim(deps, now, lead)
        posted += sum(_post(deps, item, now) for item in outgoing)
        if claimed < BATCH or time.monotonic() >= deadline:
            return posted


def briefs_to_look_at(now: datetime) -> ColumnElement[bool]:
    """Meetings to time and meetings whose brief is due. Each arm is one partial index's own
    condition, so PostgreSQL reads both indexes (the clock's probe asks the same)."""
    return or_(text(f"({BRIEF_UNWATCHED_WHERE})"), col(SchedulingRequest.brief_due_at) <= now)


def _locking(session: Session, statement: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=True)
    return statement


def _claim(deps: Deps, now: datetime, lead: timedelta) -> tuple[int, list[_Outgoing]]:
    """One read for both kinds of row (an idle tick costs one statement): meetings to time,
    and meetings whose brief is due. Per attendee who may be told now, the brief's notification
    row is claimed in the same commit; what is returned is posted after it."""
    outgoing: list[_Outgoing] = []
    with deps.uow() as uow:
        session = uow.session
        statement = (
            select(SchedulingRequest)
            # Each arm is one partial index's own condition, so PostgreSQL reads both indexes.
            .where(briefs_to_look_at(now))
            .limit(BATCH)
        )
        claimed = list(session.exec(_locking(session, statement)).all())
        for request in claimed:
            session.add(request)
            start = request.meeting_start
            booked = request.status in BOOKED_STATUSES and start is not None
            if booked and start != request.brief_watched_start:
                assert start is not None
                request.brief_watched_start = start
                # Booked closer to the start than the lead: the brief is still worth having.
                wanted = lead > timedelta(0) and start > now
                request.brief_due_at = max(start - lead, now) if wanted else None
            if request.brief_due_at is None or request.brief_due_at > now:
                continue
            request.brief_due_at = None
            if not booked or start is None or start <= now:
                continue  # cancelled or already begun
            outgoing += _attendee_briefs(session, request, start, now)
        uow.commit()
    return len(claimed), outgoing


def _attendee_briefs(
    session: Session, request: SchedulingRequest, start: datetime, now: datetime
) -> list[_Outgoing]:
    attendees = list(
        session.exec(
            select(SchedulingAttendee)
            .where(SchedulingAttendee.request_id == request.id)
            .order_by(col(SchedulingAttendee.created_at))
        ).all()
    )
    owner = session.get_one(Rep, request.rep_id)
    reps = [owner, *_teammates(session, request, attendees, owner)]
    skipped = _skipped(session, request, start)
    sent = already_sent(session, dedupe_keys=[brief_key(request.id, r.id, start) for r in reps])
    held_until: datetime | None = None
    ready: list[Rep] = []
    for rep in reps:
        key = brief_key(request.id, rep.id, start)
        if rep.id in skipped or key in sent:
            continue
        if not gate(session, rep=rep, now=now, cap=None).open:
            release = release_time(rep, now)
            if release < start:
                held_until = release if held_until is None else min(held_until, release)
            else:
                _record_skip(session, request, rep, start, now)
            continue
        # Claimed here, committed before the post: a retry after the post finds it and stays
        # quiet; False when an earlier tick already sent (or is sending) this one.
        if claim(session, rep=rep, kind=KIND, dedupe_key=key, channel="", now=now):
            ready.append(rep)
    request.brief_due_at = held_until
    if not ready:
        return []
    thread = _thread(session, request)
    prospects = [Person(name=a.name, email=a.email) for a in attendees if a.side == "external"]
    join = booked_join_url(session, request_id=request.id, event_id=request.calendar_event_id)
    return [
        _Outgoing(
            key=brief_key(request.id, rep.id, start),
            request_id=request.id,
            start=start,
            slack_user_id=rep.slack_user_id,
            brief=compose_pre_meeting(
                ref=request.ref,
                title=request.title or request.meeting_type,
                start=start,
                end=request.meeting_end,
                timezone=rep_zone(rep).key,
                prospects=prospects,
                requested_at=request.created_at,
                requested_by=owner.name or owner.email,
                emails=thread,
                join_url=join or "",
                place=request.location,
            ),
        )
        for rep in ready
    ]


def _teammates(
    session: Session,
    request: SchedulingRequest,
    attendees: list[SchedulingAttendee],
    owner: Rep,
) -> list[Rep]:
    """Our other attendees who are Convene reps in the same workspace, by their email."""
    emails = {a.email.lower() for a in attendees if a.side == "internal"}
    emails.discard(owner.email.lower())
    if not emails:
        return []
    return list(
        session.exec(
            select(Rep)
            .where(Rep.org_id == request.org_id)
            .where(func.lower(col(Rep.email)).in_(emails))
            .order_by(col(Rep.email))
        ).all()
    )


def _thread(session: Session, request: SchedulingRequest) -> list[ThreadEmail]:
    rows = session.exec(select(EmailMessage).where(EmailMessage.request_id == request.id)).all()
    thread = []
    for row in rows:
        if row.direction == "outbound":
            if row.sent_at is None:
                continue  # recorded before a send that has not happened (or never will)
            at = row.sent_at
        else:
            at = row.created_at
        thread.append(ThreadEmail(direction=row.direction, at=at, body=row.body_text))
    return thread


def _skipped(session: Session, request: SchedulingRequest, start: datetime) -> set[uuid.UUID]:
    """The attendees whose brief for this start was already skipped (quiet hours to the end)."""
    rows = session.exec(
        select(SchedulingAction)
        .where(SchedulingAction.request_id == request.id)
        .where(SchedulingAction.action_type == SKIPPED)
    ).all()
    token = start_token(start)
    return {
        uuid.UUID(str(row.details["rep_id"]))
        for row in rows
        if row.details.get("meeting_start") == token
    }


def _record_skip(
    session: Session, request: SchedulingRequest, rep: Rep, start: datetime, now: datetime
) -> None:
    log.info("pre_meeting_brief_skipped", request_id=str(request.id), rep_id=str(rep.id))
    record_action(
        session,
        org_id=request.org_id,
        request_id=request.id,
        kind=SKIPPED,
        actor="system",
        now=now,
        reasoning=f"{rep.name or rep.email}'s quiet hours last until the meeting starts",
        details={"rep_id": str(rep.id), "meeting_start": start_token(start)},
    )


def _post(deps: Deps, item: _Outgoing, now: datetime) -> int:
    text_, blocks = deps.cards.pre_meeting(item.brief)
    try:
        channel = deps.chat.open_dm(user_id=item.slack_user_id)
        posted = deps.chat.post_message(channel=channel, text=text_, blocks=blocks)
    except Exception as exc:  # noqa: BLE001 - released and tried again, never lost to an outage
        log.warning("pre_meeting_brief_failed", request_id=str(item.request_id), error=repr(exc))
        _release(deps, item, now)
        return 0
    crashpoint("pre_meeting.posted")
    with deps.uow() as uow:
        uow.session.execute(
            update(SlackNotification)
            .where(col(SlackNotification.dedupe_key) == item.key)
            .values(channel=posted.channel, ts=posted.ts)
        )
        uow.commit()
    return 1


def _release(deps: Deps, item: _Outgoing, now: datetime) -> None:
    """Undo a claim whose post failed, and look at the meeting again a few minutes on."""
    retry = now + RETRY_AFTER
    with deps.uow() as uow:
        session = uow.session
        session.execute(
            delete(SlackNotification).where(col(SlackNotification.dedupe_key) == item.key)
        )
        request = session.get(SchedulingRequest, item.request_id)
        if request is not None and request.brief_watched_start == item.start and retry < item.start:
            due = request.brief_due_at
            request.brief_due_at = retry if due is None else min(due, retry)
            session.add(request)
        uow.commit()
