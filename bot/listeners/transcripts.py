"""Transcripts in Slack: `/schedule transcript ACME-12` opens a modal to paste the meeting's
transcript, whose submit goes the way a recorder's webhook does; and the "Set it up" button on a
next-meeting card read from one, which opens the /schedule form filled in with the request's
own external attendees and whose submit starts the request."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import structlog
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.listeners.start import profile_of
from bot.modals import new_request_view, read_submission
from orchestrator.commands.meeting_types import team_kinds
from orchestrator.commands.transcripts import (
    MeetingRef,
    paste_allowed,
    planned_meeting,
    receive_transcript,
    start_planned,
)
from orchestrator.deps import Deps
from orchestrator.steps.transcripts import FIND_TIME

log = structlog.get_logger(__name__)

FORM_CALLBACK = "transcript_meeting_form"
PASTE_CALLBACK = "transcript_paste"
MAX_VALUE = 100
# Slack caps a text input at 3,000 characters; a longer transcript comes by the webhook.
MAX_PASTE = 3000


def paste_view(ref: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": PASTE_CALLBACK,
        "private_metadata": ref,
        "title": {"type": "plain_text", "text": "Meeting transcript"},
        "submit": {"type": "plain_text", "text": "Read it"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "transcript",
                "label": {"type": "plain_text", "text": f"Transcript of {ref}"[:150]},
                "hint": {
                    "type": "plain_text",
                    "text": "Lines like 'Name: what they said', or a .vtt or .srt file's text. "
                    "Convene drafts the recap for your approval.",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": "transcript",
                    "multiline": True,
                    "max_length": MAX_PASTE,
                },
            }
        ],
    }


def transcript_command(
    deps: Deps, command: dict[str, Any], rest: str, ack: Ack, respond: Respond
) -> None:
    ref = rest.split()[0].upper() if rest.split() else ""
    if not ref:
        ack(text="Which one? e.g. `/schedule transcript ACME-1`.", response_type="ephemeral")
        return
    refused = paste_allowed(
        deps, org_id=command["team_id"], ref=ref, slack_user_id=command["user_id"]
    )
    if refused is not None:
        ack(text=refused, response_type="ephemeral")
        return
    ack()
    try:
        deps.slack_client.views_open(trigger_id=command["trigger_id"], view=paste_view(ref))
    except Exception:  # noqa: BLE001 - acked: the rep hears of it
        log.exception("transcript_form_not_opened")
        respond(text="Convene could not open the form just now; run the command again.")


def register(app: App, deps: Deps) -> None:
    @app.action(FIND_TIME)
    def on_find_time(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        value = str(action.get("value", ""))[:MAX_VALUE]
        planned = planned_meeting(deps, value)
        if planned is None:
            respond(text="That meeting is no longer on record.", replace_original=False)
            return
        view = new_request_view(
            today=deps.clock.now().date(),
            prefill=planned.command,
            tz=planned.tz,
            kinds=team_kinds(deps, org_id=body["team"]["id"]),
        )
        view = {**view, "callback_id": FORM_CALLBACK, "private_metadata": value}
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception:  # noqa: BLE001 - acked: the rep hears of it
            log.exception("transcript_meeting_form_not_opened")
            respond(text="Convene could not open the form just now; press Set it up again.")

    @app.view(PASTE_CALLBACK)
    def on_paste(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        team, user = body["team"]["id"], body["user"]["id"]
        ref = str(view.get("private_metadata", ""))[:MAX_VALUE]
        state = view["state"]["values"].get("transcript", {}).get("transcript", {})
        text = str(state.get("value") or "")[:MAX_PASTE]
        refused = paste_allowed(deps, org_id=team, ref=ref, slack_user_id=user)
        if refused is None and not text.strip():
            refused = "Paste the transcript first."
        if refused is not None:
            ack(response_action="errors", errors={"transcript": refused[:150]})
            return
        ack()
        received = receive_transcript(
            deps,
            source_id=f"slack:{view['id']}",
            meeting=MeetingRef(ref=ref, org_id=team),
            text=text,
            fmt=None,
        )
        said = (
            f"Reading the transcript of {ref}: the recap draft and any next meetings follow here."
            if received.outcome == "started"
            else f"That transcript of {ref} was already read."
        )
        channel = client.conversations_open(users=[user])["channel"]["id"]
        client.chat_postMessage(channel=channel, text=said)

    @app.view(FORM_CALLBACK)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        value = str(view.get("private_metadata", ""))[:MAX_VALUE]
        planned = planned_meeting(deps, value)
        tz = planned.tz if planned else "UTC"
        kinds = team_kinds(deps, org_id=body["team"]["id"])
        submission = read_submission(
            view["state"]["values"], now=deps.clock.now(), tz=tz, kinds=kinds
        )
        if submission.command is None:
            ack(response_action="errors", errors=submission.errors)
            return
        ack()
        user = body["user"]["id"]
        teammates = tuple(profile_of(client, uid) for uid in submission.teammate_ids)
        command = replace(submission.command, teammates=teammates)
        _, message = start_planned(deps, value=value, slack_user_id=user, command=command)
        channel = client.conversations_open(users=[user])["channel"]["id"]
        client.chat_postMessage(channel=channel, text=message)
