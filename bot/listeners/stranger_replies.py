"""The button on a "someone else replied on this thread" card: ack, hand the reply on once,
then redraw the card with what was done."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from slack_bolt import Ack, App, Respond

from orchestrator.deps import Deps
from orchestrator.inbox.stranger_replies import ACTION_ID, BUTTON, take_as_reply

log = structlog.get_logger(__name__)


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, replace_original=False, response_type="ephemeral")


def register(app: App, deps: Deps) -> None:
    @app.action(ACTION_ID)
    def on_take(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        try:
            row_id = uuid.UUID(action.get("value", ""))
        except ValueError:
            _ephemeral(respond, "That button is broken; run `/schedule status` for a fresh view.")
            return
        user = body["user"]["id"]
        outcome = take_as_reply(deps, email_message_id=row_id, slack_user_id=user)
        if not outcome.ok:
            _ephemeral(respond, outcome.message)
            return
        message = body.get("message") or {}
        container = body.get("container") or {}
        note = f":white_check_mark: <@{user}> chose *{BUTTON}*. {outcome.message}"
        kept = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
        try:
            deps.chat.update_message(
                channel=container.get("channel_id") or body["channel"]["id"],
                ts=container["message_ts"],
                text=note,
                blocks=[*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}],
            )
        except Exception as exc:  # noqa: BLE001 - the reply is handed on; the card is cosmetic
            log.warning("stranger_reply_card_update_failed", error=repr(exc))
            _ephemeral(respond, note)
