"""What must hold after anything a rep, a prospect or the clock does (issue 15, "What must hold").

Each invariant is one function over the running stack that returns what breaks it, as sentences
(empty: it holds). They read only rows the product writes and the mail the prospect received,
so the random-conversation test and the population simulation judge the product the same way.

`SentTimes` is the one with memory: "free when it was sent" is judged against the calendar as
it stood at the send, so it must look at each sent email soon after, and only once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage

from sqlmodel import Session, col, select

from db.models import (
    BOOKED_STATUSES,
    ENDING_OUTCOMES,
    FINISHED_STATUSES,
    STOPPED_STATUSES,
    ActionStatus,
    ActionType,
    EmailMessage,
    JobStatus,
    LocalCalendarEvent,
    LocalMailMessage,
    PendingAction,
    Rep,
    RequestOutcome,
    RequestStatus,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.deps import Deps
from tests.support.conversation.times import times_in

BOOKING_KINDS = (ActionType.calendar_book,)
# A decided draft that went out, or is going out now.
SENT_OR_SENDING = (ActionStatus.approved, ActionStatus.executing, ActionStatus.executed)


def _our_event_ids(actions: Iterable[PendingAction]) -> set[str]:
    """The events a request's bookings created (a booking's event id is its action's)."""
    return {f"convene-{a.id.hex}" for a in actions if a.action_type in BOOKING_KINDS}


def at_most_one_live_event(deps: Deps) -> list[str]:
    """No request has two meetings on the rep's calendar at once."""
    broken = []
    with deps.uow() as uow:
        s = uow.session
        for request in s.exec(select(SchedulingRequest)).all():
            rep = s.get_one(Rep, request.rep_id)
            ids = _our_event_ids(
                s.exec(select(PendingAction).where(PendingAction.request_id == request.id)).all()
            )
            live = [
                e
                for e in s.exec(
                    select(LocalCalendarEvent).where(
                        LocalCalendarEvent.calendar == rep.email,
                        col(LocalCalendarEvent.event_id).in_(ids or {""}),
                        LocalCalendarEvent.status != "cancelled",
                    )
                ).all()
            ]
            if len(live) > 1:
                when = ", ".join(f"{e.start:%a %b %d %H:%M %Z}" for e in live)
                broken.append(f"{request.ref} has {len(live)} live events: {when}")
    return broken


def nothing_sent_without_approval(deps: Deps) -> list[str]:
    """Every message that left the rep's mailbox, and every event Convene put on a calendar,
    belongs to a draft a person approved before it happened."""
    broken = []
    with deps.uow() as uow:
        s = uow.session
        actions = {a.id: a for a in s.exec(select(PendingAction)).all()}
        outbound = {
            m.message_id: m
            for m in s.exec(select(EmailMessage).where(EmailMessage.direction == "outbound")).all()
        }
        reps = {r.email.lower() for r in s.exec(select(Rep)).all()}
        sent = s.exec(select(LocalMailMessage).where(LocalMailMessage.folder == "sent")).all()
        for mail in sent:
            if mail.mailbox.lower() not in reps:
                continue
            record = outbound.get(mail.message_id)
            action = (
                actions.get(record.pending_action_id)
                if record and record.pending_action_id
                else None
            )
            what = f"{mail.subject!r} to {', '.join(mail.recipients)}"
            if action is None:
                broken.append(f"sent without a draft: {what}")
            elif not _approved_before(action, mail.created_at):
                broken.append(f"sent without approval ({action.status}): {what}")
        by_event = {f"convene-{a.id.hex}": a for a in actions.values()}
        for event in s.exec(select(LocalCalendarEvent)).all():
            if not event.event_id.startswith("convene-"):
                continue  # someone else's meeting
            action = by_event.get(event.event_id)
            if action is None or not _approved_before(action, None):
                broken.append(f"event {event.title!r} at {event.start} without an approved booking")
    return broken


def _approved_before(action: PendingAction, moment: datetime | None) -> bool:
    if action.status not in SENT_OR_SENDING or action.decided_by is None:
        return False
    return moment is None or action.decided_at is None or action.decided_at <= moment


def every_ending_says_why(deps: Deps) -> list[str]:
    """A finished request records an ending outcome from the vocabulary; one still open records
    none, or how its last meeting went; only a paused one may say Convene gave up on it."""
    broken = []
    with deps.uow() as uow:
        for request in uow.session.exec(select(SchedulingRequest)).all():
            outcome = RequestOutcome.read(request.outcome)
            if request.status in FINISHED_STATUSES:
                allowed: set[RequestOutcome | None] = set(ENDING_OUTCOMES)
            else:
                allowed = {None, RequestOutcome.no_show, RequestOutcome.rescheduled}
                if request.status == RequestStatus.paused:
                    allowed.add(RequestOutcome.gave_up)
            if request.outcome is not None and outcome is None:
                broken.append(f"{request.ref} records {request.outcome!r}, not an outcome")
            elif outcome not in allowed:
                broken.append(f"{request.ref} is {request.status} with outcome {outcome}")
    return broken


def every_open_request_is_watched(deps: Deps) -> list[str]:
    """Every request still in play has a wake-up (a due time, a queued step, a send in its
    undo window, a meeting whose time the clock follows, a stall check that will ask the rep)
    or a card waiting for the rep."""
    broken = []
    with deps.uow() as uow:
        s = uow.session
        for request in s.exec(select(SchedulingRequest)).all():
            if request.status in STOPPED_STATUSES:
                continue
            actions = s.exec(
                select(PendingAction).where(PendingAction.request_id == request.id)
            ).all()
            jobs = s.exec(select(SequenceJob).where(SequenceJob.request_id == request.id)).all()
            open_card = any(a.status == ActionStatus.pending and a.slack_ts for a in actions)
            in_flight = any(
                a.status in (ActionStatus.approved, ActionStatus.executing) for a in actions
            )
            deciding = request.event_next_action == "waiting_for_decision"
            queued = any(j.status in (JobStatus.queued, JobStatus.running) for j in jobs)
            due = request.next_action_at is not None or request.stall_check_at is not None
            meeting = request.status in BOOKED_STATUSES and request.meeting_end is not None
            if not (open_card or in_flight or deciding or queued or due or meeting):
                parked = [j.event_type for j in jobs if j.status == JobStatus.waiting_approval]
                broken.append(
                    f"{request.ref} is {request.status} with no wake-up and no open card"
                    f" (drafts: {sorted(f'{a.action_type} {a.status}' for a in actions)};"
                    f" parked jobs: {parked})"
                )
    return broken


@dataclass
class SentTimes:
    """Every time written in every email Convene sent was one the email's own draft recorded
    as offered (or the request's booked meeting) and was free on our side when it went out.

    Call `check` after each thing that may have sent mail; it reads each sent email once."""

    seen: set[str] = field(default_factory=set)

    def check(self, deps: Deps) -> list[str]:
        broken = []
        with deps.uow() as uow:
            s = uow.session
            records = s.exec(
                select(EmailMessage).where(
                    EmailMessage.direction == "outbound",
                    col(EmailMessage.request_id).is_not(None),
                )
            ).all()
            for record in records:
                if record.message_id in self.seen or record.status != "sent":
                    continue
                self.seen.add(record.message_id)
                broken += self._judge(s, record, now=deps.clock.now())
        return broken

    def _judge(self, s: Session, record: EmailMessage, *, now: datetime) -> list[str]:
        request = s.get_one(SchedulingRequest, record.request_id)
        rep = s.get_one(Rep, request.rep_id)
        action = (
            s.get(PendingAction, record.pending_action_id) if record.pending_action_id else None
        )
        external = s.exec(
            select(SchedulingAttendee).where(
                SchedulingAttendee.request_id == request.id,
                SchedulingAttendee.side == "external",
            )
        ).all()
        zones = {a.email.lower(): a.timezone or request.timezone for a in external}
        to = next((r.lower() for r in record.recipients if r.lower() in zones), None)
        zone = zones.get(to or "", request.timezone)
        what = f"{request.ref} {record.subject!r} sent {record.sent_at or now:%a %H:%M}"
        try:
            mentioned = times_in(
                _plain_body(s, rep.email, record.message_id) or record.body_text,
                zone=zone,
                rep_zone=rep.timezone,
                now=record.sent_at or now,
            )
        except AssertionError as exc:
            return [f"{what}: unreadable times: {exc}"]
        recorded: set[datetime] = set()
        if action is not None:
            recorded |= {
                datetime.fromisoformat(str(t)) for t in action.effective_data().get("slots") or []
            }
        if request.meeting_start is not None:
            recorded.add(request.meeting_start)
        broken = []
        duration = timedelta(minutes=request.duration_minutes)
        ours = _our_event_ids(
            s.exec(select(PendingAction).where(PendingAction.request_id == request.id)).all()
        )
        internal = [
            a.email
            for a in s.exec(
                select(SchedulingAttendee).where(
                    SchedulingAttendee.request_id == request.id,
                    SchedulingAttendee.side == "internal",
                )
            ).all()
        ]
        calendars = {rep.email, *internal}
        for moment in mentioned:
            if moment not in recorded:
                broken.append(f"{what}: {moment:%a %b %d %H:%M %Z} was never offered or booked")
            clashes = [
                e
                for e in s.exec(
                    select(LocalCalendarEvent).where(
                        col(LocalCalendarEvent.calendar).in_(calendars),
                        LocalCalendarEvent.status != "cancelled",
                        LocalCalendarEvent.busy == True,  # noqa: E712 - SQL, not Python
                        col(LocalCalendarEvent.start) < moment + duration,
                        col(LocalCalendarEvent.end) > moment,
                    )
                ).all()
                if e.event_id not in ours
            ]
            if clashes:
                broken.append(
                    f"{what}: {moment:%a %b %d %H:%M %Z} clashes with {clashes[0].calendar}'s "
                    f"{clashes[0].title!r}"
                )
        return broken


def _plain_body(s: Session, sender: str, message_id: str) -> str | None:
    """The text part as the recipient got it (signature included), from the rep's Sent."""
    row = s.exec(
        select(LocalMailMessage).where(
            LocalMailMessage.mailbox == sender,
            LocalMailMessage.folder == "sent",
            LocalMailMessage.message_id == message_id,
        )
    ).first()
    if row is None:
        return None
    message = message_from_string(row.raw, policy=policy.default)
    assert isinstance(message, MimeMessage)
    part = message.get_body(preferencelist=("plain",))
    return None if part is None else str(part.get_content()).replace("\r\n", "\n")
