"""Acceptance: a signed /schedule, the card, a signed Approve, exactly one email — over HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_string, policy

from sqlmodel import col

from connectors.calendar.local import LocalCalendar
from db.models import (
    ActionStatus,
    EmailMessage,
    JobStatus,
    PendingAction,
    RequestStatus,
    SchedulingAction,
    SchedulingRequest,
    SequenceJob,
)
from tests.support.stack import OTHER_ID, REP_EMAIL, REP_ID, Stack, wait_for

PROSPECT = "john@acme.example"


def schedule_and_get_card(stack: Stack, text: str = f"demo with {PROSPECT} next week 45m"):  # type: ignore[no-untyped-def]
    assert "ACME-1" in stack.schedule(text)
    stack.drain()
    return wait_for(stack.cards, "the approval card")[0]


def test_schedule_approve_sends_exactly_one_email(stack: Stack) -> None:
    card = schedule_and_get_card(stack)
    assert card.channel == "DU0REP"
    assert "First scheduling email" in card.text + str(card.blocks)
    (draft,) = stack.rows(PendingAction)
    offered = len(draft.action_data["slots"])
    assert offered > 0
    # The card says why this draft, and how sure Convene is: "Why: … · confidence 100%".
    (why,) = [b for b in card.blocks if "Why:" in json.dumps(b)]
    assert why["type"] == "context"
    assert f"Why: {offered} times free for everyone on our side · confidence 100%" in (
        json.dumps(why, ensure_ascii=False)
    )
    assert draft.reasoning == f"{offered} times free for everyone on our side"
    assert draft.confidence == 1.0
    assert stack.inbox(PROSPECT) == []  # nothing leaves before the rep approves

    assert stack.click("approve_action", card).status == 200
    updated = wait_for(lambda: stack.slack.message(card.channel, card.ts).history, "card update")
    assert updated, "the card should switch to the undo state"
    assert "undo_action" in str(stack.slack.message(card.channel, card.ts).blocks)

    stack.drain()
    assert stack.inbox(PROSPECT) == [], "still inside the undo window"
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()

    inbox = stack.inbox(PROSPECT)
    assert len(inbox) == 1
    message = message_from_string(inbox[0].raw, policy=policy.default)
    assert message["From"] == REP_EMAIL
    assert message["To"] == PROSPECT
    assert message["Message-ID"].endswith("@convene.local>")

    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.awaiting_response
    assert request.email_thread_id == message["Message-ID"]
    assert request.attempt_count == 1
    assert request.next_action_type == "follow_up"
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.executed
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.done
    assert job.steps_completed == ["find_slots", "draft_initial_email", "record_sent"]
    (email_row,) = stack.rows(EmailMessage)
    assert email_row.status == "sent" and email_row.message_id == message["Message-ID"]
    audit = [a.action_type for a in stack.rows(SchedulingAction)]
    assert audit == [
        "request_created",
        "slots_found",
        "draft_created",
        "action_approve",
        "action_executed",
        "event_state_changed",  # reaching out
        "email_sent",
    ]
    final_card = stack.slack.message(card.channel, card.ts)
    assert "Sent" in str(final_card.blocks)
    assert "approve_action" not in str(final_card.blocks)


def test_second_click_is_told_already_handled(stack: Stack) -> None:
    card = schedule_and_get_card(stack)
    stack.click("approve_action", card)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approval")
    stack.click("approve_action", card)
    reply = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook], "reply"
    )
    assert reply[0]["text"].startswith("Already handled: this draft is approved")


def test_only_the_owner_can_approve(stack: Stack) -> None:
    card = schedule_and_get_card(stack)
    updates_before = len(stack.slack.calls_to("chat.update"))
    stack.click("approve_action", card, user=OTHER_ID)
    hook = stack.last_hook
    (reply,) = wait_for(lambda: [r for r in stack.slack.responses if r["hook"] == hook], "reply")
    assert reply["text"] == "This belongs to <@U0REP>; only they can decide it."
    # Only the clicker is told, and the rep's card is left as it was.
    assert reply["response_type"] == "ephemeral"
    assert reply["replace_original"] is False
    assert len(stack.slack.calls_to("chat.update")) == updates_before
    shown = stack.slack.message(card.channel, card.ts)
    assert shown.history == [] and shown.blocks == card.blocks
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.pending
    assert action.decided_by is None


def test_reject_sends_nothing_and_pauses_the_request(stack: Stack) -> None:
    card = schedule_and_get_card(stack)
    stack.click("reject_action", card)
    modal = wait_for(lambda: stack.slack.modals, "the reject modal")[-1]
    assert modal["callback_id"] == "reject_draft"
    reply = stack.submit(modal, {"reason": {"reason": {"value": "Too pushy; mention the pilot."}}})
    assert reply.status == 200 and reply.body == ""
    (action,) = stack.rows(PendingAction, col(PendingAction.status) == "rejected")
    assert action.result == {"reject_reason": "Too pushy; mention the pilot."}
    stack.drain()
    stack.clock.advance(timedelta(minutes=5))
    stack.tick()
    assert stack.inbox(PROSPECT) == []
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.paused
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.done
    assert "Rejected" in str(stack.slack.message(card.channel, card.ts).blocks)


def test_undo_inside_the_window_cancels_the_send(stack: Stack) -> None:
    card = schedule_and_get_card(stack)
    stack.click("approve_action", card)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    undo_card = wait_for(
        lambda: (
            "undo_action" in str(stack.slack.message(card.channel, card.ts).blocks)
            and stack.slack.message(card.channel, card.ts)
        ),
        "undo button",
    )
    assert "approve_action" not in json.dumps(undo_card.blocks)
    stack.clock.advance(timedelta(seconds=10))
    stack.click("undo_action", undo_card)
    hook = stack.last_hook
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "cancelled"), "undo")
    # The card is redrawn once more: cancelled by the rep, with no button left to press.
    cancelled = wait_for(
        lambda: (
            "Cancelled" in json.dumps(stack.slack.message(card.channel, card.ts).blocks)
            and stack.slack.message(card.channel, card.ts)
        ),
        "the cancelled card",
    )
    shown = json.dumps(cancelled.blocks)
    assert f"Cancelled by <@{REP_ID}>" in shown
    assert "undo_action" not in shown and "approve_action" not in shown
    assert not [b for b in cancelled.blocks if b["type"] == "actions"]
    # At most the read-only "Show full email" remains; nothing that decides the draft.
    pressable = {
        e.get("action_id")
        for b in cancelled.blocks
        for e in [*b.get("elements", []), b.get("accessory") or {}]
        if e.get("action_id")
    }
    assert pressable <= {"show_full_email"}, pressable
    assert [r for r in stack.slack.responses if r["hook"] == hook] == []  # no error to show
    stack.clock.advance(timedelta(minutes=5))
    stack.tick()
    assert stack.inbox(PROSPECT) == []
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.paused


def test_slack_retry_of_the_same_command_creates_one_request(stack: Stack) -> None:
    # Slack retried the command, so the rep got two confirm cards and pressed Start on both.
    first = stack.schedule(f"demo with {PROSPECT}", trigger_id="same-trigger")
    second = stack.schedule(f"demo with {PROSPECT}", trigger_id="same-trigger")
    assert "ACME-1" in first and "finding times" in first
    assert second.startswith("*ACME-1* is already under way")
    assert len(stack.rows(SchedulingRequest)) == 1
    assert len(stack.rows(SequenceJob)) == 1


class BlindCalendar(LocalCalendar):
    """A provider that leaves out calendars our token may not read (as Google and Graph do)."""

    def free_busy(self, *, emails, start, end):  # type: ignore[no-untyped-def, override]
        return {}


def test_a_calendar_we_cannot_read_is_named_on_the_card_not_taken_as_free(stack: Stack) -> None:
    stack.deps.calendar = BlindCalendar(stack.deps.sessions, org_id="embedded")
    card = schedule_and_get_card(stack)
    assert f"I could not see {REP_EMAIL}'s, so check those" in str(card.blocks)
    (audit,) = stack.rows(
        SchedulingAction, col(SchedulingAction.action_type) == "calendars_unreadable"
    )
    assert audit.details == {"emails": [REP_EMAIL]}
