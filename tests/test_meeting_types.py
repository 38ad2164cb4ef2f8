"""`/schedule templates`: admins create and edit meeting types in a modal; the form and the inline
command then use the type's length and place; everyone else is refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage
from typing import Any

import pytest

from bot.local_slack import Message
from bot.modals import new_request_view, read_submission
from bot.slack_requests import button_click, post_signed
from bot.templates_modal import read_template, read_wording, template_view, wording_text
from db.models import ActionType, SchedulingAction, SchedulingRequest, SchedulingTemplate
from orchestrator.commands.meeting_types import save_kind
from orchestrator.meeting_kinds import MeetingKind, built_in_kinds
from tests.support.stack import REP_ID, SECRET, USERS, Stack, wait_for
from tests.test_ics_invites import book_by_reply, invitations
from tests.test_mail_intake import PROSPECT
from tests.test_meeting_lifecycle import approve

ADMIN_ID = "U0ADMIN"
ADMIN = {
    "name": "ada",
    "tz": "America/New_York",
    "is_admin": True,
    "profile": {"email": "ada@northwind.example", "real_name": "Ada Admin"},
}


@pytest.fixture
def team(stack: Stack) -> Stack:
    # A copy: the user table is shared by every stack.
    stack.slack.users = {**USERS, ADMIN_ID: ADMIN}
    return stack


def _values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": {"name": {"value": "Pricing Call"}},
        "duration": {"duration": {"value": "20"}},
        "platform": {"platform": {"selected_option": {"value": "zoom"}}},
        "location": {"location": {"value": ""}},
        "follow_ups": {"follow_ups": {"value": "12, 36"}},
        "reminder": {"reminder": {"selected_option": {"value": "hours_before:2"}}},
        "wording": {
            "wording": {"value": "[initial.subject]\n{meeting_title} about pricing, {first_name}?"}
        },
    }
    values.update(overrides)
    return values


def _modal(stack: Stack, text: str, *, user: str = ADMIN_ID) -> dict[str, Any]:
    before = len(stack.slack.modals)
    assert stack.command(text, user=user).status == 200
    return wait_for(  # type: ignore[no-any-return]
        lambda: stack.slack.modals[before:], "the meeting type modal"
    )[-1]


def _saved(stack: Stack, name: str) -> SchedulingTemplate:
    wait_for(lambda: [m for m in stack.slack.messages if name in m.text], "the saved DM")
    (row,) = stack.rows(SchedulingTemplate, SchedulingTemplate.meeting_type == name)
    return row


# --- the modal, pure -------------------------------------------------------------------------


def test_the_modal_reads_every_field_of_a_type() -> None:
    kind, replaces, errors = read_template(_values(), json.dumps({"replaces": None}))
    assert errors == {} and replaces is None
    assert kind == MeetingKind(
        name="pricing call",
        duration_minutes=20,
        platform="zoom",
        follow_up_hours=(12, 36),
        reminder_rule="hours_before:2",
        wording=(("initial.subject", "{meeting_title} about pricing, {first_name}?"),),
        saved=True,
    )


@pytest.mark.parametrize(
    ("field", "value", "block", "says"),
    [
        ("duration", {"value": "5"}, "duration", "Between 10 and 240 minutes."),
        ("follow_ups", {"value": "24, soon"}, "follow_ups", "1 to 6 waits in hours"),
        ("follow_ups", {"value": "0"}, "follow_ups", "1 to 6 waits in hours"),
        ("name", {"value": "demo with the CTO"}, "name", "without the word “with”"),
        ("name", {"value": "  "}, "name", "A name of 1 to 60 characters"),
        ("platform", {"selected_option": {"value": "phone"}}, "location", "the number to call"),
        ("wording", {"value": "[initial.body]\nHi {nickname}"}, "wording", "nickname"),
        ("wording", {"value": "Hi there"}, "wording", "Start each override with a line"),
        ("wording", {"value": "[initial.body]\n"}, "wording", "has no text under it"),
        ("wording", {"value": "[greeting.body]\nHello"}, "wording", "not a template"),
    ],
)
def test_a_bad_field_is_named_under_it(
    field: str, value: dict[str, Any], block: str, says: str
) -> None:
    kind, _, errors = read_template(_values(**{field: {field: value}}), "")
    assert kind is None
    assert says in errors[block], errors


def test_the_modal_opens_with_what_was_saved() -> None:
    kind = MeetingKind(
        name="onsite",
        duration_minutes=90,
        platform="in_person",
        location="12 Harbour St, Leith",
        follow_up_hours=(48,),
        reminder_rule="hours_before:24",
        wording=(("confirmation.body", "{greeting}\nSee you at {time}.\n{signature}"),),
        saved=True,
    )
    view = template_view(kind)
    state = {}
    for block in view["blocks"]:
        element = block["element"]
        key = block["block_id"]
        if "initial_option" in element:
            state[key] = {key: {"selected_option": element["initial_option"]}}
        else:
            state[key] = {key: {"value": element.get("initial_value", "")}}
    again, replaces, errors = read_template(state, view["private_metadata"])
    assert (again, replaces, errors) == (kind, "onsite", {})


def test_wording_round_trips_through_its_text_box() -> None:
    wording = (
        ("follow_up.body", "{greeting}\nStill keen?\n\n{signature}"),
        ("initial.subject", "Hi"),
    )
    assert read_wording(wording_text(wording)) == (wording, None)


def test_the_form_uses_the_types_length_and_place_when_left_empty() -> None:
    kinds = built_in_kinds() | {
        "pricing call": MeetingKind(name="pricing call", duration_minutes=20, platform="zoom")
    }
    view = new_request_view(today=date(2026, 12, 7), kinds=kinds)
    (types,) = [b for b in view["blocks"] if b["block_id"] == "meeting_type"]
    assert "Pricing call (20 min)" in [o["text"]["text"] for o in types["element"]["options"]]
    values = {
        "meeting_type": {"meeting_type": {"selected_option": {"value": "pricing call"}}},
        "guests": {"guests": {"value": "jo@acme.example"}},
    }
    now = datetime(2026, 12, 7, 15, tzinfo=UTC)
    read = read_submission(values, now=now, tz="UTC", kinds=kinds).command
    assert read is not None
    assert (read.duration_minutes, read.platform) == (20, "zoom")
    chosen = {
        **values,
        "duration": {"duration": {"selected_option": {"value": "60"}}},
        "platform": {"platform": {"selected_option": {"value": "teams"}}},
    }
    read = read_submission(chosen, now=now, tz="UTC", kinds=kinds).command
    assert read is not None
    assert (read.duration_minutes, read.platform) == (60, "teams")


# --- through Slack ---------------------------------------------------------------------------


def test_a_non_admin_is_refused_everywhere(team: Stack) -> None:
    reply = team.command("templates", user=REP_ID)
    assert reply.status == 200
    assert "Only a workspace admin" in team.command_response(reply)
    assert team.slack.modals == []
    # A modal opened while they were an admin is refused on Save too.
    view = template_view(None)
    answer = team.submit(view, _values(), user=REP_ID)
    assert json.loads(answer.body)["errors"]["name"].startswith("Only a workspace admin")
    assert team.rows(SchedulingTemplate) == []


def test_an_admin_creates_a_type_and_reps_use_it_inline_and_in_the_form(team: Stack) -> None:
    listed = team.command_response(team.command("templates", user=ADMIN_ID))
    assert listed == "Meeting types"
    reply = team.submit(_modal(team, "templates pricing call"), _values(), user=ADMIN_ID)
    assert reply.status == 200 and reply.body == ""
    row = _saved(team, "pricing call")
    assert (row.duration_minutes, row.platform, row.follow_up_hours, row.max_attempts) == (
        20,
        "zoom",
        [12, 36],
        3,
    )
    assert row.reminder_rule == "hours_before:2"
    assert row.email_templates == {
        "initial.subject": "{meeting_title} about pricing, {first_name}?"
    }
    (audit,) = team.rows(SchedulingAction, SchedulingAction.action_type == "meeting_type_saved")
    assert audit.details == {"meeting_type": "pricing call", "replaces": None}

    # Inline: no length given, so the type's; the card says so before Start.
    assert team.command("pricing call with jo@acme.example").status == 200
    assert "*Length:* 20 min" in json.dumps(team.confirm_card().blocks)
    team.click("start_request", team.confirm_card())
    (request,) = wait_for(lambda: team.rows(SchedulingRequest), "the request")
    assert (request.meeting_type, request.duration_minutes, request.platform) == (
        "pricing call",
        20,
        "zoom",
    )

    # The form lists it.
    form = _modal(team, "", user=REP_ID)
    (types,) = [b for b in form["blocks"] if b["block_id"] == "meeting_type"]
    assert "Pricing call (20 min)" in [o["text"]["text"] for o in types["element"]["options"]]


def test_an_admin_edits_a_built_in_type_and_a_rename_keeps_one_row(team: Stack) -> None:
    view = _modal(team, "templates demo")
    fields = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert fields["name"]["initial_value"] == "demo"
    assert fields["duration"]["initial_value"] == "30"  # the built-in's
    team.submit(view, _values(name={"name": {"value": "demo"}}), user=ADMIN_ID)
    assert _saved(team, "demo").duration_minutes == 20

    again = _modal(team, "templates demo")
    assert again["private_metadata"] == json.dumps({"replaces": "demo"})
    team.submit(again, _values(name={"name": {"value": "Product demo"}}), user=ADMIN_ID)
    _saved(team, "product demo")
    assert [r.meeting_type for r in team.rows(SchedulingTemplate)] == ["product demo"]


def test_a_rename_onto_another_type_is_refused(team: Stack) -> None:
    team.submit(_modal(team, "templates pricing call"), _values(), user=ADMIN_ID)
    _saved(team, "pricing call")
    team.submit(
        _modal(team, "templates onboarding"),
        _values(name={"name": {"value": "Onboarding"}}),
        user=ADMIN_ID,
    )
    _saved(team, "onboarding")
    view = _modal(team, "templates onboarding")
    answer = team.submit(view, _values(name={"name": {"value": "pricing call"}}), user=ADMIN_ID)
    assert "already a meeting type called" in json.loads(answer.body)["errors"]["name"]
    assert sorted(r.meeting_type for r in team.rows(SchedulingTemplate)) == [
        "onboarding",
        "pricing call",
    ]


def test_the_edit_button_on_the_list_opens_the_type(team: Stack) -> None:
    team.submit(_modal(team, "templates pricing call"), _values(), user=ADMIN_ID)
    _saved(team, "pricing call")
    reply = team.command("templates", user=ADMIN_ID)
    assert reply.status == 200
    hook = team.last_hook
    answer = wait_for(lambda: [r for r in team.slack.responses if r["hook"] == hook], "the list")[
        -1
    ]
    card = Message("C0GENERAL", "ephemeral", str(answer["text"]), answer["blocks"])
    text = json.dumps(card.blocks, ensure_ascii=False)
    assert "*pricing call* · 20 min · Zoom link" in text and "_built-in_" in text
    edit = next(
        b["accessory"]
        for b in card.blocks
        if (b.get("accessory") or {}).get("value") == "pricing call"
    )
    before = len(team.slack.modals)
    post_signed(
        team.events_url,
        button_click(
            action_id=edit["action_id"],
            value=edit["value"],
            user_id=ADMIN_ID,
            team_id=team.slack.team_id,
            response_url=team.slack.hook_url("edit"),
            channel_id="C0GENERAL",
            message_ts="1.0",
            message={"ts": "1.0", "text": card.text, "blocks": card.blocks},
        ),
        secret=SECRET,
    )
    view = wait_for(lambda: team.slack.modals[before:], "the edit modal")[-1]
    assert {b["block_id"]: b["element"] for b in view["blocks"]}["duration"][
        "initial_value"
    ] == "20"


def test_a_phone_types_number_reaches_the_request_and_the_invitation(stack: Stack) -> None:
    place = "+1 555 0100, we call you"
    with stack.deps.uow() as uow:
        saved = save_kind(
            uow.session,
            org_id=stack.slack.team_id,
            kind=MeetingKind(name="demo", platform="phone", location=place),
            replaces=None,
            now=stack.clock.now(),
        )
        assert saved.ok, saved.message
        uow.commit()
    book_by_reply(stack)
    (request,) = stack.rows(SchedulingRequest)
    assert (request.platform, request.location) == ("phone", place)
    ((message, method, event),) = invitations(stack, PROSPECT)
    assert method == "REQUEST"
    assert str(event["LOCATION"]) == place
    assert f"Where: {place}" in message.get_body(("plain",)).get_content()
    # The confirmation in their thread says where too: there is no link to join.
    approve(stack, ActionType.email_confirmation)
    confirmation = message_from_string(stack.inbox(PROSPECT)[-1].raw, policy=policy.default)
    assert isinstance(confirmation, MimeMessage)
    assert f"Where: {place}." in confirmation.get_body(("plain",)).get_content()
