"""The "Set it up" button on a next-meeting card read from a transcript: it opens the /schedule
form filled in with the request's own external attendees, and its submit starts the request."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import structlog
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.listeners.start import profile_of
from bot.modals import new_request_view, read_submission
from orchestrator.commands.transcripts import planned_meeting, start_planned
from orchestrator.deps import Deps
from orchestrator.steps.transcripts import FIND_TIME

log = structlog.get_logger(__name__)

FORM_CALLBACK = "transcript_meeting_form"
MAX_VALUE = 100


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
            today=deps.clock.now().date(), prefill=planned.command, tz=planned.tz
        )
        view = {**view, "callback_id": FORM_CALLBACK, "private_metadata": value}
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception:  # noqa: BLE001 - acked: the rep hears of it
            log.exception("transcript_meeting_form_not_opened")
            respond(text="Convene could not open the form just now; press Set it up again.")

    @app.view(FORM_CALLBACK)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        value = str(view.get("private_metadata", ""))[:MAX_VALUE]
        planned = planned_meeting(deps, value)
        tz = planned.tz if planned else "UTC"
        submission = read_submission(view["state"]["values"], now=deps.clock.now(), tz=tz)
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
