"""The approval card's other buttons: Edit, Send later, Retry — through signed HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_string, policy

from sqlmodel import col

from bot.blocks import send_later_time
from connectors.errors import PermanentError
from connectors.mail.local import LocalMailbox
from connectors.ports import OutboundEmail, SentEmail
from db.models import ActionStatus, PendingAction
from tests.support.stack import OTHER_ID, Stack, wait_for

PROSPECT = "john@acme.example"


def _card(stack: Stack):  # type: ignore[no-untyped-def]
    stack.schedule(f"demo with {PROSPECT}")
    stack.drain()
    return wait_for(stack.cards, "the card")[0]


def _edit_values(subject: str, body: str) -> dict:  # type: ignore[type-arg]
    return {"subject": {"subject": {"value": subject}}, "body": {"body": {"value": body}}}


def test_edit_saves_the_rep_words_and_they_are_what_is_sent(stack: Stack) -> None:
    card = _card(stack)
    stack.click("edit_action", card)
    modal = wait_for(lambda: stack.slack.modals, "the edit modal")[-1]
    assert modal["callback_id"] == "edit_draft"
    body_input = modal["blocks"][1]["element"]
    assert body_input["initial_value"].startswith("Hi there,")

    reply = stack.submit(modal, _edit_values("Quick demo?", ""))
    assert '"errors": {"body": "The email can\'t be empty."}' in reply.body

    reply = stack.submit(modal, _edit_values("Quick demo?", "Hi John, does Tuesday suit?"))
    assert reply.status == 200 and reply.body == ""
    (action,) = stack.rows(PendingAction)
    # A day alone is no time to book: the edited email offers none, and records so.
    assert action.edited_data == {
        "subject": "Quick demo?",
        "body": "Hi John, does Tuesday suit?",
        "slots": [],
    }
    assert action.status == ActionStatus.pending
    wait_for(
        lambda: "Quick demo?" in str(stack.slack.message(card.channel, card.ts).blocks),
        "the card to show the edit",
    )

    stack.click("approve_action", card)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    stack.clock.advance(timedelta(seconds=30))
    stack.tick()
    (mail,) = stack.inbox(PROSPECT)
    message = message_from_string(mail.raw, policy=policy.default)
    assert message["Subject"] == "Quick demo?"
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content().strip() == "Hi John, does Tuesday suit?"


def test_someone_else_cannot_edit(stack: Stack) -> None:
    card = _card(stack)
    stack.click("edit_action", card)
    modal = wait_for(lambda: stack.slack.modals, "the edit modal")[-1]
    reply = stack.submit(modal, _edit_values("Mine now", "Hello"), user=OTHER_ID)
    assert "only they can decide it" in reply.body
    (action,) = stack.rows(PendingAction)
    assert action.edited_data is None


def test_send_later_waits_until_the_chosen_time(stack: Stack) -> None:
    card = _card(stack)
    reply = stack.pick("send_later", "tomorrow_9", card)
    assert reply.status == 200
    (action,) = wait_for(
        lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve"
    )
    expected = send_later_time("tomorrow_9", now=stack.clock.now(), tz="America/New_York")
    assert action.undo_until == expected
    assert expected.isoformat() == "2026-12-01T09:00:00-05:00"
    stack.clock.advance(timedelta(hours=1))
    stack.tick()
    assert stack.inbox(PROSPECT) == []
    stack.clock.advance(expected - stack.clock.now())
    stack.tick()
    assert len(stack.inbox(PROSPECT)) == 1


def test_send_later_choices() -> None:
    monday_night = datetime.fromisoformat("2026-11-30T23:30:00-05:00")
    tz = "America/New_York"
    assert send_later_time("in_1h", now=monday_night, tz=tz) == monday_night + timedelta(hours=1)
    assert send_later_time("tomorrow_9", now=monday_night, tz=tz).isoformat() == (
        "2026-12-01T09:00:00-05:00"
    )
    assert send_later_time("monday_9", now=monday_night, tz=tz).isoformat() == (
        "2026-12-07T09:00:00-05:00"
    )


class BrokenOnceMailbox(LocalMailbox):
    failures = 1

    def send(self, email: OutboundEmail) -> SentEmail:
        if self.failures:
            self.failures -= 1
            raise PermanentError("mailbox rejected the sender")
        return super().send(email)


def test_failed_send_shows_the_reason_and_retry_sends_once(stack: Stack) -> None:
    stack.deps.mail = BrokenOnceMailbox(stack.deps.sessions, clock=stack.clock)
    card = _card(stack)
    stack.click("approve_action", card)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    stack.clock.advance(timedelta(seconds=30))
    stack.tick()
    failed = wait_for(
        lambda: (
            "retry_action" in str(stack.slack.message(card.channel, card.ts).blocks)
            and stack.slack.message(card.channel, card.ts)
        ),
        "the failed card",
    )
    assert ":x: Failed: mailbox rejected the sender" in str(failed.blocks)
    assert stack.inbox(PROSPECT) == []

    stack.click("retry_action", failed)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "retry")
    stack.tick()
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.executed
    assert len(stack.inbox(PROSPECT)) == 1
