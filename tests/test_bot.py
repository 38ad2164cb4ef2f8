"""The Slack surface over HTTP: help, malformed input, Slack's limits and rate limits."""

from __future__ import annotations

from datetime import timedelta

from bot.blocks import approval_card
from bot.local_slack import block_errors
from db.models import SchedulingRequest, SequenceJob
from orchestrator.views import ActionView
from tests.support.stack import Stack, wait_for


def test_help_is_ephemeral_and_creates_nothing(stack: Stack) -> None:
    reply = stack.command("help")
    assert reply.status == 200
    assert '"response_type": "ephemeral"' in reply.body
    assert "/schedule demo with john@acme.com" in reply.body
    assert stack.rows(SchedulingRequest) == []


def test_malformed_command_gets_help_and_creates_nothing(stack: Stack) -> None:
    reply = stack.command("demo with john@ 45m")
    assert reply.status == 200
    text = stack.command_response(reply)
    assert text.startswith(":warning: `john@` doesn't look like an email address.")
    assert "/schedule demo with john@acme.com" in text
    (response,) = stack.slack.responses
    assert response["response_type"] == "ephemeral"
    assert stack.rows(SchedulingRequest) == []
    assert stack.rows(SequenceJob) == []


def test_card_survives_a_slack_rate_limit(stack: Stack) -> None:
    stack.schedule("demo with john@acme.example")
    stack.slack.rate_limited_calls = 1  # the next Web API call answers 429 + Retry-After
    stack.drain()
    assert len(wait_for(stack.cards, "the card")) == 1
    assert any(c["method"] == "conversations.open" for c in stack.slack.calls)


def _view(**overrides: object) -> ActionView:
    from datetime import UTC, datetime

    values: dict[str, object] = {
        "action_id": "0f0e",
        "action_type": "email_initial",
        "status": "pending",
        "to": ("john@acme.example",),
        "subject": "Hi",
        "body": "x" * 10_000,
        "reasoning": "because <!channel>",
        "confidence": 0.9,
        "request_ref": "ACME-1",
        "request_title": "Demo",
        "rep_timezone": "America/New_York",
        "undo_until": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=30),
        "decided_by": None,
        "executed_at": None,
        "error": None,
    }
    values.update(overrides)
    return ActionView(**values)  # type: ignore[arg-type]


def test_cards_respect_block_kit_limits_in_every_state() -> None:
    for status in [
        "pending",
        "approved",
        "executing",
        "executed",
        "rejected",
        "cancelled",
        "expired",
        "failed",
    ]:
        _, blocks = approval_card(_view(status=status, error="x" * 5000))
        assert block_errors(blocks) == [], status
    _, blocks = approval_card(_view())
    assert "<!channel>" not in str(blocks)


def test_the_fake_rejects_what_slack_rejects() -> None:
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "a"}
    assert block_errors([{"type": "actions", "elements": [button, button]}]) == [
        "block 0 (actions): duplicate action_id a"
    ]
    assert block_errors([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    assert block_errors([{"type": "divider"}] * 51)
    assert block_errors([{"type": "divider"}] * 100, surface="home") == []
