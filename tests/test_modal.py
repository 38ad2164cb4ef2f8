"""`/schedule` with no text opens the new-request modal; submissions are validated in place."""

from __future__ import annotations

import json
from typing import Any

from bot.slack_requests import post_signed, view_submission
from db.models import SchedulingAttendee, SchedulingRequest
from tests.support.stack import OTHER_ID, REP_ID, SECRET, Stack, wait_for


def _open_modal(stack: Stack) -> dict[str, Any]:
    reply = stack.command("", trigger_id="trig-modal")
    assert reply.status == 200 and reply.body == ""
    return wait_for(lambda: stack.slack.modals, "views.open")[0]  # type: ignore[no-any-return]


def _values(guests: str, *, start: str = "2026-12-01", end: str = "2026-12-04") -> dict[str, Any]:
    return {
        "meeting_type": {"meeting_type": {"selected_option": {"value": "discovery call"}}},
        "duration": {"duration": {"selected_option": None}},
        "teammates": {"teammates": {"selected_users": [OTHER_ID]}},
        "guests": {"guests": {"value": guests}},
        "window_start": {"window_start": {"selected_date": start}},
        "window_end": {"window_end": {"selected_date": end}},
        "preferred": {"preferred": {"selected_options": [{"value": "morning"}]}},
        "avoid": {"avoid": {"selected_options": [{"value": "friday_afternoon"}]}},
        "platform": {"platform": {"selected_option": {"value": "teams"}}},
        "context": {"context": {"value": "They asked about SSO."}},
    }


def _submit(stack: Stack, view: dict[str, Any], values: dict[str, Any]):  # type: ignore[no-untyped-def]
    body = view_submission(view=view, values=values, user_id=REP_ID, team_id=stack.slack.team_id)
    return post_signed(stack.events_url, body, secret=SECRET)


def test_empty_command_opens_the_modal_at_once(stack: Stack) -> None:
    view = _open_modal(stack)
    assert view["callback_id"] == "schedule_request"
    (call,) = stack.slack.calls_to("views.open")
    assert call["args"]["trigger_id"] == "trig-modal"
    block_ids = [b["block_id"] for b in view["blocks"]]
    assert block_ids[:4] == ["meeting_type", "duration", "teammates", "guests"]


def test_invalid_emails_come_back_as_field_errors(stack: Stack) -> None:
    view = _open_modal(stack)
    reply = _submit(stack, view, _values("Jane Doe <jane@>\nsam@acme.example"))
    assert reply.status == 200
    assert json.loads(reply.body) == {
        "response_action": "errors",
        "errors": {"guests": "`Jane Doe <jane@>` isn't `Name <email>` or an email address."},
    }
    reply = _submit(stack, view, _values("jane@acme.example", start="2026-12-05", end="2026-12-01"))
    assert json.loads(reply.body)["errors"] == {
        "window_end": "The latest day must be on or after the earliest."
    }
    assert stack.rows(SchedulingRequest) == []


def test_valid_submission_creates_the_request_with_everyone(stack: Stack) -> None:
    view = _open_modal(stack)
    values = _values("Jane Doe <jane@acme.example>\nsam@acme.example (optional)")
    reply = _submit(stack, view, values)
    assert reply.status == 200 and reply.body == ""
    (request,) = wait_for(lambda: stack.rows(SchedulingRequest), "the request")
    assert request.meeting_type == "discovery call" and request.duration_minutes == 30
    assert request.preferred_times == ["morning"] and request.avoid_days == ["friday_afternoon"]
    assert request.platform == "teams" and request.context == "They asked about SSO."
    assert request.date_range_start is not None
    assert request.date_range_start.isoformat() == "2026-12-01T05:00:00+00:00"
    people = wait_for(lambda: stack.rows(SchedulingAttendee), "attendees")
    summary = sorted((a.side, a.email, a.name, a.required) for a in people)
    assert summary == [
        ("external", "jane@acme.example", "Jane Doe", True),
        ("external", "sam@acme.example", "", False),
        ("internal", "otto@northwind.example", "Otto Weber", True),
        ("internal", "rita@northwind.example", "Rita Moreno", True),
    ]
    dm = wait_for(lambda: [m for m in stack.slack.messages if m.channel == "DU0REP"], "the DM")
    assert dm[0].text.startswith("*ACME-1*: finding times for a discovery call")
    stack.drain()
    card = wait_for(lambda: [c for c in stack.cards() if "approve_action" in str(c.blocks)], "card")
    assert "jane@acme.example" in str(card[0].blocks)
