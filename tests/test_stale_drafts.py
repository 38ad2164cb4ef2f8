"""Stale drafts are never sent (issue 12, class 9): at Approve and again just before the send,
a draft's times must still be ahead and free and its recipients the drafted ones; a stale one
is refused, its card says why and offers a redraft; every action type expires when it should."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col

from bot.local_slack import Message, block_errors
from db.models import (
    ActionStatus,
    ActionType,
    LocalCalendarEvent,
    PendingAction,
    RequestStatus,
    SchedulingAction,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.engine.action_data import SHAPES, ActionData, BookingData
from orchestrator.outbox.decisions import decide
from orchestrator.outbox.execute import execute
from orchestrator.outbox.expiry import BOOK_MARGIN, OFFER_MARGIN, expires_at
from tests.support.stack import REP_EMAIL, REP_ID, Stack, wait_for

PROSPECT = "john@acme.example"
NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


# --- helpers ------------------------------------------------------------------------------------


def first_draft(stack: Stack) -> tuple[PendingAction, Message]:
    stack.schedule(f"demo with {PROSPECT} next week 45m")
    stack.drain()
    (action,) = stack.rows(PendingAction)
    (card,) = wait_for(stack.cards, "the approval card")
    return action, card


def live(stack: Stack, card: Message) -> Message:
    message = stack.slack.message(card.channel, card.ts)
    return Message(
        message.channel, message.ts, message.text, json.loads(json.dumps(message.blocks))
    )


def buttons(card: Message) -> set[str]:
    return {
        element["action_id"]
        for block in card.blocks
        for element in [*block.get("elements", []), block.get("accessory") or {}]
        if "action_id" in element
    }


def ephemeral(stack: Stack) -> str:
    hook = stack.last_hook
    found = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == hook], "the ephemeral reply"
    )
    assert found[-1]["response_type"] == "ephemeral"
    return str(found[-1]["text"])


def approve(stack: Stack, card: Message, action_id: uuid.UUID) -> None:
    """Press Approve and wait for the click to land (the listener answers after its ack)."""
    assert stack.click("approve_action", card).status == 200
    wait_for(lambda: one(stack, action_id).status == ActionStatus.approved, "the approval")


def one(stack: Stack, action_id: uuid.UUID) -> PendingAction:
    (row,) = stack.rows(PendingAction, col(PendingAction.id) == action_id)
    return row


def offered(action: PendingAction) -> list[datetime]:
    return [datetime.fromisoformat(s) for s in action.action_data["slots"]]


def busy(stack: Stack, start: datetime, end: datetime) -> None:
    with stack.deps.uow() as uow:
        uow.session.add(
            LocalCalendarEvent(
                org_id="embedded",
                calendar=REP_EMAIL,
                event_id=f"busy-{start.isoformat()}",
                title="Board review",
                start=start,
                end=end,
            )
        )
        uow.commit()


def booking(stack: Stack, *, start: datetime) -> PendingAction:
    """A calendar invite for the request `first_draft` made, as the picker or a reply drafts it."""
    (request,) = stack.rows(SchedulingRequest)
    now = stack.clock.now()
    data: dict[str, Any] = {
        "title": request.title,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=45)).isoformat(),
        "attendees": [{"email": PROSPECT, "name": "", "optional": False}],
        "to": [PROSPECT],
        "subject": f"Invite: {request.title}",
        "body": "Book it.",
    }
    action = PendingAction(
        org_id=request.org_id,
        rep_id=request.rep_id,
        request_id=request.id,
        action_type=ActionType.calendar_book,
        action_data=data,
        idempotency_key=f"test-booking:{uuid.uuid4()}",
        expires_at=expires_at(ActionType.calendar_book, BookingData.from_json(data), now=now),
        created_at=now,
        updated_at=now,
    )
    with stack.deps.uow() as uow:
        uow.session.add(action)
        uow.commit()
        uow.session.refresh(action)
    return action


def events(stack: Stack) -> list[LocalCalendarEvent]:
    return stack.rows(LocalCalendarEvent, col(LocalCalendarEvent.event_id).startswith("convene-"))


# --- expiry, per action type ----------------------------------------------------------------------


# What every stored action carries besides the times these tests are about.
FILLER = {"to": [], "subject": "", "body": "", "message_id": "<m@x>", "title": "", "attendees": []}


def typed(action_type: ActionType, data: dict[str, Any]) -> ActionData:
    """`data` as its action type's shape, read back the way the outbox reads a row."""
    return SHAPES[action_type].from_json({**FILLER, "event_id": "e0", **data})


MEETING = (NOW + timedelta(days=2), NOW + timedelta(days=2, minutes=30))
SLOTS = [NOW + timedelta(days=1), NOW + timedelta(days=2)]
OFFER = {"slots": [s.isoformat() for s in SLOTS]}
BOOK = {"start": MEETING[0].isoformat(), "end": MEETING[1].isoformat()}


@pytest.mark.parametrize(
    ("action_type", "data", "asked", "expected"),
    [
        # Offering times: good until the last offered time is too close to offer.
        (ActionType.email_initial, OFFER, None, SLOTS[-1] - OFFER_MARGIN),
        (ActionType.email_response, OFFER, None, SLOTS[-1] - OFFER_MARGIN),
        # A follow-up or a no-show email ages in a day, whatever its times.
        (ActionType.email_follow_up, OFFER, timedelta(hours=24), NOW + timedelta(days=1)),
        (ActionType.email_no_show, OFFER, None, NOW + timedelta(days=1)),
        # A reply with no time in it: a few days.
        (ActionType.email_response, {"slots": []}, None, NOW + timedelta(days=3)),
        # A booking or a move: its meeting's start.
        (ActionType.calendar_book, BOOK, None, MEETING[0] - BOOK_MARGIN),
        (ActionType.calendar_update, BOOK, None, MEETING[0] - BOOK_MARGIN),
        # Bound to the request's meeting: a reminder and a confirmation its start, a cancel
        # its end.
        (ActionType.email_reminder, {}, MEETING[0] - NOW, MEETING[0]),
        (ActionType.email_confirmation, {}, None, MEETING[0]),
        (ActionType.calendar_cancel, {"event_id": "e1"}, None, MEETING[1]),
    ],
)
def test_every_action_type_expires_when_it_stops_being_worth_sending(
    action_type: ActionType, data: dict[str, Any], asked: timedelta | None, expected: datetime
) -> None:
    shaped = typed(action_type, data)
    assert expires_at(action_type, shaped, now=NOW, asked=asked, meeting=MEETING) == expected


def test_nothing_waits_for_a_click_forever() -> None:
    far = {"slots": [(NOW + timedelta(days=30)).isoformat()]}
    initial, confirmation, cancel = (
        ActionType.email_initial,
        ActionType.email_confirmation,
        ActionType.calendar_cancel,
    )
    assert expires_at(initial, typed(initial, far), now=NOW) == NOW + timedelta(days=7)
    assert expires_at(confirmation, typed(confirmation, {}), now=NOW) == NOW + timedelta(days=7)
    assert expires_at(cancel, typed(cancel, {}), now=NOW) == NOW + timedelta(days=7)


def test_drafts_are_stored_with_their_expiry(stack: Stack) -> None:
    action, _ = first_draft(stack)
    ceiling = action.created_at + timedelta(days=7)
    assert action.expires_at == min(ceiling, max(offered(action)) - OFFER_MARGIN)


# --- at Approve -----------------------------------------------------------------------------------


def test_a_first_email_approved_14_days_late_is_refused_and_redrafted_with_fresh_times(
    stack: Stack,
) -> None:
    action, card = first_draft(stack)
    stack.clock.advance(timedelta(days=14))

    assert stack.click("approve_action", card).status == 200
    told = ephemeral(stack)
    assert "Not sent" in told and "every time it offers has passed" in told
    stale = one(stack, action.id)
    assert stale.status == ActionStatus.pending and stale.decided_by is None
    assert "every time it offers has passed" in (stale.error or "")
    assert stack.inbox(PROSPECT) == []
    # The card says why and offers a redraft, never Approve again.
    shown = live(stack, card)
    assert "Can't go out as drafted" in str(shown.blocks)
    assert "every time it offers has passed" in str(shown.blocks)
    assert "approve_action" not in buttons(shown) and "send_later" not in buttons(shown)
    assert {"redraft_action", "reject_action"} <= buttons(shown)
    assert block_errors(shown.blocks) == []

    assert stack.click("redraft_action", shown).status == 200
    assert "Redrafting with fresh times" in ephemeral(stack)
    stack.drain()
    old = one(stack, action.id)
    assert old.status == ActionStatus.expired and (old.result or {}).get("redrafted")
    assert "Redrafted with fresh times" in str(live(stack, card).blocks)
    assert "redraft_action" not in buttons(live(stack, card))
    (fresh,) = stack.rows(PendingAction, col(PendingAction.status) == ActionStatus.pending)
    assert fresh.action_type == ActionType.email_initial and fresh.id != action.id
    now = stack.clock.now()
    assert offered(fresh) and all(t > now + OFFER_MARGIN for t in offered(fresh))
    # Its own card, saying why it was redrafted; the request was not paused meanwhile.
    new_card = wait_for(lambda: stack.cards()[1:], "the redrafted card")[-1]
    assert "could not go out" in str(new_card.blocks)
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.proposing

    # A second press changes nothing.
    assert stack.click("redraft_action", shown).status == 200
    assert "Already redrafted" in ephemeral(stack)
    stack.drain()
    assert len(stack.rows(SequenceJob, SequenceJob.event_type == "redraft_requested")) == 1

    # The fresh draft goes out as any other.
    approve(stack, new_card, fresh.id)
    stack.clock.advance(timedelta(minutes=1))
    stack.tick()
    assert one(stack, fresh.id).status == ActionStatus.executed
    (sent,) = stack.inbox(PROSPECT)
    assert one(stack, fresh.id).action_data["message_id"] in sent.raw


def test_a_time_taken_in_the_calendar_since_the_draft_is_refused_with_the_reason(
    stack: Stack,
) -> None:
    action, card = first_draft(stack)
    taken = offered(action)[1]
    busy(stack, taken, taken + timedelta(minutes=30))

    assert stack.click("approve_action", card).status == 200
    told = ephemeral(stack)
    assert "no longer free" in told and REP_EMAIL in told
    row = one(stack, action.id)
    assert row.status == ActionStatus.pending and "no longer free" in (row.error or "")
    assert "no longer free" in str(live(stack, card).blocks)
    refused = stack.rows(SchedulingAction, SchedulingAction.action_type == "action_refused_stale")
    assert len(refused) == 1
    stack.clock.advance(timedelta(minutes=5))
    stack.tick()
    assert stack.inbox(PROSPECT) == []


def test_a_still_valid_draft_is_approved_and_sent_as_before(stack: Stack) -> None:
    action, card = first_draft(stack)
    stack.clock.advance(timedelta(days=1))
    approve(stack, card, action.id)
    stack.clock.advance(timedelta(minutes=1))
    stack.tick()
    done = one(stack, action.id)
    assert done.status == ActionStatus.executed and done.error is None
    assert len(stack.inbox(PROSPECT)) == 1


def test_send_later_past_the_offered_times_is_refused_at_approve(stack: Stack) -> None:
    action, _ = first_draft(stack)
    earliest = min(offered(action))
    outcome = decide(
        stack.deps,
        action_id=action.id,
        decision="approve",
        slack_user_id=REP_ID,
        send_at=earliest + timedelta(minutes=1),
    )
    assert not outcome.ok and "some times it offers have passed" in outcome.message
    assert one(stack, action.id).status == ActionStatus.pending


def test_recipients_written_over_the_draft_are_refused(stack: Stack) -> None:
    action, _ = first_draft(stack)
    with stack.deps.uow() as uow:
        row = uow.session.get_one(PendingAction, action.id)
        row.edited_data = {"to": ["attacker@evil.example"]}
        uow.session.add(row)
        uow.commit()
    outcome = decide(stack.deps, action_id=action.id, decision="approve", slack_user_id=REP_ID)
    assert not outcome.ok and "recipients changed" in outcome.message
    assert one(stack, action.id).status == ActionStatus.pending
    stack.clock.advance(timedelta(minutes=5))
    stack.tick()
    assert stack.inbox("attacker@evil.example") == [] and stack.inbox(PROSPECT) == []


def test_a_booking_approved_after_its_start_is_refused(stack: Stack) -> None:
    first_draft(stack)
    start = stack.clock.now() + timedelta(hours=2)
    invite = booking(stack, start=start)
    stack.clock.advance(timedelta(hours=3))
    outcome = decide(stack.deps, action_id=invite.id, decision="approve", slack_user_id=REP_ID)
    assert not outcome.ok and "meeting time" in outcome.message
    assert one(stack, invite.id).status == ActionStatus.pending
    assert events(stack) == []


# --- just before the send -------------------------------------------------------------------------


def test_an_approved_booking_that_comes_due_after_its_start_is_not_booked(stack: Stack) -> None:
    first_draft(stack)
    invite = booking(stack, start=stack.clock.now() + timedelta(hours=2))
    outcome = decide(stack.deps, action_id=invite.id, decision="approve", slack_user_id=REP_ID)
    assert outcome.ok
    # The undo window (or a worker outage) carries it past the start.
    stack.clock.advance(timedelta(hours=3))
    assert execute(stack.deps, invite.id) == ActionStatus.expired
    row = one(stack, invite.id)
    assert row.status == ActionStatus.expired and "meeting" in (row.error or "")
    assert events(stack) == [] and stack.inbox(PROSPECT) == []


def test_an_approved_email_whose_times_pass_before_the_send_expires_instead(
    stack: Stack,
) -> None:
    action, card = first_draft(stack)
    approve(stack, card, action.id)
    stack.clock.advance(timedelta(days=14))
    stack.tick()
    row = one(stack, action.id)
    assert row.status == ActionStatus.expired and "passed" in (row.error or "")
    assert stack.inbox(PROSPECT) == []
    shown = live(stack, card)
    assert "Expired" in str(shown.blocks) and "redraft_action" in buttons(shown)
    assert "undo_action" not in buttons(shown)


# --- the clock ------------------------------------------------------------------------------------


def test_the_clock_expires_a_stale_draft_and_its_card_says_why(stack: Stack) -> None:
    action, card = first_draft(stack)
    stack.clock.advance(timedelta(days=14))
    stack.tick()
    row = one(stack, action.id)
    assert row.status == ActionStatus.expired
    assert row.error and "times it offered" in row.error
    shown = live(stack, card)
    assert "Expired" in str(shown.blocks) and "times it offered" in str(shown.blocks)
    assert buttons(shown) == {"redraft_action"}
    assert block_errors(shown.blocks) == []
    # The expiry paused the request; a redraft from the expired card starts it again.
    assert stack.click("redraft_action", shown).status == 200
    assert "Redrafting with fresh times" in ephemeral(stack)
    stack.drain()
    (fresh,) = stack.rows(PendingAction, col(PendingAction.status) == ActionStatus.pending)
    assert all(t > stack.clock.now() for t in offered(fresh))
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.proposing


def test_only_the_rep_may_redraft(stack: Stack) -> None:
    action, card = first_draft(stack)
    stack.clock.advance(timedelta(days=14))
    stack.tick()
    assert stack.click("redraft_action", live(stack, card), user="U0OTHER").status == 200
    assert "only they can decide" in ephemeral(stack)
    stack.drain()
    assert stack.rows(SequenceJob, SequenceJob.event_type == "redraft_requested") == []
    assert not (one(stack, action.id).result or {}).get("redrafted")
