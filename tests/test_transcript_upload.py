"""A transcript file dropped in the rep's DM with Convene, with the meeting's reference in the
message: fetched from Slack with the bot's token, read once like a posted or pasted one."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.slack_requests import post_signed
from db.models import MeetingTranscript, SchedulingRequest
from orchestrator.engine.action_data import EmailData, action_data
from tests.support.stack import OTHER_ID, REP_ID, SECRET, Stack, wait_for
from tests.test_mail_intake import PROSPECT, send_first_email
from tests.test_transcript_webhook import TRANSCRIPT, recaps, state


def share(
    stack: Stack,
    text: str,
    *,
    file_id: str = "F0TRANSCRIPT",
    name: str = "call.vtt",
    user: str = REP_ID,
    channel_type: str = "im",
) -> None:
    """The `message` event Slack sends when a user shares a file in a DM with the app."""
    body = {
        "type": "event_callback",
        "team_id": stack.slack.team_id,
        "api_app_id": "A0CONVENE",
        "event_id": f"Ev{time.time_ns()}",
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "subtype": "file_share",
            "channel_type": channel_type,
            "channel": "D" + user,
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
            "files": [{"id": file_id, "name": name, "mode": "hosted"}],
        },
    }
    reply = post_signed(stack.events_url, json.dumps(body).encode(), secret=SECRET)
    assert reply.status == 200


def said(stack: Stack, user: str = REP_ID) -> list[str]:
    return [m.text for m in stack.slack.messages if m.channel == "D" + user and not m.blocks]


def downloads(stack: Stack) -> int:
    return len(stack.slack.calls_to("files.info"))


def test_an_uploaded_transcript_makes_one_recap_draft_and_nothing_twice(stack: Stack) -> None:
    send_first_email(stack)
    (request,) = stack.rows(SchedulingRequest)
    stack.slack.files = {"F0TRANSCRIPT": ("call.vtt", TRANSCRIPT.encode())}

    share(stack, f"transcript for {request.ref.lower()}")
    wait_for(lambda: stack.rows(MeetingTranscript), "the transcript")
    (kept,) = stack.rows(MeetingTranscript)
    assert (kept.format, kept.source_id) == ("vtt", "slack-file:F0TRANSCRIPT")
    assert kept.text == TRANSCRIPT
    stack.drain()
    (recap,) = wait_for(lambda: [a for a in recaps(stack) if a.slack_ts], "the recap card")
    data = action_data(recap, EmailData)
    # Addressed from the request: the transcript's "send everything to ..." changes nothing.
    assert data.to == (PROSPECT,) and "attacker@evil.example" not in data.to + data.cc
    assert any("Reading `call.vtt`" in t for t in said(stack))

    # Slack retries the event, or the rep shares the same file again: read once.
    share(stack, request.ref)
    wait_for(lambda: any("already read" in t for t in said(stack)), "the answer")
    stack.drain()
    assert state(stack) == (1, 1, 1)


def test_what_is_not_a_transcript_for_one_of_theirs_is_refused_with_a_reason(
    stack: Stack,
) -> None:
    send_first_email(stack)
    (request,) = stack.rows(SchedulingRequest)
    stack.slack.files = {
        "F0TRANSCRIPT": ("call.vtt", TRANSCRIPT.encode()),
        "F0PICTURE": ("whiteboard.png", b"\x89PNG"),
    }

    share(stack, "here you go")  # no reference
    share(stack, request.ref, file_id="F0PICTURE", name="whiteboard.png")
    share(stack, request.ref, user=OTHER_ID)  # not their request
    share(stack, "NOPE-4")
    wait_for(lambda: len(said(stack)) >= 3 and said(stack, OTHER_ID), "four answers")
    answers = " | ".join(said(stack) + said(stack, OTHER_ID))
    assert "Which meeting is this the transcript of?" in answers
    assert "I read transcripts from .vtt, .srt or .txt files." in answers
    assert "I can't find `NOPE-4`" in answers
    assert said(stack, OTHER_ID) == [f"This belongs to <@{REP_ID}>; only they can decide it."]

    # A file shared in a channel, not the DM, is not ours to read.
    share(stack, request.ref, channel_type="channel")
    time.sleep(0.5)
    assert stack.rows(MeetingTranscript) == []
    assert downloads(stack) == 0


def test_a_download_address_off_slack_never_gets_the_token(stack: Stack) -> None:
    send_first_email(stack)
    (request,) = stack.rows(SchedulingRequest)
    stack.slack.files = {"F0TRANSCRIPT": ("call.vtt", TRANSCRIPT.encode())}
    real_info = stack.slack._files_info

    def elsewhere(args: dict[str, Any]) -> dict[str, Any]:
        answer = real_info(args)
        answer["file"]["url_private_download"] = "https://collector.example/steal.vtt"
        return answer

    stack.slack._files_info = elsewhere  # type: ignore[method-assign]
    share(stack, request.ref)
    wait_for(lambda: any("isn't on Slack's file host" in t for t in said(stack)), "the refusal")
    assert stack.rows(MeetingTranscript) == []
