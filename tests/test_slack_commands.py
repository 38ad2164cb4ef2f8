"""`/schedule list|status|pause|resume|cancel` and the Home tab, through signed HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.local_slack import Message, block_errors
from db.models import (
    ActionStatus,
    JobStatus,
    PendingAction,
    RequestStatus,
    SchedulingRequest,
    SequenceJob,
)
from tests.support.stack import OTHER_ID, Stack, wait_for


def _ack(stack: Stack, text: str, **kwargs: str) -> dict:  # type: ignore[type-arg]
    reply = stack.command(text, **kwargs)
    assert reply.status == 200
    body = json.loads(reply.body)
    assert body["response_type"] == "ephemeral"
    assert block_errors(body.get("blocks") or []) == []
    return body


def _start(stack: Stack, who: str = "john@acme.example") -> None:
    stack.schedule(f"demo with {who}")
    stack.drain()


def test_list_before_and_after_a_request(stack: Stack) -> None:
    assert _ack(stack, "list")["text"].startswith("You have no open requests.")
    _start(stack)
    _start(stack, "ann@globex.example")
    body = _ack(stack, "list")
    text = str(body["blocks"])
    assert "*Your requests* (2)" in text
    assert "*ACME-1*" in text and "*GLOBEX-1*" in text
    assert "_Finding times_" in text  # both are drafted, not yet sent


def test_status_shows_people_times_and_activity(stack: Stack) -> None:
    _start(stack)
    text = str(_ack(stack, "status acme-1")["blocks"])
    assert "john@acme.example (external: needs_action)" in text
    assert "*Times offered:*" in text
    assert "request created → slots found → draft created" in text
    assert (
        _ack(stack, "status NOPE-9")["text"]
        == "I can't find `NOPE-9`. `/schedule list` shows yours."
    )
    assert _ack(stack, "status")["text"].startswith("Which one?")


def test_pause_and_resume(stack: Stack) -> None:
    _start(stack)
    assert _ack(stack, "pause ACME-1")["text"].startswith("Paused ACME-1.")
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.paused and request.paused_from == "proposing"
    assert _ack(stack, "pause ACME-1")["text"] == ":warning: ACME-1 is paused; nothing to pause."
    assert _ack(stack, "resume ACME-1")["text"] == "Resumed ACME-1: back to proposing."
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.proposing and request.paused_from is None


def test_someone_else_cannot_pause_my_request(stack: Stack) -> None:
    _start(stack)
    body = _ack(stack, "pause ACME-1", user=OTHER_ID)
    assert body["text"] == ":warning: ACME-1 belongs to <@U0REP>; only they can change it."
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.proposing


def _last_reply(stack: Stack) -> list[dict]:  # type: ignore[type-arg]
    return wait_for(  # type: ignore[no-any-return]
        lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook], "the reply"
    )


def _prompt_message(body: dict) -> Message:  # type: ignore[type-arg]
    return Message(channel="C0GENERAL", ts="1.1", text=body["text"], blocks=body["blocks"])


def test_cancel_asks_first_then_drops_drafts_and_sends_nothing(stack: Stack) -> None:
    _start(stack)
    prompt = _prompt_message(_ack(stack, "cancel ACME-1"))
    assert stack.rows(SchedulingRequest)[0].status == RequestStatus.proposing  # not yet

    stack.click("keep_request", prompt)
    reply = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook], "keep"
    )
    assert reply[0]["text"] == "Kept ACME-1." and reply[0]["replace_original"] is True
    assert stack.rows(SchedulingRequest)[0].status == RequestStatus.proposing

    stack.click("cancel_request", prompt)
    reply = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook], "x"
    )
    assert reply[0]["text"] == "Cancelled ACME-1. Nothing more will be sent."
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.cancelled
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.cancelled
    (job,) = stack.rows(SequenceJob)
    assert job.status == JobStatus.cancelled
    # An Approve on the old card now does nothing and says so.
    card = stack.cards()[0]
    stack.click("approve_action", card)
    reply = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook], "a"
    )
    assert reply[0]["text"].startswith("Already handled: this draft is cancelled")
    stack.clock.advance(timedelta(minutes=5))
    stack.tick()
    assert stack.inbox("john@acme.example") == []


def test_home_tab_groups_requests(stack: Stack) -> None:
    first = stack.open_home()
    assert "Nothing here yet" in str(first["blocks"])
    _start(stack)
    _start(stack, "ann@globex.example")
    card = next(c for c in stack.cards() if "acme" in str(c.blocks))
    stack.click("approve_action", card)
    wait_for(lambda: [a for a in stack.rows(PendingAction) if a.status == "approved"], "approve")
    stack.clock.advance(timedelta(seconds=30))
    stack.tick()
    stack.command("pause GLOBEX-1")
    view = stack.open_home()
    assert block_errors(view["blocks"], surface="home") == []
    text = json.dumps(view["blocks"])
    assert "1* draft(s) waiting" in text
    assert "Needs your attention (1)" in text and "GLOBEX-1" in text
    assert "Waiting on the prospect (1)" in text and "_Waiting for their reply_" in text
    assert "next: follow up" in text
