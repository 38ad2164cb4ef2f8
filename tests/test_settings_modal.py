"""`/schedule settings`: a modal with the rep's current values; bad values come back in place."""

from __future__ import annotations

import json
from typing import Any

from db.models import Rep
from tests.support.stack import OTHER_ID, REP_ID, Stack, wait_for


def _values(**overrides: Any) -> dict[str, Any]:
    values = {
        "timezone": {"timezone": {"value": "Europe/Berlin"}},
        "work_start": {"work_start": {"selected_time": "08:30"}},
        "work_end": {"work_end": {"selected_time": "16:30"}},
        "brief_time": {"brief_time": {"selected_time": "07:45"}},
        "quiet_start": {"quiet_start": {"selected_time": "20:00"}},
        "quiet_end": {"quiet_end": {"selected_time": "07:00"}},
        "daily_send_limit": {"daily_send_limit": {"value": "25"}},
        "delegates": {"delegates": {"selected_users": [OTHER_ID, REP_ID]}},
    }
    values.update(overrides)
    return values


def _open(stack: Stack) -> dict[str, Any]:
    # The modal opens after the ack: wait for this command's, not one opened before it.
    before = len(stack.slack.modals)
    assert stack.command("settings").status == 200
    return wait_for(lambda: stack.slack.modals[before:], "the settings modal")[-1]  # type: ignore[no-any-return]


def test_settings_are_validated_in_the_modal(stack: Stack) -> None:
    view = _open(stack)
    assert view["callback_id"] == "rep_settings"
    reply = stack.submit(
        view,
        _values(
            timezone={"timezone": {"value": "Mars/Olympus"}},
            work_end={"work_end": {"selected_time": "08:00"}},
            quiet_end={"quiet_end": {"selected_time": None}},
            daily_send_limit={"daily_send_limit": {"value": "0"}},
        ),
    )
    assert json.loads(reply.body) == {
        "response_action": "errors",
        "errors": {
            "timezone": "`Mars/Olympus` isn't a time zone name like Europe/Berlin.",
            "work_end": "The workday must end after it starts.",
            "quiet_end": "Give both ends of quiet hours, or neither.",
            "daily_send_limit": "Between 1 and 500.",
        },
    }
    assert stack.rows(Rep) == []


def test_saved_settings_apply_and_reopen_with_current_values(stack: Stack) -> None:
    reply = stack.submit(_open(stack), _values())
    assert reply.status == 200 and reply.body == ""
    # The rep row can exist before the save commits (opening the modal makes it): read it
    # only once the DM says the settings were saved.
    wait_for(lambda: [m for m in stack.slack.messages if m.text == "Settings saved."], "the DM")
    (rep,) = stack.rows(Rep)
    assert rep.timezone == "Europe/Berlin"
    assert rep.working_hours == {str(d): ["08:30", "16:30"] for d in range(5)}
    assert (rep.brief_time, rep.quiet_hours_start, rep.quiet_hours_end) == (
        "07:45",
        "20:00",
        "07:00",
    )
    assert rep.daily_send_limit == 25
    assert rep.delegate_slack_ids == [OTHER_ID]  # not themselves
    again = _open(stack)
    initial = {b["block_id"]: b["element"] for b in again["blocks"]}
    assert initial["timezone"]["initial_value"] == "Europe/Berlin"
    assert initial["work_start"]["initial_time"] == "08:30"
    assert initial["delegates"]["initial_users"] == [OTHER_ID]


def test_a_delegate_may_approve(stack: Stack) -> None:
    stack.submit(_open(stack), _values())
    wait_for(lambda: stack.rows(Rep), "the rep row")
    stack.schedule("demo with john@acme.example")
    stack.drain()
    card = wait_for(stack.cards, "the card")[0]
    stack.click("approve_action", card, user=OTHER_ID)
    wait_for(lambda: "undo_action" in str(stack.slack.message(card.channel, card.ts).blocks), "ok")
