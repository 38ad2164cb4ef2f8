"""Invitations by email when the calendar sends none itself (the embedded calendar).

The booking, the move and the cancel each reach the attendees as an email from the rep's mailbox
with a `text/calendar; method=…` part: one UID for the event's life, SEQUENCE rising with every
change, exactly one email per action however often the outbox retries. A calendar that invites
attendees itself (Google, Microsoft) gets no second invitation from us. Every flow runs on both
backends, and the prospect's mailbox is read as raw MIME.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage
from typing import Any

from icalendar import Calendar
from icalendar.cal import Component
from sqlmodel import col

from bot.local_slack import Message
from connectors.errors import TransientError
from connectors.mail.local import LocalMailbox
from connectors.ports import CalendarPort, OutboundEmail, SentEmail
from db.models import ActionType, EmailMessage, PendingAction
from orchestrator.outbox.execute import execute
from tests.support.stack import REP_EMAIL, Stack
from tests.test_mail_intake import PROSPECT, a_reply, deliver, send_first_email
from tests.test_meeting_lifecycle import (
    _approved,
    _execute_until_done,
    approve,
    book_meeting,
    propose_move,
    replies_to_last_click,
    the_request,
)

COLLEAGUE = "otto@northwind.example"


def invitations(stack: Stack, address: str) -> list[tuple[MimeMessage, str, Component]]:
    """Every email in `address`'s inbox with a calendar part: (email, MIME method, VEVENT)."""
    found = []
    for row in stack.inbox(address):
        message = message_from_string(row.raw, policy=policy.default)
        assert isinstance(message, MimeMessage)
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                calendar = Calendar.from_ical(part.get_content())
                (event,) = calendar.walk("VEVENT")
                # The MIME method and the calendar's METHOD must agree or Outlook rejects it.
                assert calendar["METHOD"] == part.get_param("method")
                found.append((message, str(part.get_param("method")), event))
    return found


def attendees_of(event: Component) -> set[str]:
    listed = event.get("ATTENDEE", [])
    listed = listed if isinstance(listed, list) else [listed]
    return {str(a).lower() for a in listed}


def subject(message: MimeMessage) -> str:
    return str(message["Subject"])


def book_by_reply(stack: Stack) -> PendingAction:
    """The first email, the prospect's "Tuesday works", and the booking approved in Slack."""
    first = send_first_email(stack)
    deliver(stack, a_reply(first, "Tuesday works for me, see you then!"))
    stack.poll_mail()
    return approve(stack, ActionType.calendar_book)


def test_an_approved_booking_emails_the_prospect_a_calendar_invitation(stack: Stack) -> None:
    booking = book_by_reply(stack)
    assert booking.result is not None
    data = booking.effective_data()

    ((message, method, event),) = invitations(stack, PROSPECT)
    assert len(stack.inbox(PROSPECT)) == 2  # the first email, then the invitation
    assert method == "REQUEST"
    assert event["UID"] == booking.result["event_id"]
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == datetime.fromisoformat(data["start"])
    assert event.decoded("DTEND") == datetime.fromisoformat(data["end"])
    assert str(event["ORGANIZER"]).lower() == f"mailto:{REP_EMAIL}"
    assert attendees_of(event) == {f"mailto:{PROSPECT}"}
    # From the rep's own mailbox, to the attendee, with our own Message-ID.
    assert message["From"].addresses[0].addr_spec == REP_EMAIL
    assert [a.addr_spec for a in message["To"].addresses] == [PROSPECT]
    assert subject(message).startswith(f"Invitation: {data['title']} on Tue, Dec 8 at ")
    assert message["Message-ID"] == booking.result["invite_message_id"]
    assert message["Message-ID"].startswith(f"<{booking.id.hex}.")

    # Auditable like any email: recorded against the action, sent, outside the conversation.
    (row,) = stack.rows(EmailMessage, col(EmailMessage.pending_action_id) == booking.id)
    assert (row.message_id, row.status, row.request_id) == (message["Message-ID"], "sent", None)
    assert row.recipients == [PROSPECT]


def test_a_move_updates_and_a_cancel_withdraws_the_same_invitation(stack: Stack) -> None:
    request = book_meeting(stack)  # the booking's invitation, then the confirmation
    event_id = request.calendar_event_id
    assert event_id is not None
    ((_, _, booked),) = invitations(stack, PROSPECT)

    new_start = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)
    propose_move(stack, request, event_id, new_start)
    approve(stack, ActionType.calendar_update)
    (_, (moved_email, method, moved)) = invitations(stack, PROSPECT)
    assert method == "REQUEST"
    assert moved["UID"] == booked["UID"] == event_id
    assert moved["SEQUENCE"] == 1
    assert moved.decoded("DTSTART") == new_start
    assert moved.decoded("DTEND") == new_start + timedelta(minutes=request.duration_minutes)
    assert subject(moved_email).startswith("Updated invitation: ")

    prompt = json.loads(stack.command("cancel ACME-1").body)
    stack.click(
        "cancel_request",
        Message(channel="C0GENERAL", ts="1.1", text=prompt["text"], blocks=prompt["blocks"]),
    )
    # The click's answer means the cancel draft exists, so the worker can post its card.
    (said,) = replies_to_last_click(stack)
    assert "Approve the calendar card" in said
    approve(stack, ActionType.calendar_cancel)
    (_, _, (cancel_email, method, cancelled)) = invitations(stack, PROSPECT)
    assert method == "CANCEL"
    assert cancelled["UID"] == event_id
    # Above every REQUEST before it, or clients drop the cancel as stale.
    assert cancelled["SEQUENCE"] == 2
    assert cancelled["STATUS"] == "CANCELLED"
    assert cancelled.decoded("DTSTART") == new_start  # the meeting as last invited
    assert attendees_of(cancelled) == {f"mailto:{PROSPECT}"}
    assert subject(cancel_email).startswith("Cancelled: ")
    assert the_request(stack).calendar_event_id is None


class TimeoutAfterInviteMailbox(LocalMailbox):
    """The provider accepts the invitation but our call times out, once; counts every send."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sends: Counter[str] = Counter()
        self.timeouts = 1

    def send(self, email: OutboundEmail) -> SentEmail:
        self.sends[email.message_id] += 1
        sent = super().send(email)
        if email.ics is not None and self.timeouts:
            self.timeouts -= 1
            raise TransientError("read timed out")
        return sent


def test_a_retried_booking_sends_one_invitation_to_everyone_but_the_organizer(
    stack: Stack,
) -> None:
    mailbox = TimeoutAfterInviteMailbox(stack.deps.sessions, clock=stack.clock)
    stack.deps.mail = mailbox
    start = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    data = {
        "title": "Demo",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "attendees": [
            {"email": PROSPECT, "name": "John Doe"},
            {"email": COLLEAGUE, "name": "Otto Weber", "optional": True},
            {"email": REP_EMAIL.upper()},  # the organizer never invites themselves
        ],
        "conference": "google_meet",
    }
    # The first attempt books, sends, and times out; the retry books the same event again
    # (idempotent) and finds the invitation in the rep's Sent folder.
    booked = _execute_until_done(stack, _approved(stack, ActionType.calendar_book, data))
    assert booked.result is not None

    assert list(mailbox.sends.values()) == [1], "the retry must find the invitation, not resend"
    ((message, _, event),) = invitations(stack, PROSPECT)
    assert len(invitations(stack, COLLEAGUE)) == 1
    assert invitations(stack, REP_EMAIL) == []
    assert sorted(a.addr_spec for a in message["To"].addresses) == [PROSPECT, COLLEAGUE]
    assert attendees_of(event) == {f"mailto:{PROSPECT}", f"mailto:{COLLEAGUE}"}
    roles = {str(a): a.params["ROLE"] for a in event["ATTENDEE"]}
    assert roles[f"mailto:{COLLEAGUE}"] == "OPT-PARTICIPANT"
    assert event["LOCATION"] == booked.result["join_url"]  # the room link rides along
    (row,) = stack.rows(EmailMessage, col(EmailMessage.pending_action_id) == booked.id)
    assert row.status == "sent"


def test_cancelling_an_event_we_never_invited_to_sends_nothing(stack: Stack) -> None:
    gone = {"event_id": "convene-never-booked", "reason": "cancelled by the rep"}
    action_id = _approved(stack, ActionType.calendar_cancel, gone)
    assert execute(stack.deps, action_id) == "executed"
    assert stack.rows(EmailMessage) == []


class InvitingCalendar:
    """The embedded calendar standing in for Google or Microsoft, which invite by themselves."""

    sends_invites = True

    def __init__(self, inner: CalendarPort) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_calendar_that_invites_by_itself_gets_no_invitation_email(stack: Stack) -> None:
    stack.deps.calendar = InvitingCalendar(stack.deps.calendar)  # type: ignore[assignment]
    booking = book_by_reply(stack)
    assert booking.result is not None and "invite_message_id" not in booking.result
    assert invitations(stack, PROSPECT) == []
    assert stack.rows(EmailMessage, col(EmailMessage.pending_action_id) == booking.id) == []
