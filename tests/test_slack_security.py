"""Acceptance: forged signatures, stale timestamps and tampered bodies are refused, and nothing is
created; untrusted text is escaped before it reaches Slack."""

from __future__ import annotations

import time

import pytest

from bot.blocks import escape
from bot.slack_requests import post_signed, slash_command
from db.models import SchedulingRequest, SequenceJob
from tests.support.stack import REP_ID, SECRET, Stack


def _body(stack: Stack) -> bytes:
    return slash_command(
        text="demo with john@acme.example",
        user_id=REP_ID,
        team_id=stack.slack.team_id,
        response_url=stack.slack.hook_url("x"),
        trigger_id="t-1",
    )


def _nothing_happened(stack: Stack) -> None:
    time.sleep(0.3)  # a listener that wrongly ran would have written by now
    assert stack.rows(SchedulingRequest) == []
    assert stack.rows(SequenceJob) == []
    assert stack.slack.calls == []


def test_forged_signature_is_401(stack: Stack) -> None:
    reply = post_signed(stack.events_url, _body(stack), secret="not-the-secret")
    assert reply.status == 401
    _nothing_happened(stack)


def test_stale_timestamp_is_401(stack: Stack) -> None:
    reply = post_signed(
        stack.events_url, _body(stack), secret=SECRET, timestamp=int(time.time()) - 6 * 60
    )
    assert reply.status == 401
    _nothing_happened(stack)


def test_tampered_body_is_401(stack: Stack) -> None:
    import urllib.request

    from slack_sdk.signature import SignatureVerifier

    body = _body(stack)
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body.decode())
    tampered = body.replace(b"john%40acme.example", b"eve%40evil.example")
    assert tampered != body
    request = urllib.request.Request(
        stack.events_url,
        data=tampered,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        },
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == 401
    _nothing_happened(stack)


def test_prospect_text_cannot_ping_the_channel() -> None:
    assert escape("hi <!channel> <https://evil.example|bank>") == (
        "hi &lt;!channel&gt; &lt;https://evil.example|bank&gt;"
    )
