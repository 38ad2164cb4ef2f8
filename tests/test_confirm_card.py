"""Inline `/schedule demo with …` answers with a confirm card; only Start creates anything, and
Edit opens the full form filled in from what was understood."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.confirm_blocks import PendingStart
from bot.local_slack import block_errors
from db.models import SchedulingAttendee, SchedulingRequest, SequenceJob
from tests.support.stack import Stack, wait_for

PROSPECTS = "john@acme.example, mary@acme.example"
COMMAND = f'demo with {PROSPECTS} next week 45m "they asked about SSO"'


def last_answer(stack: Stack) -> dict[str, Any]:
    """What the listener last posted to the response URL of the latest command or click."""
    hook = stack.last_hook
    return wait_for(  # type: ignore[no-any-return]
        lambda: [r for r in stack.slack.responses if r["hook"] == hook], "the answer"
    )[-1]


def nothing_created(stack: Stack) -> bool:
    return stack.rows(SchedulingRequest) == [] and stack.rows(SequenceJob) == []


def test_the_command_only_shows_what_it_understood(stack: Stack) -> None:
    reply = stack.command(COMMAND)
    assert reply.status == 200 and reply.body == ""
    card = stack.confirm_card()
    answer = last_answer(stack)
    assert answer["response_type"] == "ephemeral"
    assert block_errors(card.blocks) == []
    shown = str(card.blocks)
    assert "Start a *demo* with john@acme.example, mary@acme.example?" in shown
    # The rep is in New York and it is Monday 30 Nov: next week is 7-13 Dec there.
    assert "*When:* Mon 7 Dec – Sun 13 Dec" in shown
    assert "*Length:* 45 min" in shown
    assert "*Context for the email:* they asked about SSO" in shown
    assert "I'll DM you a draft email; nothing is sent until you approve it." in shown
    assert [b["text"]["text"] for b in card.blocks[2]["elements"]] == ["Start", "Edit"]
    assert nothing_created(stack)


def test_start_creates_the_request_once_and_replaces_the_card(stack: Stack) -> None:
    stack.command(COMMAND)
    card = stack.confirm_card()
    said = stack.command_response(stack.click("start_request", card))
    assert said.startswith("*ACME-1*: finding times for a demo with john@acme.example, mary")
    assert last_answer(stack)["replace_original"] is True
    (request,) = stack.rows(SchedulingRequest)
    assert (request.duration_minutes, request.context) == (45, "they asked about SSO")
    assert request.date_range_start is not None and request.date_range_end is not None
    assert request.date_range_start.astimezone(UTC) == datetime(2026, 12, 7, 5, tzinfo=UTC)
    assert request.date_range_end.astimezone(UTC) == datetime(2026, 12, 14, 5, tzinfo=UTC)
    assert {a.email for a in stack.rows(SchedulingAttendee) if a.side == "external"} == {
        "john@acme.example",
        "mary@acme.example",
    }
    stack.drain()
    assert "First scheduling email" in str(wait_for(stack.cards, "the approval card")[0].blocks)

    # A double click, or the same card pressed again before Slack replaced it.
    again = stack.command_response(stack.click("start_request", card))
    assert again.startswith("*ACME-1* is already under way")
    assert len(stack.rows(SchedulingRequest)) == 1 and len(stack.rows(SequenceJob)) == 1


def test_start_days_later_keeps_the_dates_the_rep_confirmed(stack: Stack) -> None:
    stack.command(f"demo with {PROSPECTS} next week")
    card = stack.confirm_card()
    stack.clock.advance(timedelta(days=2))  # "next week" would now mean 14-20 Dec
    stack.click("start_request", card)
    (request,) = wait_for(lambda: stack.rows(SchedulingRequest), "the request")
    assert request.date_range_start is not None
    assert request.date_range_start.astimezone(UTC) == datetime(2026, 12, 7, 5, tzinfo=UTC)


def test_start_after_the_dates_passed_creates_nothing(stack: Stack) -> None:
    stack.command(f"demo with {PROSPECTS} tomorrow")
    card = stack.confirm_card()
    stack.clock.advance(timedelta(days=3))
    said = stack.command_response(stack.click("start_request", card))
    assert said.startswith(":warning: Those dates have passed.")
    assert nothing_created(stack)


def test_edit_opens_the_form_filled_in_and_submitting_it_starts(stack: Stack) -> None:
    stack.command(COMMAND)
    stack.click("edit_request", stack.confirm_card())
    (view,) = wait_for(lambda: stack.slack.modals, "views.open")
    assert "Opened the form" in last_answer(stack)["text"]
    assert nothing_created(stack)
    fields = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert fields["meeting_type"]["initial_option"]["value"] == "demo"
    assert fields["duration"]["initial_option"]["value"] == "45"
    assert fields["guests"]["initial_value"] == "john@acme.example\nmary@acme.example"
    assert fields["window_start"]["initial_date"] == "2026-12-07"
    assert fields["window_end"]["initial_date"] == "2026-12-13"
    assert fields["context"]["initial_value"] == "they asked about SSO"
    assert view["private_metadata"] == "scheduling_requested"

    # The rep drops Mary and submits; the form's values are what it was opened with.
    values = initial_values(view) | {"guests": {"guests": {"value": "john@acme.example"}}}
    assert stack.submit(view, values).status == 200
    (request,) = wait_for(lambda: stack.rows(SchedulingRequest), "the request")
    assert (request.meeting_type, request.duration_minutes) == ("demo", 45)
    assert [a.email for a in stack.rows(SchedulingAttendee) if a.side == "external"] == [
        "john@acme.example"
    ]


def test_edit_keeps_what_the_form_has_no_option_for(stack: Stack) -> None:
    stack.command("times pricing review with ann@globex.example 20m")
    card = stack.confirm_card()
    assert "I'll DM you times to pick from" in str(card.blocks)
    stack.click("edit_request", card)
    (view,) = wait_for(lambda: stack.slack.modals, "views.open")  # the fake checks the limits
    fields = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert fields["meeting_type"]["initial_option"]["value"] == "pricing review"
    assert fields["duration"]["initial_option"]["value"] == "20"
    assert view["private_metadata"] == "calendar_find_times"
    stack.submit(view, initial_values(view))
    (job,) = wait_for(lambda: stack.rows(SequenceJob), "the job")
    assert job.event_type == "calendar_find_times"  # still ends in the time picker


def test_pasted_markup_on_the_card_is_inert(stack: Stack) -> None:
    stack.command('demo with ann@globex.example "<!channel> see <https://evil.example|this>"')
    card = stack.confirm_card()
    shown = " ".join(
        text["text"]
        for block in card.blocks
        for text in [block.get("text") or {}, *block.get("elements", [])]
        if text.get("type") == "mrkdwn"
    )
    assert "<!channel>" not in shown and "<https://" not in shown
    assert "&lt;!channel&gt;" in shown


def test_a_command_too_long_for_a_button_points_to_the_form(stack: Stack) -> None:
    crowd = ", ".join(f"person{n:03d}@globex.example" for n in range(90))
    stack.command(f"demo with {crowd}")
    said = last_answer(stack)
    assert said["text"].startswith(":warning: That's more than one command can carry.")
    assert "blocks" not in said or not said["blocks"]
    assert nothing_created(stack)


def test_a_tampered_button_is_refused(stack: Stack) -> None:
    stack.command(COMMAND)
    card = stack.confirm_card()
    for block in card.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == "start_request":
                element["value"] = '{"text": "demo with eve@evil.example"}'
    said = stack.command_response(stack.click("start_request", card))
    assert said == "That card is out of date; run the `/schedule` command again."
    assert nothing_created(stack)


def test_pending_start_round_trips_and_refuses_what_it_did_not_make() -> None:
    pending = PendingStart(
        text="demo with a@b.co",
        read_at=datetime(2026, 11, 30, 14, tzinfo=UTC),
        tz="America/New_York",
        trigger_id="123.456",
        event_type="calendar_find_times",
    )
    assert PendingStart.decode(pending.encode()) == pending
    assert PendingStart.decode("not json") is None
    assert PendingStart.decode(pending.encode().replace("America/New_York", "Mars/Base")) is None
    assert PendingStart.decode(pending.encode().replace("calendar_find_times", "drop_db")) is None


def initial_values(view: dict[str, Any]) -> dict[str, Any]:
    """The form's state as Slack would submit it untouched: each input's initial value."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element, key = block["element"], block["block_id"]
        if "initial_option" in element:
            state = {"selected_option": element["initial_option"]}
        elif "initial_date" in element:
            state = {"selected_date": element["initial_date"]}
        elif element["type"] == "plain_text_input":
            state = {"value": element.get("initial_value")}
        elif element["type"] == "checkboxes":
            state = {"selected_options": []}
        else:
            state = {"selected_users": []}
        values[key] = {key: state}
    return values
