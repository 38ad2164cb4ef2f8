"""Acceptance: a signed Slack request sent again changes nothing, an Edit modal saves only over
the draft it showed, and oversized or unparseable bodies are refused (4xx, never 500) before
any listener runs. All through the real HTTP server."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from typing import Any
from urllib.parse import quote

from sqlmodel import col

from bot.replays import KEEP, SeenRequests
from bot.slack_gate import MAX_BODY, well_formed
from bot.slack_requests import Reply, app_home_opened, post_signed, slash_command, view_submission
from db.models import (
    ActionStatus,
    PendingAction,
    RequestStatus,
    SchedulingRequest,
    SeenSlackRequest,
    SequenceJob,
)
from orchestrator.outbox.decisions import STALE_EDIT
from tests.support.stack import REP_ID, SECRET, Stack, wait_for

PROSPECT = "john@acme.example"


def _card(stack: Stack):  # type: ignore[no-untyped-def]
    stack.schedule(f"demo with {PROSPECT}")
    stack.drain()
    return wait_for(stack.cards, "the card")[0]


def _open_edit(stack: Stack, card: Any) -> dict[str, Any]:
    before = len(stack.slack.modals)
    stack.click("edit_action", card)
    return wait_for(  # type: ignore[no-any-return]
        lambda: stack.slack.modals[before:], "the edit modal"
    )[-1]


def _edit_body(stack: Stack, modal: dict[str, Any], subject: str, body: str) -> bytes:
    values = {"subject": {"subject": {"value": subject}}, "body": {"body": {"value": body}}}
    return view_submission(view=modal, values=values, user_id=REP_ID, team_id=stack.slack.team_id)


def _post(stack: Stack, body: bytes, ts: int) -> Reply:
    return post_signed(stack.events_url, body, secret=SECRET, timestamp=ts)


def _sent_body(stack: Stack) -> str:
    (mail,) = stack.inbox(PROSPECT)
    plain = message_from_string(mail.raw, policy=policy.default).get_body(("plain",))
    assert plain is not None
    return str(plain.get_content()).strip()


def test_a_replayed_edit_does_not_bring_back_the_older_draft(stack: Stack) -> None:
    card = _card(stack)
    first = _edit_body(stack, _open_edit(stack, card), "Demo?", "First words.")
    ts = int(time.time())
    assert _post(stack, first, ts) == Reply(200, "")
    assert _post(stack, _edit_body(stack, _open_edit(stack, card), "Demo?", "Final."), ts) == (
        Reply(200, "")
    )

    # The first submission again, byte for byte, inside Slack's 5-minute window.
    assert _post(stack, first, ts) == Reply(200, "")
    (action,) = stack.rows(PendingAction)
    assert action.edited_data == {"subject": "Demo?", "body": "Final.", "slots": []}
    assert action.draft_version == 2

    stack.click("approve_action", card)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    stack.clock.advance(timedelta(seconds=30))
    stack.tick()
    assert _sent_body(stack) == "Final."


def test_a_replayed_pause_does_not_pause_a_resumed_request(stack: Stack) -> None:
    stack.schedule(f"demo with {PROSPECT}")
    stack.drain()
    pause = slash_command(
        text="pause ACME-1",
        user_id=REP_ID,
        team_id=stack.slack.team_id,
        response_url=stack.slack.hook_url("pause"),
        trigger_id="t-pause",
    )
    ts = int(time.time())
    assert json.loads(_post(stack, pause, ts).body)["text"].startswith("Paused ACME-1.")
    assert stack.command("resume ACME-1").status == 200
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.proposing

    assert _post(stack, pause, ts) == Reply(200, "")
    time.sleep(0.3)  # a listener that wrongly ran would have written by now
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.proposing and request.paused_from is None


def test_an_edit_modal_opened_on_an_older_draft_is_refused_with_a_message(stack: Stack) -> None:
    card = _card(stack)
    older = _open_edit(stack, card)
    newer = _open_edit(stack, card)
    assert older["private_metadata"] == newer["private_metadata"]  # both opened on version 0
    assert stack.submit(newer, _values("Demo?", "Newer words.")) == Reply(200, "")

    reply = stack.submit(older, _values("Demo?", "Older words."))
    assert reply.status == 200
    assert json.loads(reply.body) == {"response_action": "errors", "errors": {"body": STALE_EDIT}}
    (action,) = stack.rows(PendingAction)
    assert action.edited_data == {"subject": "Demo?", "body": "Newer words.", "slots": []}
    assert action.status == ActionStatus.pending

    # A modal opened now shows the latest draft and saves over it.
    latest = _open_edit(stack, card)
    assert latest["blocks"][1]["element"]["initial_value"] == "Newer words."
    assert stack.submit(latest, _values("Demo?", "Latest.")) == Reply(200, "")
    (action,) = stack.rows(PendingAction)
    assert action.edited_data == {"subject": "Demo?", "body": "Latest.", "slots": []}


def _values(subject: str, body: str) -> dict[str, Any]:
    return {"subject": {"subject": {"value": subject}}, "body": {"body": {"value": body}}}


def _raw_post(stack: Stack, body: bytes, *, signature: str = "v0=bad") -> int:
    request = urllib.request.Request(
        stack.events_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _nothing_happened(stack: Stack) -> None:
    time.sleep(0.3)
    assert stack.rows(SchedulingRequest) == []
    assert stack.rows(SequenceJob) == []
    assert stack.slack.calls == [] and stack.slack.responses == []


def test_a_body_over_one_megabyte_is_413(stack: Stack) -> None:
    command = slash_command(
        text="demo with john@acme.example " + "x" * MAX_BODY,
        user_id=REP_ID,
        team_id=stack.slack.team_id,
        response_url=stack.slack.hook_url("big"),
        trigger_id="t-big",
    )
    assert len(command) > MAX_BODY
    assert post_signed(stack.events_url, command, secret=SECRET).status == 413
    _nothing_happened(stack)


GARBAGE = [
    b"payload=%7Bnot json",
    b"payload=" + quote(json.dumps([1, 2])).encode(),
    b"payload=" + quote(json.dumps({"type": "block_actions", "user": {"id": REP_ID}})).encode(),
    b"payload=" + quote(json.dumps({"type": "view_submission"})).encode(),
    b"payload=%ff%fe",
    b"command=%2Fschedule&text=list",
    b"just words",
    b"",
    b"{not json",
    b"[1, 2]",
    # Nested past the JSON parser's recursion limit: the parse fails, the server must not.
    b'{"type": "event_callback", "event": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b"payload=" + quote('{"type": "block_actions", "x": ' + "[" * 5000 + "]" * 5000 + "}").encode(),
]


def test_signed_bodies_that_do_not_parse_are_400(stack: Stack) -> None:
    for body in GARBAGE:
        assert post_signed(stack.events_url, body, secret=SECRET).status == 400, body
    assert _raw_post(stack, b"\xff\xfe=\xff") == 400  # not UTF-8: nothing to check a signature on
    _nothing_happened(stack)


def test_unsigned_garbage_is_401_and_a_bad_timestamp_is_not_a_crash(stack: Stack) -> None:
    assert _raw_post(stack, b"payload=%7Bnot json") == 401
    request = urllib.request.Request(
        stack.events_url,
        data=b"command=%2Fschedule",
        method="POST",
        headers={"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=x"},
    )
    try:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - local
        raise AssertionError("accepted")
    except urllib.error.HTTPError as error:
        assert error.code == 401
    _nothing_happened(stack)


def test_slack_retries_of_an_event_are_signed_afresh_and_still_served(stack: Stack) -> None:
    # Slack re-sends an unacknowledged event as a new request: new timestamp, new signature.
    body = app_home_opened(user_id=REP_ID, team_id=stack.slack.team_id)
    now = int(time.time())
    assert _post(stack, body, now - 1).status == 200
    assert _post(stack, body, now).status == 200
    wait_for(lambda: len(stack.slack.calls_to("views.publish")) == 2, "both home publishes")
    assert len(stack.rows(SeenSlackRequest)) == 2


def test_the_store_forgets_signatures_only_well_after_the_window(stack: Stack) -> None:
    seen = SeenRequests(stack.deps.sessions)
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert seen.first_time("v0=old", now=start)
    assert not seen.first_time("v0=old", now=start + timedelta(minutes=5))
    later = start + KEEP + timedelta(minutes=1)
    assert seen.first_time("v0=new", now=later)  # this call's sweep drops "v0=old"
    assert [r.signature for r in stack.rows(SeenSlackRequest)] == ["v0=new"]
    assert not seen.first_time("v0=new", now=later)


def test_well_formed_reads_bodies_as_bolt_will() -> None:
    click = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a"}]}
    assert well_formed("payload=" + quote(json.dumps(click)), "application/x-www-form-urlencoded")
    assert well_formed("command=%2Fs&user_id=U&team_id=T&trigger_id=t&text=", "")
    assert well_formed(json.dumps({"type": "url_verification", "challenge": "c"}), "")
    assert not well_formed("command=%2Fs&user_id=U&team_id=T&text=", "")
    assert not well_formed("payload=a&payload=b", "")
    assert not well_formed("a=%zz&=", "")
