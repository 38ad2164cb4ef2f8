"""The buttons under a reply's DM ("Use <zone>", "Add <copied guest>"): only the request's rep
may press them, a broken or forged value changes nothing, and the message keeps its story with
the button replaced."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

from sqlmodel import col

from bot.local_slack import Message
from db.models import PendingAction, SchedulingAction, SchedulingAttendee, SequenceJob
from tests.support.conversation.prospect_mail import prospect_replies
from tests.support.conversation.rep_slack import rep_approves, rep_cancels, rep_schedules
from tests.support.conversation.script import conversation, play
from tests.support.conversation.world import PROSPECT, RITA, World
from tests.support.stack import OTHER_ID, REP_ID, Stack, wait_for

USE = "use_prospect_zone"


def _hinted(stack: Stack) -> Message:
    play(
        conversation(
            "a reply signed in Tokyo",
            rep_schedules(f"demo with {PROSPECT} next week 45m"),
            rep_approves("email_initial"),
            prospect_replies("Is the demo recorded?\n\nJohn Doe\nAcme KK · Tokyo"),
        ),
        stack,
    )
    # A copy, as the client first showed it: the stand-in redraws its own in place.
    return copy.deepcopy(wait_for(lambda: World(stack, RITA).zone_hints(), "the hint")[-1])


def _zones(stack: Stack) -> list[str | None]:
    return [a.timezone for a in stack.rows(SchedulingAttendee) if a.side == "external"]


def _answer_to_last_click(stack: Stack) -> str:
    hook = stack.last_hook
    found = wait_for(lambda: [r for r in stack.slack.responses if r["hook"] == hook], "a reply")
    return str(found[-1]["text"])


def _with_value(message: Message, value: str) -> Message:
    forged = copy.deepcopy(message)
    for block in forged.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == USE:
                element["value"] = value
    return forged


def test_the_reps_click_sets_the_zone_once_and_redraws_the_message(stack: Stack) -> None:
    message = _hinted(stack)
    stack.click(USE, message, user=REP_ID)
    redrawn = wait_for(
        lambda: [m for m in stack.slack.messages if m.ts == message.ts and m.history],
        "the redrawn message",
    )[0]
    assert _zones(stack) == ["Asia/Tokyo"]
    shown = json.dumps(redrawn.blocks)
    assert USE not in shown
    assert "read in *Asia/Tokyo* now" in shown and f"<@{REP_ID}>" in shown
    assert redrawn.blocks[0] == message.blocks[0], "the reply's summary stays"
    (row,) = stack.rows(SchedulingAction, SchedulingAction.action_type == "prospect_zone_set")
    assert row.details == {
        "attendee_id": row.details["attendee_id"],
        "zone": "Asia/Tokyo",
        "before": "America/New_York",
    }
    # A second press (a double click, a stale client) writes nothing more.
    stack.click(USE, message, user=REP_ID)
    stack.drain()
    assert (
        len(stack.rows(SchedulingAction, SchedulingAction.action_type == "prospect_zone_set")) == 1
    )


def test_someone_else_cannot_set_it(stack: Stack) -> None:
    message = _hinted(stack)
    stack.click(USE, message, user=OTHER_ID)
    assert _answer_to_last_click(stack) == f"This belongs to <@{REP_ID}>; only they can decide it."
    assert _zones(stack) == [None]


def test_a_broken_or_forged_value_changes_nothing(stack: Stack) -> None:
    message = _hinted(stack)
    request_id, attendee_id, _ = stack.button_value(message, USE).split("|")
    rep = [a for a in stack.rows(SchedulingAttendee) if a.side == "internal"][0]
    cases = {
        "not-a-uuid|x|Asia/Tokyo": "That button is broken; nothing was changed.",
        f"{request_id}|{attendee_id}|Mars/Olympus_Mons": "That time zone is unknown",
        f"{request_id}|{attendee_id}|../../etc/passwd": "That time zone is unknown",
        # Our own teammate is not a prospect whose zone a reply may set.
        f"{request_id}|{rep.id}|Asia/Tokyo": "That request or person no longer exists.",
    }
    for value, answer in cases.items():
        stack.click(USE, _with_value(message, value), user=REP_ID)
        assert _answer_to_last_click(stack).startswith(answer), value
    assert _zones(stack) == [None]
    assert [a.timezone for a in stack.rows(SchedulingAttendee) if a.side == "internal"] == [
        rep.timezone
    ]


# --- people the prospect copied -------------------------------------------------------------------

JANE = "jane@acme.example"


def _copied(stack: Stack) -> Message:
    play(
        conversation(
            "a reply copying Jane",
            rep_schedules(f"demo with {PROSPECT} next week 45m"),
            rep_approves("email_initial"),
            prospect_replies("Tuesday works. Copying Jane, who should join too.", cc=[JANE]),
        ),
        stack,
    )
    return copy.deepcopy(wait_for(lambda: World(stack, RITA).copied_hints(), "the offer")[-1])


def _add_button(message: Message) -> dict[str, str]:
    return next(
        e
        for b in message.blocks
        for e in b.get("elements", [])
        if str(e.get("action_id", "")).startswith("add_copied_guest")
    )


def _guests(stack: Stack) -> list[str]:
    return sorted(a.email for a in stack.rows(SchedulingAttendee) if a.side == "external")


def test_someone_else_cannot_add_a_copied_guest(stack: Stack) -> None:
    message = _copied(stack)
    stack.click(_add_button(message)["action_id"], message, user=OTHER_ID)
    assert _answer_to_last_click(stack) == f"This belongs to <@{REP_ID}>; only they can decide it."
    assert _guests(stack) == [PROSPECT]


def test_a_copied_guest_button_can_only_name_someone_on_that_email(stack: Stack) -> None:
    message = _copied(stack)
    button = _add_button(message)
    request_id, email_id, index = button["value"].split("|")
    forged_ids = {
        # Position 0 is the rep (the reply's To): our side is never a guest from a header.
        f"{request_id}|{email_id}|0": "already on the request, or were not on that email",
        f"{request_id}|{email_id}|7": "already on the request, or were not on that email",
        f"{request_id}|{email_id}|-1": "already on the request, or were not on that email",
        f"{request_id}|{request_id}|{index}": "That request or email no longer exists.",
        "nonsense": "That button is broken; nothing was changed.",
    }
    for value, answer in forged_ids.items():
        forged = copy.deepcopy(message)
        _add_button(forged)["value"] = value
        stack.click(button["action_id"], forged, user=REP_ID)
        assert answer in _answer_to_last_click(stack), value
    assert _guests(stack) == [PROSPECT]
    # The genuine button adds Jane once; a second press finds her already there.
    stack.click(button["action_id"], message, user=REP_ID)
    wait_for(lambda: _guests(stack) == sorted([PROSPECT, JANE]), "Jane on the request")
    stack.click(button["action_id"], message, user=REP_ID)
    assert "already on the request" in _answer_to_last_click(stack)
    assert _guests(stack) == sorted([PROSPECT, JANE])


def test_while_the_booking_is_on_its_way_nobody_is_added_and_add_works_once_it_is_booked(
    stack: Stack,
) -> None:
    message = _copied(stack)
    button = _add_button(message)
    (draft,) = wait_for(
        lambda: [
            a
            for a in stack.rows(PendingAction, col(PendingAction.action_type) == "calendar_book")
            if a.slack_ts
        ],
        "the booking card",
    )
    booking = stack.slack.message(draft.slack_channel or "", draft.slack_ts or "")
    stack.click("approve_action", booking, user=REP_ID)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approval")
    stack.click(button["action_id"], message, user=REP_ID)
    assert "being sent right now, so nobody was added" in _answer_to_last_click(stack)
    assert _guests(stack) == [PROSPECT]
    # Once the undo window has passed the meeting is booked: the same button drafts an update.
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()
    stack.click(button["action_id"], message, user=REP_ID)
    wait_for(lambda: stack.rows(SequenceJob, col(SequenceJob.event_type) == "copied_added"), "job")
    stack.drain()
    update = wait_for(
        lambda: stack.rows(PendingAction, col(PendingAction.action_type) == "calendar_update"),
        "the updated invite",
    )[0]
    assert update.status == "pending"
    assert {"email": JANE, "name": "", "optional": True} in update.action_data["attendees"]


def test_a_cancelled_request_takes_no_copied_guest(stack: Stack) -> None:
    message = _copied(stack)
    play(conversation("the rep cancels", rep_cancels()), stack)
    stack.click(_add_button(message)["action_id"], message, user=REP_ID)
    assert _answer_to_last_click(stack) == "ACME-1 is cancelled: nobody added."
    assert _guests(stack) == [PROSPECT]
