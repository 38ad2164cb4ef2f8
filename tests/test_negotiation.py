"""Replies that choose or ask for a time: book it (after re-checking), confirm, or counter.

Each conversation runs the real flow on both backends: signed /schedule, approval, the first
email in the prospect's inbox, their reply delivered to the rep's mailbox, the clock polling,
and every resulting draft approved in Slack.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage

from sqlmodel import col

from db.models import (
    ActionStatus,
    ActionType,
    LocalCalendarEvent,
    PendingAction,
    RequestStatus,
    SchedulingRequest,
)
from tests.support.stack import REP_EMAIL, Stack, wait_for
from tests.test_mail_intake import PROSPECT, a_reply, deliver, send_first_email


def _approve_latest(stack: Stack, kind: ActionType) -> PendingAction:
    action = wait_for(
        lambda: [
            a
            for a in stack.rows(
                PendingAction,
                col(PendingAction.action_type) == kind,
                col(PendingAction.status) == ActionStatus.pending,
            )
            if a.slack_ts
        ],
        f"the {kind} card",
    )[-1]
    card = next(c for c in stack.cards() if c.ts == action.slack_ts)
    stack.click("approve_action", card)
    wait_for(
        lambda: stack.rows(
            PendingAction,
            col(PendingAction.id) == action.id,
            col(PendingAction.status) == "approved",
        ),
        "approval",
    )
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()
    (done,) = stack.rows(PendingAction, col(PendingAction.id) == action.id)
    assert done.status == ActionStatus.executed, done.error
    return done


def _last_mail_to(stack: Stack, address: str) -> MimeMessage:
    message = message_from_string(stack.inbox(address)[-1].raw, policy=policy.default)
    assert isinstance(message, MimeMessage)
    return message


def _text(message: MimeMessage) -> str:
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    return str(plain.get_content())


def test_accepting_an_offered_time_books_it_and_confirms(stack: Stack) -> None:
    first = send_first_email(stack)
    offered = [
        datetime.fromisoformat(s["start"]) for s in stack.rows(SchedulingRequest)[0].proposed_slots
    ]
    tuesday = next(s for s in offered if s.astimezone(UTC).weekday() == 1)
    reply = a_reply(first, "Tuesday works for me, see you then!")
    deliver(stack, reply)
    stack.poll_mail()

    booking = _approve_latest(stack, ActionType.calendar_book)
    assert booking.result is not None
    (event,) = stack.rows(
        LocalCalendarEvent,
        col(LocalCalendarEvent.calendar) == REP_EMAIL,
        col(LocalCalendarEvent.title).startswith("Demo"),
    )
    assert event.start == tuesday and event.end == tuesday + timedelta(minutes=45)
    assert PROSPECT in {a["email"] for a in event.attendees}

    _approve_latest(stack, ActionType.email_confirmation)
    confirmation = _last_mail_to(stack, PROSPECT)
    assert confirmation["In-Reply-To"] == reply["Message-ID"]
    assert confirmation["Subject"].startswith("Re: ")
    assert "Tue" in _text(confirmation)

    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.confirmed
    assert request.meeting_start == tuesday
    assert request.calendar_event_id == booking.result["event_id"]
    assert request.next_action_at is None  # no follow-ups chase a booked meeting


def test_a_counter_proposal_that_fits_is_booked(stack: Stack) -> None:
    first = send_first_email(stack)
    deliver(
        stack, a_reply(first, "None of those work. Could we do Wednesday Dec 9 at 2pm instead?")
    )
    stack.poll_mail()
    booking = _approve_latest(stack, ActionType.calendar_book)
    start = datetime.fromisoformat(booking.action_data["start"])
    assert start == datetime(2026, 12, 9, 19, 0, tzinfo=UTC)  # 2 pm in New York


def test_a_counter_proposal_that_clashes_gets_fresh_times_in_the_thread(stack: Stack) -> None:
    first = send_first_email(stack)
    with stack.deps.uow() as uow:
        uow.session.add(
            LocalCalendarEvent(
                org_id="embedded",
                calendar=REP_EMAIL,
                event_id="board",
                title="Board meeting",
                start=datetime(2026, 12, 9, 18, 0, tzinfo=UTC),
                end=datetime(2026, 12, 9, 21, 0, tzinfo=UTC),
            )
        )
        uow.commit()
    reply = a_reply(first, "Could we do Wednesday Dec 9 at 2pm instead?")
    deliver(stack, reply)
    stack.poll_mail()
    counter = _approve_latest(stack, ActionType.email_response)
    assert "busy" in counter.reasoning
    sent = _last_mail_to(stack, PROSPECT)
    assert sent["In-Reply-To"] == reply["Message-ID"]
    assert "Wed, Dec 9 at 2:00 PM" not in _text(sent)
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.negotiating
    assert request.next_action_type == "follow_up"
    assert (
        stack.rows(PendingAction, col(PendingAction.action_type) == ActionType.calendar_book) == []
    )
