"""The "Use <zone>" button under a reply's DM: only the request's rep may press it, a broken or
forged value changes nothing, and the message keeps its story with the button replaced."""

from __future__ import annotations

import copy
import json

from bot.local_slack import Message
from db.models import SchedulingAction, SchedulingAttendee
from tests.support.conversation.prospect_mail import prospect_replies
from tests.support.conversation.rep_slack import rep_approves, rep_schedules
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
